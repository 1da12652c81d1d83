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
//! in USD/EUR/GBP, owners, close dates and pushes, stances and veto holders, mobilizers with
//! their bandwidth, and how the seller works the group (many threads, one thread, or through
//! a proxy), some going dark or stalled — so stored risk lands on every level.
//!
//! Writing is in bulk: multi-row `INSERT`s ([`bulk::insert`]) in one transaction per 250
//! deals, never the one-row functions the API uses. Risk is assessed in process while the
//! deal is generated (the engine is pure and the facts are at hand), and stored exactly as
//! [`refresh_tenant`](crate::service::risk::refresh_tenant) would store it at `as_of`: the
//! `risk_*` columns of open deals and one history point each; closed deals keep the defaults
//! the sweep leaves them. `--risk refresh` stores it through `refresh_tenant` instead (the
//! reference path, slower: it reloads every deal's facts and updates deal by deal).

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use entity::{
    account, buying_group_member, close_date_change, contact, interaction, interaction_member, opportunity,
    risk_history, stage_change,
};
use indicatif::{ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::{IndexedMutRandom, IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use sea_orm::Set;
use uuid::{Builder, Uuid};

use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, RiskLevel, Stage, Stance};
use crate::domain::risk::{
    self as engine, Assessment, CloseDateChangeFacts, DealFacts, InteractionFacts, MemberFacts, RiskPolicy,
    StageChangeFacts,
};
use crate::domain::values::TenantId;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{Conn, Store, accounts, bulk, policy, risk as stored};

/// Deals written per transaction: large enough for statements of thousands of rows, small
/// enough that a transaction holds a few MB and the progress bar moves.
const DEALS_PER_TX: usize = 250;

const DAY: i64 = 86_400;

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
    /// Delete the tenants' existing data first instead of refusing.
    pub replace: bool,
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
        let tx = store.begin_write().await?;
        let result = bulk::delete_tenant_data(&ctx, &*tx).await;
        tx.finish(result).await?;
    }
    let policy = policy::get(&ctx, store.reader()).await?;
    let mut generator = TenantGenerator::new(plan, index, deals);
    let mut report = TenantReport {
        tenant: tenant.as_str().to_owned(),
        ..TenantReport::default()
    };

    let (account_rows, contact_rows) = generator.accounts_and_contacts();
    report.accounts = account_rows.len();
    report.contacts = contact_rows.len();
    let tx = store.begin_write().await?;
    let result = write_people(&ctx, &*tx, account_rows, contact_rows).await;
    tx.finish(result).await?;
    bulk::analyze(store.reader()).await?;

    let mut done = 0;
    while done < deals {
        let n = DEALS_PER_TX.min(deals - done);
        let batch = generator.deals(n, &policy, plan.risk == RiskPath::Inline);
        batch.count_into(&mut report);
        let tx = store.begin_write().await?;
        let result = batch.write(&ctx, &*tx).await;
        tx.finish(result).await?;
        if done == 0 {
            // Once every table holds some of this tenant's rows (see `bulk::analyze`).
            bulk::analyze(store.reader()).await?;
        }
        done += n;
        bar.inc(n as u64);
    }
    if plan.risk == RiskPath::Refresh {
        crate::service::risk::refresh_tenant(&ctx, store, generator.anchor).await?;
    }
    report.millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(report)
}

async fn write_people(
    ctx: &TenantCtx,
    conn: &impl Conn,
    accounts: Vec<account::ActiveModel>,
    contacts: Vec<contact::ActiveModel>,
) -> AppResult<()> {
    bulk::insert(ctx, conn, accounts).await?;
    bulk::insert(ctx, conn, contacts).await
}

/// The rows of a run of deals, parents before children.
#[derive(Default)]
struct Batch {
    opportunities: Vec<opportunity::ActiveModel>,
    stage_changes: Vec<stage_change::ActiveModel>,
    close_changes: Vec<close_date_change::ActiveModel>,
    members: Vec<buying_group_member::ActiveModel>,
    interactions: Vec<interaction::ActiveModel>,
    links: Vec<interaction_member::ActiveModel>,
    history: Vec<risk_history::ActiveModel>,
    open: usize,
    levels: [usize; 4],
}

impl Batch {
    fn count_into(&self, report: &mut TenantReport) {
        report.deals += self.opportunities.len();
        report.open_deals += self.open;
        for (total, n) in report.levels.iter_mut().zip(self.levels) {
            *total += n;
        }
        report.members += self.members.len();
        report.interactions += self.interactions.len();
        report.links += self.links.len();
    }

    async fn write(self, ctx: &TenantCtx, conn: &impl Conn) -> AppResult<()> {
        bulk::insert(ctx, conn, self.opportunities).await?;
        bulk::insert(ctx, conn, self.stage_changes).await?;
        bulk::insert(ctx, conn, self.close_changes).await?;
        bulk::insert(ctx, conn, self.members).await?;
        bulk::insert(ctx, conn, self.interactions).await?;
        bulk::insert(ctx, conn, self.links).await?;
        bulk::insert(ctx, conn, self.history).await
    }
}

struct Person {
    id: Uuid,
    name: String,
    title: &'static str,
}

struct Company {
    id: Uuid,
    name: String,
    people: Vec<Person>,
    /// Deals per product so far, to name repeat business ("…, phase 2").
    products: HashMap<&'static str, usize>,
}

