//! Webhooks and their outbox (SPEC §9).
//!
//! - [`enqueue`] runs inside every [`Store::write`](super::Store::write) that produced change
//!   events, before it commits: one delivery row per event and interested webhook, with the
//!   exact body to send. A rolled-back write leaves none; a committed one cannot lose them.
//! - The sender (one process at a time) takes due rows with [`scope::claim_deliveries`]
//!   (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and writes each attempt's outcome back with
//!   [`record_attempt`].

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::webhook::{ActiveModel as HookRow, Column as HookColumn, Entity as Hooks};
use entity::webhook_delivery::{ActiveModel as DeliveryRow, Column as DeliveryColumn, Entity as Deliveries};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveValue::Set, ColumnTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use super::convert::parse;
use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, opportunities, scope};
use crate::domain::events::ChangeEvent;
use crate::domain::model::WebhookEvent;
use crate::domain::values::TenantId;
use crate::domain::webhooks::{self, DealSummary, Delivery, Outgoing, Webhook};
use crate::domain::{AppError, AppResult, TenantCtx};

/// Rows per `INSERT` of deliveries (bodies are up to a few hundred bytes each).
const DELIVERIES_PER_STATEMENT: usize = 200;

impl TryFrom<entity::webhook::Model> for Webhook {
    type Error = AppError;
    fn try_from(row: entity::webhook::Model) -> AppResult<Webhook> {
        let events = row
            .events
            .split(',')
            .filter(|e| !e.is_empty())
            .map(|e| parse("webhooks", e))
            .collect::<AppResult<Vec<WebhookEvent>>>()?;
        Ok(Webhook {
            id: row.id,
            url: row.url,
            events,
            min_level: parse("webhooks", &row.min_level)?,
            description: row.description,
            secret: row.secret,
            created_at: row.created_at,
            created_by: row.created_by,
        })
    }
}

impl TryFrom<entity::webhook_delivery::Model> for Delivery {
    type Error = AppError;
    fn try_from(row: entity::webhook_delivery::Model) -> AppResult<Delivery> {
        Ok(Delivery {
            id: row.id,
            event: parse("webhook_deliveries", &row.event)?,
            at: row.at,
            enqueued_at: row.enqueued_at,
            attempts: u32::try_from(row.attempts).unwrap_or(0),
            status_code: row.status_code.and_then(|s| u16::try_from(s).ok()),
            last_error: row.last_error,
            delivered_at: row.delivered_at,
            next_retry_at: row.next_retry_at,
        })
    }
}

fn hook_row(hook: &Webhook) -> HookRow {
    let events: Vec<&str> = hook.events.iter().map(|e| e.as_str()).collect();
    HookRow {
        tenant_id: Set(String::new()),
        id: Set(hook.id),
        url: Set(hook.url.clone()),
        events: Set(events.join(",")),
        min_level: Set(hook.min_level.as_str().to_owned()),
        description: Set(hook.description.clone()),
        secret: Set(hook.secret.clone()),
        created_at: Set(hook.created_at),
        created_by: Set(hook.created_by.clone()),
    }
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, hook: &Webhook) -> AppResult<()> {
    scope::insert_one(ctx, conn, hook_row(hook)).await
}

/// Deletes the webhook and (the foreign key cascades) its deliveries; false when the tenant
/// has no such webhook.
pub async fn delete(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<bool> {
    Ok(scope::delete_by_id::<Hooks>(ctx, conn, id).await? > 0)
}

/// The tenant's webhooks, oldest first.
pub async fn list(ctx: &TenantCtx, conn: &impl Conn) -> AppResult<Vec<Webhook>> {
    scope::select::<Hooks>(ctx)
        .order_by_asc(HookColumn::CreatedAt)
        .order_by_asc(HookColumn::Id)
        .all(conn)
        .await?
        .into_iter()
        .map(Webhook::try_from)
        .collect()
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Webhook>> {
    scope::find_by_ids::<Hooks, _>(ctx, conn, ids).await
}

pub const DELIVERY_ORDER_TAG: &str = "webhook_delivery:ENQUEUED:DESC";

/// A page of the webhook's deliveries, newest first.
pub async fn deliveries(
    ctx: &TenantCtx,
    conn: &impl Conn,
    webhook: Uuid,
    window: &Window,
) -> AppResult<Page<Delivery>> {
    let ordering = Ordering {
        tag: DELIVERY_ORDER_TAG.into(),
        key: Some(DeliveryColumn::EnqueuedAt),
        nullable: false,
        descending: true,
    };
    let select = scope::select::<Deliveries>(ctx).filter(DeliveryColumn::WebhookId.eq(webhook));
    page::read(conn, select, DeliveryColumn::Id, &ordering, window, |d: &Delivery| {
        (Key::Time(d.enqueued_at), d.id)
    })
    .await
}

pub async fn count_deliveries(ctx: &TenantCtx, conn: &impl Conn, webhook: Uuid) -> AppResult<u64> {
    use sea_orm::PaginatorTrait;
    Ok(scope::select::<Deliveries>(ctx)
        .filter(DeliveryColumn::WebhookId.eq(webhook))
        .count(conn)
        .await?)
}

/// Writes the outbox rows for `events` (committed with them): for each tenant with
/// webhooks, one delivery per event and webhook that wants it, its body fixed now. One read
/// of the tenants' webhooks when none has any. Returns how many deliveries it wrote.
pub(super) async fn enqueue(conn: &impl Conn, events: &[ChangeEvent], now: DateTime<Utc>) -> AppResult<usize> {
    let mut by_tenant: HashMap<&str, Vec<&ChangeEvent>> = HashMap::new();
    for event in events {
        by_tenant.entry(event.tenant.as_str()).or_default().push(event);
    }
    let tenants: Vec<&str> = by_tenant.keys().copied().collect();
    let hooks = scope::webhooks_of(conn, &tenants).await?;
    if hooks.is_empty() {
        return Ok(0);
    }
    let now = enqueue_time(conn, now).await?;
    let mut queued = 0;
    for (tenant, events) in by_tenant {
        let Some(tenant_hooks) = hooks.get(tenant) else {
            continue;
        };
        let ctx = TenantCtx::system(TenantId::parse(tenant)?);
        let hooks: Vec<Webhook> = tenant_hooks
            .iter()
            .cloned()
            .map(Webhook::try_from)
            .collect::<AppResult<_>>()?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.deal).collect();
        let deals: HashMap<Uuid, DealSummary> = opportunities::get_many(&ctx, conn, &ids)
            .await?
            .into_iter()
            .map(|d| {
                let summary = DealSummary {
                    id: d.id,
                    external_id: d.external_id,
                    name: d.name,
                    stage: d.stage,
                    amount_cents: d.amount_cents,
                    currency: d.currency,
                };
                (d.id, summary)
            })
            .collect();
        let mut rows = Vec::new();
        for event in events {
            let Some(deal) = deals.get(&event.deal) else { continue };
            for hook in &hooks {
                for kind in hook.wants(event) {
                    let id = Uuid::now_v7();
                    let Some(body) = webhooks::message(id, kind, event, deal) else {
                        continue;
                    };
                    rows.push(DeliveryRow {
                        tenant_id: Set(String::new()),
                        id: Set(id),
                        webhook_id: Set(hook.id),
                        opportunity_id: Set(event.deal),
                        event: Set(kind.as_str().to_owned()),
                        at: Set(event.at),
                        enqueued_at: Set(now),
                        body: Set(body),
                        attempts: Set(0),
                        status_code: Set(None),
                        last_error: Set(None),
                        last_attempt_at: Set(None),
                        delivered_at: Set(None),
                        next_retry_at: Set(Some(now)),
                    });
                }
            }
        }
        queued += rows.len();
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let chunk: Vec<DeliveryRow> = rows.by_ref().take(DELIVERIES_PER_STATEMENT).collect();
            scope::insert_many(&ctx, chunk).exec_without_returning(conn).await?;
        }
    }
    Ok(queued)
}

