//! Pipeline aggregates in SQL: a handful of grouped rows, never every deal in the process.
//!
//! The same aggregates read either the deals as they are now or, for an instant in the past,
//! a derived table named like `opportunities` (same column names) that holds each deal as it
//! stood then, so the filter's condition and the sums apply to the values of that instant.

use chrono::{DateTime, Utc};
use entity::opportunity::{Column, Entity};
use sea_orm::sea_query::{Alias, Expr, Query, SelectStatement, SimpleExpr};
use sea_orm::{
    ColumnTrait, Condition, DbBackend, FromQueryResult, IdenStatic, JoinType, QueryFilter, QuerySelect, QueryTrait,
};

use super::convert::parse;
use super::opportunities::condition;
use super::{Conn, scope};
use crate::domain::model::{RiskLevel, Stage};
use crate::domain::pipeline::{Bucket, GroupRow};
use crate::domain::query::{DealFilter, GroupBy};
use crate::domain::{AppResult, TenantCtx};

/// A deal's first value in a history `table`: its value before its first change (history is
/// taken to start at `createdAt`). Read only for deals without a change by the instant.
fn first(table: &str, column: &str) -> String {
    format!(
        "(SELECT h.{column} FROM {table} h WHERE h.tenant_id = opportunities.tenant_id \
         AND h.opportunity_id = opportunities.id ORDER BY h.changed_at, h.id LIMIT 1)"
    )
}

/// Per deal, the newest row of a history table at or before `as_of` (`at` is its instant
/// column), with `columns` and its rank `rn` (1 for the newest): one pass over the caller's
/// rows of the table, to be joined on `rn = 1`.
fn newest<E: scope::TenantScoped>(
    ctx: &TenantCtx,
    columns: impl IntoIterator<Item = E::Column>,
    deal: E::Column,
    at: E::Column,
    as_of: DateTime<Utc>,
) -> SelectStatement {
    ranked::<E>(ctx, columns, deal, at, "DESC")
        .and_where(at.lte(as_of))
        .to_owned()
}

/// Per deal, the oldest row of a history table, ranked like [`newest`] (1 for the oldest).
pub(super) fn oldest<E: scope::TenantScoped>(
    ctx: &TenantCtx,
    columns: impl IntoIterator<Item = E::Column>,
    deal: E::Column,
    at: E::Column,
) -> SelectStatement {
    ranked::<E>(ctx, columns, deal, at, "ASC")
}

/// The caller's rows of a history table with `columns`, each ranked `rn` within its deal by
/// (`at`, id) in `direction`.
fn ranked<E: scope::TenantScoped>(
    ctx: &TenantCtx,
    columns: impl IntoIterator<Item = E::Column>,
    deal: E::Column,
    at: E::Column,
    direction: &str,
) -> SelectStatement {
    let rank = format!(
        "ROW_NUMBER() OVER (PARTITION BY {} ORDER BY {} {direction}, id {direction})",
        deal.as_str(),
        at.as_str()
    );
    scope::select::<E>(ctx)
        .select_only()
        .column(deal)
        .columns(columns)
        .column_as(Expr::cust(rank), "rn")
        .into_query()
}

