//! Deals: create and change them (their stage and close-date history is recorded as they
//! move), page through the board, load them with their account or their history.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Services, accounts, counted, now, risk};
use crate::domain::commands::{CreateDeal, Ref, UpdateDeal};
use crate::domain::deal_record::DealHistory;
use crate::domain::model::ChangeKind;
use crate::domain::model::Stage;
use crate::domain::page::{Page, PageArgs};
use crate::domain::query::{DealFilter, DealSort};
use crate::domain::records::{Account, AmountChange, CloseDateChange, Deal, StageChange, StoredRisk};
use crate::domain::values;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::changes;
use crate::store::{Conn, history, opportunities};

pub async fn create(ctx: &TenantCtx, svc: &Services, input: CreateDeal) -> AppResult<Deal> {
    ctx.require_writer()?;
    let name = values::name("input.name", &input.name)?;
    let amount_cents = values::amount_cents("input.amount", input.amount)?;
    let currency = values::currency("input.currency", &input.currency)?;
    let owner_id = match input.owner_id {
        Some(owner) => values::name("input.ownerId", &owner)?,
        None => ctx.user_id().to_owned(),
    };
    ctx.require_can_assign_owner(&owner_id)?;
    svc.store
        .write(async |tx| {
            let account = accounts::require(ctx, tx, input.account_id).await?;
            let at = now();
            let stage = input.stage.unwrap_or(Stage::Prospecting);
            let deal = Deal {
                external_id: values::external_id("input.externalId", input.external_id.as_deref())?,
                id: Uuid::now_v7(),
                account_id: account.id,
                name,
                owner_id,
                stage,
                amount_cents,
                currency,
                expected_close_date: input.expected_close_date,
                stage_entered_at: at,
                closed_at: stage.is_closed().then_some(at),
                created_at: at,
                updated_at: at,
                version: 1,
                risk: StoredRisk::UNASSESSED,
            };
            opportunities::insert(ctx, tx, &deal).await?;
            record_moves(ctx, tx, None, &deal).await?;
            changes::changed(ctx, deal.id, ChangeKind::Created, at);
            risk::refresh_deal(ctx, tx, deal, at).await
        })
        .await
}

pub async fn update(ctx: &TenantCtx, svc: &Services, input: UpdateDeal) -> AppResult<Deal> {
    ctx.require_writer()?;
    let name = input
        .name
        .as_deref()
        .map(|n| values::name("input.name", n))
        .transpose()?;
    let amount_cents = input
        .amount
        .map(|a| values::amount_cents("input.amount", a))
        .transpose()?;
    let currency = input
        .currency
        .as_deref()
        .map(|c| values::currency("input.currency", c))
        .transpose()?;
    let owner_id = input
        .owner_id
        .as_deref()
        .map(|o| values::name("input.ownerId", o))
        .transpose()?;
    if let Some(owner) = &owner_id {
        ctx.require_can_assign_owner(owner)?;
    }
    svc.store
        .write(async |tx| {
            let current = require_for_change(ctx, tx, input.id).await?;
            let stale = || {
                AppError::Conflict(format!(
                    "the opportunity has changed since version {} (now {}); reload it and try again",
                    input.expected_version, current.version
                ))
            };
            if current.version != input.expected_version {
                return Err(stale());
            }
            if let Some(stage) = input.stage
                && current.stage.is_closed()
                && stage != current.stage
            {
                return Err(AppError::bad_input(
                    "input.stage",
                    format!(
                        "the deal is {}; a closed deal cannot move to another stage",
                        current.stage
                    ),
                ));
            }
            let at = now();
            let mut next = current.clone();
            next.version += 1;
            next.updated_at = at;
            if let Some(name) = name {
                next.name = name;
            }
            if let Some(cents) = amount_cents {
                next.amount_cents = cents;
            }
            if let Some(currency) = currency {
                next.currency = currency;
            }
            if let Some(owner) = owner_id {
                next.owner_id = owner;
            }
            if let Some(stage) = input.stage.filter(|s| *s != current.stage) {
                next.stage = stage;
                next.stage_entered_at = at;
                next.closed_at = stage.is_closed().then_some(at);
            }
            if let Some(date) = input.expected_close_date {
                next.expected_close_date = date;
            }
            if !opportunities::update(ctx, tx, &current, &next).await? {
                return Err(stale());
            }
            record_moves(ctx, tx, Some(&current), &next).await?;
            changes::changed(ctx, next.id, ChangeKind::Updated, at);
            risk::refresh_deal(ctx, tx, next, at).await
        })
        .await
}