/// When deliveries are enqueued: on PostgreSQL the database's clock, one for every replica. A
/// deal's deliveries go out in `enqueued_at` order, and two writes to one deal are serialized
/// by its row (the second enqueues after the first commits), so one clock orders them even when
/// the replicas' clocks disagree. SQLite has one process, and `now` is its clock.
async fn enqueue_time(conn: &impl Conn, now: DateTime<Utc>) -> AppResult<DateTime<Utc>> {
    if conn.get_database_backend() != sea_orm::DbBackend::Postgres {
        return Ok(now);
    }
    let row = conn
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SELECT clock_timestamp() AS now",
        ))
        .await?
        .ok_or_else(|| AppError::Internal("the database did not say what time it is".into()))?;
    Ok(row.try_get("", "now")?)
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub delivered: bool,
    /// When to try again (`None`: delivered, or given up).
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// Writes the outcome of one attempt at `delivery`.
pub async fn record_attempt(conn: &impl Conn, tenant: &str, delivery: Uuid, attempt: &Attempt) -> AppResult<()> {
    let ctx = TenantCtx::system(TenantId::parse(tenant)?);
    scope::update::<Deliveries>(&ctx)
        .col_expr(DeliveryColumn::Attempts, Expr::col(DeliveryColumn::Attempts).add(1))
        .col_expr(
            DeliveryColumn::StatusCode,
            Expr::value(attempt.status_code.map(i32::from)),
        )
        .col_expr(DeliveryColumn::LastError, Expr::value(attempt.error.clone()))
        .col_expr(DeliveryColumn::LastAttemptAt, Expr::value(Some(attempt.at)))
        .col_expr(
            DeliveryColumn::DeliveredAt,
            Expr::value(attempt.delivered.then_some(attempt.at)),
        )
        .col_expr(DeliveryColumn::NextRetryAt, Expr::value(attempt.next_retry_at))
        .filter(DeliveryColumn::Id.eq(delivery))
        .exec(conn)
        .await?;
    Ok(())
}

/// Deletes deliveries finished (delivered or given up) before `before`.
pub async fn prune(conn: &impl Conn, before: DateTime<Utc>) -> AppResult<u64> {
    scope::prune_deliveries(conn, before).await
}

/// When the earliest pending delivery falls due (`None`: nothing is pending).
pub async fn earliest_due(conn: &impl Conn) -> AppResult<Option<DateTime<Utc>>> {
    scope::earliest_due_delivery(conn).await
}

/// What a claim may take: up to `limit` due deliveries, at most `per_webhook` to one webhook
/// and `per_tenant` to one tenant's, counting those the sender still has in flight
/// (`in_flight`, by tenant and webhook), leased until `lease_until` (see
/// [`scope::claim_deliveries`]).
pub struct Claim<'a> {
    pub now: DateTime<Utc>,
    pub lease_until: DateTime<Utc>,
    pub limit: u32,
    pub per_webhook: u32,
    pub per_tenant: u32,
    pub in_flight: &'a [(String, Uuid, u32)],
}

/// Claims due deliveries (see [`Claim`]).
pub async fn claim(conn: &impl Conn, claim: &Claim<'_>) -> AppResult<Vec<Outgoing>> {
    scope::claim_deliveries(conn, claim).await
}
