//! The tenant's risk policy: one row per tenant that changed it; defaults otherwise.

use chrono::{DateTime, Utc};
use entity::risk_policy::{Column, Entity};
use sea_orm::sea_query::OnConflict;
use sea_orm::{DbBackend, QuerySelect};

use super::convert::policy_row;
use super::{Conn, scope};
use crate::domain::risk::RiskPolicy;
use crate::domain::{AppResult, TenantCtx};

/// The caller's tenant's policy (the defaults until an admin changes it).
pub async fn get(ctx: &TenantCtx, conn: &impl Conn) -> AppResult<RiskPolicy> {
    match scope::select::<Entity>(ctx).one(conn).await? {
        Some(row) => RiskPolicy::try_from(row),
        None => Ok(RiskPolicy::default()),
    }
}

/// Like [`get`], for a transaction that re-assesses deals under the policy: on PostgreSQL the
/// policy row is share-locked until the transaction ends, so a concurrent policy change waits
/// for it (and it for the change), and no re-assessment under the old policy can commit after
/// the new one. (SQLite runs one writer at a time anyway.)
pub async fn get_for_reassessment(ctx: &TenantCtx, conn: &impl Conn) -> AppResult<RiskPolicy> {
    let mut select = scope::select::<Entity>(ctx);
    if conn.get_database_backend() == DbBackend::Postgres {
        select = select.lock_shared();
    }
    match select.one(conn).await? {
        Some(row) => RiskPolicy::try_from(row),
        None => Ok(RiskPolicy::default()),
    }
}

/// Stores the whole policy for the caller's tenant (insert or replace).
pub async fn put(ctx: &TenantCtx, conn: &impl Conn, policy: &RiskPolicy, now: DateTime<Utc>) -> AppResult<()> {
    let upsert = OnConflict::column(Column::TenantId)
        .update_columns([
            Column::EngagementWindowDays,
            Column::MinEngagedMembers,
            Column::SingleThreadShare,
            Column::MinGroupSize,
            Column::RequiredRoles,
            Column::CoverageThreshold,
            Column::StallDays,
            Column::DarkDays,
            Column::MaxCloseDatePushes,
            Column::Weights,
            Column::UpdatedAt,
            Column::UpdatedBy,
        ])
        .to_owned();
    scope::insert_many(ctx, [policy_row(policy, ctx.user_id(), now)])
        .on_conflict(upsert)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}
