//! The mutation root: each field maps its input onto a service call.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::enums::{Bandwidth, BuyingRole, Influence, InteractionKind, Stage, Stance};
use super::ids::{self, Kind};
use super::scalars::{Day, Money, Timestamp};
use super::scope;
use super::types::{Account, BuyingGroupMember, Contact, Interaction, Opportunity};
use crate::service;

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
}

#[derive(InputObject)]
pub struct CreateContactInput {
    pub account_id: ID,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
}

#[derive(InputObject)]
pub struct CreateOpportunityInput {
    pub account_id: ID,
    pub name: String,
    /// Non-negative, at most two decimal places.
    pub amount: Money,
    /// Three upper-case letters, e.g. `EUR`.
    pub currency: String,
    /// Default `PROSPECTING`.
    pub stage: Option<Stage>,
    pub expected_close_date: Option<Day>,
    /// Default: the caller. Only admins may assign deals to someone else.
    pub owner_id: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateOpportunityInput {
    pub id: ID,
    /// The `version` you last read; a stale one fails with `CONFLICT`.
    pub expected_version: i32,
    pub name: Option<String>,
    pub amount: Option<Money>,
    pub currency: Option<String>,
    /// Closed deals (`CLOSED_WON`, `CLOSED_LOST`) cannot move again.
    pub stage: Option<Stage>,
    /// `null` clears the date.
    pub expected_close_date: MaybeUndefined<Day>,
    pub owner_id: Option<String>,
}

#[derive(InputObject)]
pub struct AddBuyingGroupMemberInput {
    pub opportunity_id: ID,
    pub contact_id: ID,
    pub role: BuyingRole,
    /// Default `UNKNOWN`.
    pub stance: Option<Stance>,
    /// Default `false`.
    pub can_veto: Option<bool>,
    /// Default `MEDIUM`.
    pub influence: Option<Influence>,
    /// Default `UNKNOWN`.
    pub bandwidth: Option<Bandwidth>,
    pub notes: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateBuyingGroupMemberInput {
    pub id: ID,
    pub role: Option<BuyingRole>,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    /// `null` clears the notes.
    pub notes: MaybeUndefined<String>,
}

#[derive(InputObject)]
pub struct LogInteractionInput {
    pub opportunity_id: ID,
    pub kind: InteractionKind,
    pub occurred_at: Timestamp,
    pub summary: Option<String>,
    /// Members engaged directly (at least one), from this opportunity's buying group.
    pub participant_ids: Vec<ID>,
    /// Members discussed but not present, from this opportunity's buying group.
    pub about_ids: Option<Vec<ID>>,
}

fn maybe<T, U>(value: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v))),
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> Result<Account> {
        let (scope, store) = scope(ctx)?;
        let input = service::CreateAccount {
            name: input.name,
            domain: input.domain,
            industry: input.industry,
        };
        Ok(Account::from(service::create_account(&scope.ctx, store, input).await?))
    }

    async fn create_contact(&self, ctx: &Context<'_>, input: CreateContactInput) -> Result<Contact> {
        let (scope, store) = scope(ctx)?;
        let input = service::CreateContact {
            account_id: ids::decode(Kind::Account, &input.account_id),
            full_name: input.full_name,
            title: input.title,
            email: input.email,
        };
        Ok(Contact::from(service::create_contact(&scope.ctx, store, input).await?))
    }

    async fn create_opportunity(&self, ctx: &Context<'_>, input: CreateOpportunityInput) -> Result<Opportunity> {
        let (scope, store) = scope(ctx)?;
        let input = service::CreateOpportunity {
            account_id: ids::decode(Kind::Account, &input.account_id),
            name: input.name,
            amount: input.amount.0,
            currency: input.currency,
            stage: input.stage.map(Into::into),
            expected_close_date: input.expected_close_date.map(|d| d.0),
            owner_id: input.owner_id,
        };
        Ok(Opportunity::from(
            service::create_opportunity(&scope.ctx, store, input).await?,
        ))
    }

    async fn update_opportunity(&self, ctx: &Context<'_>, input: UpdateOpportunityInput) -> Result<Opportunity> {
        let (scope, store) = scope(ctx)?;
        let input = service::UpdateOpportunity {
            id: ids::decode(Kind::Opportunity, &input.id),
            expected_version: input.expected_version,
            name: input.name,
            amount: input.amount.map(|m| m.0),
            currency: input.currency,
            stage: input.stage.map(Into::into),
            expected_close_date: maybe(input.expected_close_date, |d| d.0),
            owner_id: input.owner_id,
        };
        Ok(Opportunity::from(
            service::update_opportunity(&scope.ctx, store, input).await?,
        ))
    }

    async fn add_buying_group_member(
        &self,
        ctx: &Context<'_>,
        input: AddBuyingGroupMemberInput,
    ) -> Result<BuyingGroupMember> {
        let (scope, store) = scope(ctx)?;
        let input = service::AddMember {
            opportunity_id: ids::decode(Kind::Opportunity, &input.opportunity_id),
            contact_id: ids::decode(Kind::Contact, &input.contact_id),
            role: input.role.into(),
            stance: input.stance.map(Into::into),
            can_veto: input.can_veto,
            influence: input.influence.map(Into::into),
            bandwidth: input.bandwidth.map(Into::into),
            notes: input.notes,
        };
        Ok(BuyingGroupMember::from(
            service::add_member(&scope.ctx, store, input).await?,
        ))
    }

    async fn update_buying_group_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateBuyingGroupMemberInput,
    ) -> Result<BuyingGroupMember> {
        let (scope, store) = scope(ctx)?;
        let input = service::UpdateMember {
            id: ids::decode(Kind::BuyingGroupMember, &input.id),
            role: input.role.map(Into::into),
            stance: input.stance.map(Into::into),
            can_veto: input.can_veto,
            influence: input.influence.map(Into::into),
            bandwidth: input.bandwidth.map(Into::into),
            notes: maybe(input.notes, |n| n),
        };
        Ok(BuyingGroupMember::from(
            service::update_member(&scope.ctx, store, input).await?,
        ))
    }

    /// Removes a member from the buying group; returns its ID.
    async fn remove_buying_group_member(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let (scope, store) = scope(ctx)?;
        let uuid = service::remove_member(&scope.ctx, store, ids::decode(Kind::BuyingGroupMember, &id)).await?;
        Ok(ids::encode(Kind::BuyingGroupMember, uuid))
    }

    async fn log_interaction(&self, ctx: &Context<'_>, input: LogInteractionInput) -> Result<Interaction> {
        let (scope, store) = scope(ctx)?;
        let member = |id: &ID| ids::decode(Kind::BuyingGroupMember, id);
        let input = service::LogInteraction {
            opportunity_id: ids::decode(Kind::Opportunity, &input.opportunity_id),
            kind: input.kind.into(),
            occurred_at: input.occurred_at.0,
            summary: input.summary,
            participant_ids: input.participant_ids.iter().map(member).collect(),
            about_ids: input.about_ids.unwrap_or_default().iter().map(member).collect(),
        };
        Ok(Interaction::from(
            service::log_interaction(&scope.ctx, store, input).await?,
        ))
    }

    /// Deletes an interaction; returns its ID.
    async fn delete_interaction(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let (scope, store) = scope(ctx)?;
        let uuid = service::delete_interaction(&scope.ctx, store, ids::decode(Kind::Interaction, &id)).await?;
        Ok(ids::encode(Kind::Interaction, uuid))
    }

    /// Changes the tenant's risk policy (admins only); every open deal is re-assessed before
    /// this returns, so stored levels, filters and ordering follow the new policy.
    async fn update_risk_policy(
        &self,
        ctx: &Context<'_>,
        input: super::risk::RiskPolicyInput,
    ) -> Result<super::risk::RiskPolicyOut> {
        let (scope, store) = scope(ctx)?;
        let policy = crate::service::risk::update_policy(&scope.ctx, store, input.into()).await?;
        Ok(super::risk::RiskPolicyOut(policy))
    }
}
