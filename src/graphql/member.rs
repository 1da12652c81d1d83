//! `BuyingGroupMember` and its resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};

use super::connection::READ_COST;
use super::contact::Contact;
use super::enums::{Bandwidth, BuyingRole, Engagement, Influence, Stance};
use super::ids::{Kind, encode};
use super::scalars::Timestamp;
use super::scope;
use crate::domain::records::Member;
use crate::service;

/// A person in a deal's buying group.
pub struct BuyingGroupMember(pub Arc<Member>);

#[Object]
impl BuyingGroupMember {
    pub async fn id(&self) -> ID {
        encode(Kind::BuyingGroupMember, self.0.id)
    }
    /// Your system's id for it (unique in your tenant among these records), if it has one.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The person; name and title come with the member, the rest is loaded if asked for.
    async fn contact(&self) -> Contact {
        Contact::OfMember(Arc::clone(&self.0))
    }
    async fn role(&self) -> BuyingRole {
        self.0.role.into()
    }
    async fn stance(&self) -> Stance {
        self.0.stance.into()
    }
    /// Whether this person can block the purchase on their own.
    async fn can_veto(&self) -> bool {
        self.0.can_veto
    }
    async fn influence(&self) -> Influence {
        self.0.influence.into()
    }
    async fn bandwidth(&self) -> Bandwidth {
        self.0.bandwidth.into()
    }
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// When the member was removed from the buying group (`removeBuyingGroupMember`); null
    /// while they are in it. A removed member still appears in past interactions.
    async fn removed_at(&self) -> Option<Timestamp> {
        self.0.removed_at.map(Timestamp)
    }

    /// How the seller reached this member in the policy's engagement window ending at `asOf`
    /// (default: now): `DIRECT` (took part), `PROXY_ONLY` (only discussed), or `NONE`.
    #[graphql(complexity = "READ_COST + child_complexity")]
    async fn engagement(&self, ctx: &Context<'_>, as_of: Option<Timestamp>) -> Result<Engagement> {
        let loaders = &scope(ctx)?.loaders();
        let (record, policy) = tokio::try_join!(loaders.record(self.0.opportunity_id), loaders.policy())?;
        let as_of = as_of.map_or_else(service::now, |t| t.0);
        Ok(record.engagement(self.0.id, &policy, as_of).into())
    }

    /// The latest interaction this member took part in directly.
    async fn last_direct_interaction_at(&self, ctx: &Context<'_>) -> Result<Option<Timestamp>> {
        let record = scope(ctx)?.loaders().record(self.0.opportunity_id).await?;
        Ok(record.last_direct_interaction(self.0.id).map(Timestamp))
    }
}