/// The caller's deals as they stood at `as_of`, under the name and column names of
/// `opportunities` (SPEC §8, "History rules for as of"): deals created by then, each with
/// the stage, stage entry, amount and close date of its newest change at or before `as_of`
/// (before the first change, that change's value; without history, today's), the stored
/// assessment in force then (none: unassessed, score 0, LOW, no factors), the members in
/// its group then, and closed at its stage entry when that stage is a closed one. Directly
/// engaged members are not stored over time: `risk_engaged` is 0.
///
/// Each history is read in one pass (newest row per deal by a window function) and joined
/// by deal id, rather than looked up deal by deal: on 10,000 deals, a few scans instead of
/// ten index probes per deal.
fn as_of_table(ctx: &TenantCtx, as_of: DateTime<Utc>) -> SelectStatement {
    use entity::{amount_change as amount, buying_group_member as member, close_date_change as close};
    use entity::{risk_history as risk, stage_change as stage};

    let mut values = scope::select::<Entity>(ctx)
        .select_only()
        .columns([
            Column::TenantId,
            Column::Id,
            Column::AccountId,
            Column::Name,
            Column::OwnerId,
            Column::ExternalId,
            Column::Currency,
            Column::CreatedAt,
        ])
        .column_as(
            Expr::cust(format!(
                "COALESCE(s.to_stage, {}, opportunities.stage)",
                first("stage_changes", "to_stage")
            )),
            "stage",
        )
        .column_as(
            Expr::cust("COALESCE(s.changed_at, opportunities.created_at)"),
            "stage_entered_at",
        )
        .column_as(
            Expr::cust(format!(
                "COALESCE(a.to_cents, {}, opportunities.amount_cents)",
                first("amount_changes", "to_cents")
            )),
            "amount_cents",
        )
        // A change may clear the date (`to_date` null), so presence is told by the join.
        .column_as(
            Expr::cust(format!(
                "CASE WHEN c.rn IS NOT NULL THEN c.to_date WHEN {} IS NOT NULL THEN {} \
                 ELSE opportunities.expected_close_date END",
                first("close_date_changes", "changed_at"),
                first("close_date_changes", "to_date"),
            )),
            "expected_close_date",
        )
        .column_as(Expr::cust("COALESCE(r.score, 0)"), "risk_score")
        .column_as(
            Expr::cust(format!("COALESCE(r.level, '{}')", RiskLevel::Low.as_str())),
            "risk_level",
        )
        .column_as(Expr::cust("COALESCE(r.factor_mask, 0)"), "risk_factor_mask")
        .column_as(Expr::cust("COALESCE(m.n, 0)"), "risk_group_size")
        .column_as(Expr::cust("0"), "risk_engaged")
        .filter(Column::CreatedAt.lte(as_of))
        .into_query();

    let joins = [
        (
            "s",
            newest::<stage::Entity>(
                ctx,
                [stage::Column::ToStage, stage::Column::ChangedAt],
                stage::Column::OpportunityId,
                stage::Column::ChangedAt,
                as_of,
            ),
        ),
        (
            "a",
            newest::<amount::Entity>(
                ctx,
                [amount::Column::ToCents],
                amount::Column::OpportunityId,
                amount::Column::ChangedAt,
                as_of,
            ),
        ),
        (
            "c",
            newest::<close::Entity>(
                ctx,
                [close::Column::ToDate],
                close::Column::OpportunityId,
                close::Column::ChangedAt,
                as_of,
            ),
        ),
        (
            "r",
            newest::<risk::Entity>(
                ctx,
                [risk::Column::Score, risk::Column::Level, risk::Column::FactorMask],
                risk::Column::OpportunityId,
                risk::Column::AssessedAt,
                as_of,
            ),
        ),
    ];
    for (alias, rows) in joins {
        values.join_subquery(
            JoinType::LeftJoin,
            rows,
            Alias::new(alias),
            Expr::cust(format!("{alias}.opportunity_id = opportunities.id AND {alias}.rn = 1")),
        );
    }
    // The members in the group at `as_of`: added by then, not removed by then.
    let members = scope::select::<member::Entity>(ctx)
        .select_only()
        .column(member::Column::OpportunityId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .filter(member::Column::CreatedAt.lte(as_of))
        .filter(
            Condition::any()
                .add(member::Column::RemovedAt.is_null())
                .add(member::Column::RemovedAt.gt(as_of)),
        )
        .group_by(member::Column::OpportunityId)
        .into_query();
    values.join_subquery(
        JoinType::LeftJoin,
        members,
        Alias::new("m"),
        Expr::cust("m.opportunity_id = opportunities.id"),
    );
    // A LIMIT keeps both engines from inlining the derived table into the outer query, which
    // would evaluate its fallback subqueries again wherever the outer query reads a column.
    values.limit(i64::MAX.unsigned_abs());

    let closed = Stage::ALL
        .iter()
        .filter(|s| s.is_closed())
        .map(|s| format!("'{}'", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let mut table = Query::select();
    for column in [
        "tenant_id",
        "id",
        "account_id",
        "name",
        "owner_id",
        "external_id",
        "currency",
        "created_at",
        "stage",
        "stage_entered_at",
        "amount_cents",
        "expected_close_date",
        "risk_score",
        "risk_level",
        "risk_factor_mask",
        "risk_group_size",
        "risk_engaged",
    ] {
        table.expr_as(Expr::col((Alias::new("v"), Alias::new(column))), Alias::new(column));
    }
    table
        .expr_as(
            Expr::cust(format!("CASE WHEN v.stage IN ({closed}) THEN v.stage_entered_at END")),
            Alias::new("closed_at"),
        )
        .from_subquery(values, Alias::new("v"));
    table.take()
}

/// `SELECT … FROM` the caller's deals now (`as_of` none) or as they stood at `as_of`,
/// narrowed by `filter`; the caller adds the columns and grouping.
fn deals(ctx: &TenantCtx, filter: &DealFilter, as_of: Option<DateTime<Utc>>) -> SelectStatement {
    match as_of {
        None => scope::select::<Entity>(ctx)
            .select_only()
            .filter(condition(filter))
            .into_query(),
        Some(at) => {
            let mut q = Query::select();
            q.from_subquery(as_of_table(ctx, at), Alias::new("opportunities"))
                .cond_where(condition(filter));
            q.take()
        }
    }
}

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

/// The deals matching `filter` (now, or as they stood at `as_of`), summed per (stage,
/// currency, stored risk level): one query.
pub async fn buckets(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    as_of: Option<DateTime<Utc>>,
) -> AppResult<Vec<Bucket>> {
    let backend = conn.get_database_backend();
    let mut select = deals(ctx, filter, as_of);
    select
        .column(Column::Stage)
        .column(Column::Currency)
        .column(Column::RiskLevel)
        .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
        .expr_as(sum_i64("amount_cents"), Alias::new("amount"))
        .expr_as(sum_i64("risk_score"), Alias::new("score_sum"))
        .expr_as(sum_i64("risk_group_size"), Alias::new("group_sum"))
        .expr_as(sum_i64("risk_engaged"), Alias::new("engaged_sum"))
        .expr_as(epoch_sum(backend, "stage_entered_at"), Alias::new("entered_sum"));
    for bit in 0..12 {
        select.expr_as(
            Expr::cust(format!(
                "CAST(COALESCE(SUM(CASE WHEN (risk_factor_mask & {}) <> 0 THEN 1 ELSE 0 END), 0) AS BIGINT)",
                1_i64 << bit
            )),
            Alias::new(format!("f{bit}")),
        );
    }
    select
        .group_by_col(Column::Stage)
        .group_by_col(Column::Currency)
        .group_by_col(Column::RiskLevel);
    let rows = conn.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let r = BucketRow::from_query_result(row, "")?;
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
    weighted: i64,
    score_sum: i64,
    high_or_critical: i64,
    won: i64,
    lost: i64,
}

/// `SUM(CASE WHEN <when> THEN <then> ELSE 0 END)` as a 64-bit integer.
fn sum_when(when: &str, then: &str) -> SimpleExpr {
    Expr::cust(format!(
        "CAST(COALESCE(SUM(CASE WHEN {when} THEN {then} ELSE 0 END), 0) AS BIGINT)"
    ))
}

/// The deals matching `filter` (now, or as they stood at `as_of`), summed per (group key,
/// currency): one query. Count, amounts and risk figures are of the open deals; `won` and
/// `lost` count the closed ones. Keys are stage and level names, owner ids, and account
/// ids as lower-case hex (with or without dashes).
pub async fn groups(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    by: GroupBy,
    as_of: Option<DateTime<Utc>>,
) -> AppResult<Vec<GroupRow>> {
    let key = match by {
        GroupBy::Stage => Column::Stage,
        GroupBy::Owner => Column::OwnerId,
        GroupBy::Account => Column::AccountId,
        GroupBy::RiskLevel => Column::RiskLevel,
    };
    let key_expr = match (by, conn.get_database_backend()) {
        // Account ids are UUIDs: read them back as text on both engines.
        (GroupBy::Account, DbBackend::Postgres) => Expr::cust("CAST(account_id AS TEXT)"),
        (GroupBy::Account, _) => Expr::cust("lower(hex(account_id))"),
        _ => Expr::col(key),
    };
    let open = format!(
        "stage NOT IN ('{}', '{}')",
        Stage::ClosedWon.as_str(),
        Stage::ClosedLost.as_str()
    );
    let probability = format!(
        "CASE stage {} ELSE 0 END",
        Stage::ALL
            .iter()
            .map(|s| format!("WHEN '{}' THEN {}", s.as_str(), s.probability_percent()))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let high = format!(
        "{open} AND risk_level IN ('{}', '{}')",
        RiskLevel::High.as_str(),
        RiskLevel::Critical.as_str()
    );
    let mut select = deals(ctx, filter, as_of);
    select
        .expr_as(key_expr, Alias::new("key"))
        .column(Column::Currency)
        .expr_as(sum_when(&open, "1"), Alias::new("n"))
        .expr_as(sum_when(&open, "amount_cents"), Alias::new("amount"))
        .expr_as(
            sum_when(&open, &format!("amount_cents * {probability}")),
            Alias::new("weighted"),
        )
        .expr_as(sum_when(&open, "risk_score"), Alias::new("score_sum"))
        .expr_as(sum_when(&high, "1"), Alias::new("high_or_critical"))
        .expr_as(
            sum_when(&format!("stage = '{}'", Stage::ClosedWon.as_str()), "1"),
            Alias::new("won"),
        )
        .expr_as(
            sum_when(&format!("stage = '{}'", Stage::ClosedLost.as_str()), "1"),
            Alias::new("lost"),
        )
        .group_by_col(key)
        .group_by_col(Column::Currency);
    let rows = conn.query_all(&select).await?;
    rows.iter()
        .map(|row| {
            let r = GroupQueryRow::from_query_result(row, "")?;
            Ok(GroupRow {
                key: r.key,
                currency: r.currency,
                count: r.n,
                amount_cents: r.amount,
                weighted_cent_percents: r.weighted,
                risk_score_sum: r.score_sum,
                high_or_critical: r.high_or_critical,
                won: r.won,
                lost: r.lost,
            })
        })
        .collect()
}
