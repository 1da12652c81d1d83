//! Opportunities (deals) and their stage and close-date changes.

use chrono::NaiveTime;
use entity::account;
use entity::opportunity::{Column, Entity};
use entity::{amount_change, close_date_change, stage_change};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, Condition, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, RelationDef,
};
use std::collections::HashMap;

use uuid::Uuid;

use super::convert::{amount_change_row, close_date_change_row, deal_row, stage_change_row};
use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, contains_ci, scope};
use crate::domain::model::Stage;
use crate::domain::query::{DealFilter, DealSort, DealSortField};
use crate::domain::records::{Account, AmountChange, CloseDateChange, Deal, StageChange};
use crate::domain::{AppResult, TenantCtx};

fn ordering(sort: DealSort) -> Ordering<Column> {
    let (name, key, nullable, descending) = match sort.field {
        DealSortField::RiskScore => ("RISK_SCORE", Column::RiskScore, false, sort.descending),
        DealSortField::Amount => ("AMOUNT", Column::AmountCents, false, sort.descending),
        DealSortField::ExpectedCloseDate => ("EXPECTED_CLOSE_DATE", Column::ExpectedCloseDate, true, sort.descending),
        DealSortField::UpdatedAt => ("UPDATED_AT", Column::UpdatedAt, false, sort.descending),
        DealSortField::Name => ("NAME", Column::Name, false, sort.descending),
        // More days in stage means an earlier entry into it.
        DealSortField::DaysInStage => ("DAYS_IN_STAGE", Column::StageEnteredAt, false, !sort.descending),
    };
    let dir = if sort.descending { "DESC" } else { "ASC" };
    Ordering {
        tag: format!("opportunity:{name}:{dir}"),
        key: Some(key),
        nullable,
        descending,
    }
}

fn key_of(sort: DealSort, d: &Deal) -> Key {
    match sort.field {
        DealSortField::RiskScore => Key::Int(i64::from(d.risk.score)),
        DealSortField::Amount => Key::Int(d.amount_cents),
        DealSortField::ExpectedCloseDate => d.expected_close_date.map_or(Key::Null, Key::Date),
        DealSortField::UpdatedAt => Key::Time(d.updated_at),
        DealSortField::Name => Key::Text(d.name.clone()),
        DealSortField::DaysInStage => Key::Time(d.stage_entered_at),
    }
}

/// The cursor tag of a sort, for validating cursors before querying.
pub fn order_tag(sort: DealSort) -> String {
    ordering(sort).tag
}

fn closed_stages() -> [&'static str; 2] {
    [Stage::ClosedWon.as_str(), Stage::ClosedLost.as_str()]
}

