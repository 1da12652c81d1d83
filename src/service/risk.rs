//! Keeping stored assessments current — after every write that changes a deal's inputs (in
//! the same transaction), after a policy change (the whole tenant), and by the periodic
//! sweep (time alone makes deals stall or go dark) — and the tenant's policy.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Services;
use crate::domain::commands::PolicyChanges;
use crate::domain::deal_record::DealRecord;
use crate::domain::model::ChangeKind;
use crate::domain::records::{Deal, RiskPoint};
use crate::domain::risk::RiskPolicy;
use crate::domain::{AppResult, TenantCtx};
use crate::store::changes;
use crate::store::leader::Leadership;
use crate::store::risk::Overwrite;
use crate::store::{Conn, Store, history, members, opportunities, policy, risk as stored, scope};

/// Deals re-assessed per transaction by tenant-wide refreshes.
const BATCH: u64 = 200;

/// How long a process may answer reads with a policy it read before. Writes always read the
/// policy inside their transaction; a change made on this process clears its cache at once,
/// a change made on another replica is seen here within this time.
const POLICY_TTL: Duration = Duration::from_secs(3);

/// Per-tenant policies recently read, for the deal page's live risk.
#[derive(Default)]
pub struct PolicyCache {
    entries: Mutex<HashMap<String, (Instant, Arc<RiskPolicy>)>>,
}

impl PolicyCache {
    fn get(&self, tenant: &str) -> Option<Arc<RiskPolicy>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(tenant)
            .filter(|(read, _)| read.elapsed() < POLICY_TTL)
            .map(|(_, policy)| Arc::clone(policy))
    }

    fn put(&self, tenant: &str, policy: Arc<RiskPolicy>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.retain(|_, (read, _)| read.elapsed() < POLICY_TTL);
        entries.insert(tenant.to_owned(), (Instant::now(), policy));
    }

    fn forget(&self, tenant: &str) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(tenant);
    }
}

/// The tenant's policy (the defaults until an admin changes it), for reads.
pub async fn policy(ctx: &TenantCtx, svc: &Services) -> AppResult<Arc<RiskPolicy>> {
    let tenant = ctx.tenant().as_str();
    if let Some(cached) = svc.policies.get(tenant) {
        return Ok(cached);
    }
    let fresh = Arc::new(policy::get(ctx, svc.store.reader()).await?);
    svc.policies.put(tenant, Arc::clone(&fresh));
    Ok(fresh)
}

/// Changes the tenant's policy (admins only) and re-assesses all its open deals, as one unit:
/// when this answers, every open deal's stored assessment follows the new policy; when it
/// fails (or the request is abandoned), the old policy is still in force and no stored
/// assessment changed.
pub async fn update_policy(ctx: &TenantCtx, svc: &Services, changes: PolicyChanges) -> AppResult<RiskPolicy> {
    ctx.require_admin()?;
    let now = super::now();
    let next = svc
        .store
        .write(async |tx| {
            let next = changes.apply_to(policy::get(ctx, tx).await?)?;
            policy::put(ctx, tx, &next, now).await?;
            refresh_open_deals(ctx, tx, now).await?;
            Ok(next)
        })
        .await?;
    svc.policies.forget(ctx.tenant().as_str());
    Ok(next)
}

/// The newest `last` points (default and most 1,000) of a deal's risk history since `since`
/// (from the start when `None`), oldest first.
pub async fn history(
    ctx: &TenantCtx,
    svc: &Services,
    deal_id: Uuid,
    since: Option<DateTime<Utc>>,
    last: Option<i32>,
) -> AppResult<Vec<RiskPoint>> {
    let last = crate::domain::values::history_points("last", last)?;
    stored::history(ctx, svc.store.reader(), deal_id, since, last).await
}

/// The records of `deals` for assessing them — buying groups and histories, interactions
/// without their texts — in two queries, whatever the number of deals, members and
/// interactions.
pub async fn load_records(ctx: &TenantCtx, conn: &impl Conn, deals: Vec<Deal>) -> AppResult<Vec<DealRecord>> {
    if deals.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    let mut groups: HashMap<Uuid, Vec<Arc<crate::domain::records::Member>>> = HashMap::new();
    for member in members::for_deals(ctx, conn, &ids).await? {
        groups.entry(member.opportunity_id).or_default().push(Arc::new(member));
    }
    // The engine never reads the interactions' texts (and a tenant's sweep or policy change
    // reads every open deal's whole history).
    let mut histories = history::for_assessment(ctx, conn, &ids).await?;
    Ok(deals
        .into_iter()
        .map(|deal| {
            let group = groups.remove(&deal.id).unwrap_or_default();
            let history = histories.remove(&deal.id).unwrap_or_default();
            DealRecord::new(Arc::new(deal), group, Arc::new(history))
        })
        .collect())
}

