//! The demo tenant `demo`: a small pipeline whose deals tell the story dealgraph exists for.
//!
//! The headline deal, "Northwind — Finance platform", is the field story of
//! `why-buying-groups.txt`: four months stalled in negotiation, the seller meets only the
//! overloaded mobilizer (Sam Patel) and asks him to "handle" the controller (Dana Ruiz), who
//! holds a veto and opposes the deal, while the CFO has never been met. Around it, twenty deals
//! of varied health across eight accounts, three currencies and four sellers: healthy ones
//! where the seller works the whole group, and others at risk for one or two clear reasons
//! (going dark, a slipped close date, no mobilizer, a thin group, a single thread), so every
//! risk level and most factors show up on the board.
//!
//! Everything is written through the store in one transaction (a failed load leaves nothing
//! behind), with timestamps in the past relative to the load: deals created months ago, stage
//! moves, close-date pushes and interactions at their own times, attributed to the owning
//! seller. Risk is then assessed as the periodic sweep would have done, weekly over the last
//! eight weeks and once now, so `riskHistory` shows how each deal got where it is. The
//! content is fixed; only the dates move with the day it is loaded.

use std::collections::HashMap;
use std::fmt;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta, Utc};
use uuid::Uuid;

use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, RiskFactorCode, Role, Stage, Stance};
use crate::domain::values::TenantId;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{Conn, Store, accounts, contacts, interactions, members, opportunities, policy, risk as stored};

/// The tenant the demo is loaded into.
pub const TENANT: &str = "demo";

/// The deal that tells the field story (the top of the board ordered by risk).
pub const STORY_DEAL: &str = "Northwind — Finance platform";

/// What [`load`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoReport {
    pub accounts: usize,
    pub contacts: usize,
    pub opportunities: usize,
    /// Opportunities not in a closed stage.
    pub open_opportunities: usize,
    pub members: usize,
    pub interactions: usize,
}

impl fmt::Display for DemoReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "demo tenant `{TENANT}` loaded: {} accounts, {} contacts, {} opportunities ({} open), \
             {} buying-group members, {} interactions",
            self.accounts, self.contacts, self.opportunities, self.open_opportunities, self.members, self.interactions
        )
    }
}

/// One demo deal's name with the factors its stored assessment is meant to carry (none for
/// healthy and closed deals), as the demo's content promises them under the default policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedRisk {
    pub deal: &'static str,
    pub stage: Stage,
    pub factors: &'static [RiskFactorCode],
}

/// What each demo deal is meant to show: the test suite holds the stored assessments to it,
/// so a change to the rules that breaks the demo's story is noticed.
pub fn expected_risks() -> Vec<ExpectedRisk> {
    deals()
        .iter()
        .map(|d| ExpectedRisk {
            deal: d.name,
            stage: d.final_stage(),
            factors: d.expect,
        })
        .collect()
}

/// Loads the demo tenant. Refuses with `CONFLICT` if tenant `demo` already has an account,
/// so it never mixes with (or duplicates) data that is there.
pub async fn load(store: &Store) -> AppResult<DemoReport> {
    let tenant = TenantId::parse(TENANT)?;
    let clock = Clock::new(crate::service::now());
    let tx = store.begin_write().await?;
    let result = write(&*tx, &tenant, &clock).await;
    tx.finish(result).await
}

async fn write(conn: &impl Conn, tenant: &TenantId, clock: &Clock) -> AppResult<DemoReport> {
    let system = TenantCtx::system(tenant.clone());
    if accounts::count(&system, conn, None).await? > 0 {
        return Err(AppError::Conflict(format!(
            "tenant `{TENANT}` already has data; the demo only loads into an empty tenant"
        )));
    }
    let mut report = DemoReport {
        accounts: 0,
        contacts: 0,
        opportunities: 0,
        open_opportunities: 0,
        members: 0,
        interactions: 0,
    };

    // Accounts and their people. Nothing records who created them, so the system writes them.
    let mut account_ids: HashMap<&str, Uuid> = HashMap::new();
    let mut contact_ids: HashMap<(&str, &str), (Uuid, &str)> = HashMap::new();
    for account in ACCOUNTS {
        let created = clock.at(account.since);
        let row = accounts::insert(
            &system,
            conn,
            accounts::NewAccount {
                name: account.name.to_owned(),
                domain: Some(account.domain.to_owned()),
                industry: Some(account.industry.to_owned()),
            },
            created,
        )
        .await?;
        account_ids.insert(account.name, row.id);
        report.accounts += 1;
        for (i, (full_name, title)) in account.contacts.iter().enumerate() {
            let contact = contacts::insert(
                &system,
                conn,
                contacts::NewContact {
                    account_id: row.id,
                    full_name: (*full_name).to_owned(),
                    title: Some((*title).to_owned()),
                    email: Some(email(full_name, account.domain)),
                },
                created + minutes(i),
            )
            .await?;
            contact_ids.insert((account.name, *full_name), (contact.id, *title));
            report.contacts += 1;
        }
    }

    // Deals, each written by the seller who owns it (so `changedBy` and `loggedBy` name them).
    for deal in deals() {
        let seller = TenantCtx::from_verified_claims(tenant.clone(), deal.owner.to_owned(), vec![Role::Seller]);
        let account_id = *account_ids
            .get(deal.account)
            .ok_or_else(|| bad_data(deal.name, deal.account))?;
        let created = clock.at(deal.created);
        let mut current = opportunities::insert(
            &seller,
            conn,
            opportunities::NewOpportunity {
                account_id,
                name: deal.name.to_owned(),
                owner_id: deal.owner.to_owned(),
                stage: deal.stage,
                amount_cents: deal.amount * 100,
                currency: deal.currency.to_owned(),
                expected_close_date: deal.close.map(|offset| clock.date(offset)),
            },
            created,
        )
        .await?;
        report.opportunities += 1;
        if !deal.final_stage().is_closed() {
            report.open_opportunities += 1;
        }

        let mut member_ids: HashMap<&str, Uuid> = HashMap::new();
        for (i, m) in deal.members.iter().enumerate() {
            let (contact_id, title) = *contact_ids
                .get(&(deal.account, m.contact))
                .ok_or_else(|| bad_data(deal.name, m.contact))?;
            let row = members::insert(
                &seller,
                conn,
                members::NewMember {
                    opportunity_id: current.id,
                    contact_id,
                    contact_name: m.contact.to_owned(),
                    contact_title: Some(title.to_owned()),
                    role: m.role,
                    stance: m.stance,
                    can_veto: m.veto,
                    influence: m.influence,
                    bandwidth: m.bandwidth,
                    notes: m.notes.map(str::to_owned),
                },
                created + minutes(i + 1),
            )
            .await?;
            member_ids.insert(m.contact, row.id);
            report.members += 1;
        }

        // Stage moves and close-date pushes, oldest first; a push an hour after any stage move
        // of the same day.
        let mut events: Vec<(DateTime<Utc>, opportunities::Changes)> = Vec::new();
        for &(days_ago, stage) in deal.moves {
            let changes = opportunities::Changes {
                stage: Some(stage),
                ..Default::default()
            };
            events.push((clock.at(days_ago), changes));
        }
        for &(days_ago, offset) in deal.pushes {
            let changes = opportunities::Changes {
                expected_close_date: Some(Some(clock.date(offset))),
                ..Default::default()
            };
            events.push((clock.at(days_ago) + TimeDelta::hours(1), changes));
        }
        events.sort_by_key(|(at, _)| *at);
        for (at, changes) in events {
            current = opportunities::update(&seller, conn, &current, current.version, changes, at).await?;
        }

        for touch in &deal.log {
            let resolve = |names: &[&str]| -> AppResult<Vec<Uuid>> {
                names
                    .iter()
                    .map(|name| member_ids.get(name).copied().ok_or_else(|| bad_data(deal.name, name)))
                    .collect()
            };
            let occurred_at = clock.at(touch.days_ago);
            interactions::insert(
                &seller,
                conn,
                interactions::NewInteraction {
                    opportunity_id: current.id,
                    kind: touch.kind,
                    occurred_at,
                    summary: Some(touch.summary.to_owned()),
                    participants: resolve(touch.with)?,
                    about: resolve(touch.about)?,
                },
                // Logged a couple of hours after it happened.
                (occurred_at + TimeDelta::hours(2)).min(clock.now),
            )
            .await?;
            report.interactions += 1;
        }
    }

    assess(&system, conn, clock).await?;
    Ok(report)
}