/// Records the stage, close-date and amount moves from `before` (`None`: a new deal) to `after`,
/// stamped with `after.updated_at` and the caller.
async fn record_moves(ctx: &TenantCtx, conn: &impl Conn, before: Option<&Deal>, after: &Deal) -> AppResult<()> {
    let from_stage = before.map(|d| d.stage);
    if from_stage != Some(after.stage) {
        let change = StageChange {
            id: Uuid::now_v7(),
            opportunity_id: after.id,
            from: from_stage,
            to: after.stage,
            at: after.updated_at,
            by: ctx.user_id().to_owned(),
        };
        opportunities::record_stage_change(ctx, conn, &change).await?;
    }
    let from_date = before.and_then(|d| d.expected_close_date);
    let moved = match before {
        Some(before) => before.expected_close_date != after.expected_close_date,
        None => after.expected_close_date.is_some(),
    };
    if moved {
        let change = CloseDateChange {
            id: Uuid::now_v7(),
            opportunity_id: after.id,
            from: from_date,
            to: after.expected_close_date,
            at: after.updated_at,
            by: ctx.user_id().to_owned(),
        };
        opportunities::record_close_date_change(ctx, conn, &change).await?;
    }
    let from_amount = before.map(|d| d.amount_cents);
    if from_amount != Some(after.amount_cents) {
        let change = AmountChange {
            id: Uuid::now_v7(),
            opportunity_id: after.id,
            from: from_amount,
            to: after.amount_cents,
            at: after.updated_at,
            by: ctx.user_id().to_owned(),
        };
        opportunities::record_amount_change(ctx, conn, &change).await?;
    }
    Ok(())
}

/// The deal a client referred to, if it exists in the caller's tenant and the caller may
/// change it.
pub(crate) async fn require_for_change(ctx: &TenantCtx, conn: &impl Conn, id: Ref) -> AppResult<Deal> {
    let deal = match id {
        Some(id) => opportunities::get(ctx, conn, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("opportunity"))?;
    ctx.require_can_change_deal(&deal.owner_id)?;
    Ok(deal)
}

/// One deal with its account (one query); `None` when it does not exist in the caller's tenant.
pub async fn get_with_account(ctx: &TenantCtx, svc: &Services, id: Uuid) -> AppResult<Option<(Deal, Option<Account>)>> {
    opportunities::get_with_account(ctx, svc.store.reader(), id).await
}

/// The deals of `ids` that exist in the caller's tenant.
pub async fn load_many(ctx: &TenantCtx, svc: &Services, ids: &[Uuid]) -> AppResult<Vec<Deal>> {
    opportunities::get_many(ctx, svc.store.reader(), ids).await
}

/// One page of the board: the deals matching `filter` in `sort` order, each with its
/// account when `with_accounts` (read in the same query).
pub async fn page(
    ctx: &TenantCtx,
    svc: &Services,
    query: &DealQuery<'_>,
    args: &PageArgs,
) -> AppResult<Page<(Deal, Option<Account>)>> {
    let window = args.window(&opportunities::order_tag(query.sort))?;
    let db = svc.store.reader();
    let page = opportunities::page(ctx, db, query.filter, query.sort, &window, query.with_accounts);
    counted(page, opportunities::count(ctx, db, query.filter), query.with_total).await
}

/// What one page of the board asks for.
pub struct DealQuery<'a> {
    pub filter: &'a DealFilter,
    pub sort: DealSort,
    /// Each deal's account with it.
    pub with_accounts: bool,
    /// The size of the whole list.
    pub with_total: bool,
}

/// The newest `last` stages a deal went through (all of them up to the limit when `None`),
/// oldest first.
pub async fn stage_history(
    ctx: &TenantCtx,
    svc: &Services,
    deal_id: Uuid,
    last: Option<i32>,
) -> AppResult<Vec<StageChange>> {
    let last = values::history_points("last", last)?;
    opportunities::stage_history(ctx, svc.store.reader(), deal_id, last).await
}

/// The newest `last` entries of an already loaded list, oldest first (a history read with
/// the deal page).
pub fn newest<T: Clone>(list: &[T], last: Option<i32>) -> AppResult<Vec<T>> {
    let last = values::history_points("last", last)?;
    Ok(list[list.len().saturating_sub(last)..].to_vec())
}

/// The histories (interactions with their links, stage and close-date changes) of several
/// deals, in one read.
pub async fn histories(ctx: &TenantCtx, svc: &Services, deal_ids: &[Uuid]) -> AppResult<HashMap<Uuid, DealHistory>> {
    history::for_deals(ctx, svc.store.reader(), deal_ids).await
}

/// The one with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, svc: &Services, external_id: &str) -> AppResult<Option<Deal>> {
    opportunities::get_by_external_id(ctx, svc.store.reader(), external_id.trim()).await
}
