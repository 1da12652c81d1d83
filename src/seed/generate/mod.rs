//! `dealgraph generate`: the synthetic data set SPEC §6's benchmark runs on.
//!
//! By default one tenant `bench` with 10,000 opportunities of 12 buying-group members and
//! about 100 interactions each (≈ 1,000,000 in all, 1–3 participants, some with members in
//! `about`), spread over the last 180 days, plus four tenants `bench-2` … `bench-5` of 2,000
//! opportunities of the same shape, so that every query also has other tenants' rows beside
//! it in every index, as in production.
//!
//! The content is drawn from one seeded generator per tenant (`StdRng`): the same seed and
//! the same `as_of` give the same rows, ids included (UUIDv7 built from each row's own
//! timestamp and the generator's bits). Deals vary the way real pipelines do — stages, amounts
//! in USD/EUR/GBP and their re-scoping, owners, close dates and pushes, stances and veto
//! holders, mobilizers with their bandwidth, and how the seller works the group (many threads,
//! one thread, or through a proxy), some going dark or stalled — so stored risk lands on every
//! level.
//!
//! The generator draws domain records ([`tenant`]) and writes them with the store's bulk
//! writer ([`bulk::write`]: multi-row `INSERT`s) in one transaction per 250 deals, never
//! through the one-row functions the API uses. Risk is assessed in process while the deal is
//! generated (the engine is pure and the records are at hand). Every deal, open or closed,
//! gets the risk history an import backfills
//! (`service::risk::reassess_and_backfill`: the engine replayed day by day,
//! [`backfill::risk_history`](crate::domain::backfill::risk_history)), so
//! `riskOutcomes` and `pipelineTrend` have a past to report on. Open deals' stored assessment
//! is exactly what [`refresh_tenant`](crate::service::risk::refresh_tenant) would store at
//! `as_of`, with the history point that refresh would append when it differs from the
//! replay's last (which is at `as_of`'s midnight); closed deals keep the defaults the sweep
//! leaves them. `--risk refresh` stores the assessment through `refresh_tenant` instead (the
//! reference path, slower: it reloads every deal's records and updates deal by deal; as the
//! first assessment of each open deal, it always appends a point at `as_of`).
//!
//! [`ndjson`] writes the same data set as a SPEC §7 record stream instead, for benchmarking
//! `dealgraph import` on it: no database, no risk.

pub mod ndjson;
mod tenant;
mod words;

use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::values::TenantId;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::bulk::{self, Batch};
use crate::store::{Store, accounts, policy};
use tenant::{Assess, TenantGenerator};

/// Deals written per transaction: large enough for statements of thousands of rows, small
/// enough that a transaction holds a few MB and the progress bar moves.
const DEALS_PER_TX: usize = 250;

/// How stored risk is computed after the rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RiskPath {
    /// Assess each deal in process as it is generated and write the result with it (fast).
    Inline,
    /// Write the deals unassessed, then run the sweep's `refresh_tenant` over each tenant.
    Refresh,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The main tenant; the others are `<tenant>-2`, `<tenant>-3`, ….
    pub tenant: String,
    pub deals: usize,
    pub other_tenants: usize,
    pub other_deals: usize,
    /// Buying-group members per deal.
    pub members: usize,
    /// Mean interactions per deal (each deal gets between half and one and a half times it).
    pub interactions_per_deal: usize,
    /// How far back deals are created.
    pub days: u32,
    pub seed: u64,
    /// The instant the content is relative to ("now" when it was generated), whole seconds.
    pub as_of: DateTime<Utc>,
    /// Delete the tenants' existing data first instead of refusing (database only).
    pub replace: bool,
    /// Database only: the record stream carries no risk.
    pub risk: RiskPath,
    /// Draw a progress bar on stderr (when it is a terminal).
    pub progress: bool,
}

impl Plan {
    /// SPEC §6's data set, relative to `as_of`.
    pub fn bench(as_of: DateTime<Utc>) -> Plan {
        Plan {
            tenant: "bench".into(),
            deals: 10_000,
            other_tenants: 4,
            other_deals: 2_000,
            members: 12,
            interactions_per_deal: 100,
            days: 180,
            seed: 42,
            as_of,
            replace: false,
            risk: RiskPath::Inline,
            progress: true,
        }
    }