/// How the seller works a deal's buying group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    /// Meets many members directly, veto holders included.
    MultiThreaded,
    /// Meets the one contact they know.
    SingleThreaded,
    /// Meets the champion and asks them to "handle" the veto holders and the powerful.
    ThroughProxy,
}

struct Member {
    id: Uuid,
    person: usize,
    role: BuyingRole,
    stance: Stance,
    can_veto: bool,
    influence: Influence,
    bandwidth: Bandwidth,
    notes: Option<&'static str>,
    created_at: DateTime<Utc>,
}

struct Touch {
    id: Uuid,
    kind: InteractionKind,
    occurred_at: DateTime<Utc>,
    logged_at: DateTime<Utc>,
    summary: Option<String>,
    participants: Vec<u16>,
    about: Vec<u16>,
}

/// One tenant's content, drawn deal by deal from its own seeded generator.
struct TenantGenerator {
    rng: StdRng,
    anchor: DateTime<Utc>,
    days: i64,
    members: usize,
    interactions_per_deal: usize,
    account_count: usize,
    companies: Vec<Company>,
    owners: Vec<String>,
}

impl TenantGenerator {
    fn new(plan: &Plan, index: usize, deals: usize) -> TenantGenerator {
        // Tenants draw from independent streams, so one tenant's size never changes another's rows.
        let seed = plan.seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let owner_count = (deals / 400).clamp(3, FIRST_NAMES.len());
        let owners = (0..owner_count)
            .map(|i| {
                let first = FIRST_NAMES[(i * 13) % FIRST_NAMES.len()];
                let last = LAST_NAMES[(i * 17 + 3) % LAST_NAMES.len()];
                format!("{first}.{last}").to_lowercase()
            })
            .collect();
        TenantGenerator {
            rng: StdRng::seed_from_u64(seed),
            anchor: plan.as_of.trunc_subsecs(0),
            days: i64::from(plan.days),
            members: plan.members,
            interactions_per_deal: plan.interactions_per_deal,
            account_count: (deals / 5).max(1),
            companies: Vec::new(),
            owners,
        }
    }

