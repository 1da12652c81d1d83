//! What `pipelineTrend` sweeps (SPEC §8): the caller's deals with their first recorded values,
//! and their recorded changes in time order, a page at a time (keyset on instant and id,
//! never `OFFSET`), so that a trend holds one page of history whatever its length.

use chrono::{DateTime, NaiveDate, Utc};
use entity::opportunity::{Column, Entity};
use sea_orm::sea_query::{Alias, Expr, ExprTrait};
use sea_orm::{ColumnTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::convert::parse;
use super::opportunities::condition;
use super::pipeline::oldest;
use super::{Conn, scope};
use crate::domain::AppResult;
use crate::domain::TenantCtx;
use crate::domain::model::RiskLevel;
use crate::domain::query::DealFilter;
use crate::domain::trend::{Change, DealState, Event, TrendDeal};

#[derive(FromQueryResult)]
struct DealRow {
    id: Uuid,
    currency: String,
    created_at: DateTime<Utc>,
    stage: String,
    stage_entered_at: DateTime<Utc>,
    amount_cents: i64,
    expected_close_date: Option<NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
    risk_score: i32,
    risk_level: String,
    risk_factor_mask: i64,
    first_stage: Option<String>,
    first_cents: Option<i64>,
    first_close_at: Option<DateTime<Utc>>,
    first_close_date: Option<NaiveDate>,
}

/// The caller's deals that match `filter` (read as it stands now: give it only conditions
/// that history does not change), each with its first recorded stage, amount and close date
/// and its stored state now: one query.
pub async fn deals(ctx: &TenantCtx, conn: &impl Conn, filter: &DealFilter) -> AppResult<Vec<TrendDeal>> {
    use entity::{amount_change as amount, close_date_change as close, stage_change as stage};
    let mut select = scope::select::<Entity>(ctx)
        .select_only()
        .columns([
            Column::Id,
            Column::Currency,
            Column::CreatedAt,
            Column::Stage,
            Column::StageEnteredAt,
            Column::AmountCents,
            Column::ExpectedCloseDate,
            Column::ClosedAt,
            Column::RiskScore,
            Column::RiskLevel,
            Column::RiskFactorMask,
        ])
        .column_as(Expr::cust("fs.to_stage"), "first_stage")
        .column_as(Expr::cust("fa.to_cents"), "first_cents")
        .column_as(Expr::cust("fc.changed_at"), "first_close_at")
        .column_as(Expr::cust("fc.to_date"), "first_close_date")
        .filter(condition(filter))
        .into_query();
    let joins = [
        (
            "fs",
            oldest::<stage::Entity>(
                ctx,
                [stage::Column::ToStage],
                stage::Column::OpportunityId,
                stage::Column::ChangedAt,
            ),
        ),
        (
            "fa",
            oldest::<amount::Entity>(
                ctx,
                [amount::Column::ToCents],
                amount::Column::OpportunityId,
                amount::Column::ChangedAt,
            ),
        ),
        (
            "fc",
            oldest::<close::Entity>(
                ctx,
                [close::Column::ToDate, close::Column::ChangedAt],
                close::Column::OpportunityId,
                close::Column::ChangedAt,
            ),
        ),
    ];
    // One pass per history (its first row per deal by a window function), joined by deal
    // id: a few scans rather than three index probes per deal.
    for (alias, rows) in joins {
        select.join_subquery(
            JoinType::LeftJoin,
            rows,
            Alias::new(alias),
            Expr::cust(format!("{alias}.opportunity_id = opportunities.id AND {alias}.rn = 1")),
        );
    }
    let rows = conn.query_all(&select).await?;
    let rows = rows
        .iter()
        .map(|row| DealRow::from_query_result(row, ""))
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(|r| {
            let stage = parse("opportunities", &r.stage)?;
            let first_stage = r
                .first_stage
                .as_deref()
                .map(|s| parse("stage_changes", s))
                .transpose()?;
            let now = DealState {
                stage,
                stage_entered_at: r.stage_entered_at,
                amount_cents: r.amount_cents,
                expected_close_date: r.expected_close_date,
                risk_score: i64::from(r.risk_score),
                risk_level: parse("opportunities", &r.risk_level)?,
                risk_factor_mask: r.risk_factor_mask,
                closed_at: r.closed_at,
            };
            // Before its first change a deal holds that change's value, in its stage since
            // creation, with no stored assessment (as `pipelineHealth(asOf:)` reads it).
            let first_stage = first_stage.unwrap_or(stage);
            let first = DealState {
                stage: first_stage,
                stage_entered_at: r.created_at,
                amount_cents: r.first_cents.unwrap_or(r.amount_cents),
                expected_close_date: match r.first_close_at {
                    Some(_) => r.first_close_date,
                    None => r.expected_close_date,
                },
                risk_score: 0,
                risk_level: RiskLevel::Low,
                risk_factor_mask: 0,
                closed_at: first_stage.is_closed().then_some(r.created_at),
            };
            Ok(TrendDeal {
                id: r.id,
                currency: r.currency,
                created_at: r.created_at,
                first,
                now,
            })
        })
        .collect()
}

/// A recorded history of deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    Stage,
    Amount,
    CloseDate,
    Risk,
}

