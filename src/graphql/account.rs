//! `Account` and its resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::connection::{Conn, connection, page_cost, wants_total};
use super::contact::Contact;
use super::deal::{Opportunity, list_deals};
use super::filters::{OpportunityFilter, deal_filter};
use super::ids::{Kind, encode};
use super::scalars::Timestamp;
use super::scope;
use crate::domain::page::PageArgs;
use crate::domain::query::DealSort;
use crate::domain::records;
use crate::service;

/// A customer company.
pub struct Account(pub Arc<records::Account>);

#[Object]
impl Account {
    pub async fn id(&self) -> ID {
        encode(Kind::Account, self.0.id)
    }
    /// Your system's id for it (unique in your tenant among these records), if it has one.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn name(&self) -> &str {
        &self.0.name
    }
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }

    /// The account's people, by name.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn contacts(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Conn<Contact>> {
        let scope = scope(ctx)?;
        let page = service::contacts::page_for_account(
            &scope.ctx,
            &scope.services,
            self.0.id,
            &PageArgs::forward(first, after),
            wants_total(ctx),
        )
        .await?;
        Ok(connection(page, |c| Contact::Row(Arc::new(c))))
    }

    /// The account's deals, most recently changed first.
    #[graphql(complexity = "page_cost(first, None, child_complexity)")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<OpportunityFilter>,
    ) -> Result<Conn<Opportunity>> {
        let filter = deal_filter(filter)?.within_account(self.0.id);
        list_deals(ctx, PageArgs::forward(first, after), filter, DealSort::default()).await
    }
}
