//! Use cases: each mutation checks the caller's rights, validates its input, and writes in
//! one transaction (all or nothing). Resolvers call these; these call the store.

pub mod risk;

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};
use entity::{account, buying_group_member, contact, interaction, opportunity};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, Stage, Stance};
use crate::domain::values;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::opportunities::parse_stored;
use crate::store::{Store, WriteTx, accounts, contacts, interactions, members, opportunities};

/// The current time at the precision both databases keep (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// A reference the client sent: `Some(id)` if it decoded, `None` if it cannot name anything.
pub type Ref = Option<Uuid>;

pub struct CreateAccount {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
}

pub async fn create_account(ctx: &TenantCtx, store: &Store, input: CreateAccount) -> AppResult<account::Model> {
    ctx.require_writer()?;
    let new = accounts::NewAccount {
        name: values::name("input.name", &input.name)?,
        domain: values::optional_short("input.domain", input.domain.as_deref())?,
        industry: values::optional_short("input.industry", input.industry.as_deref())?,
    };
    let tx = store.begin_write().await?;
    let result = accounts::insert(ctx, &*tx, new, now()).await;
    tx.finish(result).await
}

pub struct CreateContact {
    pub account_id: Ref,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
}

pub async fn create_contact(ctx: &TenantCtx, store: &Store, input: CreateContact) -> AppResult<contact::Model> {
    ctx.require_writer()?;
    let full_name = values::name("input.fullName", &input.full_name)?;
    let title = values::optional_short("input.title", input.title.as_deref())?;
    let email = values::optional_email("input.email", input.email.as_deref())?;
    let tx = store.begin_write().await?;
    let result = async {
        let account = require_account(ctx, &tx, input.account_id).await?;
        contacts::insert(
            ctx,
            &*tx,
            contacts::NewContact {
                account_id: account.id,
                full_name,
                title,
                email,
            },
            now(),
        )
        .await
    }
    .await;
    tx.finish(result).await
}

pub struct CreateOpportunity {
    pub account_id: Ref,
    pub name: String,
    pub amount: Decimal,
    pub currency: String,
    pub stage: Option<Stage>,
    pub expected_close_date: Option<NaiveDate>,
    pub owner_id: Option<String>,
}

pub async fn create_opportunity(
    ctx: &TenantCtx,
    store: &Store,
    input: CreateOpportunity,
) -> AppResult<opportunity::Model> {
    ctx.require_writer()?;
    let name = values::name("input.name", &input.name)?;
    let amount_cents = values::amount_cents("input.amount", input.amount)?;
    let currency = values::currency("input.currency", &input.currency)?;
    let owner_id = match input.owner_id {
        Some(owner) => values::name("input.ownerId", &owner)?,
        None => ctx.user_id().to_owned(),
    };
    ctx.require_can_assign_owner(&owner_id)?;
    let tx = store.begin_write().await?;
    let result = async {
        let account = require_account(ctx, &tx, input.account_id).await?;
        let new = opportunities::NewOpportunity {
            account_id: account.id,
            name,
            owner_id,
            stage: input.stage.unwrap_or(Stage::Prospecting),
            amount_cents,
            currency,
            expected_close_date: input.expected_close_date,
        };
        let at = now();
        let created = opportunities::insert(ctx, &*tx, new, at).await?;
        reassessed(ctx, &tx, created.id, at).await
    }
    .await;
    tx.finish(result).await
}

pub struct UpdateOpportunity {
    pub id: Ref,
    pub expected_version: i32,
    pub name: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<String>,
    pub stage: Option<Stage>,
    /// `Some(None)`: the client sent `expectedCloseDate: null` to clear it.
    pub expected_close_date: Option<Option<NaiveDate>>,
    pub owner_id: Option<String>,
}