    /// A UUIDv7 for a row created at `at`: ordered by time like the API's ids, but drawn
    /// from the seeded generator so that reruns give the same ids.
    fn id(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
        let mut tail = [0u8; 10];
        rng.fill(&mut tail);
        Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &tail).into_uuid()
    }

    /// The tenant's accounts, each with `members + 6` people to draw buying groups from.
    fn accounts_and_contacts(&mut self) -> (Vec<account::ActiveModel>, Vec<contact::ActiveModel>) {
        let rng = &mut self.rng;
        let (mut accounts, mut contacts) = (Vec::new(), Vec::new());
        let mut names: HashMap<String, usize> = HashMap::new();
        for _ in 0..self.account_count {
            let prefix = *ACCOUNT_PREFIXES.choose(rng).unwrap_or(&"Acme");
            let suffix = rng.random_range(0..ACCOUNT_SUFFIXES.len());
            let (suffix_name, industry) = ACCOUNT_SUFFIXES[suffix];
            let base = format!("{prefix} {suffix_name}");
            let seen = names.entry(base.clone()).or_default();
            *seen += 1;
            let name = match *seen {
                1 => base,
                n => format!("{base} {}", REGIONS[(n - 2) % REGIONS.len()]),
            };
            let domain = format!("{}{}.com", slug(prefix), slug(suffix_name));
            let created = self.anchor - TimeDelta::seconds(rng.random_range(self.days * DAY..(self.days + 365) * DAY));
            let id = Self::id(rng, created);
            accounts.push(account::ActiveModel {
                id: Set(id),
                name: Set(name.clone()),
                domain: Set(Some(domain.clone())),
                industry: Set(Some(industry.to_owned())),
                created_at: Set(created),
                ..Default::default()
            });
            let mut people = Vec::with_capacity(self.members + 6);
            for i in 0..self.members + 6 {
                let first = *FIRST_NAMES.choose(rng).unwrap_or(&"Sam");
                let last = *LAST_NAMES.choose(rng).unwrap_or(&"Lee");
                let title = *TITLES.choose(rng).unwrap_or(&"Manager");
                let at = created + TimeDelta::minutes(i64::try_from(i).unwrap_or(0));
                let person = Person {
                    id: Self::id(rng, at),
                    name: format!("{first} {last}"),
                    title,
                };
                contacts.push(contact::ActiveModel {
                    id: Set(person.id),
                    account_id: Set(id),
                    full_name: Set(person.name.clone()),
                    title: Set(Some(title.to_owned())),
                    email: Set(Some(format!("{}.{}@{domain}", slug(first), slug(last)))),
                    created_at: Set(at),
                    ..Default::default()
                });
                people.push(person);
            }
            self.companies.push(Company {
                id,
                name,
                people,
                products: HashMap::new(),
            });
        }
        (accounts, contacts)
    }

    /// The next `n` deals with everything that hangs off them.
    fn deals(&mut self, n: usize, policy: &RiskPolicy, store_risk: bool) -> Batch {
        let mut batch = Batch::default();
        for _ in 0..n {
            self.deal(&mut batch, policy, store_risk);
        }
        batch
    }

    fn deal(&mut self, batch: &mut Batch, policy: &RiskPolicy, store_risk: bool) {
        let TenantGenerator {
            rng,
            anchor,
            days,
            members: group_size,
            interactions_per_deal,
            companies,
            owners,
            ..
        } = self;
        let anchor = *anchor;
        let Some(company) = companies.choose_mut(rng) else {
            return;
        };
        let owner = owners.choose(rng).cloned().unwrap_or_default();
        let age = rng.random_range(20 * DAY..=*days * DAY);
        let created = anchor - TimeDelta::seconds(age);
        let id = Self::id(rng, created);

        // Stages: from PROSPECTING up to where the deal is now, skipping some on the way.
        let closed = rng.random_bool(0.15);
        let final_stage = if closed {
            if rng.random_bool(0.6) {
                Stage::ClosedWon
            } else {
                Stage::ClosedLost
            }
        } else {
            pick(rng, &OPEN_STAGE_WEIGHTS)
        };
        let top = if closed {
            rng.random_range(1..=4)
        } else {
            final_stage.index()
        };
        let mut path = vec![Stage::Prospecting];
        for (i, stage) in Stage::ALL.iter().enumerate().take(top + 1).skip(1) {
            if i == top || rng.random_bool(0.8) {
                path.push(*stage);
            }
        }
        if closed {
            path.push(final_stage);
        }
        let stalled = !closed && rng.random_bool(0.3);
        let entered = if path.len() == 1 {
            created
        } else if closed {
            anchor - TimeDelta::seconds(rng.random_range(DAY / 2..age / 2))
        } else if stalled && age > 62 * DAY {
            anchor - TimeDelta::seconds(rng.random_range(61 * DAY..=(age - DAY).min(150 * DAY)))
        } else {
            anchor - TimeDelta::seconds(rng.random_range(DAY..=(age - DAY).min(55 * DAY)))
        };
        let moves = i64::try_from(path.len() - 1).unwrap_or(1).max(1);
        let span = (entered - created).num_seconds();
        let stage_times: Vec<DateTime<Utc>> = (0..path.len())
            .map(|i| created + TimeDelta::seconds(span * i64::try_from(i).unwrap_or(0) / moves))
            .collect();

        // Close date: set at creation, perhaps pushed later a few times.
        let today = anchor.date_naive();
        let mut close_dates: Vec<NaiveDate> = Vec::new();
        if rng.random_bool(0.95) {
            let age_days = age / DAY;
            let last = if closed {
                entered.date_naive() + TimeDelta::days(rng.random_range(0..10))
            } else if rng.random_bool(0.15) {
                today - TimeDelta::days(rng.random_range(1..=(age_days - 8).min(45)))
            } else {
                today + TimeDelta::days(rng.random_range(5..=120))
            };
            let floor = created.date_naive() + TimeDelta::days(7);
            close_dates.push(last);
            let pushes = pick(rng, &[(0, 60), (1, 20), (2, 12), (3, 8)]);
            let mut date = last;
            for _ in 0..pushes {
                let room = (date - floor).num_days();
                if room < 2 {
                    break;
                }
                date -= TimeDelta::days(rng.random_range(1..=room.min(60)));
                close_dates.push(date);
            }
            close_dates.reverse();
        }
        let push_limit = if closed { entered } else { anchor };
        let mut push_times: Vec<DateTime<Utc>> = (1..close_dates.len())
            .map(|_| created + TimeDelta::seconds(rng.random_range(1..=(push_limit - created).num_seconds().max(1))))
            .collect();
        push_times.sort();

        // The buying group: the key roles usually there, filled up with the rest.
        let picks = rand::seq::index::sample(rng, company.people.len(), (*group_size).min(company.people.len()));
        let mut roles: Vec<BuyingRole> = Vec::with_capacity(*group_size);
        for (role, p) in ROLE_ODDS {
            if rng.random_bool(p) {
                roles.push(role);
            }
        }
        while roles.len() < picks.len() {
            roles.push(*FILLER_ROLES.choose(rng).unwrap_or(&BuyingRole::Other));
        }
        roles.truncate(picks.len());
        roles.shuffle(rng);
        let champions_overloaded = rng.random_bool(0.15);
        let mut members: Vec<Member> = picks
            .iter()
            .zip(&roles)
            .enumerate()
            .map(|(i, (person, role))| {
                let at = created + TimeDelta::minutes(i64::try_from(i + 1).unwrap_or(0));
                member(rng, *role, person, at, champions_overloaded)
            })
            .collect();
        if rng.random_bool(0.12) {
            let vetoes: Vec<usize> = (0..members.len()).filter(|i| members[*i].can_veto).collect();
            if let Some(i) = vetoes.choose(rng) {
                members[*i].stance = Stance::Opposed;
            }
        }
        let index_of = |role: BuyingRole| members.iter().position(|m| m.role == role);
        let thread = index_of(BuyingRole::Mobilizer)
            .or_else(|| index_of(BuyingRole::Sponsor))
            .unwrap_or(0);
        let style = pick(
            rng,
            &[
                (Style::MultiThreaded, 50),
                (Style::SingleThreaded, 25),
                (Style::ThroughProxy, 25),
            ],
        );
        let (direct, proxies) = pools(rng, &members, thread, style);

        // Interactions: evenly over the deal's life up to its last activity; dark deals went
        // quiet weeks ago, closed ones at their close.
        let count = if *interactions_per_deal == 0 {
            0
        } else {
            ((*interactions_per_deal as f64) * rng.random_range(0.5..1.5))
                .round()
                .max(1.0) as usize
        };
        let dark = !closed && rng.random_bool(0.2);
        let last_activity = if closed {
            entered - TimeDelta::seconds(rng.random_range(0..=3 * DAY))
        } else if dark {
            anchor - TimeDelta::seconds(rng.random_range(15 * DAY..=(age - DAY).min(50 * DAY)))
        } else {
            anchor - TimeDelta::seconds(rng.random_range(0..=2 * DAY))
        }
        .max(created + TimeDelta::hours(1));
        let active = (last_activity - created).num_seconds();
        let mut touches = Vec::with_capacity(count);
        for i in 0..count {
            let occurred_at = if i + 1 == count {
                last_activity
            } else {
                created + TimeDelta::seconds(rng.random_range(0..=active))
            };
            touches.push(touch(
                rng,
                &members,
                &company.people,
                &direct,
                &proxies,
                thread,
                style,
                occurred_at,
                anchor,
            ));
        }

        // The deal row, its history and its assessment.
        let product = *PRODUCTS.choose(rng).unwrap_or(&"Platform");
        let repeat = company.products.entry(product).or_default();
        *repeat += 1;
        let name = match *repeat {
            1 => format!("{} — {product}", company.name),
            n => format!("{} — {product}, phase {n}", company.name),
        };
        let amount_units = 10_f64.powf(rng.random_range(3.7..6.3));
        let amount_cents = ((amount_units / 100.0).round() as i64).max(1) * 100 * 100;
        let currency = pick(rng, &[("USD", 60), ("EUR", 25), ("GBP", 15)]);
        let updated = stage_times
            .iter()
            .chain(&push_times)
            .copied()
            .max()
            .unwrap_or(created)
            .max(created);
        let version = i32::try_from(path.len() + push_times.len()).unwrap_or(i32::MAX);

        let stage_facts: Vec<StageChangeFacts> = path
            .iter()
            .zip(&stage_times)
            .map(|(to, at)| StageChangeFacts { to: *to, at: *at })
            .collect();
        let close_facts: Vec<CloseDateChangeFacts> = close_dates
            .iter()
            .enumerate()
            .map(|(i, to)| CloseDateChangeFacts {
                from: i.checked_sub(1).and_then(|p| close_dates.get(p).copied()),
                to: Some(*to),
                at: if i == 0 { created } else { push_times[i - 1] },
            })
            .collect();
        let assessment = (!closed).then(|| {
            assess(
                &members,
                &company.people,
                &touches,
                &stage_facts,
                &close_facts,
                final_stage,
                created,
                entered,
                policy,
                anchor,
            )
        });

        let mut row = opportunity::ActiveModel {
            id: Set(id),
            account_id: Set(company.id),
            name: Set(name),
            owner_id: Set(owner.clone()),
            stage: Set(final_stage.as_str().to_owned()),
            amount_cents: Set(amount_cents),
            currency: Set(currency.to_owned()),
            expected_close_date: Set(close_dates.last().copied()),
            stage_entered_at: Set(entered),
            closed_at: Set(closed.then_some(entered)),
            created_at: Set(created),
            updated_at: Set(updated),
            version: Set(version),
            risk_score: Set(0),
            risk_level: Set(RiskLevel::Low.as_str().to_owned()),
            risk_factor_mask: Set(0),
            risk_assessed_at: Set(None),
            risk_group_size: Set(0),
            risk_engaged: Set(0),
            ..Default::default()
        };
        if let Some(assessment) = &assessment {
            batch.open += 1;
            batch.levels[assessment.level.index()] += 1;
            // Drawn on both risk paths, so that the path never changes the rest of the stream.
            let history_id = Self::id(rng, anchor);
            if store_risk {
                let score = i32::try_from(assessment.score).unwrap_or(100);
                let mask = stored::factor_mask(assessment);
                row.risk_score = Set(score);
                row.risk_level = Set(assessment.level.as_str().to_owned());
                row.risk_factor_mask = Set(mask);
                row.risk_assessed_at = Set(Some(anchor));
                row.risk_group_size = Set(i32::try_from(members.len()).unwrap_or(i32::MAX));
                row.risk_engaged = Set(i32::try_from(assessment.directly_engaged).unwrap_or(i32::MAX));
                batch.history.push(risk_history::ActiveModel {
                    id: Set(history_id),
                    opportunity_id: Set(id),
                    assessed_at: Set(anchor),
                    score: Set(score),
                    level: Set(assessment.level.as_str().to_owned()),
                    factor_mask: Set(mask),
                    ..Default::default()
                });
            }
        }
        batch.opportunities.push(row);

        for (i, (to, at)) in path.iter().zip(&stage_times).enumerate() {
            batch.stage_changes.push(stage_change::ActiveModel {
                id: Set(Self::id(rng, *at)),
                opportunity_id: Set(id),
                from_stage: Set(i.checked_sub(1).map(|p| path[p].as_str().to_owned())),
                to_stage: Set(to.as_str().to_owned()),
                changed_at: Set(*at),
                changed_by: Set(owner.clone()),
                ..Default::default()
            });
        }
        for change in &close_facts {
            batch.close_changes.push(close_date_change::ActiveModel {
                id: Set(Self::id(rng, change.at)),
                opportunity_id: Set(id),
                from_date: Set(change.from),
                to_date: Set(change.to),
                changed_at: Set(change.at),
                changed_by: Set(owner.clone()),
                ..Default::default()
            });
        }
        for m in &members {
            batch.members.push(buying_group_member::ActiveModel {
                id: Set(m.id),
                opportunity_id: Set(id),
                contact_id: Set(company.people[m.person].id),
                contact_name: Set(company.people[m.person].name.clone()),
                contact_title: Set(Some(company.people[m.person].title.to_owned())),
                role: Set(m.role.as_str().to_owned()),
                stance: Set(m.stance.as_str().to_owned()),
                can_veto: Set(m.can_veto),
                influence: Set(m.influence.as_str().to_owned()),
                bandwidth: Set(m.bandwidth.as_str().to_owned()),
                notes: Set(m.notes.map(str::to_owned)),
                created_at: Set(m.created_at),
                ..Default::default()
            });
        }
        for t in touches {
            let link = |index: u16, direct: bool| interaction_member::ActiveModel {
                interaction_id: Set(t.id),
                member_id: Set(members[usize::from(index)].id),
                opportunity_id: Set(id),
                direct: Set(direct),
                ..Default::default()
            };
            batch.links.extend(t.participants.iter().map(|i| link(*i, true)));
            batch.links.extend(t.about.iter().map(|i| link(*i, false)));
            batch.interactions.push(interaction::ActiveModel {
                id: Set(t.id),
                opportunity_id: Set(id),
                kind: Set(t.kind.as_str().to_owned()),
                occurred_at: Set(t.occurred_at),
                summary: Set(t.summary),
                logged_by: Set(owner.clone()),
                created_at: Set(t.logged_at),
                ..Default::default()
            });
        }
    }
}