/// The filter as a condition on `opportunities` (tenant scoping is added by `scope`).
pub fn condition(filter: &DealFilter) -> Condition {
    let mut c = Condition::all();
    if filter.matches_nothing {
        return c.add(Expr::val(1).eq(0));
    }
    if let Some(stages) = &filter.stages {
        c = c.add(Column::Stage.is_in(stages.iter().map(|s| s.as_str())));
    }
    match filter.open {
        Some(true) => c = c.add(Column::Stage.is_not_in(closed_stages())),
        Some(false) => c = c.add(Column::Stage.is_in(closed_stages())),
        None => {}
    }
    if let Some(owner) = &filter.owner_id {
        c = c.add(Column::OwnerId.eq(owner.as_str()));
    }
    if let Some(account) = filter.account_id {
        c = c.add(Column::AccountId.eq(account));
    }
    if let Some(levels) = &filter.risk_levels {
        c = c.add(Column::RiskLevel.is_in(levels.iter().map(|l| l.as_str())));
    }
    if let Some(code) = filter.risk_factor {
        let bit = 1_i64 << code.index();
        c = c.add(Column::RiskFactorMask.into_expr().bit_and(bit).ne(0));
    }
    if let Some(min) = filter.min_amount_cents {
        c = c.add(Column::AmountCents.gte(min));
    }
    if let Some(max) = filter.max_amount_cents {
        c = c.add(Column::AmountCents.lte(max));
    }
    if let Some(currency) = &filter.currency {
        c = c.add(Column::Currency.eq(currency.as_str()));
    }
    if let Some(ids) = &filter.external_ids {
        c = c.add(Column::ExternalId.is_in(ids.iter().map(String::as_str)));
    }
    if let Some(from) = filter.close_date_from {
        c = c.add(Column::ExpectedCloseDate.gte(from));
    }
    if let Some(to) = filter.close_date_to {
        c = c.add(Column::ExpectedCloseDate.lte(to));
    }
    if let Some(text) = filter.name_contains.as_deref().filter(|t| !t.is_empty()) {
        c = c.add(contains_ci(Column::Name, text));
    }
    if let Some(from) = filter.created_from {
        c = c.add(Column::CreatedAt.gte(from));
    }
    if let Some(to) = filter.created_to {
        c = c.add(Column::CreatedAt.lte(to));
    }
    // The UTC date of `closed_at` in [from, to]: an instant range, the same on both engines.
    if let Some(from) = filter.closed_from {
        c = c.add(Column::ClosedAt.gte(from.and_time(NaiveTime::MIN).and_utc()));
    }
    if let Some(to) = filter.closed_to {
        match to.succ_opt() {
            Some(next) => c = c.add(Column::ClosedAt.lt(next.and_time(NaiveTime::MIN).and_utc())),
            None => c = c.add(Column::ClosedAt.is_not_null()),
        }
    }
    c
}

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Deal>> {
    scope::find_by_id::<Entity, _>(ctx, conn, id).await
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Deal>> {
    scope::find_by_ids::<Entity, _>(ctx, conn, ids).await
}

/// Deal → its account, within the tenant (the join includes `tenant_id`).
fn deal_account() -> RelationDef {
    Entity::belongs_to(account::Entity)
        .from((Column::TenantId, Column::AccountId))
        .to((account::Column::TenantId, account::Column::Id))
        .into()
}

/// A deal with its account, in one joined query (the join includes the tenant).
pub async fn get_with_account(
    ctx: &TenantCtx,
    conn: &impl Conn,
    id: Uuid,
) -> AppResult<Option<(Deal, Option<Account>)>> {
    let found = scope::select::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .join(JoinType::LeftJoin, deal_account())
        .select_also(account::Entity)
        .one(conn)
        .await?;
    found
        .map(|(deal, account)| Ok((Deal::try_from(deal)?, account.map(Account::try_from).transpose()?)))
        .transpose()
}

/// One page of the board; with `with_accounts`, each deal with its account, in the same
/// (joined) query.
pub async fn page(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    sort: DealSort,
    window: &Window,
    with_accounts: bool,
) -> AppResult<Page<(Deal, Option<Account>)>> {
    let ordering = ordering(sort);
    let select = scope::select::<Entity>(ctx).filter(condition(filter));
    if !with_accounts {
        let page = page::read(conn, select, Column::Id, &ordering, window, |d: &Deal| {
            (key_of(sort, d), d.id)
        })
        .await?;
        return Ok(page.map(|deal| (deal, None)));
    }
    let rows = page::apply(select, Column::Id, &ordering, window)
        .join(JoinType::LeftJoin, deal_account())
        .select_also(account::Entity)
        .all(conn)
        .await?
        .into_iter()
        .map(|(deal, account)| Ok((Deal::try_from(deal)?, account.map(Account::try_from).transpose()?)))
        .collect::<AppResult<Vec<_>>>()?;
    Ok(page::finish(rows, &ordering.tag, window, |(d, _)| {
        (key_of(sort, d), d.id)
    }))
}

pub async fn count(ctx: &TenantCtx, conn: &impl Conn, filter: &DealFilter) -> AppResult<u64> {
    Ok(scope::select::<Entity>(ctx)
        .filter(condition(filter))
        .count(conn)
        .await?)
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, deal: &Deal) -> AppResult<()> {
    scope::insert_one(ctx, conn, deal_row(deal)).await
}

/// Writes `after` over `before` if the stored version is still `before.version`: the fields
/// a client can change, the stage bookkeeping, the version and `updated_at` (the stored
/// assessment is written by [`super::risk::save`]). `false` when another write got there first.
pub async fn update(ctx: &TenantCtx, conn: &impl Conn, before: &Deal, after: &Deal) -> AppResult<bool> {
    let mut update = scope::update::<Entity>(ctx)
        .filter(Column::Id.eq(before.id))
        .filter(Column::Version.eq(before.version))
        .col_expr(Column::Version, Expr::val(after.version))
        .col_expr(Column::UpdatedAt, Expr::val(after.updated_at));
    if after.name != before.name {
        update = update.col_expr(Column::Name, Expr::val(after.name.as_str()));
    }
    if after.amount_cents != before.amount_cents {
        update = update.col_expr(Column::AmountCents, Expr::val(after.amount_cents));
    }
    if after.currency != before.currency {
        update = update.col_expr(Column::Currency, Expr::val(after.currency.as_str()));
    }
    if after.owner_id != before.owner_id {
        update = update.col_expr(Column::OwnerId, Expr::val(after.owner_id.as_str()));
    }
    if after.stage != before.stage {
        update = update
            .col_expr(Column::Stage, Expr::val(after.stage.as_str()))
            .col_expr(Column::StageEnteredAt, Expr::val(after.stage_entered_at))
            .col_expr(Column::ClosedAt, Expr::val(after.closed_at));
    }
    if after.expected_close_date != before.expected_close_date {
        update = update.col_expr(Column::ExpectedCloseDate, Expr::val(after.expected_close_date));
    }
    let result = update.exec(conn).await?;
    Ok(result.rows_affected == 1)
}

pub async fn record_stage_change(ctx: &TenantCtx, conn: &impl Conn, change: &StageChange) -> AppResult<()> {
    scope::insert_one(ctx, conn, stage_change_row(change)).await
}

pub async fn record_close_date_change(ctx: &TenantCtx, conn: &impl Conn, change: &CloseDateChange) -> AppResult<()> {
    scope::insert_one(ctx, conn, close_date_change_row(change)).await
}

pub async fn record_amount_change(ctx: &TenantCtx, conn: &impl Conn, change: &AmountChange) -> AppResult<()> {
    scope::insert_one(ctx, conn, amount_change_row(change)).await
}

/// A deal's newest `last` stage changes, oldest first.
pub async fn stage_history(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    last: usize,
) -> AppResult<Vec<StageChange>> {
    let mut changes = scope::select::<stage_change::Entity>(ctx)
        .filter(stage_change::Column::OpportunityId.eq(deal_id))
        .order_by_desc(stage_change::Column::ChangedAt)
        .order_by_desc(stage_change::Column::Id)
        .limit(u64::try_from(last).unwrap_or(u64::MAX))
        .all(conn)
        .await?
        .into_iter()
        .map(StageChange::try_from)
        .collect::<AppResult<Vec<_>>>()?;
    changes.reverse();
    Ok(changes)
}

/// Up to `limit` open deals with ids after `after`, by id (for batched refreshes).
pub async fn open_after(ctx: &TenantCtx, conn: &impl Conn, after: Option<Uuid>, limit: u64) -> AppResult<Vec<Deal>> {
    let mut select = scope::select::<Entity>(ctx).filter(Column::Stage.is_not_in(closed_stages()));
    if let Some(after) = after {
        select = select.filter(Column::Id.gt(after));
    }
    select
        .order_by_asc(Column::Id)
        .limit(limit)
        .all(conn)
        .await?
        .into_iter()
        .map(Deal::try_from)
        .collect()
}

/// The opportunity with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, conn: &impl Conn, external_id: &str) -> AppResult<Option<Deal>> {
    scope::find_by_external_id::<entity::opportunity::Entity, _>(ctx, conn, external_id).await
}