    /// The tenants to write, with their deal counts.
    fn tenants(&self) -> AppResult<Vec<(TenantId, usize)>> {
        let mut out = vec![(TenantId::parse(&self.tenant)?, self.deals)];
        for i in 0..self.other_tenants {
            out.push((
                TenantId::parse(&format!("{}-{}", self.tenant, i + 2))?,
                self.other_deals,
            ));
        }
        Ok(out)
    }

    fn validate(&self) -> AppResult<()> {
        if !(1..=200).contains(&self.members) {
            return Err(AppError::bad_input("members", "must be between 1 and 200"));
        }
        if !(30..=3650).contains(&self.days) {
            return Err(AppError::bad_input("days", "must be between 30 and 3650"));
        }
        if self.interactions_per_deal > 10_000 {
            return Err(AppError::bad_input("interactions-per-deal", "must be at most 10000"));
        }
        Ok(())
    }
}

/// What one tenant received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TenantReport {
    pub tenant: String,
    pub accounts: usize,
    pub contacts: usize,
    pub deals: usize,
    pub open_deals: usize,
    /// Open deals per stored level, in `RiskLevel` order (LOW, MEDIUM, HIGH, CRITICAL).
    pub levels: [usize; 4],
    pub members: usize,
    pub interactions: usize,
    /// Participant and `about` links.
    pub links: usize,
    /// Wall-clock time spent on this tenant, in milliseconds.
    pub millis: u64,
}

/// What [`run`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub tenants: Vec<TenantReport>,
    pub elapsed: Duration,
}

