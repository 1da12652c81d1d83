//! `riskOutcomes` in SQL (SPEC §8): the closed deals that match a filter, each with the
//! stored level in force at the start of its lookback window and the factors of every
//! `riskHistory` point in force during the window, summed per (level, outcome): one
//! statement, a handful of rows, whatever the number of deals and points.

use entity::opportunity::{Column, Entity};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{DbBackend, FromQueryResult, QueryFilter, QuerySelect, QueryTrait};

use super::convert::parse;
use super::opportunities::condition;
use super::{Conn, scope};
use crate::domain::model::{RiskLevel, Stage};
use crate::domain::outcomes::OutcomeRow;
use crate::domain::query::DealFilter;
use crate::domain::{AppResult, TenantCtx};

/// An instant column as something both engines order exactly: the timestamp itself on
/// PostgreSQL; on SQLite (which stores instants as text) whole milliseconds since the epoch.
fn instant(backend: DbBackend, column: &str) -> String {
    match backend {
        DbBackend::Postgres => column.to_owned(),
        _ => format!("CAST(ROUND((julianday({column}) - 2440587.5) * 86400000.0) AS INTEGER)"),
    }
}

/// `a` − `days` days, and the later of two instants, in [`instant`]'s terms.
fn minus_days(backend: DbBackend, a: &str, days: i32) -> String {
    let seconds = i64::from(days) * 86_400;
    match backend {
        DbBackend::Postgres => format!("({a} - INTERVAL '1 second' * {seconds})"),
        _ => format!("({a} - {})", seconds * 1_000),
    }
}

fn later(backend: DbBackend, a: &str, b: &str) -> String {
    match backend {
        DbBackend::Postgres => format!("GREATEST({a}, {b})"),
        _ => format!("MAX({a}, {b})"),
    }
}

#[derive(Debug, FromQueryResult)]
struct Row {
    level: String,
    won: i64,
    n: i64,
    f0: i64,
    f1: i64,
    f2: i64,
    f3: i64,
    f4: i64,
    f5: i64,
    f6: i64,
    f7: i64,
    f8: i64,
    f9: i64,
    f10: i64,
    f11: i64,
}

/// The deals matching `filter` that are closed (won or lost), summed per (stored level at
/// max(created, closed − `lookback_days`), won): how many, and per factor how many carried it
/// in a `riskHistory` point in force at some instant of [that start, closed). An empty
/// window (closed at creation, or no lookback) carries nothing; a deal never assessed by the
/// window's start counts as `LOW`.
pub async fn rows(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    lookback_days: i32,
) -> AppResult<Vec<OutcomeRow>> {
    let backend = conn.get_database_backend();
    let closed = DealFilter {
        open: Some(false),
        ..DealFilter::default()
    };
    let (created, closed_at) = (instant(backend, "created_at"), instant(backend, "closed_at"));
    let deals = scope::select::<Entity>(ctx)
        .select_only()
        .columns([Column::TenantId, Column::Id])
        .column_as(
            Expr::cust(format!(
                "CASE WHEN stage = '{}' THEN 1 ELSE 0 END",
                Stage::ClosedWon.as_str()
            )),
            "won",
        )
        .column_as(
            Expr::cust(later(
                backend,
                &created,
                &minus_days(backend, &closed_at, lookback_days),
            )),
            "ws",
        )
        .column_as(Expr::cust(closed_at.clone()), "cl")
        .filter(condition(filter))
        .filter(condition(&closed))
        .filter(Expr::cust("closed_at IS NOT NULL"))
        .into_query();

    // The point in force at the window's start: the newest at or before it.
    let assessed = instant(backend, "h.assessed_at");
    let in_force = |column: &str| {
        format!(
            "(SELECT h.{column} FROM risk_history h WHERE h.tenant_id = d.tenant_id \
             AND h.opportunity_id = d.id AND {assessed} <= d.ws \
             ORDER BY h.assessed_at DESC, h.id DESC LIMIT 1)"
        )
    };
    let mut started = Query::select();
    for column in ["tenant_id", "id", "won", "ws", "cl"] {
        started.expr_as(Expr::cust(format!("d.{column}")), Alias::new(column));
    }
    started
        .expr_as(Expr::cust(in_force("level")), Alias::new("level_at"))
        .expr_as(Expr::cust(in_force("factor_mask")), Alias::new("mask_at"))
        .from_subquery(deals, Alias::new("d"))
        // A LIMIT keeps the engines from merging this into the join below, which would look
        // the point in force up again for every point joined (ten times per deal, measured).
        .limit(i64::MAX.unsigned_abs());

    // The points stamped inside the window, one row per deal with a flag per factor.
    let mut windowed = Query::select();
    for column in ["id", "won", "ws", "cl", "level_at", "mask_at"] {
        windowed.expr_as(Expr::cust(format!("m.{column}")), Alias::new(column));
    }
    for bit in 0..12 {
        windowed.expr_as(
            Expr::cust(format!(
                "MAX(CASE WHEN (h.factor_mask & {}) <> 0 THEN 1 ELSE 0 END)",
                1_i64 << bit
            )),
            Alias::new(format!("w{bit}")),
        );
    }
    windowed.from_subquery(started, Alias::new("m")).join_as(
        sea_orm::JoinType::LeftJoin,
        entity::risk_history::Entity,
        Alias::new("h"),
        Expr::cust(format!(
            "h.tenant_id = m.tenant_id AND h.opportunity_id = m.id AND {assessed} > m.ws AND {assessed} < m.cl"
        )),
    );
    for column in ["id", "won", "ws", "cl", "level_at", "mask_at"] {
        windowed.add_group_by([Expr::cust(format!("m.{column}"))]);
    }

    let level = format!("COALESCE(w.level_at, '{}')", RiskLevel::Low.as_str());
    let mut summed = Query::select();
    summed
        .expr_as(Expr::cust(level.clone()), Alias::new("level"))
        .expr_as(Expr::cust("CAST(w.won AS BIGINT)"), Alias::new("won"))
        .expr_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), Alias::new("n"));
    for bit in 0..12 {
        summed.expr_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN w.ws < w.cl AND ((COALESCE(w.mask_at, 0) & {mask}) <> 0 \
                 OR COALESCE(w.w{bit}, 0) = 1) THEN 1 ELSE 0 END), 0) AS BIGINT)",
                mask = 1_i64 << bit
            )),
            Alias::new(format!("f{bit}")),
        );
    }
    summed
        .from_subquery(windowed, Alias::new("w"))
        .add_group_by([Expr::cust(level), Expr::cust("w.won")]);

    let rows = conn.query_all(&summed).await?;
    rows.iter()
        .map(|row| {
            let r = Row::from_query_result(row, "")?;
            Ok(OutcomeRow {
                level: parse("risk_history", &r.level)?,
                won: r.won == 1,
                deals: r.n,
                with_factor: [r.f0, r.f1, r.f2, r.f3, r.f4, r.f5, r.f6, r.f7, r.f8, r.f9, r.f10, r.f11],
            })
        })
        .collect()
}