/// Stores assessments as the periodic sweep would have: weekly over the last eight weeks
/// (each deal once it exists), then now. Each change of score, level or factors becomes a
/// `riskHistory` point, so the history shows, say, the story deal sliding into CRITICAL.
async fn assess(system: &TenantCtx, conn: &impl Conn, clock: &Clock) -> AppResult<()> {
    let policy = policy::get(system, conn).await?;
    for weeks_ago in (0..=8).rev() {
        let at = clock.now - TimeDelta::weeks(weeks_ago);
        // Reloaded each round: the refresh compares against the stored assessment.
        let open = stored::open_deals_after(system, conn, None, 10_000).await?;
        let existing: Vec<_> = open.into_iter().filter(|d| d.created_at <= at).collect();
        crate::service::risk::refresh_deals(system, conn, existing, &policy, at).await?;
    }
    Ok(())
}

/// A demo-content mistake (a name that points nowhere); caught by the tests, never by users.
fn bad_data(deal: &str, name: &str) -> AppError {
    AppError::Internal(format!("demo data: {deal:?} refers to unknown {name:?}"))
}

fn minutes(n: usize) -> TimeDelta {
    TimeDelta::minutes(i64::try_from(n).unwrap_or(0))
}

/// `Dana Ruiz` at `northwindhealth.com` → `dana.ruiz@northwindhealth.com`.
fn email(full_name: &str, domain: &str) -> String {
    let local: Vec<String> = full_name
        .split_whitespace()
        .map(|part| part.chars().filter(char::is_ascii_alphanumeric).collect::<String>())
        .filter(|part| !part.is_empty())
        .collect();
    format!("{}@{domain}", local.join(".").to_ascii_lowercase())
}

/// Turns "N days ago" into instants and "in N days" into dates, relative to the load.
struct Clock {
    now: DateTime<Utc>,
    midnight: DateTime<Utc>,
    today: NaiveDate,
}

impl Clock {
    fn new(now: DateTime<Utc>) -> Clock {
        let today = now.date_naive();
        Clock {
            now,
            midnight: today.and_time(NaiveTime::MIN).and_utc(),
            today,
        }
    }

    /// A working-hours instant `days_ago` days before today (09:00–16:45 UTC, fixed per day).
    ///
    /// With `days_ago` ≥ 1 it is always in the past, between `days_ago` days − 17 h and
    /// `days_ago` days + 15 h before now, whatever the time of day. So the content keeps clear
    /// of the default policy's thresholds: ≤ 13 days is recent, ≥ 15 is dark, ≤ 29 is inside
    /// the 30-day window, ≥ 31 outside it; a stage entered ≤ 59 days ago is not stalled, ≥ 61 is.
    fn at(&self, days_ago: i64) -> DateTime<Utc> {
        let hour = 9 + (days_ago * 5).rem_euclid(8);
        let minute = (days_ago * 7).rem_euclid(4) * 15;
        let at = self.midnight - TimeDelta::days(days_ago) + TimeDelta::hours(hour) + TimeDelta::minutes(minute);
        at.min(self.now)
    }

    /// Today plus `offset` days (negative: in the past).
    fn date(&self, offset: i64) -> NaiveDate {
        self.today + TimeDelta::days(offset)
    }
}

// ---- the content --------------------------------------------------------------------------

struct Account {
    name: &'static str,
    domain: &'static str,
    industry: &'static str,
    /// Days since the account was created.
    since: i64,
    /// Full name and title.
    contacts: &'static [(&'static str, &'static str)],
}

struct Deal {
    account: &'static str,
    name: &'static str,
    owner: &'static str,
    /// In whole currency units.
    amount: i64,
    currency: &'static str,
    /// Days since the deal was created, in `stage`.
    created: i64,
    stage: Stage,
    /// Later stage moves: (days ago, new stage).
    moves: &'static [(i64, Stage)],
    /// Expected close date at creation, in days from today.
    close: Option<i64>,
    /// Later close-date changes: (days ago, new date in days from today).
    pushes: &'static [(i64, i64)],
    members: Vec<Member>,
    log: Vec<Touch>,
    /// The factors the stored assessment should carry now.
    expect: &'static [RiskFactorCode],
}

impl Deal {
    fn final_stage(&self) -> Stage {
        self.moves.last().map_or(self.stage, |&(_, stage)| stage)
    }
}

struct Member {
    contact: &'static str,
    role: BuyingRole,
    stance: Stance,
    veto: bool,
    influence: Influence,
    bandwidth: Bandwidth,
    notes: Option<&'static str>,
}

/// A member with medium influence, available, no veto; adjust with the builders below.
fn m(contact: &'static str, role: BuyingRole, stance: Stance) -> Member {
    Member {
        contact,
        role,
        stance,
        veto: false,
        influence: Influence::Medium,
        bandwidth: Bandwidth::Available,
        notes: None,
    }
}

impl Member {
    fn veto(self) -> Self {
        Member { veto: true, ..self }
    }
    fn high(self) -> Self {
        Member {
            influence: Influence::High,
            ..self
        }
    }
    fn low(self) -> Self {
        Member {
            influence: Influence::Low,
            ..self
        }
    }
    fn bandwidth(self, bandwidth: Bandwidth) -> Self {
        Member { bandwidth, ..self }
    }
    fn notes(self, notes: &'static str) -> Self {
        Member {
            notes: Some(notes),
            ..self
        }
    }
}

/// One interaction: who took part (`with`) and who was only talked about (`about`).
struct Touch {
    days_ago: i64,
    kind: InteractionKind,
    with: &'static [&'static str],
    about: &'static [&'static str],
    summary: &'static str,
}

