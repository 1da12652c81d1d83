//! Opportunities (deals), their stage history and close-date history.

use chrono::{DateTime, NaiveDate, Utc};
use entity::opportunity::{ActiveModel, Column, Entity, Model};
use entity::{close_date_change, stage_change};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, PaginatorTrait, QueryFilter, QueryOrder, Set};
use uuid::Uuid;

use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, contains_ci, db_error, scope};
use crate::domain::model::{RiskFactorCode, RiskLevel, Stage};
use crate::domain::{AppError, AppResult, TenantCtx};

/// The board's filter, already validated and resolved to internal ids.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub stages: Option<Vec<Stage>>,
    pub open: Option<bool>,
    pub owner_id: Option<String>,
    pub account_id: Option<Uuid>,
    /// Set when the filter named something that does not exist: nothing can match.
    pub matches_nothing: bool,
    pub risk_levels: Option<Vec<RiskLevel>>,
    pub risk_factor: Option<RiskFactorCode>,
    pub min_amount_cents: Option<i64>,
    pub max_amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub close_date_from: Option<NaiveDate>,
    pub close_date_to: Option<NaiveDate>,
    pub name_contains: Option<String>,
}

/// What the board can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    RiskScore,
    Amount,
    ExpectedCloseDate,
    UpdatedAt,
    Name,
    DaysInStage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub descending: bool,
}

impl Default for Sort {
    /// Most recently changed first.
    fn default() -> Self {
        Sort {
            field: SortField::UpdatedAt,
            descending: true,
        }
    }
}

impl Sort {
    fn ordering(self) -> Ordering<Column> {
        let (name, key, nullable, descending) = match self.field {
            SortField::RiskScore => ("RISK_SCORE", Column::RiskScore, false, self.descending),
            SortField::Amount => ("AMOUNT", Column::AmountCents, false, self.descending),
            SortField::ExpectedCloseDate => ("EXPECTED_CLOSE_DATE", Column::ExpectedCloseDate, true, self.descending),
            SortField::UpdatedAt => ("UPDATED_AT", Column::UpdatedAt, false, self.descending),
            SortField::Name => ("NAME", Column::Name, false, self.descending),
            // More days in stage means an earlier entry into it.
            SortField::DaysInStage => ("DAYS_IN_STAGE", Column::StageEnteredAt, false, !self.descending),
        };
        let dir = if self.descending { "DESC" } else { "ASC" };
        Ordering {
            tag: format!("opportunity:{name}:{dir}"),
            key: Some(key),
            nullable,
            descending,
        }
    }

    fn key_of(self, m: &Model) -> Key {
        match self.field {
            SortField::RiskScore => Key::Int(i64::from(m.risk_score)),
            SortField::Amount => Key::Int(m.amount_cents),
            SortField::ExpectedCloseDate => m.expected_close_date.map_or(Key::Null, Key::Date),
            SortField::UpdatedAt => Key::Time(m.updated_at),
            SortField::Name => Key::Text(m.name.clone()),
            SortField::DaysInStage => Key::Time(m.stage_entered_at),
        }
    }

    /// The cursor tag of this sort, for validating cursors before querying.
    pub fn tag(self) -> String {
        self.ordering().tag
    }
}

fn closed_stages() -> [&'static str; 2] {
    [Stage::ClosedWon.as_str(), Stage::ClosedLost.as_str()]
}

/// The filter as a condition on `opportunities` (tenant scoping is added by `scope`).
pub fn condition(filter: &Filter) -> Condition {
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
        c = c.add(Expr::col(Column::RiskFactorMask).bit_and(bit).ne(0));
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
    if let Some(from) = filter.close_date_from {
        c = c.add(Column::ExpectedCloseDate.gte(from));
    }
    if let Some(to) = filter.close_date_to {
        c = c.add(Column::ExpectedCloseDate.lte(to));
    }
    if let Some(text) = filter.name_contains.as_deref().filter(|t| !t.is_empty()) {
        c = c.add(contains_ci(Column::Name, text));
    }
    c
}

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Model>> {
    scope::select::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await
        .map_err(db_error)
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Model>> {
    scope::select::<Entity>(ctx)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(db_error)
}

pub async fn list(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &Filter,
    sort: Sort,
    window: &Window,
) -> AppResult<Page<Model>> {
    let ordering = sort.ordering();
    let select = scope::select::<Entity>(ctx).filter(condition(filter));
    let rows = page::apply(select, Column::Id, &ordering, window)
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(page::finish(rows, &ordering.tag, window, |m| (sort.key_of(m), m.id)))
}

pub async fn count(ctx: &TenantCtx, conn: &impl Conn, filter: &Filter) -> AppResult<u64> {
    scope::select::<Entity>(ctx)
        .filter(condition(filter))
        .count(conn)
        .await
        .map_err(db_error)
}

pub struct NewOpportunity {
    pub account_id: Uuid,
    pub name: String,
    pub owner_id: String,
    pub stage: Stage,
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
}

/// Inserts the deal with its first stage (and close date) recorded as history.
pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, new: NewOpportunity, now: DateTime<Utc>) -> AppResult<Model> {
    let id = Uuid::now_v7();
    let row = ActiveModel {
        id: Set(id),
        account_id: Set(new.account_id),
        name: Set(new.name),
        owner_id: Set(new.owner_id),
        stage: Set(new.stage.as_str().to_owned()),
        amount_cents: Set(new.amount_cents),
        currency: Set(new.currency),
        expected_close_date: Set(new.expected_close_date),
        stage_entered_at: Set(now),
        closed_at: Set(new.stage.is_closed().then_some(now)),
        created_at: Set(now),
        updated_at: Set(now),
        version: Set(1),
        risk_score: Set(0),
        risk_level: Set(RiskLevel::Low.as_str().to_owned()),
        risk_factor_mask: Set(0),
        risk_assessed_at: Set(None),
        risk_group_size: Set(0),
        risk_engaged: Set(0),
        ..Default::default()
    };
    let model = scope::owned(ctx, row).insert(conn).await.map_err(db_error)?;
    record_stage_change(ctx, conn, id, None, new.stage, now).await?;
    if new.expected_close_date.is_some() {
        record_close_date_change(ctx, conn, id, None, new.expected_close_date, now).await?;
    }
    Ok(model)
}