impl History {
    pub const ALL: [History; 4] = [History::Stage, History::Amount, History::CloseDate, History::Risk];
}

/// Where a page of a history ends: its order is (instant, id).
pub type EventKey = (DateTime<Utc>, Uuid);

#[derive(FromQueryResult)]
struct EventRow {
    opportunity_id: Uuid,
    at: DateTime<Utc>,
    id: Uuid,
    to_stage: Option<String>,
    to_cents: Option<i64>,
    to_date: Option<NaiveDate>,
    score: Option<i32>,
    level: Option<String>,
    factor_mask: Option<i64>,
}

/// The next page of `history`'s rows: the caller's, at or before `until`, after `after` in
/// the order (instant, id), at most `limit`: one query. Each row with its key.
pub async fn events_after(
    ctx: &TenantCtx,
    conn: &impl Conn,
    history: History,
    until: DateTime<Utc>,
    after: Option<EventKey>,
    limit: u64,
) -> AppResult<Vec<(Event, EventKey)>> {
    use entity::{amount_change as amount, close_date_change as close, risk_history as risk, stage_change as stage};
    /// `SELECT opportunity_id, <at> AS at, id, <values…>` of one history, paged.
    async fn select<E: scope::TenantScoped>(
        ctx: &TenantCtx,
        conn: &impl Conn,
        [deal, at, id]: [E::Column; 3],
        values: &[(E::Column, &str)],
        until: DateTime<Utc>,
        after: Option<EventKey>,
        limit: u64,
    ) -> AppResult<Vec<EventRow>> {
        let mut select = scope::select::<E>(ctx)
            .select_only()
            .column_as(deal, "opportunity_id")
            .column_as(at, "at")
            .column_as(id, "id");
        for (column, name) in values {
            select = select.column_as(*column, *name);
        }
        select = select.filter(at.lte(until));
        if let Some((after_at, after_id)) = after {
            let key = Expr::tuple([Expr::col(at), Expr::col(id)]);
            select = select.filter(key.gt(Expr::tuple([Expr::val(after_at), Expr::val(after_id)])));
        }
        let page = select.order_by_asc(at).order_by_asc(id).limit(limit);
        Ok(page.into_model::<EventRow>().all(conn).await?)
    }
    let rows = match history {
        History::Stage => {
            use stage::Column as C;
            select::<stage::Entity>(
                ctx,
                conn,
                [C::OpportunityId, C::ChangedAt, C::Id],
                &[(C::ToStage, "to_stage")],
                until,
                after,
                limit,
            )
            .await?
        }
        History::Amount => {
            use amount::Column as C;
            select::<amount::Entity>(
                ctx,
                conn,
                [C::OpportunityId, C::ChangedAt, C::Id],
                &[(C::ToCents, "to_cents")],
                until,
                after,
                limit,
            )
            .await?
        }
        History::CloseDate => {
            use close::Column as C;
            select::<close::Entity>(
                ctx,
                conn,
                [C::OpportunityId, C::ChangedAt, C::Id],
                &[(C::ToDate, "to_date")],
                until,
                after,
                limit,
            )
            .await?
        }
        History::Risk => {
            use risk::Column as C;
            select::<risk::Entity>(
                ctx,
                conn,
                [C::OpportunityId, C::AssessedAt, C::Id],
                &[(C::Score, "score"), (C::Level, "level"), (C::FactorMask, "factor_mask")],
                until,
                after,
                limit,
            )
            .await?
        }
    };
    rows.into_iter()
        .map(|r| {
            let change = match history {
                History::Stage => Change::Stage(parse("stage_changes", r.to_stage.as_deref().unwrap_or_default())?),
                History::Amount => Change::Amount(r.to_cents.unwrap_or_default()),
                History::CloseDate => Change::CloseDate(r.to_date),
                History::Risk => Change::Risk {
                    score: i64::from(r.score.unwrap_or_default()),
                    level: parse("risk_history", r.level.as_deref().unwrap_or_default())?,
                    mask: r.factor_mask.unwrap_or_default(),
                },
            };
            let event = Event {
                deal: r.opportunity_id,
                at: r.at,
                change,
            };
            Ok((event, (r.at, r.id)))
        })
        .collect()
}