fn t(days_ago: i64, kind: InteractionKind, with: &'static [&'static str], summary: &'static str) -> Touch {
    Touch {
        days_ago,
        kind,
        with,
        about: &[],
        summary,
    }
}

impl Touch {
    fn about(self, about: &'static [&'static str]) -> Self {
        Touch { about, ..self }
    }
}

const NORTHWIND: &str = "Northwind Health";
const CONTOSO: &str = "Contoso Manufacturing";
const FABRIKAM: &str = "Fabrikam Logistik GmbH";
const GLOBEX: &str = "Globex Retail";
const INITECH: &str = "Initech Software";
const ADATUM: &str = "Adatum Financial";
const TAILSPIN: &str = "Tailspin Airways";
const WINGTIP: &str = "Wingtip Energy";

const ACCOUNTS: &[Account] = &[
    Account {
        name: NORTHWIND,
        domain: "northwindhealth.com",
        industry: "Healthcare",
        since: 420,
        contacts: &[
            ("Sam Patel", "Director of Finance Operations"),
            ("Dana Ruiz", "Controller"),
            ("Priya Shah", "Chief Financial Officer"),
            ("Marcus Lee", "IT Director"),
            ("Olivia Brooks", "Procurement Manager"),
            ("Ethan Walsh", "Accounts Payable Supervisor"),
            ("Grace Kim", "Associate General Counsel"),
            ("Tom Becker", "Payroll Manager"),
        ],
    },
    Account {
        name: CONTOSO,
        domain: "contoso-mfg.com",
        industry: "Manufacturing",
        since: 300,
        contacts: &[
            ("Laura Jensen", "VP Operations"),
            ("Raj Malhotra", "Plant Manager, Dayton"),
            ("Mei Tanaka", "Quality Director"),
            ("Carlos Vega", "Chief Financial Officer"),
            ("Hannah Scholz", "Enterprise Architect"),
            ("Ben Ortiz", "Procurement Lead"),
            ("Nora Fitzgerald", "Supply Chain Director"),
            ("Victor Hale", "Legal Counsel"),
        ],
    },
    Account {
        name: FABRIKAM,
        domain: "fabrikam-logistik.de",
        industry: "Logistics",
        since: 260,
        contacts: &[
            ("Jonas Becker", "Head of Fleet"),
            ("Katrin Vogel", "Chief Financial Officer"),
            ("Lukas Wagner", "IT Lead"),
            ("Anna Schmidt", "Procurement Manager"),
            ("Felix Braun", "Warehouse Operations Manager"),
            ("Martin Hoffmann", "Chief Operating Officer"),
            ("Sabine Koch", "Legal Counsel"),
        ],
    },
    Account {
        name: GLOBEX,
        domain: "globexretail.com",
        industry: "Retail",
        since: 380,
        contacts: &[
            ("Megan O'Connor", "VP Digital"),
            ("Lisa Park", "Marketing Director"),
            ("Paul Nguyen", "Chief Financial Officer"),
            ("Derek Stone", "IT Director"),
            ("Rachel Adams", "Procurement Manager"),
            ("Nadia Flores", "CRM Manager"),
            ("Kyle Benson", "E-commerce Manager"),
            ("Aisha Bello", "Head of Store Operations"),
            ("Chris Young", "Workforce Planning Manager"),
            ("Sean Murphy", "HR Director"),
            ("Brenda Walsh", "Regional Store Director"),
        ],
    },
    Account {
        name: INITECH,
        domain: "initech.io",
        industry: "Software",
        since: 200,
        contacts: &[
            ("Naomi Price", "VP Customer Support"),
            ("Omar Haddad", "Chief Technology Officer"),
            ("Julia Ross", "Chief Information Security Officer"),
            ("Kevin Wright", "Head of Data"),
            ("Sara Lindqvist", "Finance Director"),
            ("Mark Ellis", "Procurement Specialist"),
            ("Tina Morales", "Support Operations Lead"),
            ("Ravi Kumar", "Data Engineering Lead"),
            ("Alan Brooks", "Security Engineering Lead"),
            ("Dev Mehta", "SOC Manager"),
            ("Hope Larkin", "Corporate Counsel"),
        ],
    },
    Account {
        name: ADATUM,
        domain: "adatum-financial.eu",
        industry: "Financial services",
        since: 240,
        contacts: &[
            ("Claire Dubois", "Group Treasurer"),
            ("Matteo Rossi", "Chief Financial Officer"),
            ("Elena Petrova", "Head of Compliance"),
            ("Henrik Larsen", "IT Director"),
            ("Isabel Costa", "Procurement Manager"),
            ("Pieter de Vries", "General Counsel"),
            ("Sophie Martin", "KYC Operations Lead"),
        ],
    },
    Account {
        name: TAILSPIN,
        domain: "tailspinairways.co.uk",
        industry: "Aviation",
        since: 330,
        contacts: &[
            ("Oliver Hughes", "Director of Crew Operations"),
            ("Emma Clarke", "Chief Financial Officer"),
            ("James Whitfield", "Head of Maintenance"),
            ("Amelia Turner", "IT Director"),
            ("George Hall", "Procurement Manager"),
            ("Charlotte Evans", "Fuel Efficiency Manager"),
            ("Harry Bennett", "Legal Counsel"),
            ("Lucy Ward", "Crew Scheduling Lead"),
            ("Nathan Cole", "Line Maintenance Supervisor"),
            ("Sophie Grant", "Quality Assurance Manager"),
            ("Ian Porter", "Director of Flight Operations"),
        ],
    },
    Account {
        name: WINGTIP,
        domain: "wingtipenergy.co.uk",
        industry: "Energy",
        since: 280,
        contacts: &[
            ("Isla Murray", "Head of Field Services"),
            ("Daniel Reid", "Chief Financial Officer"),
            ("Fiona Campbell", "Operations Director"),
            ("Ross Mackay", "IT Manager"),
            ("Zara Ahmed", "Procurement Lead"),
            ("Callum Fraser", "Asset Performance Manager"),
            ("Megan Shaw", "Grid Analytics Lead"),
            ("Aidan Kerr", "Field Supervisor"),
        ],
    },
];