/// The changed fields of an update; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct Changes {
    pub name: Option<String>,
    pub amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub stage: Option<Stage>,
    /// `Some(None)` clears the close date.
    pub expected_close_date: Option<Option<NaiveDate>>,
    pub owner_id: Option<String>,
}

/// Applies `changes` to `current` if its version is still `expected_version`, recording stage
/// and close-date moves. Returns the new row, or `CONFLICT` if another write got there first.
pub async fn update(
    ctx: &TenantCtx,
    conn: &impl Conn,
    current: &Model,
    expected_version: i32,
    changes: Changes,
    now: DateTime<Utc>,
) -> AppResult<Model> {
    let stale = || {
        AppError::Conflict(format!(
            "the opportunity has changed since version {expected_version} (now {}); reload it and try again",
            current.version
        ))
    };
    if current.version != expected_version {
        return Err(stale());
    }
    let mut update = scope::update::<Entity>(ctx)
        .filter(Column::Id.eq(current.id))
        .filter(Column::Version.eq(expected_version))
        .col_expr(Column::Version, Expr::col(Column::Version).add(1))
        .col_expr(Column::UpdatedAt, Expr::val(now));
    if let Some(name) = changes.name {
        update = update.col_expr(Column::Name, Expr::val(name));
    }
    if let Some(cents) = changes.amount_cents {
        update = update.col_expr(Column::AmountCents, Expr::val(cents));
    }
    if let Some(currency) = changes.currency {
        update = update.col_expr(Column::Currency, Expr::val(currency));
    }
    if let Some(owner) = changes.owner_id {
        update = update.col_expr(Column::OwnerId, Expr::val(owner));
    }
    let current_stage: Stage = parse_stored(&current.stage)?;
    let stage_move = changes.stage.filter(|s| *s != current_stage);
    if let Some(stage) = stage_move {
        update = update
            .col_expr(Column::Stage, Expr::val(stage.as_str()))
            .col_expr(Column::StageEnteredAt, Expr::val(now))
            .col_expr(Column::ClosedAt, Expr::val(stage.is_closed().then_some(now)));
    }
    let date_move = changes
        .expected_close_date
        .filter(|d| *d != current.expected_close_date);
    if let Some(date) = date_move {
        update = update.col_expr(Column::ExpectedCloseDate, Expr::val(date));
    }
    let result = update.exec(conn).await.map_err(db_error)?;
    if result.rows_affected != 1 {
        return Err(stale());
    }
    if let Some(stage) = stage_move {
        record_stage_change(ctx, conn, current.id, Some(current_stage), stage, now).await?;
    }
    if let Some(date) = date_move {
        record_close_date_change(ctx, conn, current.id, current.expected_close_date, date, now).await?;
    }
    get(ctx, conn, current.id)
        .await?
        .ok_or(AppError::NotFound("opportunity"))
}

async fn record_stage_change(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_id: Uuid,
    from: Option<Stage>,
    to: Stage,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let row = stage_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        opportunity_id: Set(opportunity_id),
        from_stage: Set(from.map(|s| s.as_str().to_owned())),
        to_stage: Set(to.as_str().to_owned()),
        changed_at: Set(at),
        changed_by: Set(ctx.user_id().to_owned()),
        ..Default::default()
    };
    scope::owned(ctx, row).insert(conn).await.map_err(db_error)?;
    Ok(())
}

async fn record_close_date_change(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_id: Uuid,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let row = close_date_change::ActiveModel {
        id: Set(Uuid::now_v7()),
        opportunity_id: Set(opportunity_id),
        from_date: Set(from),
        to_date: Set(to),
        changed_at: Set(at),
        changed_by: Set(ctx.user_id().to_owned()),
        ..Default::default()
    };
    scope::owned(ctx, row).insert(conn).await.map_err(db_error)?;
    Ok(())
}

/// Stage changes of several deals, oldest first within each deal.
pub async fn stage_history(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<stage_change::Model>> {
    scope::select::<stage_change::Entity>(ctx)
        .filter(stage_change::Column::OpportunityId.is_in(ids.iter().copied()))
        .order_by_asc(stage_change::Column::ChangedAt)
        .order_by_asc(stage_change::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Close-date changes of several deals, oldest first within each deal.
pub async fn close_date_history(
    ctx: &TenantCtx,
    conn: &impl Conn,
    ids: &[Uuid],
) -> AppResult<Vec<close_date_change::Model>> {
    scope::select::<close_date_change::Entity>(ctx)
        .filter(close_date_change::Column::OpportunityId.is_in(ids.iter().copied()))
        .order_by_asc(close_date_change::Column::ChangedAt)
        .order_by_asc(close_date_change::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Parses an enum stored by this service; a bad value is a corrupted row, hence `INTERNAL`.
pub fn parse_stored<T: std::str::FromStr>(raw: &str) -> AppResult<T> {
    raw.parse().map_err(|_| {
        tracing::error!(value = raw, "unparseable stored enum value");
        AppError::Internal("corrupted row".into())
    })
}