/// Re-assesses `records` at `at` and stores what changed. Returns the deals with their
/// stored assessment as it now is, and how many changed.
async fn refresh_records(
    ctx: &TenantCtx,
    conn: &impl Conn,
    records: Vec<DealRecord>,
    policy: &RiskPolicy,
    at: DateTime<Utc>,
    overwrite: Overwrite,
) -> AppResult<(Vec<Deal>, usize)> {
    let mut changed = 0;
    let mut deals = Vec::with_capacity(records.len());
    for record in records {
        let next = record.assess_for_storage(policy, at);
        if stored::save(ctx, conn, &record.deal, &next, overwrite).await? {
            changes::risk_moved(ctx, record.deal.id, &record.deal.risk, &next);
            changed += 1;
        }
        let mut deal = Arc::unwrap_or_clone(record.deal);
        if deal.risk.assessed_at.is_none()
            || (deal.risk.score, deal.risk.level, deal.risk.factors) != (next.score, next.level, next.factors)
        {
            deal.risk = next;
        } else {
            deal.risk.group_size = next.group_size;
            deal.risk.engaged = next.engaged;
        }
        deals.push(deal);
    }
    Ok((deals, changed))
}

/// Re-assesses one deal inside the caller's transaction, after a write to its inputs, and
/// returns it with its stored assessment as it now is.
pub(crate) async fn refresh_deal(ctx: &TenantCtx, conn: &impl Conn, deal: Deal, at: DateTime<Utc>) -> AppResult<Deal> {
    let group = members::for_deals(ctx, conn, &[deal.id]).await?;
    refresh_deal_with_group(ctx, conn, deal, group, at).await
}

/// Like [`refresh_deal`], with the deal's group as the caller already read it in this
/// transaction (one query fewer).
pub(crate) async fn refresh_deal_with_group(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal: Deal,
    group: Vec<crate::domain::records::Member>,
    at: DateTime<Utc>,
) -> AppResult<Deal> {
    let policy = policy::get(ctx, conn).await?;
    let history = history::for_deal(ctx, conn, deal.id).await?;
    let record = DealRecord::new(
        Arc::new(deal),
        group.into_iter().map(Arc::new).collect(),
        Arc::new(history),
    );
    let (mut deals, _) = refresh_records(ctx, conn, vec![record], &policy, at, Overwrite::Always).await?;
    deals.pop().ok_or(crate::domain::AppError::NotFound("opportunity"))
}

/// Like [`refresh_deal`], for a deal known by id (a write to its group or interactions).
pub(crate) async fn refresh_deal_by_id(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    at: DateTime<Utc>,
) -> AppResult<()> {
    if let Some(deal) = opportunities::get(ctx, conn, deal_id).await? {
        refresh_deal(ctx, conn, deal, at).await?;
    }
    Ok(())
}

/// Re-assesses the deals of `ids` (an import's), inside the caller's transaction, as at `now`,
/// whatever their stored assessment, and rebuilds each one's risk history by replaying the
/// engine day by day over its past (see [`backfill`](crate::domain::backfill)). The deals,
/// groups and histories are read once for both; a deal whose stored history is already the
/// replay is left as it is. Returns how many histories were replaced.
pub(crate) async fn reassess_and_backfill(
    ctx: &TenantCtx,
    conn: &impl Conn,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let policy = policy::get(ctx, conn).await?;
    let deals = opportunities::get_many(ctx, conn, ids).await?;
    let found: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    let mut groups: HashMap<Uuid, Vec<Arc<crate::domain::records::Member>>> = HashMap::new();
    for member in members::for_deals(ctx, conn, &found).await? {
        groups.entry(member.opportunity_id).or_default().push(Arc::new(member));
    }
    let mut histories = history::for_assessment(ctx, conn, &found).await?;
    let mut stored_points = stored::points_for_deals(ctx, conn, &found).await?;
    let (mut replaced, mut points_of_replaced, mut assessed) = (Vec::new(), Vec::new(), Vec::new());
    for deal in deals {
        let group = groups.remove(&deal.id).unwrap_or_default();
        let past = Arc::new(histories.remove(&deal.id).unwrap_or_default());
        let deal = Arc::new(deal);
        // The stored assessment, as of now; its history is the replay below.
        let record = DealRecord::new(Arc::clone(&deal), group.clone(), Arc::clone(&past));
        let next = record.assess_for_storage(&policy, now);
        let before = &deal.risk;
        let same_risk = before.assessed_at.is_some()
            && (
                before.score,
                before.level,
                before.factors,
                before.group_size,
                before.engaged,
            ) == (next.score, next.level, next.factors, next.group_size, next.engaged);
        changes::changed(ctx, deal.id, ChangeKind::RiskReassessed, now);
        if !same_risk {
            changes::risk_moved(ctx, deal.id, before, &next);
            assessed.push((deal.id, next));
        }
        let points = crate::domain::backfill::risk_history(&deal, &group, &past, &policy, now);
        let before = stored_points.remove(&deal.id).unwrap_or_default();
        let same = before.len() == points.len()
            && before
                .iter()
                .zip(&points)
                .all(|(a, b)| (a.at, a.score, a.level, a.factors) == (b.at, b.score, b.level, b.factors));
        if !same {
            replaced.push(deal.id);
            points_of_replaced.extend(points);
        }
    }
    stored::save_many(ctx, conn, &assessed).await?;
    stored::replace_points(ctx, conn, &replaced, &points_of_replaced).await?;
    Ok(replaced.len())
}

