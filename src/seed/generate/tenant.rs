//! One tenant's content, drawn deal by deal from its own seeded generator, as domain records.
//!
//! A deal is drawn in phases, each its own function: its stage path ([`StagePath`]), its close
//! dates, its buying group, how the seller works the group ([`Threading`]) and the
//! interactions that follow from it; then the records are assembled, their risk history
//! replayed as an import backfills it ([`backfill::risk_history`]) and, for open deals,
//! assessed with the same engine and the same records the sweep would read back.
//!
//! Amount histories came later than the rest and are drawn from a second generator of their
//! own ([`amount_history`]), so that adding them left every other row as it was, ids included;
//! the ids of replayed risk-history points come from a third, for the same reason.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SubsecRound, TimeDelta, Utc};
use rand::rngs::StdRng;
use rand::seq::{IndexedMutRandom, IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use uuid::{Builder, Uuid};

use super::words::{
    ACCOUNT_PREFIXES, ACCOUNT_SUFFIXES, FILLER_ROLES, FIRST_NAMES, LAST_NAMES, NOTES, OPEN_STAGE_WEIGHTS, PRODUCTS,
    REGIONS, ROLE_ODDS, TITLES, TOPICS,
};
use super::{Generated, Plan};
use crate::domain::backfill;
use crate::domain::deal_record::{DealHistory, DealRecord};
use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, Stage, Stance};
use crate::domain::records::{
    Account, AmountChange, CloseDateChange, Contact, Deal, Interaction, Link, Member, RiskPoint, StageChange,
    StoredRisk,
};
use crate::domain::risk::RiskPolicy;
use crate::store::bulk::Batch;

const DAY: i64 = 86_400;

/// Mixed into a tenant's seed for its amount-history generator.
const AMOUNT_STREAM: u64 = 0xA3C5_9AC3_D1B2_E4F7;

/// Mixed into a tenant's seed for the ids of its backfilled risk-history points.
const RISK_STREAM: u64 = 0x5D1E_7B3A_C0F4_2869;

/// Amounts are rounded to 100 units of the currency (a step in cents).
const AMOUNT_STEP: i64 = 100 * 100;

