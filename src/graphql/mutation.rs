//! The mutation root: each field turns its input into the domain's command and calls the
//! service that carries it out.

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result};

use super::account::Account;
use super::contact::Contact;
use super::deal::Opportunity;
use super::enums::{Bandwidth, BuyingRole, Influence, InteractionKind, Stage, Stance};
use super::ids::{self, Kind};
use super::interaction::Interaction;
use super::member::BuyingGroupMember;
use super::risk::{RiskPolicyInput, RiskPolicyOut};
use super::scalars::{Day, Money, Timestamp};
use super::scope;
use super::webhook::{CreateWebhookInput, CreatedWebhook, Webhook};
use crate::domain::commands;
use crate::service;

#[derive(InputObject)]
pub struct CreateAccountInput {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    /// Your system's id for it (≤ 255 characters), unique per tenant among these records:
    /// imports upsert by it, and `…ByExternalId` finds the record by it.
    pub external_id: Option<String>,
}

#[derive(InputObject)]
pub struct CreateContactInput {
    pub account_id: ID,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    /// Your system's id for it (≤ 255 characters), unique per tenant among these records:
    /// imports upsert by it, and `…ByExternalId` finds the record by it.
    pub external_id: Option<String>,
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
    /// Your system's id for it (≤ 255 characters), unique per tenant among these records:
    /// imports upsert by it, and `…ByExternalId` finds the record by it.
    pub external_id: Option<String>,
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
    /// Your system's id for it (≤ 255 characters), unique per tenant among these records:
    /// imports upsert by it, and `…ByExternalId` finds the record by it.
    pub external_id: Option<String>,
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
    /// Your system's id for it (≤ 255 characters), unique per tenant among these records:
    /// imports upsert by it, and `…ByExternalId` finds the record by it.
    pub external_id: Option<String>,
}

fn maybe<T, U>(value: MaybeUndefined<T>, f: impl FnOnce(T) -> U) -> Option<Option<U>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(f(v))),
    }
}

impl From<CreateAccountInput> for commands::CreateAccount {
    fn from(input: CreateAccountInput) -> Self {
        commands::CreateAccount {
            external_id: input.external_id,
            name: input.name,
            domain: input.domain,
            industry: input.industry,
        }
    }
}

impl From<CreateContactInput> for commands::CreateContact {
    fn from(input: CreateContactInput) -> Self {
        commands::CreateContact {
            external_id: input.external_id,
            account_id: ids::decode(Kind::Account, &input.account_id),
            full_name: input.full_name,
            title: input.title,
            email: input.email,
        }
    }
}

impl From<CreateOpportunityInput> for commands::CreateDeal {
    fn from(input: CreateOpportunityInput) -> Self {
        commands::CreateDeal {
            external_id: input.external_id,
            account_id: ids::decode(Kind::Account, &input.account_id),
            name: input.name,
            amount: input.amount.0,
            currency: input.currency,
            stage: input.stage.map(Into::into),
            expected_close_date: input.expected_close_date.map(|d| d.0),
            owner_id: input.owner_id,
        }
    }
}

impl From<UpdateOpportunityInput> for commands::UpdateDeal {
    fn from(input: UpdateOpportunityInput) -> Self {
        commands::UpdateDeal {
            id: ids::decode(Kind::Opportunity, &input.id),
            expected_version: input.expected_version,
            name: input.name,
            amount: input.amount.map(|m| m.0),
            currency: input.currency,
            stage: input.stage.map(Into::into),
            expected_close_date: maybe(input.expected_close_date, |d| d.0),
            owner_id: input.owner_id,
        }
    }
}

impl From<AddBuyingGroupMemberInput> for commands::AddMember {
    fn from(input: AddBuyingGroupMemberInput) -> Self {
        commands::AddMember {
            external_id: input.external_id,
            opportunity_id: ids::decode(Kind::Opportunity, &input.opportunity_id),
            contact_id: ids::decode(Kind::Contact, &input.contact_id),
            role: input.role.into(),
            stance: input.stance.map(Into::into),
            can_veto: input.can_veto,
            influence: input.influence.map(Into::into),
            bandwidth: input.bandwidth.map(Into::into),
            notes: input.notes,
        }
    }
}

impl From<UpdateBuyingGroupMemberInput> for commands::UpdateMember {
    fn from(input: UpdateBuyingGroupMemberInput) -> Self {
        commands::UpdateMember {
            id: ids::decode(Kind::BuyingGroupMember, &input.id),
            role: input.role.map(Into::into),
            stance: input.stance.map(Into::into),
            can_veto: input.can_veto,
            influence: input.influence.map(Into::into),
            bandwidth: input.bandwidth.map(Into::into),
            notes: maybe(input.notes, |n| n),
        }
    }
}