/// One member's attributes, as their role makes likely.
fn member(
    rng: &mut StdRng,
    role: BuyingRole,
    person: usize,
    created_at: DateTime<Utc>,
    champions_overloaded: bool,
) -> Member {
    use BuyingRole::*;
    let veto_odds = match role {
        EconomicBuyer => 0.9,
        Legal | DecisionMaker => 0.5,
        Finance => 0.35,
        Procurement => 0.2,
        _ => 0.0,
    };
    let can_veto = rng.random_bool(veto_odds);
    let influence = match role {
        EconomicBuyer | DecisionMaker => Influence::High,
        Mobilizer | Sponsor => pick(rng, &[(Influence::High, 50), (Influence::Medium, 50)]),
        Gatekeeper | EndUser => pick(rng, &[(Influence::Low, 60), (Influence::Medium, 40)]),
        _ => pick(
            rng,
            &[(Influence::Low, 30), (Influence::Medium, 50), (Influence::High, 20)],
        ),
    };
    let stance = match role {
        Mobilizer => pick(
            rng,
            &[(Stance::Supportive, 80), (Stance::Neutral, 15), (Stance::Unknown, 5)],
        ),
        Sponsor => pick(
            rng,
            &[(Stance::Supportive, 60), (Stance::Neutral, 30), (Stance::Unknown, 10)],
        ),
        // An opposed veto holder is decided per deal (see `deal`), not by chance per member.
        _ if can_veto => pick(
            rng,
            &[(Stance::Supportive, 40), (Stance::Neutral, 35), (Stance::Unknown, 25)],
        ),
        _ => pick(
            rng,
            &[
                (Stance::Supportive, 30),
                (Stance::Neutral, 35),
                (Stance::Unknown, 25),
                (Stance::Opposed, 10),
            ],
        ),
    };
    let bandwidth = match role {
        Mobilizer | Sponsor if champions_overloaded => Bandwidth::Overloaded,
        Mobilizer | Sponsor => pick(
            rng,
            &[
                (Bandwidth::Available, 50),
                (Bandwidth::Stretched, 40),
                (Bandwidth::Overloaded, 10),
            ],
        ),
        _ => pick(
            rng,
            &[
                (Bandwidth::Available, 40),
                (Bandwidth::Stretched, 30),
                (Bandwidth::Overloaded, 10),
                (Bandwidth::Unknown, 20),
            ],
        ),
    };
    let notes = if rng.random_bool(0.08) {
        NOTES.choose(rng).copied()
    } else {
        None
    };
    Member {
        id: TenantGenerator::id(rng, created_at),
        person,
        role,
        stance,
        can_veto,
        influence,
        bandwidth,
        notes,
        created_at,
    }
}