/// What the generator does with the risk of each deal.
#[derive(Debug, Clone, Copy)]
pub(super) enum Assess<'a> {
    /// Replay every deal's risk history as an import backfills it; assess each open deal at
    /// the anchor and store the result with the deal (and as a last history point when it
    /// differs from the replay's last).
    Store(&'a RiskPolicy),
    /// Replay every deal's risk history; assess open deals only to count them by level (the
    /// sweep stores their assessment, and its history point, later).
    Count(&'a RiskPolicy),
    /// Leave it unassessed: the record stream carries no risk (the importer assesses).
    Skip,
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

/// A drawn buying-group member: the person (index into the company's people) and attributes.
struct Drawn {
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

/// The stages a deal went through, and when.
struct StagePath {
    stages: Vec<Stage>,
    times: Vec<DateTime<Utc>>,
    final_stage: Stage,
    closed: bool,
    /// When the deal entered its final stage.
    entered: DateTime<Utc>,
}

/// One tenant's content, drawn deal by deal from its own seeded generator.
pub(super) struct TenantGenerator {
    rng: StdRng,
    /// Amount histories only (see the module header).
    amounts: StdRng,
    /// Risk-history point ids only, so that the replay never changes the other rows.
    risk: StdRng,
    anchor: DateTime<Utc>,
    days: i64,
    members: usize,
    interactions_per_deal: usize,
    account_count: usize,
    companies: Vec<Company>,
    owners: Vec<String>,
}

impl TenantGenerator {
    pub(super) fn new(plan: &Plan, index: usize, deals: usize) -> TenantGenerator {
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
            amounts: StdRng::seed_from_u64(seed ^ AMOUNT_STREAM),
            risk: StdRng::seed_from_u64(seed ^ RISK_STREAM),
            anchor: plan.as_of.trunc_subsecs(0),
            days: i64::from(plan.days),
            members: plan.members,
            interactions_per_deal: plan.interactions_per_deal,
            account_count: (deals / 5).max(1),
            companies: Vec::new(),
            owners,
        }
    }

    /// The instant the content is relative to.
    pub(super) fn anchor(&self) -> DateTime<Utc> {
        self.anchor
    }

    /// A UUIDv7 for a row created at `at`: ordered by time like the API's ids, but drawn
    /// from the seeded generator so that reruns give the same ids.
    fn id(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
        let mut tail = [0u8; 10];
        rng.fill(&mut tail);
        Builder::from_unix_timestamp_millis(u64::try_from(at.timestamp_millis()).unwrap_or(0), &tail).into_uuid()
    }

    /// The tenant's accounts, each with `members + 6` people to draw buying groups from.
    pub(super) fn accounts_and_contacts(&mut self) -> Batch {
        let rng = &mut self.rng;
        let mut batch = Batch::default();
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
            batch.accounts.push(Account {
                external_id: None,
                id,
                name: name.clone(),
                domain: Some(domain.clone()),
                industry: Some(industry.to_owned()),
                created_at: created,
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
                batch.contacts.push(Contact {
                    external_id: None,
                    id: person.id,
                    account_id: id,
                    full_name: person.name.clone(),
                    title: Some(title.to_owned()),
                    email: Some(format!("{}.{}@{domain}", slug(first), slug(last))),
                    created_at: at,
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
        batch
    }

    /// The next `n` deals with everything that hangs off them; risk histories replayed and
    /// open deals assessed at the anchor as `assess` says. The rows do not depend on
    /// `assess`, only the stored risk and risk history.
    pub(super) fn deals(&mut self, n: usize, assess: Assess<'_>) -> Generated {
        let mut generated = Generated::default();
        for _ in 0..n {
            self.deal(&mut generated, assess);
        }
        generated
    }

    fn deal(&mut self, out: &mut Generated, assess: Assess<'_>) {
        let anchor = self.anchor;
        let (group_size, interactions_per_deal, days) = (self.members, self.interactions_per_deal, self.days);
        let rng = &mut self.rng;
        let amounts_rng = &mut self.amounts;
        let risk_rng = &mut self.risk;
        let Some(company) = self.companies.choose_mut(rng) else {
            return;
        };
        let owner = self.owners.choose(rng).cloned().unwrap_or_default();
        let age = rng.random_range(20 * DAY..=days * DAY);
        let created = anchor - TimeDelta::seconds(age);
        let id = Self::id(rng, created);

        let path = stage_path(rng, created, age, anchor);
        let (close_dates, push_times) = close_dates(rng, created, age, anchor, &path);
        let members = buying_group(rng, &company.people, group_size, created);
        let threading = Threading::draw(rng, &members, &company.people);
        let touches = threading.touches(rng, interactions_per_deal, created, age, anchor, &path);

        // The deal itself.
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
        let updated = path
            .times
            .iter()
            .chain(&push_times)
            .copied()
            .max()
            .unwrap_or(created)
            .max(created);
        let deal = Deal {
            external_id: None,
            id,
            account_id: company.id,
            name,
            owner_id: owner.clone(),
            stage: path.final_stage,
            amount_cents,
            currency: currency.to_owned(),
            expected_close_date: close_dates.last().copied(),
            stage_entered_at: path.entered,
            closed_at: path.closed.then_some(path.entered),
            created_at: created,
            updated_at: updated,
            version: i32::try_from(path.stages.len() + push_times.len()).unwrap_or(i32::MAX),
            risk: StoredRisk::UNASSESSED,
        };

        // Its records. Stage and close-date change ids are drawn after the history point's
        // (below), so they are filled in then.
        let stage_changes: Vec<StageChange> = path
            .stages
            .iter()
            .zip(&path.times)
            .enumerate()
            .map(|(i, (to, at))| StageChange {
                id: Uuid::nil(),
                opportunity_id: id,
                from: i.checked_sub(1).map(|p| path.stages[p]),
                to: *to,
                at: *at,
                by: owner.clone(),
            })
            .collect();
        let close_date_changes: Vec<CloseDateChange> = close_dates
            .iter()
            .enumerate()
            .map(|(i, to)| CloseDateChange {
                id: Uuid::nil(),
                opportunity_id: id,
                from: i.checked_sub(1).and_then(|p| close_dates.get(p).copied()),
                to: Some(*to),
                at: if i == 0 { created } else { push_times[i - 1] },
                by: owner.clone(),
            })
            .collect();
        let group: Vec<Arc<Member>> = members
            .iter()
            .map(|m| {
                let person = &company.people[m.person];
                Arc::new(Member {
                    external_id: None,
                    id: m.id,
                    opportunity_id: id,
                    contact_id: person.id,
                    contact_name: person.name.clone(),
                    contact_title: Some(person.title.to_owned()),
                    role: m.role,
                    stance: m.stance,
                    can_veto: m.can_veto,
                    influence: m.influence,
                    bandwidth: m.bandwidth,
                    notes: m.notes.map(str::to_owned),
                    created_at: m.created_at,
                    removed_at: None,
                })
            })
            .collect();
        let mut history = DealHistory {
            interactions: Vec::with_capacity(touches.len()),
            links: Vec::new(),
            stage_changes,
            close_date_changes,
        };
        for t in touches {
            let link = |index: u16, direct: bool| Link {
                interaction_id: t.id,
                member_id: members[usize::from(index)].id,
                opportunity_id: id,
                direct,
            };
            history.links.extend(t.participants.iter().map(|i| link(*i, true)));
            history.links.extend(t.about.iter().map(|i| link(*i, false)));
            history.interactions.push(Arc::new(Interaction {
                external_id: None,
                id: t.id,
                opportunity_id: id,
                kind: t.kind,
                occurred_at: t.occurred_at,
                summary: t.summary,
                logged_by: owner.clone(),
                created_at: t.logged_at,
            }));
        }

        // Its assessment and its risk history, from the very records being written, as the
        // sweep and an import's backfill would read them.
        let policy = match assess {
            Assess::Store(policy) | Assess::Count(policy) => Some(policy),
            Assess::Skip => None,
        };
        let (mut deal, group, mut history, assessed, mut points) = match policy {
            Some(policy) => {
                let record = DealRecord::new(Arc::new(deal), group, Arc::new(history));
                let risk = (!path.closed).then(|| record.assess_for_storage(policy, anchor));
                let points = backfill::risk_history(&record.deal, &record.members, &record.history, policy, anchor);
                let (deal, group, history) = record.into_parts();
                (
                    Arc::unwrap_or_clone(deal),
                    group,
                    Arc::unwrap_or_clone(history),
                    risk,
                    points,
                )
            }
            None => (deal, group, history, None, Vec::new()),
        };
        // The replay stamps points with `now_v7` ids; reruns must give the same ids.
        for point in &mut points {
            point.id = Self::id(risk_rng, point.at);
        }
        if !path.closed {
            out.open += 1;
            // Drawn whatever `assess` says, so that it never changes the rest of the stream.
            let point_id = Self::id(rng, anchor);
            if let Some(risk) = assessed {
                out.levels[risk.level.index()] += 1;
                if matches!(assess, Assess::Store(_)) {
                    deal.risk = risk;
                    // The replay's last instant is the anchor's midnight: when the assessment
                    // at the anchor differs, the sweep at the anchor appends it, so the last
                    // point is always the stored assessment.
                    let same = points
                        .last()
                        .is_some_and(|p| (p.score, p.level, p.factors) == (risk.score, risk.level, risk.factors));
                    if !same {
                        points.push(RiskPoint {
                            id: point_id,
                            opportunity_id: id,
                            at: anchor,
                            score: risk.score,
                            level: risk.level,
                            factors: risk.factors,
                        });
                    }
                }
            }
        }
        out.batch.risk_points.append(&mut points);
        for change in &mut history.stage_changes {
            change.id = Self::id(rng, change.at);
        }
        for change in &mut history.close_date_changes {
            change.id = Self::id(rng, change.at);
        }
        // Re-scoped until it closed (or until now).
        let until = deal.closed_at.unwrap_or(anchor);
        let amount_changes = amount_history(amounts_rng, &deal, until);
        let batch = &mut out.batch;
        batch.deals.push(deal);
        batch.stage_changes.append(&mut history.stage_changes);
        batch.close_date_changes.append(&mut history.close_date_changes);
        batch.amount_changes.extend(amount_changes);
        batch.members.extend(group.into_iter().map(Arc::unwrap_or_clone));
        batch
            .interactions
            .extend(history.interactions.into_iter().map(Arc::unwrap_or_clone));
        batch.links.append(&mut history.links);
    }
}

/// About 40 % of deals were re-scoped 1–3 times over their life, up or down by 10–50 % each
/// time: their amount history, oldest first, from the amount they were created with (at
/// creation) to the one they have now (`deal.amount_cents`), each change strictly later than
/// the one before and no later than `until`. Empty for the others (their amount never moved,
/// as for a deal created through the API and never updated).
///
/// Drawn backwards from the amount the deal has, which the main generator decided before
/// amount histories existed; every amount is a multiple of 100 units, like the deals'.
fn amount_history(rng: &mut StdRng, deal: &Deal, until: DateTime<Utc>) -> Vec<AmountChange> {
    if !rng.random_bool(0.4) {
        return Vec::new();
    }
    let changes = pick(rng, &[(1_usize, 55), (2, 30), (3, 15)]);
    let span = usize::try_from((until - deal.created_at).num_seconds()).unwrap_or(0);
    let changes = changes.min(span);
    if changes == 0 {
        return Vec::new();
    }
    let mut offsets: Vec<usize> = rand::seq::index::sample(rng, span, changes).into_vec();
    offsets.sort_unstable();
    // The amounts, newest first: each the one before it in time, re-scoped up or down.
    let mut amounts = vec![deal.amount_cents];
    for _ in 0..changes {
        let later = amounts[amounts.len() - 1];
        let rescope = rng.random_range(0.1..=0.5);
        let up = rng.random_bool(0.5);
        let factor = if up { 1.0 + rescope } else { 1.0 - rescope };
        let mut earlier = (((later as f64 / factor) / AMOUNT_STEP as f64).round() as i64).max(1) * AMOUNT_STEP;
        if earlier == later {
            // Too small to move by a step when rounded: one step is the smallest re-scope.
            earlier = if up && later > AMOUNT_STEP {
                later - AMOUNT_STEP
            } else {
                later + AMOUNT_STEP
            };
        }
        amounts.push(earlier);
    }
    amounts.reverse();
    let times = std::iter::once(deal.created_at).chain(
        offsets
            .iter()
            .map(|s| deal.created_at + TimeDelta::seconds(i64::try_from(*s + 1).unwrap_or(i64::MAX))),
    );
    let mut from = None;
    amounts
        .into_iter()
        .zip(times)
        .map(|(to, at)| {
            let change = AmountChange {
                id: TenantGenerator::id(rng, at),
                opportunity_id: deal.id,
                from,
                to,
                at,
                by: deal.owner_id.clone(),
            };
            from = Some(to);
            change
        })
        .collect()
}

/// Stages: from PROSPECTING up to where the deal is now, skipping some on the way; when it
/// entered the last one (long ago for stalled deals); the moves spread evenly before that.
fn stage_path(rng: &mut StdRng, created: DateTime<Utc>, age: i64, anchor: DateTime<Utc>) -> StagePath {
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
    let mut stages = vec![Stage::Prospecting];
    for (i, stage) in Stage::ALL.iter().enumerate().take(top + 1).skip(1) {
        if i == top || rng.random_bool(0.8) {
            stages.push(*stage);
        }
    }
    if closed {
        stages.push(final_stage);
    }
    let stalled = !closed && rng.random_bool(0.3);
    let entered = if stages.len() == 1 {
        created
    } else if closed {
        anchor - TimeDelta::seconds(rng.random_range(DAY / 2..age / 2))
    } else if stalled && age > 62 * DAY {
        anchor - TimeDelta::seconds(rng.random_range(61 * DAY..=(age - DAY).min(150 * DAY)))
    } else {
        anchor - TimeDelta::seconds(rng.random_range(DAY..=(age - DAY).min(55 * DAY)))
    };
    let moves = i64::try_from(stages.len() - 1).unwrap_or(1).max(1);
    let span = (entered - created).num_seconds();
    let times = (0..stages.len())
        .map(|i| created + TimeDelta::seconds(span * i64::try_from(i).unwrap_or(0) / moves))
        .collect();
    StagePath {
        stages,
        times,
        final_stage,
        closed,
        entered,
    }
}

/// The close date: set at creation, perhaps pushed later a few times. Returns the dates in
/// the order they were set, and when each push after the first happened.
fn close_dates(
    rng: &mut StdRng,
    created: DateTime<Utc>,
    age: i64,
    anchor: DateTime<Utc>,
    path: &StagePath,
) -> (Vec<NaiveDate>, Vec<DateTime<Utc>>) {
    let today = anchor.date_naive();
    let mut dates: Vec<NaiveDate> = Vec::new();
    if rng.random_bool(0.95) {
        let age_days = age / DAY;
        let last = if path.closed {
            path.entered.date_naive() + TimeDelta::days(rng.random_range(0..10))
        } else if rng.random_bool(0.15) {
            today - TimeDelta::days(rng.random_range(1..=(age_days - 8).min(45)))
        } else {
            today + TimeDelta::days(rng.random_range(5..=120))
        };
        let floor = created.date_naive() + TimeDelta::days(7);
        dates.push(last);
        let pushes = pick(rng, &[(0, 60), (1, 20), (2, 12), (3, 8)]);
        let mut date = last;
        for _ in 0..pushes {
            let room = (date - floor).num_days();
            if room < 2 {
                break;
            }
            date -= TimeDelta::days(rng.random_range(1..=room.min(60)));
            dates.push(date);
        }
        dates.reverse();
    }
    let push_limit = if path.closed { path.entered } else { anchor };
    let mut push_times: Vec<DateTime<Utc>> = (1..dates.len())
        .map(|_| created + TimeDelta::seconds(rng.random_range(1..=(push_limit - created).num_seconds().max(1))))
        .collect();
    push_times.sort();
    (dates, push_times)
}

/// The buying group: the key roles usually there, filled up with the rest; sometimes an
/// opposed veto holder.
fn buying_group(rng: &mut StdRng, people: &[Person], size: usize, created: DateTime<Utc>) -> Vec<Drawn> {
    let picks = rand::seq::index::sample(rng, people.len(), size.min(people.len()));
    let mut roles: Vec<BuyingRole> = Vec::with_capacity(size);
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
    let mut members: Vec<Drawn> = picks
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
    members
}

/// One member's attributes, as their role makes likely.
fn member(
    rng: &mut StdRng,
    role: BuyingRole,
    person: usize,
    created_at: DateTime<Utc>,
    champions_overloaded: bool,
) -> Drawn {
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
        // An opposed veto holder is decided per deal (see `buying_group`), not by chance per member.
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
    Drawn {
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

/// How the seller works one deal's group: the thread (their contact), whom they meet
/// (`direct`) and whom they only talk about (`proxies`).
struct Threading<'a> {
    members: &'a [Drawn],
    people: &'a [Person],
    thread: u16,
    style: Style,
    direct: Vec<u16>,
    proxies: Vec<u16>,
}

impl<'a> Threading<'a> {
    fn draw(rng: &mut StdRng, members: &'a [Drawn], people: &'a [Person]) -> Threading<'a> {
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
        let thread = u16::try_from(thread).unwrap_or(0);
        let (direct, proxies) = pools(rng, members, thread, style);
        Threading {
            members,
            people,
            thread,
            style,
            direct,
            proxies,
        }
    }

    /// The deal's interactions: evenly over its life up to its last activity; dark deals went
    /// quiet weeks ago, closed ones at their close.
    fn touches(
        &self,
        rng: &mut StdRng,
        per_deal: usize,
        created: DateTime<Utc>,
        age: i64,
        anchor: DateTime<Utc>,
        path: &StagePath,
    ) -> Vec<Touch> {
        let count = if per_deal == 0 {
            0
        } else {
            ((per_deal as f64) * rng.random_range(0.5..1.5)).round().max(1.0) as usize
        };
        let dark = !path.closed && rng.random_bool(0.2);
        let last_activity = if path.closed {
            path.entered - TimeDelta::seconds(rng.random_range(0..=3 * DAY))
        } else if dark {
            anchor - TimeDelta::seconds(rng.random_range(15 * DAY..=(age - DAY).min(50 * DAY)))
        } else {
            anchor - TimeDelta::seconds(rng.random_range(0..=2 * DAY))
        }
        .max(created + TimeDelta::hours(1));
        let active = (last_activity - created).num_seconds();
        (0..count)
            .map(|i| {
                let occurred_at = if i + 1 == count {
                    last_activity
                } else {
                    created + TimeDelta::seconds(rng.random_range(0..=active))
                };
                self.touch(rng, occurred_at, anchor)
            })
            .collect()
    }

    fn touch(&self, rng: &mut StdRng, occurred_at: DateTime<Utc>, anchor: DateTime<Utc>) -> Touch {
        let (members, direct, thread) = (self.members, &self.direct, self.thread);
        let participants: Vec<u16> = match self.style {
            Style::MultiThreaded => {
                let n = pick(rng, &[(1, 50), (2, 35), (3, 15)]).min(direct.len());
                direct.choose_multiple(rng, n).copied().collect()
            }
            Style::SingleThreaded => {
                let mut p = vec![thread];
                if rng.random_bool(0.15) {
                    let other = rng.random_range(0..members.len());
                    if let Ok(other) = u16::try_from(other)
                        && other != thread
                    {
                        p.push(other);
                    }
                }
                p
            }
            Style::ThroughProxy => {
                let n = pick(rng, &[(1, 60), (2, 30), (3, 10)]).min(direct.len());
                let mut p = vec![thread];
                p.extend(
                    direct
                        .iter()
                        .copied()
                        .filter(|i| *i != thread)
                        .collect::<Vec<_>>()
                        .choose_multiple(rng, n.saturating_sub(1))
                        .copied(),
                );
                p
            }
        };
        let about_odds = match self.style {
            Style::MultiThreaded => 0.15,
            Style::SingleThreaded => 0.1,
            Style::ThroughProxy => 0.45,
        };
        let about: Vec<u16> = if rng.random_bool(about_odds) {
            let candidates: Vec<u16> = self
                .proxies
                .iter()
                .chain(direct)
                .copied()
                .filter(|i| !participants.contains(i))
                .collect();
            // Proxies come first in `candidates`, so the seller mostly talks about those they skip.
            let n = rng.random_range(1..=2).min(candidates.len());
            let pool = &candidates[..candidates.len().min(self.proxies.len().max(n))];
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
                .and_then(|m| self.people.get(m.person))
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
}

/// Whom the seller meets (`direct`) and whom they only talk about (`proxies`), by style.
fn pools(rng: &mut StdRng, members: &[Drawn], thread: u16, style: Style) -> (Vec<u16>, Vec<u16>) {
    let all: Vec<u16> = (0..members.len()).filter_map(|i| u16::try_from(i).ok()).collect();
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
        Style::SingleThreaded => vec![thread],
        Style::ThroughProxy => {
            let helpers: Vec<u16> = all
                .iter()
                .copied()
                .filter(|i| {
                    let m = &members[usize::from(*i)];
                    *i != thread && !m.can_veto && m.influence != Influence::High && m.stance != Stance::Opposed
                })
                .collect();
            let k = rng.random_range(0..=2).min(helpers.len());
            let mut chosen = vec![thread];
            chosen.extend(helpers.choose_multiple(rng, k).copied());
            chosen
        }
    };
    if !direct.contains(&thread) {
        direct.push(thread);
    }
    direct.sort_unstable();
    let proxies = all.into_iter().filter(|i| !direct.contains(i)).collect();
    (direct, proxies)
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