/// The deals. Day counts keep clear of the policy thresholds (see [`Clock::at`]); each
/// deal's `expect` lists what the default policy makes of it.
#[rustfmt::skip] // a table: one line per interaction reads better than rustfmt's layout
fn deals() -> Vec<Deal> {
    use Bandwidth::{Overloaded, Stretched};
    use BuyingRole::*;
    use InteractionKind::{Call, Demo, Email, Meeting, Proposal as ProposalSent};
    use RiskFactorCode as F;
    use Stage::*;
    use Stance::{Neutral, Opposed, Supportive, Unknown};

    vec![
        // The field story: 124 days in negotiation; the seller meets only Sam, who is
        // overloaded, and asks him to handle Dana, the controller who opposes the deal and
        // can veto it; the CFO has never been met; the close date has moved three times.
        Deal {
            account: NORTHWIND,
            name: STORY_DEAL,
            owner: "alex.morgan",
            amount: 480_000,
            currency: "USD",
            created: 210,
            stage: Discovery,
            moves: &[(180, Evaluation), (150, Proposal), (124, Negotiation)],
            close: Some(-100),
            pushes: &[(101, -40), (42, 5), (6, 45)],
            members: vec![
                m("Sam Patel", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Wants it live before the audit; also running the ERP upgrade and budget season."),
                m("Dana Ruiz", Finance, Opposed)
                    .veto()
                    .high()
                    .notes("Wants a significant price reduction before she will even consider it."),
                m("Priya Shah", EconomicBuyer, Unknown).veto().high(),
                m("Marcus Lee", TechnicalEvaluator, Supportive),
                m("Olivia Brooks", Procurement, Unknown),
                m("Ethan Walsh", EndUser, Supportive).low(),
                m("Grace Kim", Legal, Unknown),
            ],
            log: vec![
                t(205, Meeting, &["Sam Patel"], "Discovery: month-end close takes nine days, mostly spreadsheets."),
                t(185, Demo, &["Sam Patel", "Marcus Lee", "Ethan Walsh"],
                  "Platform demo for finance ops and IT; AP automation landed well."),
                t(160, Meeting, &["Sam Patel", "Marcus Lee"],
                  "Technical review: SSO and the ERP connector are in scope."),
                t(130, ProposalSent, &["Sam Patel"],
                  "Proposal sent to Sam, to take to Priya for sign-off.").about(&["Priya Shah"]),
                t(118, Call, &["Sam Patel"],
                  "Sam says Dana is blocking: she wants 30% off before she will look at it.").about(&["Dana Ruiz"]),
                t(90, Call, &["Sam Patel"],
                  "Sam will raise pricing with Dana at their quarterly review.").about(&["Dana Ruiz"]),
                t(60, Meeting, &["Sam Patel"],
                  "Quarterly review slipped; Sam still confident Dana will come round.").about(&["Dana Ruiz"]),
                t(27, Call, &["Sam Patel"],
                  "Sam has not found time to meet Dana; audit prep is eating his weeks.").about(&["Dana Ruiz"]),
                t(19, Email, &["Sam Patel"],
                  "Sent Sam a discount justification deck to forward to Dana.").about(&["Dana Ruiz"]),
                t(11, Call, &["Sam Patel"],
                  "Dana still wants a significant price reduction. Asked Sam to handle it with her.")
                    .about(&["Dana Ruiz"]),
                t(4, Meeting, &["Sam Patel"],
                  "Sam wants it 'tomorrow' but has no date for a meeting with Dana.").about(&["Dana Ruiz"]),
            ],
            expect: &[
                F::VetoHolderOpposed,
                F::SingleThreaded,
                F::VetoHolderUnengaged,
                F::DelegatedEngagement,
                F::Stalled,
                F::MobilizerOverloaded,
                F::LowCoverage,
                F::CloseDatePushed,
            ],
        },
        // An earlier win at the same account, with the same CFO met in person.
        Deal {
            account: NORTHWIND,
            name: "Northwind — Payroll add-on",
            owner: "alex.morgan",
            amount: 60_000,
            currency: "USD",
            created: 330,
            stage: Discovery,
            moves: &[(300, Proposal), (280, Negotiation), (265, ClosedWon)],
            close: Some(-260),
            pushes: &[],
            members: vec![
                m("Tom Becker", Sponsor, Supportive).high(),
                m("Priya Shah", EconomicBuyer, Supportive).veto().high(),
                m("Olivia Brooks", Procurement, Neutral),
            ],
            log: vec![
                t(325, Meeting, &["Tom Becker"], "Payroll reconciliation takes two people three days a month."),
                t(298, ProposalSent, &["Tom Becker", "Priya Shah"],
                  "Walked Priya through the proposal; she asked for a 12-month term."),
                t(270, Call, &["Olivia Brooks", "Tom Becker"], "Procurement: standard paper, signature next week."),
            ],
            expect: &[],
        },
        // Healthy: the whole group met directly this month, the CFO included.
        Deal {
            account: CONTOSO,
            name: "Contoso — Plant analytics rollout",
            owner: "jamie.chen",
            amount: 310_000,
            currency: "USD",
            created: 95,
            stage: Discovery,
            moves: &[(70, Evaluation), (20, Proposal)],
            close: Some(60),
            pushes: &[],
            members: vec![
                m("Laura Jensen", Mobilizer, Supportive).high(),
                m("Carlos Vega", EconomicBuyer, Neutral).veto().high(),
                m("Raj Malhotra", EndUser, Supportive),
                m("Hannah Scholz", TechnicalEvaluator, Supportive),
                m("Ben Ortiz", Procurement, Neutral),
                m("Mei Tanaka", Influencer, Supportive),
            ],
            log: vec![
                t(90, Meeting, &["Laura Jensen"], "Discovery: unplanned downtime on line 3 costs $40k a week."),
                t(68, Demo, &["Laura Jensen", "Raj Malhotra"], "Line-level OEE demo at the Dayton plant."),
                t(26, Demo, &["Laura Jensen", "Raj Malhotra", "Hannah Scholz"],
                  "Second demo with IT: historian integration and edge gateways."),
                t(18, Meeting, &["Carlos Vega", "Laura Jensen"],
                  "Business case with Carlos: payback under 14 months accepted."),
                t(12, Call, &["Ben Ortiz"], "Procurement: MSA redlines are standard."),
                t(5, Meeting, &["Laura Jensen", "Mei Tanaka", "Carlos Vega"],
                  "Quality team on board; Carlos asked for phased payments."),
                t(2, Email, &["Hannah Scholz"], "Security questionnaire returned complete."),
            ],
            expect: &[],
        },
        // A slipping deal: the close date moved twice and has passed, and the only mobilizer
        // is buried in an audit.
        Deal {
            account: CONTOSO,
            name: "Contoso — Quality management suite",
            owner: "jamie.chen",
            amount: 85_000,
            currency: "USD",
            created: 90,
            stage: Discovery,
            moves: &[(75, Evaluation), (40, Proposal)],
            close: Some(-50),
            pushes: &[(52, -20), (22, -3)],
            members: vec![
                m("Mei Tanaka", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Running the ISO 9001 recertification until month end."),
                m("Carlos Vega", EconomicBuyer, Neutral).veto().high(),
                m("Raj Malhotra", EndUser, Supportive),
                m("Hannah Scholz", TechnicalEvaluator, Neutral),
                m("Ben Ortiz", Procurement, Neutral),
                m("Victor Hale", Legal, Unknown).low(),
            ],
            log: vec![
                t(85, Meeting, &["Mei Tanaka"], "Discovery: CAPA tracking lives in three spreadsheets."),
                t(26, Meeting, &["Mei Tanaka", "Raj Malhotra"], "CAPA workflow review with the plant."),
                t(19, Call, &["Carlos Vega", "Mei Tanaka"],
                  "Carlos is fine with the budget; waiting on Mei's requirements sign-off."),
                t(9, Demo, &["Hannah Scholz", "Raj Malhotra", "Ben Ortiz"], "Supplier quality module demo."),
                t(2, Email, &["Mei Tanaka"], "Mei: requirements sign-off slips again, the audit comes first."),
            ],
            expect: &[F::MobilizerOverloaded, F::PastCloseDate, F::CloseDatePushed],
        },
        Deal {
            account: CONTOSO,
            name: "Contoso — Supplier portal",
            owner: "jamie.chen",
            amount: 140_000,
            currency: "USD",
            created: 200,
            stage: Discovery,
            moves: &[(170, Evaluation), (130, Proposal), (100, Negotiation), (40, ClosedWon)],
            close: Some(-45),
            pushes: &[],
            members: vec![
                m("Nora Fitzgerald", Mobilizer, Supportive).high(),
                m("Carlos Vega", EconomicBuyer, Supportive).veto().high(),
                m("Ben Ortiz", Procurement, Neutral),
                m("Hannah Scholz", TechnicalEvaluator, Supportive),
            ],
            log: vec![
                t(195, Meeting, &["Nora Fitzgerald"], "Supplier onboarding takes six weeks."),
                t(150, Demo, &["Nora Fitzgerald", "Hannah Scholz"], "Portal demo with IT."),
                t(95, Meeting, &["Carlos Vega", "Nora Fitzgerald", "Ben Ortiz"],
                  "Commercials agreed with Carlos and procurement."),
                t(42, Call, &["Ben Ortiz"], "Contract signed."),
            ],
            expect: &[],
        },
        // Gone quiet three weeks ago, and the close date has passed.
        Deal {
            account: FABRIKAM,
            name: "Fabrikam — Fleet telematics",
            owner: "riley.owens",
            amount: 180_000,
            currency: "EUR",
            created: 100,
            stage: Discovery,
            moves: &[(70, Evaluation), (35, Proposal)],
            close: Some(-5),
            pushes: &[],
            members: vec![
                m("Jonas Becker", Mobilizer, Supportive).high(),
                m("Katrin Vogel", EconomicBuyer, Neutral).veto().high(),
                m("Lukas Wagner", TechnicalEvaluator, Supportive),
                m("Anna Schmidt", Procurement, Neutral),
                m("Felix Braun", EndUser, Supportive),
                m("Martin Hoffmann", DecisionMaker, Neutral),
            ],
            log: vec![
                t(95, Meeting, &["Jonas Becker"], "Discovery: fuel spend up 18%, no driver-level data."),
                t(65, Demo, &["Jonas Becker", "Lukas Wagner"], "Telematics demo with IT."),
                t(27, Meeting, &["Jonas Becker", "Katrin Vogel"], "Business case with Katrin; ROI model shared."),
                t(22, Demo, &["Lukas Wagner", "Felix Braun", "Jonas Becker"], "Driver app demo at the Hamburg depot."),
                t(17, Call, &["Anna Schmidt", "Martin Hoffmann"],
                  "Proposal walk-through with procurement and the COO. No reply since."),
            ],
            expect: &[F::GoingDark, F::PastCloseDate],
        },
        // The CFO is only ever reached through the mobilizer; stalled in proposal, the close
        // date pushed twice and passed.
        Deal {
            account: FABRIKAM,
            name: "Fabrikam — Warehouse robotics pilot",
            owner: "riley.owens",
            amount: 420_000,
            currency: "EUR",
            created: 160,
            stage: Discovery,
            moves: &[(130, Evaluation), (95, Proposal)],
            close: Some(-90),
            pushes: &[(92, -45), (47, -10)],
            members: vec![
                m("Felix Braun", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Katrin Vogel", EconomicBuyer, Neutral)
                    .veto()
                    .high()
                    .notes("Capex freeze until the new fiscal year, per Felix."),
                m("Martin Hoffmann", DecisionMaker, Supportive).high(),
                m("Lukas Wagner", TechnicalEvaluator, Supportive),
                m("Anna Schmidt", Procurement, Neutral),
                m("Sabine Koch", Legal, Unknown).low(),
            ],
            log: vec![
                t(155, Meeting, &["Felix Braun"], "Pick rates flat for two years; robotics pilot proposed."),
                t(120, Demo, &["Felix Braun", "Lukas Wagner", "Martin Hoffmann"], "Robotics demo at the Bremen site."),
                t(26, Meeting, &["Felix Braun", "Lukas Wagner"],
                  "Felix will take the pilot ROI to Katrin.").about(&["Katrin Vogel"]),
                t(17, Call, &["Martin Hoffmann", "Felix Braun"],
                  "Martin backs the pilot but defers to Katrin on capex.").about(&["Katrin Vogel"]),
                t(10, Meeting, &["Lukas Wagner", "Anna Schmidt"],
                  "Site survey done; waiting for Katrin's capex approval.").about(&["Katrin Vogel"]),
                t(4, Call, &["Felix Braun"], "Felix: Katrin has not read the ROI model yet.").about(&["Katrin Vogel"]),
            ],
            expect: &[F::DelegatedEngagement, F::Stalled, F::PastCloseDate, F::CloseDatePushed],
        },
        // The mobilizer went neutral after a reorg, and only three of eight people are engaged.
        Deal {
            account: GLOBEX,
            name: "Globex — Loyalty platform",
            owner: "jamie.chen",
            amount: 150_000,
            currency: "USD",
            created: 80,
            stage: Discovery,
            moves: &[(45, Evaluation)],
            close: Some(60),
            pushes: &[],
            members: vec![
                m("Megan O'Connor", Sponsor, Supportive).high(),
                m("Lisa Park", Mobilizer, Neutral).notes("Pushed hard until the reorg; non-committal since."),
                m("Paul Nguyen", EconomicBuyer, Neutral).veto().high(),
                m("Derek Stone", TechnicalEvaluator, Neutral),
                m("Rachel Adams", Procurement, Unknown),
                m("Nadia Flores", EndUser, Unknown),
                m("Kyle Benson", EndUser, Unknown).low(),
                m("Aisha Bello", Influencer, Unknown),
            ],
            log: vec![
                t(75, Meeting, &["Lisa Park", "Megan O'Connor"],
                  "Lisa drove the first meeting: repeat purchase rate is falling."),
                t(24, Meeting, &["Megan O'Connor", "Derek Stone"], "Integration scoping with IT."),
                t(15, Meeting, &["Megan O'Connor", "Paul Nguyen"],
                  "Budget review: Paul wants evidence of the loyalty uplift."),
                t(8, Call, &["Derek Stone"], "POS integration questions answered."),
                t(3, Email, &["Megan O'Connor"], "Sent two retail reference cases."),
            ],
            expect: &[F::NoMobilizer, F::LowCoverage],
        },
        // Single-threaded through IT: no mobilizer, no economic buyer identified.
        Deal {
            account: GLOBEX,
            name: "Globex — Store workforce planning",
            owner: "jamie.chen",
            amount: 260_000,
            currency: "USD",
            created: 58,
            stage: Discovery,
            moves: &[(30, Evaluation)],
            close: Some(70),
            pushes: &[],
            members: vec![
                m("Derek Stone", TechnicalEvaluator, Supportive).high(),
                m("Chris Young", EndUser, Supportive),
                m("Aisha Bello", DecisionMaker, Unknown).high(),
                m("Sean Murphy", Influencer, Unknown),
                m("Rachel Adams", Procurement, Unknown),
                m("Brenda Walsh", EndUser, Unknown).low(),
            ],
            log: vec![
                t(55, Meeting, &["Derek Stone"], "Derek wants to replace the legacy scheduler."),
                t(22, Meeting, &["Derek Stone"], "Requirements workshop with IT only."),
                t(12, Call, &["Derek Stone", "Chris Young"], "Derek brought Chris for the labour-data questions."),
                t(5, Email, &["Derek Stone"], "Sent the integration spec."),
            ],
            expect: &[F::SingleThreaded, F::NoMobilizer, F::BuyingGroupGaps, F::LowCoverage],
        },
        Deal {
            account: GLOBEX,
            name: "Globex — Marketing attribution",
            owner: "jamie.chen",
            amount: 90_000,
            currency: "USD",
            created: 150,
            stage: Discovery,
            moves: &[(120, Evaluation), (80, Proposal), (25, ClosedLost)],
            close: Some(-30),
            pushes: &[],
            members: vec![
                m("Lisa Park", Mobilizer, Supportive).high(),
                m("Paul Nguyen", EconomicBuyer, Opposed).veto().high(),
                m("Rachel Adams", Procurement, Neutral),
            ],
            log: vec![
                t(145, Meeting, &["Lisa Park"], "Lisa cannot prove which campaigns drive store visits."),
                t(100, Demo, &["Lisa Park", "Rachel Adams"], "Attribution demo."),
                t(60, Call, &["Lisa Park"], "Lisa will talk Paul round on the price.").about(&["Paul Nguyen"]),
                t(26, Call, &["Lisa Park"],
                  "Lost: Paul renewed the incumbent. We never met him.").about(&["Paul Nguyen"]),
            ],
            expect: &[],
        },
        // Healthy: four of six engaged this month, the finance director included.
        Deal {
            account: INITECH,
            name: "Initech — Support desk consolidation",
            owner: "riley.owens",
            amount: 95_000,
            currency: "USD",
            created: 50,
            stage: Discovery,
            moves: &[(25, Evaluation)],
            close: Some(75),
            pushes: &[],
            members: vec![
                m("Naomi Price", Mobilizer, Supportive).high(),
                m("Sara Lindqvist", EconomicBuyer, Neutral).veto().high(),
                m("Tina Morales", EndUser, Supportive),
                m("Omar Haddad", TechnicalEvaluator, Neutral),
                m("Mark Ellis", Procurement, Unknown).low(),
                m("Julia Ross", Influencer, Neutral),
            ],
            log: vec![
                t(45, Meeting, &["Naomi Price"], "Three help desks, three ticket systems, no shared SLA view."),
                t(28, Demo, &["Naomi Price", "Tina Morales", "Omar Haddad"], "Consolidated queue demo."),
                t(16, Meeting, &["Sara Lindqvist", "Naomi Price"], "Sara confirmed budget in the Q3 plan."),
                t(9, Call, &["Omar Haddad"], "API limits and SSO questions answered."),
                t(3, Call, &["Tina Morales"], "Pilot team picked."),
            ],
            expect: &[],
        },
        // Early and thin: four people known, no economic buyer, no mobilizer yet.
        Deal {
            account: INITECH,
            name: "Initech — Data warehouse migration",
            owner: "riley.owens",
            amount: 120_000,
            currency: "USD",
            created: 35,
            stage: Prospecting,
            moves: &[(20, Discovery)],
            close: Some(100),
            pushes: &[],
            members: vec![
                m("Kevin Wright", Sponsor, Supportive).high(),
                m("Ravi Kumar", TechnicalEvaluator, Supportive),
                m("Omar Haddad", DecisionMaker, Neutral).veto().high(),
                m("Mark Ellis", Procurement, Unknown).low(),
            ],
            log: vec![
                t(32, Call, &["Kevin Wright"], "Intro call: warehouse licence renewal in five months."),
                t(19, Meeting, &["Kevin Wright", "Ravi Kumar"], "Walkthrough of the current warehouse estate."),
                t(11, Meeting, &["Omar Haddad", "Kevin Wright"], "Omar wants a migration plan before committing."),
                t(5, Call, &["Ravi Kumar"], "Sample workloads shared for sizing."),
            ],
            expect: &[F::NoMobilizer, F::BuyingGroupGaps],
        },
        // Every conversation goes through the overloaded CISO; the finance director, who can
        // veto, has not been met; the close date has passed.
        Deal {
            account: INITECH,
            name: "Initech — Security operations platform",
            owner: "alex.morgan",
            amount: 380_000,
            currency: "USD",
            created: 100,
            stage: Discovery,
            moves: &[(75, Evaluation), (45, Proposal)],
            close: Some(-8),
            pushes: &[],
            members: vec![
                m("Julia Ross", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Pen test and SOC 2 audit this quarter."),
                m("Omar Haddad", DecisionMaker, Neutral).high(),
                m("Sara Lindqvist", EconomicBuyer, Neutral).veto().high(),
                m("Alan Brooks", TechnicalEvaluator, Supportive),
                m("Mark Ellis", Procurement, Unknown).low(),
                m("Dev Mehta", EndUser, Supportive),
                m("Hope Larkin", Legal, Unknown),
            ],
            log: vec![
                t(95, Meeting, &["Julia Ross"], "Alert fatigue: 4,000 alerts a day, two analysts."),
                t(28, Meeting, &["Julia Ross", "Alan Brooks"], "Detection content review."),
                t(21, Demo, &["Julia Ross", "Dev Mehta", "Alan Brooks"], "SOC walkthrough with the analysts."),
                t(13, Call, &["Julia Ross"], "Julia will talk budget with Sara after the pen test."),
                t(8, Meeting, &["Julia Ross", "Omar Haddad"], "Architecture review with the CTO."),
                t(3, Call, &["Julia Ross"], "Julia swamped; the meeting with Sara moves again."),
            ],
            expect: &[F::SingleThreaded, F::VetoHolderUnengaged, F::MobilizerOverloaded, F::PastCloseDate],
        },
        // Healthy: commercials agreed, legal engaged; one close-date move is not a pattern.
        Deal {
            account: ADATUM,
            name: "Adatum — Treasury reporting",
            owner: "sofia.marquez",
            amount: 220_000,
            currency: "EUR",
            created: 120,
            stage: Discovery,
            moves: &[(90, Evaluation), (50, Proposal), (15, Negotiation)],
            close: Some(10),
            pushes: &[(16, 30)],
            members: vec![
                m("Claire Dubois", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Matteo Rossi", EconomicBuyer, Supportive).veto().high(),
                m("Pieter de Vries", Legal, Neutral).veto(),
                m("Henrik Larsen", TechnicalEvaluator, Supportive),
                m("Isabel Costa", Procurement, Neutral),
                m("Elena Petrova", Influencer, Supportive),
            ],
            log: vec![
                t(115, Meeting, &["Claire Dubois"], "Cash positions consolidated by hand from 14 banks."),
                t(85, Demo, &["Claire Dubois", "Henrik Larsen"], "Bank connectivity demo."),
                t(27, Meeting, &["Claire Dubois", "Matteo Rossi"], "Commercials agreed in principle."),
                t(20, Call, &["Pieter de Vries", "Isabel Costa"], "Contract redlines: data residency clause."),
                t(13, Meeting, &["Henrik Larsen", "Claire Dubois"], "Integration plan with the ERP team."),
                t(8, Call, &["Pieter de Vries"], "Legal is happy with the residency wording."),
                t(3, Meeting, &["Matteo Rossi", "Claire Dubois", "Elena Petrova"],
                  "Final terms; Matteo targets signature this month."),
            ],
            expect: &[],
        },
        // The head of compliance can veto and is opposed, but the seller is working her
        // directly: one serious factor, handled the right way.
        Deal {
            account: ADATUM,
            name: "Adatum — KYC automation",
            owner: "sofia.marquez",
            amount: 340_000,
            currency: "EUR",
            created: 70,
            stage: Discovery,
            moves: &[(55, Evaluation), (30, Proposal)],
            close: Some(50),
            pushes: &[],
            members: vec![
                m("Sophie Martin", Mobilizer, Supportive).high(),
                m("Matteo Rossi", EconomicBuyer, Supportive).veto().high(),
                m("Elena Petrova", DecisionMaker, Opposed)
                    .veto()
                    .high()
                    .notes("Prefers building in-house; worried about explaining model decisions to regulators."),
                m("Henrik Larsen", TechnicalEvaluator, Neutral),
                m("Isabel Costa", Procurement, Neutral),
                m("Pieter de Vries", Legal, Neutral),
            ],
            log: vec![
                t(65, Meeting, &["Sophie Martin"], "Onboarding backlog of 1,200 corporate clients."),
                t(27, Demo, &["Sophie Martin", "Henrik Larsen", "Elena Petrova"],
                  "Screening demo; Elena challenged explainability."),
                t(18, Meeting, &["Elena Petrova", "Henrik Larsen"],
                  "Walked Elena through the audit trail and model cards."),
                t(12, Meeting, &["Matteo Rossi", "Sophie Martin"], "Matteo supportive; wants Elena's sign-off first."),
                t(6, Call, &["Isabel Costa"], "Procurement timeline agreed."),
                t(2, Meeting, &["Elena Petrova", "Pieter de Vries"],
                  "Regulator documentation review; Elena wants an in-house option costed."),
            ],
            expect: &[F::VetoHolderOpposed],
        },
        // Healthy apart from a busy mobilizer.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Crew rostering",
            owner: "sofia.marquez",
            amount: 260_000,
            currency: "GBP",
            created: 110,
            stage: Discovery,
            moves: &[(40, Evaluation)],
            close: Some(90),
            pushes: &[],
            members: vec![
                m("Oliver Hughes", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Also leading the winter schedule change."),
                m("Emma Clarke", EconomicBuyer, Neutral).veto().high(),
                m("Lucy Ward", EndUser, Supportive),
                m("Amelia Turner", TechnicalEvaluator, Supportive),
                m("George Hall", Procurement, Neutral),
                m("Harry Bennett", Legal, Unknown),
            ],
            log: vec![
                t(105, Meeting, &["Oliver Hughes"], "Rostering rules live in one planner's head."),
                t(28, Demo, &["Oliver Hughes", "Lucy Ward", "Amelia Turner"],
                  "Rostering demo with the scheduling team."),
                t(21, Meeting, &["Emma Clarke", "Oliver Hughes"],
                  "Emma keen on fatigue-risk reporting; budget set aside."),
                t(10, Call, &["Lucy Ward", "Amelia Turner"], "Pilot roster data loaded."),
                t(4, Call, &["George Hall"], "Procurement route: the existing framework agreement."),
            ],
            expect: &[F::MobilizerOverloaded],
        },
        // Stuck in evaluation for months; only three of seven people engaged.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Maintenance tracking",
            owner: "sofia.marquez",
            amount: 95_000,
            currency: "GBP",
            created: 150,
            stage: Discovery,
            moves: &[(80, Evaluation)],
            close: Some(40),
            pushes: &[],
            members: vec![
                m("James Whitfield", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Emma Clarke", EconomicBuyer, Neutral).veto().high(),
                m("Amelia Turner", TechnicalEvaluator, Neutral),
                m("George Hall", Procurement, Unknown),
                m("Nathan Cole", EndUser, Unknown),
                m("Sophie Grant", Influencer, Unknown),
                m("Harry Bennett", Legal, Unknown).low(),
            ],
            log: vec![
                t(145, Meeting, &["James Whitfield"], "Parts traceability audit findings."),
                t(78, Demo, &["James Whitfield", "Amelia Turner"], "Evaluation kick-off."),
                t(25, Meeting, &["James Whitfield", "Amelia Turner"],
                  "Evaluation plan: parts tracking pilot on two aircraft."),
                t(16, Meeting, &["Emma Clarke", "James Whitfield"], "Emma: no budget until the pilot results are in."),
                t(7, Call, &["Amelia Turner"], "Pilot environment still not provisioned."),
                t(2, Call, &["James Whitfield"], "James chasing IT for the pilot environment."),
            ],
            expect: &[F::Stalled, F::LowCoverage],
        },
        // The CFO can veto and is opposed; met once, then silence; stalled in proposal.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Fuel analytics",
            owner: "sofia.marquez",
            amount: 175_000,
            currency: "GBP",
            created: 140,
            stage: Discovery,
            moves: &[(110, Evaluation), (75, Proposal)],
            close: Some(20),
            pushes: &[],
            members: vec![
                m("Charlotte Evans", Mobilizer, Supportive).high(),
                m("Emma Clarke", EconomicBuyer, Opposed)
                    .veto()
                    .high()
                    .notes("Wants audited savings from another carrier before any spend."),
                m("Ian Porter", DecisionMaker, Neutral),
                m("Amelia Turner", TechnicalEvaluator, Neutral),
                m("George Hall", Procurement, Unknown),
                m("Oliver Hughes", Influencer, Neutral),
            ],
            log: vec![
                t(135, Meeting, &["Charlotte Evans"], "Fuel burn 3% above plan on the A320 fleet."),
                t(100, Demo, &["Charlotte Evans", "Ian Porter", "Amelia Turner"],
                  "Fuel analytics demo for flight operations."),
                t(25, Meeting, &["Emma Clarke", "Charlotte Evans"],
                  "Emma opposed: wants audited savings from another carrier."),
                t(19, Email, &["Charlotte Evans"], "Sent a reference case study for Emma."),
            ],
            expect: &[F::VetoHolderOpposed, F::SingleThreaded, F::Stalled, F::GoingDark, F::LowCoverage],
        },
        // Discovery going well; the economic buyer is not identified yet.
        Deal {
            account: WINGTIP,
            name: "Wingtip — Field service scheduling",
            owner: "alex.morgan",
            amount: 140_000,
            currency: "GBP",
            created: 40,
            stage: Prospecting,
            moves: &[(12, Discovery)],
            close: Some(120),
            pushes: &[],
            members: vec![
                m("Isla Murray", Mobilizer, Supportive).high(),
                m("Fiona Campbell", DecisionMaker, Neutral)
                    .veto()
                    .high()
                    .notes("Will name the budget owner once the business case is in."),
                m("Ross Mackay", TechnicalEvaluator, Neutral),
                m("Zara Ahmed", Procurement, Unknown),
                m("Callum Fraser", EndUser, Supportive),
                m("Aidan Kerr", EndUser, Supportive).low(),
            ],
            log: vec![
                t(38, Call, &["Isla Murray"], "Intro: engineers drive 40% more miles than planned."),
                t(25, Meeting, &["Isla Murray", "Callum Fraser"], "Dispatch pain walk-through."),
                t(12, Demo, &["Ross Mackay", "Callum Fraser", "Aidan Kerr"], "Scheduling demo for the dispatch team."),
                t(6, Meeting, &["Fiona Campbell", "Isla Murray"],
                  "Fiona wants the business case before naming a budget owner."),
            ],
            expect: &[F::BuyingGroupGaps],
        },
        // Gone dark for six weeks: nobody engaged this month, the CFO never met.
        Deal {
            account: WINGTIP,
            name: "Wingtip — Asset performance analytics",
            owner: "alex.morgan",
            amount: 210_000,
            currency: "GBP",
            created: 130,
            stage: Discovery,
            moves: &[(55, Evaluation)],
            close: Some(35),
            pushes: &[],
            members: vec![
                m("Callum Fraser", Mobilizer, Supportive).high(),
                m("Daniel Reid", EconomicBuyer, Neutral).veto().high(),
                m("Ross Mackay", TechnicalEvaluator, Supportive),
                m("Zara Ahmed", Procurement, Unknown),
                m("Fiona Campbell", DecisionMaker, Neutral),
                m("Megan Shaw", EndUser, Supportive),
            ],
            log: vec![
                t(120, Meeting, &["Callum Fraser"], "Transformer failures: 11 unplanned outages last winter."),
                t(90, Demo, &["Callum Fraser", "Ross Mackay", "Megan Shaw"], "Predictive maintenance demo."),
                t(52, Meeting, &["Callum Fraser"], "Callum asked for a business case for Daniel."),
                t(40, Email, &["Callum Fraser"], "Sent the business case draft. No reply."),
            ],
            expect: &[F::SingleThreaded, F::VetoHolderUnengaged, F::GoingDark, F::LowCoverage],
        },
        Deal {
            account: WINGTIP,
            name: "Wingtip — Grid forecasting",
            owner: "alex.morgan",
            amount: 120_000,
            currency: "GBP",
            created: 190,
            stage: Discovery,
            moves: &[(160, Evaluation), (120, Proposal), (95, Negotiation), (70, ClosedWon)],
            close: Some(-75),
            pushes: &[],
            members: vec![
                m("Megan Shaw", Mobilizer, Supportive).high(),
                m("Daniel Reid", EconomicBuyer, Supportive).veto().high(),
                m("Ross Mackay", TechnicalEvaluator, Supportive),
                m("Zara Ahmed", Procurement, Neutral),
            ],
            log: vec![
                t(185, Meeting, &["Megan Shaw"], "Day-ahead forecast error is costing imbalance charges."),
                t(140, Demo, &["Megan Shaw", "Ross Mackay"], "Forecasting demo on last winter's data."),
                t(100, Meeting, &["Daniel Reid", "Megan Shaw", "Zara Ahmed"], "Daniel approved the budget."),
                t(72, Call, &["Zara Ahmed"], "Contract countersigned."),
            ],
            expect: &[],
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The content is consistent before any database sees it: names resolve, history runs
    /// forward from each deal's creation, and everything lies in the past.
    #[test]
    fn content_is_consistent() {
        let contacts: Vec<(&str, &str)> = ACCOUNTS
            .iter()
            .flat_map(|a| a.contacts.iter().map(move |(name, _)| (a.name, *name)))
            .collect();
        let deals = deals();
        for deal in &deals {
            assert!(ACCOUNTS.iter().any(|a| a.name == deal.account), "{}", deal.name);
            let mut previous = deal.created;
            for &(days_ago, _) in deal.moves {
                assert!(days_ago < previous && days_ago >= 1, "{}: moves run forward", deal.name);
                previous = days_ago;
            }
            for &(days_ago, _) in deal.pushes {
                assert!(days_ago < deal.created && days_ago >= 1, "{}", deal.name);
            }
            for member in &deal.members {
                assert!(
                    contacts.contains(&(deal.account, member.contact)),
                    "{}: {}",
                    deal.name,
                    member.contact
                );
            }
            for touch in &deal.log {
                assert!(touch.days_ago < deal.created && touch.days_ago >= 1, "{}", deal.name);
                for name in touch.with.iter().chain(touch.about) {
                    assert!(deal.members.iter().any(|m| m.contact == *name), "{}: {name}", deal.name);
                }
                assert!(!touch.with.is_empty(), "{}: someone takes part", deal.name);
            }
        }
        let story: Vec<_> = deals.iter().filter(|d| d.name == STORY_DEAL).collect();
        assert_eq!(story.len(), 1);
    }

    #[test]
    fn emails_are_derived_from_names() {
        assert_eq!(
            email("Dana Ruiz", "northwindhealth.com"),
            "dana.ruiz@northwindhealth.com"
        );
        assert_eq!(
            email("Megan O'Connor", "globexretail.com"),
            "megan.oconnor@globexretail.com"
        );
        assert_eq!(
            email("Pieter de Vries", "adatum-financial.eu"),
            "pieter.de.vries@adatum-financial.eu"
        );
    }

    #[test]
    fn clock_keeps_content_in_the_past_and_clear_of_thresholds() {
        for now in ["2026-03-10T00:00:00Z", "2026-03-10T12:34:56Z", "2026-03-10T23:59:59Z"] {
            let now = DateTime::parse_from_rfc3339(now).expect("time").to_utc();
            let clock = Clock::new(now);
            for days in 1..400 {
                let elapsed = now - clock.at(days);
                assert!(elapsed > TimeDelta::days(days) - TimeDelta::hours(17), "{now} {days}");
                assert!(elapsed < TimeDelta::days(days) + TimeDelta::hours(15), "{now} {days}");
            }
            assert_eq!(clock.date(-1).to_string(), "2026-03-09");
        }
    }
}
