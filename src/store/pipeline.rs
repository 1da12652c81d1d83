//! Pipeline aggregates in SQL: a handful of grouped rows, never every deal in the process.

use entity::opportunity::{Column, Entity};
use sea_orm::sea_query::{Expr, SimpleExpr};
use sea_orm::{DbBackend, FromQueryResult, QueryFilter, QuerySelect};

use super::convert::parse;
use super::opportunities::condition;
use super::{Conn, scope};
use crate::domain::model::RiskLevel;
use crate::domain::pipeline::{Bucket, GroupRow};
use crate::domain::query::{DealFilter, GroupBy};
use crate::domain::{AppResult, TenantCtx};

#[derive(Debug, FromQueryResult)]
struct BucketRow {
    stage: String,
    currency: String,
    risk_level: String,
    n: i64,
    amount: i64,
    score_sum: i64,
    group_sum: i64,
    engaged_sum: i64,
    entered_sum: f64,
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

/// `SUM(col)` as a 64-bit integer on both engines (PostgreSQL sums bigints as numeric).
fn sum_i64(column: &str) -> SimpleExpr {
    Expr::cust(format!("CAST(COALESCE(SUM({column}), 0) AS BIGINT)"))
}

/// Seconds since the epoch of a timestamp column, as a float, per engine.
fn epoch_sum(backend: DbBackend, column: &str) -> SimpleExpr {
    match backend {
        DbBackend::Postgres => Expr::cust(format!(
            "CAST(COALESCE(SUM(EXTRACT(EPOCH FROM {column})), 0) AS DOUBLE PRECISION)"
        )),
        _ => Expr::cust(format!(
            "COALESCE(SUM((julianday({column}) - 2440587.5) * 86400.0), 0.0)"
        )),
    }
}

/// The deals matching `filter`, summed per (stage, currency, stored risk level): one query.
pub async fn buckets(ctx: &TenantCtx, conn: &impl Conn, filter: &DealFilter) -> AppResult<Vec<Bucket>> {
    let backend = conn.get_database_backend();
    let mut select = scope::select::<Entity>(ctx)
        .filter(condition(filter))
        .select_only()
        .column(Column::Stage)
        .column(Column::Currency)
        .column(Column::RiskLevel)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(sum_i64("amount_cents"), "amount")
        .column_as(sum_i64("risk_score"), "score_sum")
        .column_as(sum_i64("risk_group_size"), "group_sum")
        .column_as(sum_i64("risk_engaged"), "engaged_sum")
        .column_as(epoch_sum(backend, "stage_entered_at"), "entered_sum");
    for bit in 0..12 {
        select = select.column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN (risk_factor_mask & {}) <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT)",
                1_i64 << bit
            )),
            format!("f{bit}"),
        );
    }
    let rows = select
        .group_by(Column::Stage)
        .group_by(Column::Currency)
        .group_by(Column::RiskLevel)
        .into_model::<BucketRow>()
        .all(conn)
        .await?;
    rows.into_iter()
        .map(|r| {
            Ok(Bucket {
                stage: parse("opportunities", &r.stage)?,
                level: parse("opportunities", &r.risk_level)?,
                currency: r.currency,
                count: r.n,
                amount_cents: r.amount,
                risk_score_sum: r.score_sum,
                group_size_sum: r.group_sum,
                engaged_sum: r.engaged_sum,
                stage_entered_epoch_sum: r.entered_sum,
                factor_counts: [r.f0, r.f1, r.f2, r.f3, r.f4, r.f5, r.f6, r.f7, r.f8, r.f9, r.f10, r.f11],
            })
        })
        .collect()
}

#[derive(Debug, FromQueryResult)]
struct GroupQueryRow {
    key: String,
    currency: String,
    n: i64,
    amount: i64,
    score_sum: i64,
    high_or_critical: i64,
}

/// Open deals matching `filter`, summed per (group key, currency): one query. Keys are stage
/// and level names, owner ids, and account ids as lower-case hex (with or without dashes).
pub async fn groups(ctx: &TenantCtx, conn: &impl Conn, filter: &DealFilter, by: GroupBy) -> AppResult<Vec<GroupRow>> {
    // The filter's deals that are open (none when the filter asks for closed deals only).
    let open = filter.clone().open_only();
    let key = match by {
        GroupBy::Stage => Column::Stage,
        GroupBy::Owner => Column::OwnerId,
        GroupBy::Account => Column::AccountId,
        GroupBy::RiskLevel => Column::RiskLevel,
    };
    let high = [RiskLevel::High.as_str(), RiskLevel::Critical.as_str()];
    let key_expr = match (by, conn.get_database_backend()) {
        // Account ids are UUIDs: read them back as text on both engines.
        (GroupBy::Account, DbBackend::Postgres) => Expr::cust("CAST(account_id AS TEXT)"),
        (GroupBy::Account, _) => Expr::cust("lower(hex(account_id))"),
        _ => Expr::col(key),
    };
    let rows = scope::select::<Entity>(ctx)
        .filter(condition(&open))
        .select_only()
        .column_as(key_expr, "key")
        .column(Column::Currency)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .column_as(sum_i64("amount_cents"), "amount")
        .column_as(sum_i64("risk_score"), "score_sum")
        .column_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN risk_level IN ('{}', '{}') THEN 1 ELSE 0 END), 0) AS BIGINT)",
                high[0], high[1]
            )),
            "high_or_critical",
        )
        .group_by(key)
        .group_by(Column::Currency)
        .into_model::<GroupQueryRow>()
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| GroupRow {
            key: r.key,
            currency: r.currency,
            count: r.n,
            amount_cents: r.amount,
            risk_score_sum: r.score_sum,
            high_or_critical: r.high_or_critical,
        })
        .collect())
}