/// Overwrites a stored deal with `deal` (same id), its stored assessment included.
pub async fn overwrite(ctx: &TenantCtx, conn: &impl Conn, deal: &Deal) -> AppResult<()> {
    scope::overwrite(ctx, conn, deal_row(deal)).await
}

/// A deal's whole stage and close-date history, oldest first.
pub async fn histories(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
) -> AppResult<(Vec<StageChange>, Vec<CloseDateChange>)> {
    let mut stages: Vec<StageChange> = scope::select::<stage_change::Entity>(ctx)
        .filter(stage_change::Column::OpportunityId.eq(deal_id))
        .all(conn)
        .await?
        .into_iter()
        .map(StageChange::try_from)
        .collect::<AppResult<_>>()?;
    stages.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    let mut closes: Vec<CloseDateChange> = scope::select::<close_date_change::Entity>(ctx)
        .filter(close_date_change::Column::OpportunityId.eq(deal_id))
        .all(conn)
        .await?
        .into_iter()
        .map(CloseDateChange::try_from)
        .collect::<AppResult<_>>()?;
    closes.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    Ok((stages, closes))
}

/// A deal's amount history, oldest first.
pub async fn amount_history(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid) -> AppResult<Vec<AmountChange>> {
    let mut changes: Vec<AmountChange> = scope::select::<amount_change::Entity>(ctx)
        .filter(amount_change::Column::OpportunityId.eq(deal_id))
        .all(conn)
        .await?
        .into_iter()
        .map(AmountChange::try_from)
        .collect::<AppResult<_>>()?;
    changes.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    Ok(changes)
}

