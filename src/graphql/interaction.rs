//! `Interaction` and its resolvers.

use std::collections::HashSet;
use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use super::connection::GROUP_COST_FACTOR;
use super::contact::contact_needs_record;
use super::deal::Opportunity;
use super::enums::InteractionKind;
use super::ids::{Kind, encode};
use super::member::BuyingGroupMember;
use super::scalars::Timestamp;
use super::scope;
use crate::domain::AppError;
use crate::domain::records;

/// Something the seller did with members of the buying group.
pub struct Interaction(pub Arc<records::Interaction>);

impl Interaction {
    async fn members(&self, ctx: &Context<'_>, direct: bool) -> Result<Vec<BuyingGroupMember>> {
        let loaders = &scope(ctx)?.loaders();
        let links = loaders.links(self.0.id).await?;
        let group = loaders.group(self.0.opportunity_id).await?;
        if contact_needs_record(ctx.look_ahead().field("contact")) {
            let contact_ids: Vec<Uuid> = group.iter().map(|m| m.contact_id).collect();
            Box::pin(loaders.prime_contacts(&contact_ids)).await?;
        }
        // In the order the members joined the group, which is stable for clients.
        let named: HashSet<Uuid> = links
            .iter()
            .filter(|l| l.direct == direct)
            .map(|l| l.member_id)
            .collect();
        Ok(group
            .iter()
            .filter(|m| named.contains(&m.id))
            .map(|m| BuyingGroupMember(Arc::clone(m)))
            .collect())
    }
}

#[Object]
impl Interaction {
    pub async fn id(&self) -> ID {
        encode(Kind::Interaction, self.0.id)
    }
    /// Your system's id for it (unique in your tenant among these records), if it has one.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    async fn opportunity(&self, ctx: &Context<'_>) -> Result<Opportunity> {
        let found = scope(ctx)?.loaders().deal(self.0.opportunity_id).await?;
        Ok(Opportunity(found.ok_or_else(|| {
            AppError::Internal(format!("interaction {} without opportunity", self.0.id))
        })?))
    }
    async fn kind(&self) -> InteractionKind {
        self.0.kind.into()
    }
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.0.occurred_at)
    }
    async fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// Who logged it (the token's `sub`).
    async fn logged_by(&self) -> &str {
        &self.0.logged_by
    }
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// Members engaged directly.
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn participants(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        self.members(ctx, true).await
    }
    /// Members discussed but not present: reached only through the participants.
    #[graphql(complexity = "1 + GROUP_COST_FACTOR * child_complexity")]
    async fn about(&self, ctx: &Context<'_>) -> Result<Vec<BuyingGroupMember>> {
        self.members(ctx, false).await
    }
}
