//! The stored assessment of each deal and its history of changes.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{opportunity, risk_history};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, DbBackend, QueryFilter, QueryOrder, QuerySelect, Statement, Value};
use uuid::Uuid;

use super::convert::{risk_point_row, signed};
use super::{Conn, scope};
use crate::domain::records::{Deal, RiskPoint, StoredRisk};
use crate::domain::{AppResult, TenantCtx};

/// Whether [`save`] may replace an assessment made at a later instant than the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overwrite {
    /// A write changed the deal's inputs: its assessment is the newest there is.
    Always,
    /// The sweep or a policy change: never replace an assessment stamped later than the new
    /// one (a write may have committed since the deal was read).
    IfNotNewer,
}

/// Stores `next` as `deal`'s current assessment, and appends a history point when score,
/// level or factor set changed (or on the first assessment). Writes nothing when nothing
/// changed. Returns whether score, level or factor set changed.
pub async fn save(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal: &Deal,
    next: &StoredRisk,
    overwrite: Overwrite,
) -> AppResult<bool> {
    let before = &deal.risk;
    let changed = before.assessed_at.is_none()
        || before.score != next.score
        || before.level != next.level
        || before.factors != next.factors;
    if !changed && before.group_size == next.group_size && before.engaged == next.engaged {
        return Ok(false);
    }
    let mut update = scope::update::<opportunity::Entity>(ctx).filter(opportunity::Column::Id.eq(deal.id));
    if let (Overwrite::IfNotNewer, Some(at)) = (overwrite, next.assessed_at) {
        update = update.filter(
            Condition::any()
                .add(opportunity::Column::RiskAssessedAt.is_null())
                .add(opportunity::Column::RiskAssessedAt.lte(at)),
        );
    }
    update = update
        .col_expr(opportunity::Column::RiskGroupSize, Expr::val(signed(next.group_size)))
        .col_expr(opportunity::Column::RiskEngaged, Expr::val(signed(next.engaged)));
    if changed {
        update = update
            .col_expr(opportunity::Column::RiskScore, Expr::val(signed(next.score)))
            .col_expr(opportunity::Column::RiskLevel, Expr::val(next.level.as_str()))
            .col_expr(opportunity::Column::RiskFactorMask, Expr::val(next.factors.bits()))
            .col_expr(opportunity::Column::RiskAssessedAt, Expr::val(next.assessed_at));
    }
    let written = update.exec(conn).await?.rows_affected == 1;
    if !changed || !written {
        return Ok(false);
    }
    let point = RiskPoint {
        id: Uuid::now_v7(),
        opportunity_id: deal.id,
        at: next.assessed_at.unwrap_or(deal.updated_at),
        score: next.score,
        level: next.level,
        factors: next.factors,
    };
    scope::insert_one(ctx, conn, risk_point_row(&point)).await?;
    Ok(true)
}

/// Stores each `(deal, assessment)` as the deal's current assessment, without history
/// points (an import rebuilds the histories itself): one statement on PostgreSQL (the rows
/// as a JSON document joined to the deals), a statement per deal on SQLite.
pub async fn save_many(ctx: &TenantCtx, conn: &impl Conn, assessed: &[(Uuid, StoredRisk)]) -> AppResult<()> {
    if assessed.is_empty() {
        return Ok(());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        let rows: Vec<serde_json::Value> = assessed
            .iter()
            .map(|(id, r)| {
                serde_json::json!({
                    "id": id,
                    "risk_score": signed(r.score),
                    "risk_level": r.level.as_str(),
                    "risk_factor_mask": r.factors.bits(),
                    "risk_assessed_at": r.assessed_at.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)),
                    "risk_group_size": signed(r.group_size),
                    "risk_engaged": signed(r.engaged),
                })
            })
            .collect();
        let sql = "UPDATE opportunities AS o SET risk_score = v.risk_score, risk_level = v.risk_level, \
                   risk_factor_mask = v.risk_factor_mask, risk_assessed_at = v.risk_assessed_at, \
                   risk_group_size = v.risk_group_size, risk_engaged = v.risk_engaged \
                   FROM json_populate_recordset(NULL::opportunities, $1::json) AS v \
                   WHERE o.tenant_id = $2 AND o.id = v.id";
        let doc = serde_json::Value::Array(rows).to_string();
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            sql,
            [Value::from(doc), Value::from(ctx.tenant().as_str())],
        ))
        .await?;
        return Ok(());
    }
    for (id, next) in assessed {
        scope::update::<opportunity::Entity>(ctx)
            .filter(opportunity::Column::Id.eq(*id))
            .col_expr(opportunity::Column::RiskScore, Expr::val(signed(next.score)))
            .col_expr(opportunity::Column::RiskLevel, Expr::val(next.level.as_str()))
            .col_expr(opportunity::Column::RiskFactorMask, Expr::val(next.factors.bits()))
            .col_expr(opportunity::Column::RiskAssessedAt, Expr::val(next.assessed_at))
            .col_expr(opportunity::Column::RiskGroupSize, Expr::val(signed(next.group_size)))
            .col_expr(opportunity::Column::RiskEngaged, Expr::val(signed(next.engaged)))
            .exec(conn)
            .await?;
    }
    Ok(())
}

/// The newest `last` points of a deal's risk history since `since` (from the start when
/// `None`), oldest first.
pub async fn history(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    since: Option<DateTime<Utc>>,
    last: usize,
) -> AppResult<Vec<RiskPoint>> {
    let mut select = scope::select::<risk_history::Entity>(ctx).filter(risk_history::Column::OpportunityId.eq(deal_id));
    if let Some(since) = since {
        select = select.filter(risk_history::Column::AssessedAt.gte(since));
    }
    let mut points = select
        .order_by_desc(risk_history::Column::AssessedAt)
        .order_by_desc(risk_history::Column::Id)
        .limit(u64::try_from(last).unwrap_or(u64::MAX))
        .all(conn)
        .await?
        .into_iter()
        .map(RiskPoint::try_from)
        .collect::<AppResult<Vec<_>>>()?;
    points.reverse();
    Ok(points)
}

/// Every point of the risk histories of `deal_ids`, by deal, oldest first (one query).
pub async fn points_for_deals(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, Vec<RiskPoint>>> {
    let rows = scope::select::<risk_history::Entity>(ctx)
        .filter(risk_history::Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .order_by_asc(risk_history::Column::AssessedAt)
        .order_by_asc(risk_history::Column::Id)
        .all(conn)
        .await?;
    let mut by_deal: HashMap<Uuid, Vec<RiskPoint>> = HashMap::new();
    for row in rows {
        let point = RiskPoint::try_from(row)?;
        by_deal.entry(point.opportunity_id).or_default().push(point);
    }
    Ok(by_deal)
}

/// Replaces the risk histories of the deals of `deal_ids` with `points` (a backfill).
pub async fn replace_points(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
    points: &[RiskPoint],
) -> AppResult<()> {
    for chunk in deal_ids.chunks(1_000) {
        scope::delete::<risk_history::Entity>(ctx)
            .filter(risk_history::Column::OpportunityId.is_in(chunk.iter().copied()))
            .exec(conn)
            .await?;
    }
    super::bulk::risk_points(ctx, conn, points).await
}