/// Whom the seller meets (`direct`) and whom they only talk about (`proxies`), by style.
fn pools(rng: &mut StdRng, members: &[Member], thread: usize, style: Style) -> (Vec<u16>, Vec<u16>) {
    let all: Vec<u16> = (0..members.len()).filter_map(|i| u16::try_from(i).ok()).collect();
    let thread16 = u16::try_from(thread).unwrap_or(0);
    let mut direct: Vec<u16> = match style {
        Style::MultiThreaded => {
            let k = rng.random_range(6.min(all.len())..=all.len());
            let mut chosen: Vec<u16> = all.choose_multiple(rng, k).copied().collect();
            for (i, m) in members.iter().enumerate() {
                let i = u16::try_from(i).unwrap_or(0);
                if m.can_veto && !chosen.contains(&i) && rng.random_bool(0.85) {
                    chosen.push(i);
                }
            }
            chosen
        }
        Style::SingleThreaded => vec![thread16],
        Style::ThroughProxy => {
            let helpers: Vec<u16> = all
                .iter()
                .copied()
                .filter(|i| {
                    let m = &members[usize::from(*i)];
                    *i != thread16 && !m.can_veto && m.influence != Influence::High && m.stance != Stance::Opposed
                })
                .collect();
            let k = rng.random_range(0..=2).min(helpers.len());
            let mut chosen = vec![thread16];
            chosen.extend(helpers.choose_multiple(rng, k).copied());
            chosen
        }
    };
    if !direct.contains(&thread16) {
        direct.push(thread16);
    }
    direct.sort_unstable();
    let proxies = all.into_iter().filter(|i| !direct.contains(i)).collect();
    (direct, proxies)
}