impl From<LogInteractionInput> for commands::LogInteraction {
    fn from(input: LogInteractionInput) -> Self {
        let member = |id: &ID| ids::decode(Kind::BuyingGroupMember, id);
        commands::LogInteraction {
            external_id: input.external_id,
            opportunity_id: ids::decode(Kind::Opportunity, &input.opportunity_id),
            kind: input.kind.into(),
            occurred_at: input.occurred_at.0,
            summary: input.summary,
            participant_ids: input.participant_ids.iter().map(member).collect(),
            about_ids: input.about_ids.unwrap_or_default().iter().map(member).collect(),
        }
    }
}

pub struct Mutation;

#[Object]
impl Mutation {
    /// Registers a webhook (admins only); the answer holds its signing secret, shown this once.
    async fn create_webhook(&self, ctx: &Context<'_>, input: CreateWebhookInput) -> Result<CreatedWebhook> {
        let scope = scope(ctx)?;
        let hook = service::webhooks::create(&scope.ctx, &scope.services, input.into()).await?;
        let secret = hook.secret.clone();
        Ok(CreatedWebhook {
            webhook: Webhook(Arc::new(hook)),
            secret,
        })
    }

    /// Deletes a webhook and its deliveries (admins only); answers its id.
    async fn delete_webhook(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let scope = scope(ctx)?;
        service::webhooks::delete(&scope.ctx, &scope.services, ids::decode(Kind::Webhook, &id)).await?;
        Ok(id)
    }

    async fn create_account(&self, ctx: &Context<'_>, input: CreateAccountInput) -> Result<Account> {
        let scope = scope(ctx)?;
        let account = service::accounts::create(&scope.ctx, &scope.services, input.into()).await?;
        Ok(Account(Arc::new(account)))
    }

    async fn create_contact(&self, ctx: &Context<'_>, input: CreateContactInput) -> Result<Contact> {
        let scope = scope(ctx)?;
        let contact = service::contacts::create(&scope.ctx, &scope.services, input.into()).await?;
        Ok(Contact::Row(Arc::new(contact)))
    }

    async fn create_opportunity(&self, ctx: &Context<'_>, input: CreateOpportunityInput) -> Result<Opportunity> {
        let scope = scope(ctx)?;
        let deal = service::deals::create(&scope.ctx, &scope.services, input.into()).await?;
        Ok(Opportunity(Arc::new(deal)))
    }

    async fn update_opportunity(&self, ctx: &Context<'_>, input: UpdateOpportunityInput) -> Result<Opportunity> {
        let scope = scope(ctx)?;
        let deal = service::deals::update(&scope.ctx, &scope.services, input.into()).await?;
        Ok(Opportunity(Arc::new(deal)))
    }

    async fn add_buying_group_member(
        &self,
        ctx: &Context<'_>,
        input: AddBuyingGroupMemberInput,
    ) -> Result<BuyingGroupMember> {
        let scope = scope(ctx)?;
        let member = service::groups::add(&scope.ctx, &scope.services, input.into()).await?;
        Ok(BuyingGroupMember(Arc::new(member)))
    }

    async fn update_buying_group_member(
        &self,
        ctx: &Context<'_>,
        input: UpdateBuyingGroupMemberInput,
    ) -> Result<BuyingGroupMember> {
        let scope = scope(ctx)?;
        let member = service::groups::update(&scope.ctx, &scope.services, input.into()).await?;
        Ok(BuyingGroupMember(Arc::new(member)))
    }

    /// Removes a member from the buying group; returns its ID.
    async fn remove_buying_group_member(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let scope = scope(ctx)?;
        let member = ids::decode(Kind::BuyingGroupMember, &id);
        let removed = service::groups::remove(&scope.ctx, &scope.services, member).await?;
        Ok(ids::encode(Kind::BuyingGroupMember, removed))
    }

    async fn log_interaction(&self, ctx: &Context<'_>, input: LogInteractionInput) -> Result<Interaction> {
        let scope = scope(ctx)?;
        let logged = service::interactions::log(&scope.ctx, &scope.services, input.into()).await?;
        Ok(Interaction(Arc::new(logged)))
    }

    /// Deletes an interaction; returns its ID.
    async fn delete_interaction(&self, ctx: &Context<'_>, id: ID) -> Result<ID> {
        let scope = scope(ctx)?;
        let interaction = ids::decode(Kind::Interaction, &id);
        let deleted = service::interactions::delete(&scope.ctx, &scope.services, interaction).await?;
        Ok(ids::encode(Kind::Interaction, deleted))
    }

    /// Changes the tenant's risk policy (admins only); every open deal is re-assessed before
    /// this returns, so stored levels, filters and ordering follow the new policy.
    async fn update_risk_policy(&self, ctx: &Context<'_>, input: RiskPolicyInput) -> Result<RiskPolicyOut> {
        let scope = scope(ctx)?;
        let policy = service::risk::update_policy(&scope.ctx, &scope.services, input.into()).await?;
        Ok(RiskPolicyOut(policy))
    }
}