impl fmt::Display for TenantReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [low, medium, high, critical] = self.levels;
        write!(
            f,
            "tenant `{}`: {} accounts, {} contacts, {} deals ({} open: {low} LOW, {medium} MEDIUM, {high} HIGH, \
             {critical} CRITICAL), {} buying-group members, {} interactions ({} participant/about links) in {:.1} s",
            self.tenant,
            self.accounts,
            self.contacts,
            self.deals,
            self.open_deals,
            self.members,
            self.interactions,
            self.links,
            self.millis as f64 / 1000.0
        )
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for tenant in &self.tenants {
            writeln!(f, "{tenant}")?;
        }
        let sum = |pick: fn(&TenantReport) -> usize| self.tenants.iter().map(pick).sum::<usize>();
        write!(
            f,
            "generated {} tenants: {} deals, {} members, {} interactions, {} links in {:.1} s",
            self.tenants.len(),
            sum(|t| t.deals),
            sum(|t| t.members),
            sum(|t| t.interactions),
            sum(|t| t.links),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Generates `plan` into `store`. Refuses with `CONFLICT`, before writing anything, when one
/// of the tenants already has data, unless `plan.replace` asks to delete it first.
pub async fn run(store: &Store, plan: &Plan) -> AppResult<Report> {
    plan.validate()?;
    let tenants = plan.tenants()?;
    if !plan.replace {
        for (tenant, _) in &tenants {
            if accounts::count(&TenantCtx::system(tenant.clone()), store.reader(), None).await? > 0 {
                return Err(AppError::Conflict(format!(
                    "tenant `{}` already has data; generate into an empty tenant, or pass --replace to delete it first",
                    tenant.as_str()
                )));
            }
        }
    }
    let total = tenants.iter().map(|(_, n)| *n as u64).sum();
    let bar = progress_bar(plan.progress, total);
    let started = Instant::now();
    let mut reports = Vec::with_capacity(tenants.len());
    for (index, (tenant, deals)) in tenants.into_iter().enumerate() {
        let report = generate_tenant(store, plan, index, tenant, deals, &bar).await?;
        tracing::info!(%report, "tenant generated");
        reports.push(report);
    }
    bar.finish_and_clear();
    Ok(Report {
        tenants: reports,
        elapsed: started.elapsed(),
    })
}

fn progress_bar(show: bool, total: u64) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} deals, {per_sec}, eta {eta}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn generate_tenant(
    store: &Store,
    plan: &Plan,
    index: usize,
    tenant: TenantId,
    deals: usize,
    bar: &ProgressBar,
) -> AppResult<TenantReport> {
    let started = Instant::now();
    let ctx = TenantCtx::system(tenant.clone());
    bar.set_message(tenant.as_str().to_owned());
    if plan.replace {
        store.write(async |tx| bulk::delete_tenant_data(&ctx, tx).await).await?;
    }
    let policy = policy::get(&ctx, store.reader()).await?;
    let mut generator = TenantGenerator::new(plan, index, deals);
    let mut report = TenantReport {
        tenant: tenant.as_str().to_owned(),
        ..TenantReport::default()
    };

    let people = generator.accounts_and_contacts();
    report.accounts = people.accounts.len();
    report.contacts = people.contacts.len();
    store.write(async |tx| bulk::write(&ctx, tx, &people).await).await?;
    bulk::analyze(store.reader()).await?;

    let mut done = 0;
    while done < deals {
        let n = DEALS_PER_TX.min(deals - done);
        let assess = match plan.risk {
            RiskPath::Inline => Assess::Store(&policy),
            RiskPath::Refresh => Assess::Count(&policy),
        };
        let generated = generator.deals(n, assess);
        generated.count_into(&mut report);
        store
            .write(async |tx| bulk::write(&ctx, tx, &generated.batch).await)
            .await?;
        if done == 0 {
            // Once every table holds some of this tenant's rows (see `bulk::analyze`).
            bulk::analyze(store.reader()).await?;
        }
        done += n;
        bar.inc(n as u64);
    }
    if plan.risk == RiskPath::Refresh {
        crate::service::risk::refresh_tenant(&ctx, store, generator.anchor()).await?;
    }
    report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

/// A run of generated deals, with the figures the report counts.
#[derive(Default)]
pub(crate) struct Generated {
    pub(crate) batch: Batch,
    pub(crate) open: usize,
    /// Open deals per stored level, in `RiskLevel` order.
    pub(crate) levels: [usize; 4],
}

impl Generated {
    fn count_into(&self, report: &mut TenantReport) {
        report.deals += self.batch.deals.len();
        report.open_deals += self.open;
        for (total, n) in report.levels.iter_mut().zip(self.levels) {
            *total += n;
        }
        report.members += self.batch.members.len();
        report.interactions += self.batch.interactions.len();
        report.links += self.batch.links.len();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use chrono::TimeDelta;
    use uuid::Uuid;

    use super::*;
    use crate::domain::risk::RiskPolicy;

    fn plan(deals: usize) -> Plan {
        Plan {
            deals,
            other_tenants: 1,
            other_deals: 20,
            members: 12,
            interactions_per_deal: 40,
            progress: false,
            ..Plan::bench(as_of())
        }
    }

    fn as_of() -> DateTime<Utc> {
        DateTime::from_timestamp(1_781_524_800, 0).expect("2026-06-15T12:00:00Z")
    }

    fn generate(plan: &Plan, index: usize, deals: usize) -> Generated {
        let mut g = TenantGenerator::new(plan, index, deals);
        g.accounts_and_contacts();
        g.deals(deals, Assess::Store(&RiskPolicy::default()))
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let p = plan(60);
        let (a, b) = (generate(&p, 0, 60), generate(&p, 0, 60));
        let names = |g: &Generated| g.batch.deals.iter().map(|d| (d.id, d.name.clone())).collect::<Vec<_>>();
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.batch.interactions, b.batch.interactions);
        assert_eq!(a.batch.links, b.batch.links);
        assert_eq!(a.batch.risk_points, b.batch.risk_points, "risk histories, ids included");
        let other = generate(&Plan { seed: 7, ..p.clone() }, 0, 60);
        assert_ne!(names(&a), names(&other), "another seed gives other deals");
        let second_tenant = generate(&p, 1, 60);
        assert_ne!(names(&a), names(&second_tenant), "tenants draw from their own streams");

        let mut g = TenantGenerator::new(&p, 0, 60);
        g.accounts_and_contacts();
        let unassessed = g.deals(60, Assess::Count(&RiskPolicy::default()));
        assert_eq!(names(&a), names(&unassessed), "the risk path does not change the rows");
        assert_eq!(unassessed.levels, a.levels);
        // Both paths replay the same histories; only the inline path appends the points the
        // sweep would append at the anchor (the refresh path's sweep appends its own).
        // (No replayed instant is the anchor: it is not a midnight, and deals closed before it.)
        let replayed: Vec<_> = a.batch.risk_points.iter().filter(|p| p.at != as_of()).collect();
        assert_eq!(replayed, unassessed.batch.risk_points.iter().collect::<Vec<_>>());
        assert!(
            replayed.len() < a.batch.risk_points.len(),
            "some deals moved since midnight"
        );

        // The record stream's path does not assess at all, and draws the same rows.
        let mut g = TenantGenerator::new(&p, 0, 60);
        g.accounts_and_contacts();
        let skipped = g.deals(60, Assess::Skip);
        let (x, y) = (&unassessed.batch, &skipped.batch);
        assert_eq!(x.deals, y.deals);
        assert_eq!(x.stage_changes, y.stage_changes);
        assert_eq!(x.close_date_changes, y.close_date_changes);
        assert_eq!(x.amount_changes, y.amount_changes);
        assert_eq!(x.members, y.members);
        assert_eq!((&x.interactions, &x.links), (&y.interactions, &y.links));
        assert_eq!((skipped.open, skipped.levels), (unassessed.open, [0; 4]));
    }

    #[test]
    fn some_deals_were_re_scoped_from_creation_to_their_amount() {
        let batch = generate(&plan(400), 0, 400).batch;
        let mut histories: HashMap<Uuid, Vec<&crate::domain::records::AmountChange>> = HashMap::new();
        for change in &batch.amount_changes {
            histories.entry(change.opportunity_id).or_default().push(change);
        }
        let share = histories.len() as f64 / 400.0;
        assert!(
            (0.3..0.5).contains(&share),
            "about 40 % of deals re-scoped, got {share}"
        );
        for deal in &batch.deals {
            let Some(history) = histories.get(&deal.id) else {
                continue;
            };
            assert!((2..=4).contains(&history.len()), "an initial amount and 1–3 changes");
            assert_eq!((history[0].from, history[0].at), (None, deal.created_at));
            assert_eq!(history[history.len() - 1].to, deal.amount_cents);
            for pair in history.windows(2) {
                assert_eq!(pair[1].from, Some(pair[0].to));
                assert!(pair[0].at < pair[1].at && pair[0].to != pair[1].to);
            }
            let until = deal.closed_at.unwrap_or(as_of());
            for change in history {
                assert!(change.at <= until, "re-scoped before it closed");
                assert!(
                    change.to > 0 && change.to % 10_000 == 0,
                    "round to 100 units: {}",
                    change.to
                );
                assert_eq!(change.by, deal.owner_id);
            }
        }
    }

    #[test]
    fn deals_have_the_planned_shape() {
        let p = plan(200);
        let batch = generate(&p, 0, 200).batch;
        assert_eq!(batch.deals.len(), 200);
        assert_eq!(batch.members.len(), 200 * 12);
        let mean = batch.interactions.len() as f64 / 200.0;
        assert!(
            (36.0..44.0).contains(&mean),
            "about 40 interactions per deal, got {mean}"
        );
        let direct = batch.links.iter().filter(|l| l.direct).count();
        let per_interaction = direct as f64 / batch.interactions.len() as f64;
        assert!((1.0..=3.0).contains(&per_interaction), "{per_interaction}");
        assert!(
            batch.links.iter().any(|l| !l.direct),
            "some interactions are about someone"
        );
        for d in &batch.deals {
            assert!(d.stage_entered_at >= d.created_at);
            assert!(d.created_at >= as_of() - TimeDelta::days(180) && d.created_at < as_of());
            assert_eq!(d.closed_at.is_some(), d.stage.is_closed());
        }
        for i in &batch.interactions {
            assert!(i.occurred_at <= as_of() && i.created_at <= as_of());
        }
    }

    #[test]
    fn a_participant_is_never_also_about_in_the_same_interaction() {
        let batch = generate(&plan(100), 0, 100).batch;
        let mut seen = std::collections::HashSet::new();
        for l in &batch.links {
            assert!(seen.insert((l.interaction_id, l.member_id)), "duplicate link");
        }
        let mut per_interaction: HashMap<Uuid, usize> = HashMap::new();
        for l in batch.links.iter().filter(|l| l.direct) {
            *per_interaction.entry(l.interaction_id).or_default() += 1;
        }
        assert!(per_interaction.values().all(|n| (1..=3).contains(n)));
        assert_eq!(per_interaction.len(), batch.interactions.len());
    }

    #[test]
    fn stored_risk_lands_on_every_level() {
        let batch = generate(&plan(400), 0, 400);
        assert!(batch.levels.iter().all(|n| *n >= 20), "levels {:?}", batch.levels);
        let open = batch
            .batch
            .deals
            .iter()
            .filter(|d| d.risk.assessed_at.is_some())
            .count();
        assert_eq!(open, batch.open);
        let mut histories: HashMap<Uuid, Vec<&crate::domain::records::RiskPoint>> = HashMap::new();
        for point in &batch.batch.risk_points {
            histories.entry(point.opportunity_id).or_default().push(point);
        }
        for deal in &batch.batch.deals {
            let history = &histories[&deal.id];
            assert_eq!(history[0].at, deal.created_at, "replayed from creation");
            for pair in history.windows(2) {
                assert!(pair[0].at < pair[1].at);
                let [a, b] = [pair[0], pair[1]].map(|p| (p.score, p.level, p.factors));
                assert_ne!(a, b, "a point only where the risk changed");
            }
            let last = history[history.len() - 1];
            match deal.closed_at {
                Some(closed) => assert!(last.at <= closed && deal.risk.assessed_at.is_none()),
                None => assert_eq!(
                    (last.score, last.level, last.factors),
                    (deal.risk.score, deal.risk.level, deal.risk.factors),
                    "the last point is the stored assessment"
                ),
            }
        }
        let points_per_deal = batch.batch.risk_points.len() as f64 / 400.0;
        assert!(points_per_deal > 2.0, "histories that move: {points_per_deal}");
        assert!(
            batch.open < 400 && batch.open > 300,
            "some deals are closed: {}",
            batch.open
        );
    }

    /// The inline assessment must be what the sweep would store: after generating, a
    /// `refresh_tenant` at the same instant finds nothing to change.
    #[tokio::test]
    async fn inline_risk_is_what_refresh_tenant_stores() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("gen.db").display());
        let store = Store::connect(&url, 2).await.expect("connect");
        store.migrate().await.expect("migrate");
        let p = Plan {
            deals: 60,
            other_tenants: 0,
            interactions_per_deal: 30,
            progress: false,
            ..Plan::bench(as_of())
        };
        let report = run(&store, &p).await.expect("generated");
        assert_eq!(report.tenants[0].deals, 60);

        let ctx = TenantCtx::system(TenantId::parse("bench").expect("tenant"));
        let before = crate::store::opportunities::open_after(&ctx, store.reader(), None, 1_000)
            .await
            .expect("read");
        let changed = crate::service::risk::refresh_tenant(&ctx, &store, as_of())
            .await
            .expect("refresh");
        let after = crate::store::opportunities::open_after(&ctx, store.reader(), None, 1_000)
            .await
            .expect("read");
        assert_eq!(changed, 0, "refresh_tenant changed stored scores, levels or factors");
        assert_eq!(before, after, "refresh_tenant changed stored risk columns");
        assert_eq!(before.len(), report.tenants[0].open_deals);

        // Every deal's history is what an import's backfill stores for it. The same plan
        // drawn in memory gives the same deal ids.
        let deals = generate(
            &Plan {
                other_tenants: 0,
                ..p.clone()
            },
            0,
            60,
        )
        .batch
        .deals;
        let ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
        let stored = crate::store::risk::points_for_deals(&ctx, store.reader(), &ids)
            .await
            .expect("read");
        let replaced = store
            .write(async |tx| crate::service::risk::reassess_and_backfill(&ctx, tx, &ids, as_of()).await)
            .await
            .expect("backfilled");
        let backfilled = crate::store::risk::points_for_deals(&ctx, store.reader(), &ids)
            .await
            .expect("read");
        let values = |points: &[crate::domain::records::RiskPoint]| {
            points
                .iter()
                .map(|p| (p.at, p.score, p.level, p.factors))
                .collect::<Vec<_>>()
        };
        let (mut closed, mut moved_since_midnight) = (0, 0);
        for deal in &deals {
            let (mine, import) = (values(&stored[&deal.id]), values(&backfilled[&deal.id]));
            assert!(!import.is_empty());
            if deal.closed_at.is_some() {
                closed += 1;
                assert_eq!(mine, import, "a closed deal's history is the import's backfill");
            } else if mine.len() == import.len() + 1 {
                // The assessment at `as_of` differs from the replay's last, at midnight: the
                // point the sweep appends.
                moved_since_midnight += 1;
                assert_eq!(mine[..import.len()], import[..]);
                assert_eq!(mine[import.len()].0, as_of());
            } else {
                assert_eq!(mine, import, "an open deal's history is the import's backfill");
            }
        }
        assert!(closed > 0, "some deals are closed");
        assert_eq!(replaced, moved_since_midnight, "the import replaced only those");

        let again = run(&store, &p).await;
        assert!(matches!(again, Err(AppError::Conflict(_))), "a second run is refused");
        let replaced = run(&store, &Plan { replace: true, ..p }).await.expect("replaced");
        assert_eq!(
            replaced.tenants[0],
            TenantReport {
                millis: replaced.tenants[0].millis,
                ..report.tenants[0].clone()
            }
        );
        store.close().await;
    }
}