#[allow(clippy::too_many_arguments)]
fn touch(
    rng: &mut StdRng,
    members: &[Member],
    people: &[Person],
    direct: &[u16],
    proxies: &[u16],
    thread: usize,
    style: Style,
    occurred_at: DateTime<Utc>,
    anchor: DateTime<Utc>,
) -> Touch {
    let thread16 = u16::try_from(thread).unwrap_or(0);
    let participants: Vec<u16> = match style {
        Style::MultiThreaded => {
            let n = pick(rng, &[(1, 50), (2, 35), (3, 15)]).min(direct.len());
            direct.choose_multiple(rng, n).copied().collect()
        }
        Style::SingleThreaded => {
            let mut p = vec![thread16];
            if rng.random_bool(0.15) {
                let other = rng.random_range(0..members.len());
                if let Ok(other) = u16::try_from(other)
                    && other != thread16
                {
                    p.push(other);
                }
            }
            p
        }
        Style::ThroughProxy => {
            let n = pick(rng, &[(1, 60), (2, 30), (3, 10)]).min(direct.len());
            let mut p = vec![thread16];
            p.extend(
                direct
                    .iter()
                    .copied()
                    .filter(|i| *i != thread16)
                    .collect::<Vec<_>>()
                    .choose_multiple(rng, n.saturating_sub(1))
                    .copied(),
            );
            p
        }
    };
    let about_odds = match style {
        Style::MultiThreaded => 0.15,
        Style::SingleThreaded => 0.1,
        Style::ThroughProxy => 0.45,
    };
    let about: Vec<u16> = if rng.random_bool(about_odds) {
        let candidates: Vec<u16> = proxies
            .iter()
            .chain(direct)
            .copied()
            .filter(|i| !participants.contains(i))
            .collect();
        // Proxies come first in `candidates`, so the seller mostly talks about those they skip.
        let n = rng.random_range(1..=2).min(candidates.len());
        let pool = &candidates[..candidates.len().min(proxies.len().max(n))];
        pool.choose_multiple(rng, n).copied().collect()
    } else {
        Vec::new()
    };
    let kind = pick(
        rng,
        &[
            (InteractionKind::Email, 35),
            (InteractionKind::Call, 25),
            (InteractionKind::Meeting, 20),
            (InteractionKind::Demo, 10),
            (InteractionKind::Proposal, 5),
            (InteractionKind::Other, 5),
        ],
    );
    let summary = rng.random_bool(0.9).then(|| {
        let with = participants
            .first()
            .and_then(|i| members.get(usize::from(*i)))
            .and_then(|m| people.get(m.person))
            .map_or("the team", |p| p.name.as_str());
        let topic = TOPICS.choose(rng).unwrap_or(&"next steps");
        format!("{} with {with}: {topic}", kind_label(kind))
    });
    let logged_at = (occurred_at + TimeDelta::seconds(rng.random_range(300..=3 * 3600))).min(anchor);
    Touch {
        id: TenantGenerator::id(rng, occurred_at),
        kind,
        occurred_at,
        logged_at,
        summary,
        participants,
        about,
    }
}

/// The engine's assessment at `anchor`, from the very facts being written, borrowed the way
/// `store::risk::load_inputs` lends them after reading them back.
#[allow(clippy::too_many_arguments)]
fn assess(
    members: &[Member],
    people: &[Person],
    touches: &[Touch],
    stages: &[StageChangeFacts],
    close_changes: &[CloseDateChangeFacts],
    stage: Stage,
    created_at: DateTime<Utc>,
    stage_entered_at: DateTime<Utc>,
    policy: &RiskPolicy,
    anchor: DateTime<Utc>,
) -> Assessment {
    let member_facts: Vec<MemberFacts<'_>> = members
        .iter()
        .map(|m| MemberFacts {
            name: people.get(m.person).map_or("(unknown contact)", |p| p.name.as_str()),
            title: people.get(m.person).map(|p| p.title),
            role: m.role,
            stance: m.stance,
            can_veto: m.can_veto,
            influence: m.influence,
            bandwidth: m.bandwidth,
        })
        .collect();
    let interaction_facts: Vec<InteractionFacts<'_>> = touches
        .iter()
        .map(|t| InteractionFacts {
            occurred_at: t.occurred_at,
            participants: &t.participants,
            about: &t.about,
        })
        .collect();
    let facts = DealFacts {
        created_at,
        stage,
        stage_entered_at,
        expected_close_date: close_changes.last().and_then(|c| c.to),
        stage_history: stages,
        close_date_changes: close_changes,
        members: &member_facts,
        interactions: &interaction_facts,
    };
    engine::assess(&facts, policy, anchor)
}

/// A value drawn with the given integer weights.
fn pick<T: Copy>(rng: &mut StdRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| *w).sum();
    let mut roll = rng.random_range(0..total.max(1));
    for (value, weight) in weighted {
        if roll < *weight {
            return *value;
        }
        roll -= weight;
    }
    weighted[weighted.len() - 1].0
}

