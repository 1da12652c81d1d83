//! The tenant's risk policy: one row per tenant that changed it; defaults otherwise.

use chrono::{DateTime, Utc};
use entity::risk_policy::{ActiveModel, Column, Entity, Model};
use sea_orm::Set;
use sea_orm::sea_query::OnConflict;

use super::opportunities::parse_stored;
use super::{Conn, db_error, scope};
use crate::domain::model::{BuyingRole, RiskFactorCode};
use crate::domain::risk::RiskPolicy;
use crate::domain::{AppError, AppResult, TenantCtx};

/// The caller's tenant's policy (the defaults until an admin changes it).
pub async fn get(ctx: &TenantCtx, conn: &impl Conn) -> AppResult<RiskPolicy> {
    match scope::select::<Entity>(ctx).one(conn).await.map_err(db_error)? {
        Some(row) => from_row(&row),
        None => Ok(RiskPolicy::default()),
    }
}

/// Stores the whole policy for the caller's tenant (insert or replace).
pub async fn put(ctx: &TenantCtx, conn: &impl Conn, policy: &RiskPolicy, now: DateTime<Utc>) -> AppResult<()> {
    let to_i32 = |v: u32| i32::try_from(v).map_err(|_| AppError::Internal("policy value out of range".into()));
    let row = ActiveModel {
        engagement_window_days: Set(to_i32(policy.engagement_window_days)?),
        min_engaged_members: Set(to_i32(policy.min_engaged_members)?),
        single_thread_share: Set(policy.single_thread_share),
        min_group_size: Set(to_i32(policy.min_group_size)?),
        required_roles: Set(policy
            .required_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")),
        coverage_threshold: Set(policy.coverage_threshold),
        stall_days: Set(to_i32(policy.stall_days)?),
        dark_days: Set(to_i32(policy.dark_days)?),
        max_close_date_pushes: Set(to_i32(policy.max_close_date_pushes)?),
        weights: Set(RiskFactorCode::ALL
            .iter()
            .map(|c| format!("{}={}", c.as_str(), policy.points(*c)))
            .collect::<Vec<_>>()
            .join(",")),
        updated_at: Set(now),
        updated_by: Set(ctx.user_id().to_owned()),
        ..Default::default()
    };
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
    scope::insert_many(ctx, [row])
        .on_conflict(upsert)
        .exec_without_returning(conn)
        .await
        .map_err(db_error)?;
    Ok(())
}

fn from_row(row: &Model) -> AppResult<RiskPolicy> {
    let to_u32 = |v: i32| u32::try_from(v).map_err(|_| AppError::Internal("corrupted policy".into()));
    let mut policy = RiskPolicy {
        engagement_window_days: to_u32(row.engagement_window_days)?,
        min_engaged_members: to_u32(row.min_engaged_members)?,
        single_thread_share: row.single_thread_share,
        min_group_size: to_u32(row.min_group_size)?,
        required_roles: row
            .required_roles
            .split(',')
            .filter(|s| !s.is_empty())
            .map(parse_stored::<BuyingRole>)
            .collect::<AppResult<_>>()?,
        coverage_threshold: row.coverage_threshold,
        stall_days: to_u32(row.stall_days)?,
        dark_days: to_u32(row.dark_days)?,
        max_close_date_pushes: to_u32(row.max_close_date_pushes)?,
        ..RiskPolicy::default()
    };
    for pair in row.weights.split(',').filter(|s| !s.is_empty()) {
        let (code, points) = pair
            .split_once('=')
            .ok_or_else(|| AppError::Internal("corrupted weights".into()))?;
        let points: u32 = points
            .parse()
            .map_err(|_| AppError::Internal("corrupted weights".into()))?;
        policy.weights[parse_stored::<RiskFactorCode>(code)?.index()] = points;
    }
    Ok(policy)
}