/// Re-assesses, inside the caller's transaction, the batch of the tenant's open deals after
/// `after` (by id) that existed at `at`, as at `at` (with `IfNotNewer`, leaving a deal whose
/// stored assessment is newer as it is).
/// Returns the last id of the batch (`None`: no deals left) and how many changed.
async fn refresh_batch(
    ctx: &TenantCtx,
    conn: &impl Conn,
    after: Option<Uuid>,
    policy: &RiskPolicy,
    at: DateTime<Utc>,
    overwrite: Overwrite,
) -> AppResult<(Option<Uuid>, usize)> {
    // Read inside the transaction that writes, so the comparison with the stored assessment
    // is against what is stored now.
    let deals = opportunities::open_after(ctx, conn, after, BATCH).await?;
    let last = deals.last().map(|d| d.id);
    let newer = |d: &Deal| overwrite == Overwrite::IfNotNewer && d.risk.assessed_at.is_some_and(|t| t > at);
    let due: Vec<Deal> = deals.into_iter().filter(|d| d.created_at <= at && !newer(d)).collect();
    let records = load_records(ctx, conn, due).await?;
    let (_, changed) = refresh_records(ctx, conn, records, policy, at, overwrite).await?;
    Ok((last, changed))
}

/// Re-assesses the open deals of the caller's tenant that existed at `at`, as at `at`, a batch
/// per transaction. Returns how many stored assessments changed.
pub async fn refresh_tenant(ctx: &TenantCtx, store: &Store, at: DateTime<Utc>) -> AppResult<usize> {
    let (mut after, mut changed) = (None, 0);
    loop {
        let (last, n) = store
            .write(async |tx| {
                let policy = policy::get_for_reassessment(ctx, tx).await?;
                refresh_batch(ctx, tx, after, &policy, at, Overwrite::IfNotNewer).await
            })
            .await?;
        changed += n;
        match last {
            Some(last) => after = Some(last),
            None => return Ok(changed),
        }
    }
}

/// Like [`refresh_tenant`], inside the caller's transaction (a policy change, loading a
/// tenant in bulk): every open deal that existed at `at` is re-assessed, whatever its stored
/// assessment.
pub async fn refresh_open_deals(ctx: &TenantCtx, conn: &impl Conn, at: DateTime<Utc>) -> AppResult<usize> {
    let policy = policy::get(ctx, conn).await?;
    let (mut after, mut changed) = (None, 0);
    loop {
        let (last, n) = refresh_batch(ctx, conn, after, &policy, at, Overwrite::Always).await?;
        changed += n;
        match last {
            Some(last) => after = Some(last),
            None => return Ok(changed),
        }
    }
}

/// One pass over every tenant with open deals, each assessed as at `now`. A tenant that
/// fails (its error is logged) does not stop the pass for the others. Returns how many stored
/// assessments changed.
pub async fn sweep(store: &Store, now: DateTime<Utc>) -> AppResult<usize> {
    let tenants = scope::tenants_with_open_deals(store.reader()).await?;
    let mut changed = 0;
    for tenant in tenants {
        let name = tenant.as_str().to_owned();
        match refresh_tenant(&TenantCtx::system(tenant), store, now).await {
            Ok(n) => changed += n,
            Err(err) => {
                tracing::error!(tenant = %name, error = %err, "risk sweep failed for a tenant; the others go on")
            }
        }
    }
    Ok(changed)
}

/// Runs [`sweep`] every `interval` until the process ends, at the ticks this process leads
/// (one replica at a time sweeps; see [`Leadership`]).
pub fn spawn_sweeper(store: Store, interval: Duration, mut leadership: Leadership) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await; // the first tick is immediate; start one interval in
        loop {
            ticker.tick().await;
            if !leadership.leads().await {
                continue;
            }
            match sweep(&store, super::now()).await {
                Ok(changed) => tracing::info!(changed, "risk sweep done"),
                Err(err) => tracing::warn!(error = %err, "risk sweep failed"),
            }
        }
    })
}