fn slug(text: &str) -> String {
    text.chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase()
}

fn kind_label(kind: InteractionKind) -> &'static str {
    match kind {
        InteractionKind::Meeting => "Meeting",
        InteractionKind::Call => "Call",
        InteractionKind::Email => "Email",
        InteractionKind::Demo => "Demo",
        InteractionKind::Proposal => "Proposal review",
        InteractionKind::Other => "Touchpoint",
    }
}

// ---- word lists ---------------------------------------------------------------------------

const OPEN_STAGE_WEIGHTS: [(Stage, u32); 5] = [
    (Stage::Prospecting, 18),
    (Stage::Discovery, 24),
    (Stage::Evaluation, 24),
    (Stage::Proposal, 20),
    (Stage::Negotiation, 14),
];

/// The roles a buying group usually has, with how often; the rest is filled from
/// `FILLER_ROLES`. Mobilizer and economic buyer come first so a small group keeps them.
const ROLE_ODDS: [(BuyingRole, f64); 11] = [
    (BuyingRole::Mobilizer, 0.85),
    (BuyingRole::EconomicBuyer, 0.88),
    (BuyingRole::Sponsor, 0.5),
    (BuyingRole::DecisionMaker, 0.6),
    (BuyingRole::Finance, 0.6),
    (BuyingRole::TechnicalEvaluator, 0.7),
    (BuyingRole::Procurement, 0.5),
    (BuyingRole::Legal, 0.45),
    (BuyingRole::EndUser, 0.6),
    (BuyingRole::Influencer, 0.4),
    (BuyingRole::Gatekeeper, 0.25),
];

const FILLER_ROLES: [BuyingRole; 4] = [
    BuyingRole::EndUser,
    BuyingRole::TechnicalEvaluator,
    BuyingRole::Influencer,
    BuyingRole::Other,
];

#[rustfmt::skip]
const ACCOUNT_PREFIXES: [&str; 32] = [
    "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Vandelay", "Soylent", "Tyrell", "Wonka", "Hooli",
    "Aperture", "Cyberdyne", "Blue Harbor", "Silver Pine", "Red Rock", "Granite", "Evergreen", "Brightwater",
    "Ironwood", "Summit", "Lakeside", "Northstar", "Meridian", "Pinnacle", "Cobalt", "Juniper", "Harborview",
    "Keystone", "Riverbend", "Oakridge", "Sterling", "Bluebird",
];

const ACCOUNT_SUFFIXES: [(&str, &str); 16] = [
    ("Health", "Healthcare"),
    ("Logistics", "Transportation"),
    ("Bank", "Financial services"),
    ("Insurance", "Insurance"),
    ("Energy", "Energy"),
    ("Retail", "Retail"),
    ("Foods", "Consumer goods"),
    ("Pharma", "Life sciences"),
    ("Telecom", "Telecommunications"),
    ("Manufacturing", "Manufacturing"),
    ("Capital", "Financial services"),
    ("Systems", "Software"),
    ("Motors", "Automotive"),
    ("Media", "Media"),
    ("Labs", "Life sciences"),
    ("Freight", "Transportation"),
];

#[rustfmt::skip]
const REGIONS: [&str; 8] = [
    "EMEA", "APAC", "Americas", "Group", "Holdings", "International", "Nordics", "DACH",
];

#[rustfmt::skip]
const PRODUCTS: [&str; 20] = [
    "Finance platform", "Data warehouse", "Security suite", "CRM rollout", "Analytics seats", "Support renewal",
    "Payroll migration", "Cloud migration", "ERP upgrade", "Observability", "Identity platform",
    "Procurement suite", "HR platform", "Marketing automation", "Contact center", "Document AI",
    "Supply chain planning", "Expense management", "Field service", "Billing platform",
];

#[rustfmt::skip]
const FIRST_NAMES: [&str; 40] = [
    "Sam", "Dana", "Lee", "Priya", "Omar", "Jo", "Kai", "Mina", "Ravi", "Eva", "Tom", "Ada", "Noah", "Lena", "Marco",
    "Aisha", "Chen", "Sofia", "Liam", "Yuki", "Diego", "Hana", "Felix", "Nora", "Ivan", "Zara", "Owen", "Maya", "Luca",
    "Elif", "Theo", "Amara", "Jonas", "Leila", "Mateo", "Ingrid", "Kofi", "Rosa", "Arjun", "Clara",
];

#[rustfmt::skip]
const LAST_NAMES: [&str; 40] = [
    "Patel", "Ruiz", "Wong", "Shah", "Haddad", "Berg", "Lund", "Sato", "Iyer", "Novak", "Reyes", "Okafor", "Smith",
    "Garcia", "Muller", "Rossi", "Kim", "Nguyen", "Cohen", "Silva", "Dubois", "Jensen", "Kowalski", "Tanaka", "Murphy",
    "Schmidt", "Costa", "Ali", "Larsen", "Ivanova", "Mensah", "Fischer", "Moreau", "Brown", "Khan", "Lopez", "Weber",
    "Olsen", "Sharma", "Baker",
];

#[rustfmt::skip]
const TITLES: [&str; 20] = [
    "Director of Operations", "VP Operations", "CFO", "COO", "Controller", "Finance Director",
    "Procurement Manager", "General Counsel", "CIO", "CTO", "VP Engineering", "Solutions Architect", "IT Manager",
    "Security Lead", "Team Lead", "Senior Analyst", "Chief of Staff", "Executive Assistant", "Project Manager",
    "Head of Transformation",
];