/// Replaces a deal's amount history with `changes`.
pub async fn replace_amount_history(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    changes: &[AmountChange],
) -> AppResult<()> {
    scope::delete::<amount_change::Entity>(ctx)
        .filter(amount_change::Column::OpportunityId.eq(deal_id))
        .exec(conn)
        .await?;
    if !changes.is_empty() {
        scope::insert_many(ctx, changes.iter().map(amount_change_row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Replaces a deal's stage and close-date history with these lists.
pub async fn replace_histories(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    stages: &[StageChange],
    closes: &[CloseDateChange],
) -> AppResult<()> {
    scope::delete::<stage_change::Entity>(ctx)
        .filter(stage_change::Column::OpportunityId.eq(deal_id))
        .exec(conn)
        .await?;
    scope::delete::<close_date_change::Entity>(ctx)
        .filter(close_date_change::Column::OpportunityId.eq(deal_id))
        .exec(conn)
        .await?;
    if !stages.is_empty() {
        scope::insert_many(ctx, stages.iter().map(stage_change_row))
            .exec_without_returning(conn)
            .await?;
    }
    if !closes.is_empty() {
        scope::insert_many(ctx, closes.iter().map(close_date_change_row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// The stage, close-date and amount histories of several deals, each oldest first.
pub async fn histories_of(ctx: &TenantCtx, conn: &impl Conn, deal_ids: &[Uuid]) -> AppResult<HashMap<Uuid, Histories>> {
    let mut out: HashMap<Uuid, Histories> = deal_ids.iter().map(|id| (*id, Histories::default())).collect();
    if deal_ids.is_empty() {
        return Ok(out);
    }
    for row in scope::select::<stage_change::Entity>(ctx)
        .filter(stage_change::Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .all(conn)
        .await?
    {
        let change = StageChange::try_from(row)?;
        out.entry(change.opportunity_id).or_default().stages.push(change);
    }
    for row in scope::select::<close_date_change::Entity>(ctx)
        .filter(close_date_change::Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .all(conn)
        .await?
    {
        let change = CloseDateChange::try_from(row)?;
        out.entry(change.opportunity_id).or_default().closes.push(change);
    }
    for row in scope::select::<amount_change::Entity>(ctx)
        .filter(amount_change::Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .all(conn)
        .await?
    {
        let change = AmountChange::try_from(row)?;
        out.entry(change.opportunity_id).or_default().amounts.push(change);
    }
    for h in out.values_mut() {
        h.stages.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        h.closes.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        h.amounts.sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    }
    Ok(out)
}

/// A deal's stage, close-date and amount histories.
#[derive(Debug, Clone, Default)]
pub struct Histories {
    pub stages: Vec<StageChange>,
    pub closes: Vec<CloseDateChange>,
    pub amounts: Vec<AmountChange>,
}

/// Deletes the stage and close-date histories of the deals of `stage_and_close`, and the amount
/// histories of those of `amount` (before [`bulk::write`](super::bulk::write) puts the new
/// ones in).
pub async fn delete_histories(
    ctx: &TenantCtx,
    conn: &impl Conn,
    stage_and_close: &[Uuid],
    amount: &[Uuid],
) -> AppResult<()> {
    for chunk in stage_and_close.chunks(1_000) {
        scope::delete::<stage_change::Entity>(ctx)
            .filter(stage_change::Column::OpportunityId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
        scope::delete::<close_date_change::Entity>(ctx)
            .filter(close_date_change::Column::OpportunityId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    for chunk in amount.chunks(1_000) {
        scope::delete::<amount_change::Entity>(ctx)
            .filter(amount_change::Column::OpportunityId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    Ok(())
}
