//! Keeping stored assessments current: after every write that changes a deal's inputs (in
//! the same transaction), after a policy change (the whole tenant), and by the periodic
//! sweep (time alone makes deals stall or go dark).

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::opportunity;
use uuid::Uuid;

use crate::domain::risk::{self, PolicyError, RiskPolicy};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{Conn, Store, opportunities, policy, risk as stored, scope};

/// Deals re-assessed per transaction by tenant-wide refreshes.
const BATCH: u64 = 200;

/// Re-assesses `deals` at `now` and stores what changed. Returns how many changed.
pub async fn refresh_deals(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deals: Vec<opportunity::Model>,
    policy: &RiskPolicy,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let inputs = stored::load_inputs(ctx, conn, deals).await?;
    let mut changed = 0;
    for deal in &inputs {
        let assessment = deal.with_facts(|facts| risk::assess(facts, policy, now));
        if stored::save(ctx, conn, deal, &assessment, now).await? {
            changed += 1;
        }
    }
    Ok(changed)
}

/// Re-assesses one deal inside the caller's transaction (after a write to its inputs).
pub async fn refresh_deal(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid, now: DateTime<Utc>) -> AppResult<()> {
    let Some(deal) = opportunities::get(ctx, conn, deal_id).await? else {
        return Ok(());
    };
    let policy = policy::get(ctx, conn).await?;
    refresh_deals(ctx, conn, vec![deal], &policy, now).await?;
    Ok(())
}

/// Re-assesses every open deal of the caller's tenant, a batch per transaction.
pub async fn refresh_tenant(ctx: &TenantCtx, store: &Store, now: DateTime<Utc>) -> AppResult<usize> {
    let policy = policy::get(ctx, store.reader()).await?;
    let (mut after, mut changed) = (None, 0);
    loop {
        let deals = stored::open_deals_after(ctx, store.reader(), after, BATCH).await?;
        let Some(last) = deals.last().map(|d| d.id) else {
            return Ok(changed);
        };
        let tx = store.begin_write().await?;
        let result = refresh_deals(ctx, &*tx, deals, &policy, now).await;
        changed += tx.finish(result).await?;
        after = Some(last);
    }
}

/// One pass over every tenant with open deals.
pub async fn sweep(store: &Store, now: DateTime<Utc>) -> AppResult<usize> {
    let tenants = scope::tenants_with_open_deals(store.reader())
        .await
        .map_err(crate::store::db_error)?;
    let mut changed = 0;
    for tenant in tenants {
        changed += refresh_tenant(&TenantCtx::system(tenant), store, now).await?;
    }
    Ok(changed)
}

/// Runs [`sweep`] every `interval` until the process ends.
pub fn spawn_sweeper(store: Store, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; start one interval in
        loop {
            ticker.tick().await;
            match sweep(&store, super::now()).await {
                Ok(changed) => tracing::info!(changed, "risk sweep done"),
                Err(err) => tracing::warn!(error = %err, "risk sweep failed"),
            }
        }
    })
}

/// A partial policy: `None` keeps the current value; weights are merged code by code.
#[derive(Debug, Default)]
pub struct PolicyChanges {
    pub engagement_window_days: Option<i32>,
    pub min_engaged_members: Option<i32>,
    pub single_thread_share: Option<f64>,
    pub min_group_size: Option<i32>,
    pub required_roles: Option<Vec<crate::domain::model::BuyingRole>>,
    pub coverage_threshold: Option<f64>,
    pub stall_days: Option<i32>,
    pub dark_days: Option<i32>,
    pub max_close_date_pushes: Option<i32>,
    pub weights: Option<Vec<(crate::domain::model::RiskFactorCode, i32)>>,
}

fn policy_error(err: PolicyError) -> AppError {
    AppError::bad_input(format!("input.{}", err.field), err.message)
}

/// Applies `changes` to `current`, validating every field.
pub fn merge_policy(current: RiskPolicy, changes: PolicyChanges) -> AppResult<RiskPolicy> {
    let count = |field: &'static str, v: i32| {
        u32::try_from(v).map_err(|_| AppError::bad_input(format!("input.{field}"), "must not be negative"))
    };
    let mut next = current;
    if let Some(v) = changes.engagement_window_days {
        next.engagement_window_days = count("engagementWindowDays", v)?;
    }
    if let Some(v) = changes.min_engaged_members {
        next.min_engaged_members = count("minEngagedMembers", v)?;
    }
    if let Some(v) = changes.single_thread_share {
        next.single_thread_share = v;
    }
    if let Some(v) = changes.min_group_size {
        next.min_group_size = count("minGroupSize", v)?;
    }
    if let Some(v) = changes.required_roles {
        next.required_roles = v;
    }
    if let Some(v) = changes.coverage_threshold {
        next.coverage_threshold = v;
    }
    if let Some(v) = changes.stall_days {
        next.stall_days = count("stallDays", v)?;
    }
    if let Some(v) = changes.dark_days {
        next.dark_days = count("darkDays", v)?;
    }
    if let Some(v) = changes.max_close_date_pushes {
        next.max_close_date_pushes = count("maxCloseDatePushes", v)?;
    }
    if let Some(weights) = changes.weights {
        for (i, (code, points)) in weights.iter().enumerate() {
            if weights[..i].iter().any(|(c, _)| c == code) {
                return Err(AppError::bad_input(
                    "input.weights",
                    format!("lists {code} more than once"),
                ));
            }
            let points = u32::try_from(*points).map_err(|_| {
                AppError::bad_input("input.weights", format!("the weight of {code} must not be negative"))
            })?;
            next.weights[code.index()] = points;
        }
    }
    next.validate().map_err(policy_error)?;
    Ok(next)
}

/// Changes the tenant's policy (admins only) and re-assesses all its open deals, so that
/// stored levels, filters and ordering follow the new policy when this returns.
pub async fn update_policy(ctx: &TenantCtx, store: &Store, changes: PolicyChanges) -> AppResult<RiskPolicy> {
    ctx.require_admin()?;
    let now = super::now();
    let tx = store.begin_write().await?;
    let result = async {
        let next = merge_policy(policy::get(ctx, &*tx).await?, changes)?;
        policy::put(ctx, &*tx, &next, now).await?;
        Ok(next)
    }
    .await;
    let next = tx.finish(result).await?;
    refresh_tenant(ctx, store, now).await?;
    Ok(next)
}