pub async fn update_opportunity(
    ctx: &TenantCtx,
    store: &Store,
    input: UpdateOpportunity,
) -> AppResult<opportunity::Model> {
    ctx.require_writer()?;
    let changes = opportunities::Changes {
        name: input
            .name
            .as_deref()
            .map(|n| values::name("input.name", n))
            .transpose()?,
        amount_cents: input
            .amount
            .map(|a| values::amount_cents("input.amount", a))
            .transpose()?,
        currency: input
            .currency
            .as_deref()
            .map(|c| values::currency("input.currency", c))
            .transpose()?,
        stage: input.stage,
        expected_close_date: input.expected_close_date,
        owner_id: input
            .owner_id
            .as_deref()
            .map(|o| values::name("input.ownerId", o))
            .transpose()?,
    };
    if let Some(owner) = &changes.owner_id {
        ctx.require_can_assign_owner(owner)?;
    }
    let tx = store.begin_write().await?;
    let result = async {
        let current = require_deal_for_change(ctx, &tx, input.id).await?;
        let current_stage: Stage = parse_stored(&current.stage)?;
        if let Some(stage) = changes.stage
            && current_stage.is_closed()
            && stage != current_stage
        {
            return Err(AppError::bad_input(
                "input.stage",
                format!("the deal is {current_stage}; a closed deal cannot move to another stage"),
            ));
        }
        let at = now();
        let updated = opportunities::update(ctx, &*tx, &current, input.expected_version, changes, at).await?;
        reassessed(ctx, &tx, updated.id, at).await
    }
    .await;
    tx.finish(result).await
}

pub struct AddMember {
    pub opportunity_id: Ref,
    pub contact_id: Ref,
    pub role: BuyingRole,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    pub notes: Option<String>,
}

pub async fn add_member(ctx: &TenantCtx, store: &Store, input: AddMember) -> AppResult<buying_group_member::Model> {
    ctx.require_writer()?;
    let notes = values::optional_long("input.notes", input.notes.as_deref())?;
    let tx = store.begin_write().await?;
    let result = async {
        let deal = require_deal_for_change(ctx, &tx, input.opportunity_id).await?;
        let contact = match input.contact_id {
            Some(id) => contacts::get(ctx, &*tx, id).await?,
            None => None,
        }
        .ok_or(AppError::NotFound("contact"))?;
        if members::contact_in_group(ctx, &*tx, deal.id, contact.id).await? {
            return Err(AppError::bad_input(
                "input.contactId",
                "this contact is already in the buying group",
            ));
        }
        let new = members::NewMember {
            opportunity_id: deal.id,
            contact_id: contact.id,
            contact_name: contact.full_name.clone(),
            contact_title: contact.title.clone(),
            role: input.role,
            stance: input.stance.unwrap_or(Stance::Unknown),
            can_veto: input.can_veto.unwrap_or(false),
            influence: input.influence.unwrap_or(Influence::Medium),
            bandwidth: input.bandwidth.unwrap_or(Bandwidth::Unknown),
            notes,
        };
        let at = now();
        let member = members::insert(ctx, &*tx, new, at).await?;
        risk::refresh_deal(ctx, &*tx, deal.id, at).await?;
        Ok(member)
    }
    .await;
    tx.finish(result).await
}

pub struct UpdateMember {
    pub id: Ref,
    pub role: Option<BuyingRole>,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    /// `Some(None)` clears the notes.
    pub notes: Option<Option<String>>,
}

pub async fn update_member(
    ctx: &TenantCtx,
    store: &Store,
    input: UpdateMember,
) -> AppResult<buying_group_member::Model> {
    ctx.require_writer()?;
    let notes = match input.notes {
        Some(text) => Some(values::optional_long("input.notes", text.as_deref())?),
        None => None,
    };
    let tx = store.begin_write().await?;
    let result = async {
        let member = require_member_for_change(ctx, &tx, input.id).await?;
        let changes = members::MemberChanges {
            role: input.role,
            stance: input.stance,
            can_veto: input.can_veto,
            influence: input.influence,
            bandwidth: input.bandwidth,
            notes,
        };
        let updated = members::update(ctx, &*tx, member.id, changes)
            .await?
            .ok_or(AppError::NotFound("buying group member"))?;
        risk::refresh_deal(ctx, &*tx, updated.opportunity_id, now()).await?;
        Ok(updated)
    }
    .await;
    tx.finish(result).await
}

pub async fn remove_member(ctx: &TenantCtx, store: &Store, id: Ref) -> AppResult<Uuid> {
    ctx.require_writer()?;
    let tx = store.begin_write().await?;
    let result = async {
        let member = require_member_for_change(ctx, &tx, id).await?;
        members::delete(ctx, &*tx, member.id).await?;
        risk::refresh_deal(ctx, &*tx, member.opportunity_id, now()).await?;
        Ok(member.id)
    }
    .await;
    tx.finish(result).await
}

pub struct LogInteraction {
    pub opportunity_id: Ref,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<String>,
    pub participant_ids: Vec<Ref>,
    pub about_ids: Vec<Ref>,
}

/// How far ahead of now an interaction may be dated (clock skew, time zones).
const MAX_FUTURE_INTERACTION_HOURS: i64 = 24;

