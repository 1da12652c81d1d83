//! Webhooks (SPEC §9): `Webhook`, its deliveries, and the input and answer of
//! `createWebhook`. Admins only (the service checks).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::connection::{Conn, connection, page_cost, wants_total};
use super::enums::{RiskLevel, WebhookEvent};
use super::ids::{Kind, encode};
use super::scalars::Timestamp;
use super::scope;
use crate::domain::page::PageArgs;
use crate::domain::webhooks;
use crate::service;

#[derive(InputObject)]
pub struct CreateWebhookInput {
    /// Where to POST: `https://` and a public address (checked now and at every delivery).
    pub url: String,
    /// What to send (at least one).
    pub events: Vec<WebhookEvent>,
    /// `RISK_CHANGED` only when the old or the new level is at least this.
    #[graphql(default_with = "Some(RiskLevel::Medium)")]
    pub min_level: Option<RiskLevel>,
    /// Up to 200 characters, for your own reference.
    pub description: Option<String>,
}

impl From<CreateWebhookInput> for service::webhooks::CreateWebhook {
    fn from(input: CreateWebhookInput) -> Self {
        service::webhooks::CreateWebhook {
            url: input.url,
            events: input.events.into_iter().map(Into::into).collect(),
            min_level: input.min_level.map(Into::into),
            description: input.description,
        }
    }
}

/// A new webhook and its signing secret.
#[derive(SimpleObject)]
pub struct CreatedWebhook {
    pub webhook: Webhook,
    /// The key of `X-Dealgraph-Signature` (HMAC-SHA256 of the raw body). Shown this once:
    /// store it now.
    pub secret: String,
}

/// Where a tenant's change events are POSTed, signed.
pub struct Webhook(pub Arc<webhooks::Webhook>);

#[Object]
impl Webhook {
    pub async fn id(&self) -> ID {
        encode(Kind::Webhook, self.0.id)
    }
    async fn url(&self) -> &str {
        &self.0.url
    }
    async fn events(&self) -> Vec<WebhookEvent> {
        self.0.events.iter().map(|e| (*e).into()).collect()
    }
    async fn min_level(&self) -> RiskLevel {
        self.0.min_level.into()
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// Its deliveries, newest first: one per event, with how the attempts went.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn deliveries(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<WebhookDelivery>> {
        let scope = scope(ctx)?;
        let args = PageArgs::forward(first, after);
        let page =
            service::webhooks::deliveries(&scope.ctx, &scope.services, self.0.id, &args, wants_total(ctx)).await?;
        Ok(connection(page, WebhookDelivery))
    }
}

/// One event on its way to a webhook.
pub struct WebhookDelivery(pub webhooks::Delivery);

#[Object]
impl WebhookDelivery {
    /// The same id as the body's `id` and the `X-Dealgraph-Delivery` header (receivers
    /// use it to ignore a repeated delivery).
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }
    async fn event(&self) -> WebhookEvent {
        self.0.event.into()
    }
    /// When the change was made.
    async fn at(&self) -> Timestamp {
        Timestamp(self.0.at)
    }
    /// Attempts made so far.
    async fn attempts(&self) -> i32 {
        i32::try_from(self.0.attempts).unwrap_or(i32::MAX)
    }
    /// The HTTP status of the last answer; null before the first attempt or when none came.
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code.map(i32::from)
    }
    /// Why the last attempt failed, if it did.
    async fn last_error(&self) -> Option<&str> {
        self.0.last_error.as_deref()
    }
    async fn delivered_at(&self) -> Option<Timestamp> {
        self.0.delivered_at.map(Timestamp)
    }
    /// When the next attempt is due; null once delivered or given up (24 h after the change).
    async fn next_retry_at(&self) -> Option<Timestamp> {
        self.0.next_retry_at.map(Timestamp)
    }
}