#[rustfmt::skip]
const TOPICS: [&str; 12] = [
    "pricing", "security review", "rollout plan", "integration scope", "legal terms", "success criteria", "budget",
    "timeline", "reference call", "procurement steps", "pilot results", "next steps",
];

#[rustfmt::skip]
const NOTES: [&str; 6] = [
    "Prefers email", "Was a customer at their previous company", "Reports to the CFO",
    "Skeptical of the rollout timeline", "Owns the budget line", "Championed a competitor last year",
];

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::ActiveValue;

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

    fn value<T: Into<sea_orm::Value> + Clone>(v: &ActiveValue<T>) -> T {
        match v {
            ActiveValue::Set(x) | ActiveValue::Unchanged(x) => x.clone(),
            ActiveValue::NotSet => panic!("column not set"),
        }
    }

    fn generate(plan: &Plan, index: usize, deals: usize) -> Batch {
        let mut g = TenantGenerator::new(plan, index, deals);
        g.accounts_and_contacts();
        g.deals(deals, &RiskPolicy::default(), true)
    }

    #[test]
    fn the_same_seed_gives_the_same_rows() {
        let p = plan(60);
        let (a, b) = (generate(&p, 0, 60), generate(&p, 0, 60));
        let names = |b: &Batch| {
            b.opportunities
                .iter()
                .map(|o| (value(&o.id), value(&o.name)))
                .collect::<Vec<_>>()
        };
        assert_eq!(names(&a), names(&b));
        assert_eq!(a.interactions.len(), b.interactions.len());
        assert_eq!(a.links.len(), b.links.len());
        let other = generate(&Plan { seed: 7, ..p.clone() }, 0, 60);
        assert_ne!(names(&a), names(&other), "another seed gives other deals");
        let second_tenant = generate(&p, 1, 60);
        assert_ne!(names(&a), names(&second_tenant), "tenants draw from their own streams");

        let mut g = TenantGenerator::new(&p, 0, 60);
        g.accounts_and_contacts();
        let unassessed = g.deals(60, &RiskPolicy::default(), false);
        assert_eq!(names(&a), names(&unassessed), "the risk path does not change the rows");
        assert!(unassessed.history.is_empty());
    }

    #[test]
    fn deals_have_the_planned_shape() {
        let p = plan(200);
        let batch = generate(&p, 0, 200);
        assert_eq!(batch.opportunities.len(), 200);
        assert_eq!(batch.members.len(), 200 * 12);
        let mean = batch.interactions.len() as f64 / 200.0;
        assert!(
            (36.0..44.0).contains(&mean),
            "about 40 interactions per deal, got {mean}"
        );
        let direct = batch.links.iter().filter(|l| value(&l.direct)).count();
        let per_interaction = direct as f64 / batch.interactions.len() as f64;
        assert!((1.0..=3.0).contains(&per_interaction), "{per_interaction}");
        assert!(
            batch.links.iter().any(|l| !value(&l.direct)),
            "some interactions are about someone"
        );
        for o in &batch.opportunities {
            let created = value(&o.created_at);
            assert!(value(&o.stage_entered_at) >= created);
            assert!(created >= as_of() - TimeDelta::days(180) && created < as_of());
            let stage: Stage = value(&o.stage).parse().expect("stage");
            assert_eq!(value(&o.closed_at).is_some(), stage.is_closed());
        }
        for i in &batch.interactions {
            assert!(value(&i.occurred_at) <= as_of() && value(&i.created_at) <= as_of());
        }
    }

    #[test]
    fn a_participant_is_never_also_about_in_the_same_interaction() {
        let batch = generate(&plan(100), 0, 100);
        let mut seen = std::collections::HashSet::new();
        for l in &batch.links {
            assert!(
                seen.insert((value(&l.interaction_id), value(&l.member_id))),
                "duplicate link"
            );
        }
        let mut per_interaction: HashMap<Uuid, usize> = HashMap::new();
        for l in batch.links.iter().filter(|l| value(&l.direct)) {
            *per_interaction.entry(value(&l.interaction_id)).or_default() += 1;
        }
        assert!(per_interaction.values().all(|n| (1..=3).contains(n)));
        assert_eq!(per_interaction.len(), batch.interactions.len());
    }

    #[test]
    fn stored_risk_lands_on_every_level() {
        let batch = generate(&plan(400), 0, 400);
        assert!(batch.levels.iter().all(|n| *n >= 20), "levels {:?}", batch.levels);
        let open = batch
            .opportunities
            .iter()
            .filter(|o| value(&o.risk_assessed_at).is_some())
            .count();
        assert_eq!(open, batch.open);
        assert_eq!(batch.history.len(), batch.open);
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
        let before = stored::open_deals_after(&ctx, store.reader(), None, 1_000)
            .await
            .expect("read");
        let changed = crate::service::risk::refresh_tenant(&ctx, &store, as_of())
            .await
            .expect("refresh");
        let after = stored::open_deals_after(&ctx, store.reader(), None, 1_000)
            .await
            .expect("read");
        assert_eq!(changed, 0, "refresh_tenant changed stored scores, levels or factors");
        assert_eq!(before, after, "refresh_tenant changed stored risk columns");
        assert_eq!(before.len(), report.tenants[0].open_deals);

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