pub async fn log_interaction(ctx: &TenantCtx, store: &Store, input: LogInteraction) -> AppResult<interaction::Model> {
    ctx.require_writer()?;
    let summary = values::optional_long("input.summary", input.summary.as_deref())?;
    let at = now();
    if input.occurred_at > at + chrono::Duration::hours(MAX_FUTURE_INTERACTION_HOURS) {
        return Err(AppError::bad_input(
            "input.occurredAt",
            "must not lie in the future; log interactions that happened",
        ));
    }
    if input.participant_ids.is_empty() {
        return Err(AppError::bad_input(
            "input.participantIds",
            "name at least one participant",
        ));
    }
    let occurred_at = input.occurred_at.trunc_subsecs(6);
    let tx = store.begin_write().await?;
    let result = async {
        let deal = require_deal_for_change(ctx, &tx, input.opportunity_id).await?;
        let group = members::for_opportunities(ctx, &*tx, &[deal.id]).await?;
        let resolve = |field: &str, refs: &[Ref]| -> AppResult<Vec<Uuid>> {
            let mut ids = Vec::with_capacity(refs.len());
            for r in refs {
                match r.filter(|id| group.iter().any(|m| m.id == *id)) {
                    Some(id) if !ids.contains(&id) => ids.push(id),
                    Some(_) => {
                        return Err(AppError::bad_input(field, "names the same member twice"));
                    }
                    None => {
                        return Err(AppError::bad_input(
                            field,
                            "every id must be a member of this opportunity's buying group",
                        ));
                    }
                }
            }
            Ok(ids)
        };
        let participants = resolve("input.participantIds", &input.participant_ids)?;
        let about = resolve("input.aboutIds", &input.about_ids)?;
        if about.iter().any(|id| participants.contains(id)) {
            return Err(AppError::bad_input(
                "input.aboutIds",
                "a member cannot be both a participant and discussed in absence",
            ));
        }
        let new = interactions::NewInteraction {
            opportunity_id: deal.id,
            kind: input.kind,
            occurred_at,
            summary,
            participants,
            about,
        };
        let logged = interactions::insert(ctx, &*tx, new, at).await?;
        risk::refresh_deal(ctx, &*tx, deal.id, at).await?;
        Ok(logged)
    }
    .await;
    tx.finish(result).await
}

pub async fn delete_interaction(ctx: &TenantCtx, store: &Store, id: Ref) -> AppResult<Uuid> {
    ctx.require_writer()?;
    let tx = store.begin_write().await?;
    let result = async {
        let found = match id {
            Some(id) => interactions::get(ctx, &*tx, id).await?,
            None => None,
        }
        .ok_or(AppError::NotFound("interaction"))?;
        require_deal_for_change(ctx, &tx, Some(found.opportunity_id)).await?;
        interactions::delete(ctx, &*tx, found.id).await?;
        risk::refresh_deal(ctx, &*tx, found.opportunity_id, now()).await?;
        Ok(found.id)
    }
    .await;
    tx.finish(result).await
}

/// Re-assesses the deal after a write and returns its row with the fresh stored risk.
async fn reassessed(ctx: &TenantCtx, tx: &WriteTx, deal_id: Uuid, at: DateTime<Utc>) -> AppResult<opportunity::Model> {
    risk::refresh_deal(ctx, &**tx, deal_id, at).await?;
    opportunities::get(ctx, &**tx, deal_id)
        .await?
        .ok_or(AppError::NotFound("opportunity"))
}

async fn require_account(ctx: &TenantCtx, tx: &WriteTx, id: Ref) -> AppResult<account::Model> {
    match id {
        Some(id) => accounts::get(ctx, &**tx, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("account"))
}

/// The deal, if it exists in the caller's tenant and the caller may change it.
async fn require_deal_for_change(ctx: &TenantCtx, tx: &WriteTx, id: Ref) -> AppResult<opportunity::Model> {
    let deal = match id {
        Some(id) => opportunities::get(ctx, &**tx, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("opportunity"))?;
    ctx.require_can_change_deal(&deal.owner_id)?;
    Ok(deal)
}

async fn require_member_for_change(ctx: &TenantCtx, tx: &WriteTx, id: Ref) -> AppResult<buying_group_member::Model> {
    let member = match id {
        Some(id) => members::get(ctx, &**tx, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("buying group member"))?;
    require_deal_for_change(ctx, tx, Some(member.opportunity_id)).await?;
    Ok(member)
}
