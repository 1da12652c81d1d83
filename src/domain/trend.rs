//! Pipeline over time (SPEC §8): the instants a trend samples (interval starts, UTC), and each
//! point's figures from the aggregates of the pipeline at its instant plus the deals created,
//! won and lost during its interval. Pure: the database supplies the aggregates.

use std::collections::BTreeMap;

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::{RiskLevel, Stage};
use super::pipeline::{Amounts, Bucket, Summary, money, summarize};
use super::query::DealFilter;
use super::{AppError, AppResult};

/// Most points one trend may have.
pub const MAX_POINTS: usize = 400;

/// How far apart a trend's points are. Weeks start on Monday, months on the 1st, all in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Interval {
    Day,
    Week,
    Month,
}

impl Interval {
    /// The first interval start on or after `day`.
    fn first_start(self, day: NaiveDate) -> Option<NaiveDate> {
        match self {
            Interval::Day => Some(day),
            Interval::Week => {
                let to_monday = (7 - day.weekday().num_days_from_monday()) % 7;
                day.checked_add_days(Days::new(u64::from(to_monday)))
            }
            Interval::Month if day.day() == 1 => Some(day),
            Interval::Month => day.with_day(1)?.checked_add_months(Months::new(1)),
        }
    }

    /// The start of the interval after the one starting on `start`.
    fn next(self, start: NaiveDate) -> Option<NaiveDate> {
        match self {
            Interval::Day => start.checked_add_days(Days::new(1)),
            Interval::Week => start.checked_add_days(Days::new(7)),
            Interval::Month => start.checked_add_months(Months::new(1)),
        }
    }
}

/// 00:00 UTC of `day`.
fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// One point of a trend: its instant and the end of the stretch whose flows it reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The interval's start, 00:00 UTC: the instant the point's state describes.
    pub at: DateTime<Utc>,
    /// Where its flows end (exclusive): the next point's instant, and for the last point the
    /// end of its interval or the end of the day `to`, whichever comes first (deals created
    /// or closed after `to` do not appear).
    pub until: DateTime<Utc>,
}

/// The points of a trend: one per interval start inside [`from`, `to`] (none when no start
/// falls inside). `from` after `to`, or more than [`MAX_POINTS`] points, is bad input
/// naming the argument.
pub fn windows(from: NaiveDate, to: NaiveDate, interval: Interval) -> AppResult<Vec<Window>> {
    if from > to {
        return Err(AppError::bad_input("from", format!("{from} is after `to` ({to})")));
    }
    let mut starts = Vec::new();
    let mut next = interval.first_start(from);
    while let Some(day) = next.filter(|d| *d <= to) {
        if starts.len() == MAX_POINTS {
            return Err(AppError::bad_input(
                "interval",
                format!(
                    "{from} to {to} by {interval:?} has more than {MAX_POINTS} points; choose a longer \
                     interval or a shorter range"
                ),
            ));
        }
        starts.push(day);
        next = interval.next(day);
    }
    let end_of_to = to.succ_opt().map(midnight);
    Ok(starts
        .iter()
        .enumerate()
        .map(|(i, day)| {
            let until = match starts.get(i + 1) {
                Some(following) => midnight(*following),
                None => {
                    let interval_end = interval.next(*day).map(midnight);
                    match (interval_end, end_of_to) {
                        (Some(a), Some(b)) => a.min(b),
                        (a, b) => a.or(b).unwrap_or(DateTime::<Utc>::MAX_UTC),
                    }
                }
            };
            Window {
                at: midnight(*day),
                until,
            }
        })
        .collect())
}

/// Deals of one currency that were created, or closed won or lost, during a stretch (as the
/// pipeline stood at its end), with the closed deals' amounts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flow {
    pub currency: String,
    pub created: i64,
    pub won: i64,
    pub won_cents: i64,
    pub lost: i64,
    pub lost_cents: i64,
}

/// One currency of a point: its open deals at the instant and its flows during the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyPoint {
    pub currency: String,
    pub open_count: i64,
    pub amount: Decimal,
    /// Σ amount × stage probability of the open deals.
    pub weighted_amount: Decimal,
    pub created: i64,
    pub won: i64,
    pub lost: i64,
    /// Of the open deals in this currency.
    pub average_risk_score: Option<f64>,
    /// The open deals of this currency per open stage ([`OPEN_STAGES`] order): how many, and
    /// their amount in cents.
    pub stage_counts: [i64; OPEN_STAGES.len()],
    pub stage_cents: [i64; OPEN_STAGES.len()],
    /// The open deals of this currency per stored risk level (`RiskLevel::ALL` order).
    pub level_counts: [i64; 4],
}

/// The stages a deal is open in, in their order.
pub const OPEN_STAGES: [Stage; 5] = [
    Stage::Prospecting,
    Stage::Discovery,
    Stage::Evaluation,
    Stage::Proposal,
    Stage::Negotiation,
];

/// One point of `pipelineTrend`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The pipeline at the point's instant, as `pipelineHealth(asOf:)` summarizes it.
    pub summary: Summary,
    pub created: i64,
    pub won: i64,
    pub lost: i64,
    pub won_amounts: Amounts,
    pub lost_amounts: Amounts,
    /// A row per currency with open deals at the instant or flows during the interval.
    pub by_currency: Vec<CurrencyPoint>,
}

/// One currency's open deals by stage and level, while a point is summed.
#[derive(Default)]
struct Breakdown {
    stage_counts: [i64; OPEN_STAGES.len()],
    stage_cents: [i64; OPEN_STAGES.len()],
    level_counts: [i64; 4],
}

/// The point at `at` from the aggregates of the pipeline then (`buckets`, the same rows
/// `pipelineHealth(asOf: at)` summarizes) and the flows of its interval.
pub fn point(buckets: &[Bucket], flows: &[Flow], at: DateTime<Utc>) -> TrendPoint {
    let summary = summarize(buckets, at);
    let mut won_amounts = Amounts::default();
    let mut lost_amounts = Amounts::default();
    let (mut created, mut won, mut lost) = (0, 0, 0);
    // Per currency: (created, won, lost), (score sum, open count) of the open deals, and
    // their breakdown by stage and level.
    let mut currencies: BTreeMap<&str, ([i64; 3], [i64; 2], Breakdown)> = BTreeMap::new();
    for f in flows.iter().filter(|f| f.created + f.won + f.lost > 0) {
        created += f.created;
        won += f.won;
        lost += f.lost;
        if f.won > 0 {
            won_amounts.add(&f.currency, f.won_cents);
        }
        if f.lost > 0 {
            lost_amounts.add(&f.currency, f.lost_cents);
        }
        let entry = currencies.entry(&f.currency).or_default();
        entry.0[0] += f.created;
        entry.0[1] += f.won;
        entry.0[2] += f.lost;
    }
    for b in buckets.iter().filter(|b| !b.stage.is_closed() && b.count > 0) {
        let entry = currencies.entry(&b.currency).or_default();
        entry.1[0] += b.risk_score_sum;
        entry.1[1] += b.count;
        if let Some(i) = OPEN_STAGES.iter().position(|s| *s == b.stage) {
            entry.2.stage_counts[i] += b.count;
            entry.2.stage_cents[i] += b.amount_cents;
        }
        entry.2.level_counts[b.level.index()] += b.count;
    }
    let by_currency = currencies
        .into_iter()
        .map(|(currency, ([created, won, lost], [score_sum, open], breakdown))| {
            let total = summary.totals.iter().find(|t| t.currency == currency);
            CurrencyPoint {
                currency: currency.to_owned(),
                open_count: open,
                amount: total.map_or_else(|| money(0), |t| t.amount),
                weighted_amount: total.map_or_else(|| money(0), |t| t.weighted_amount),
                created,
                won,
                lost,
                average_risk_score: (open > 0).then(|| score_sum as f64 / open as f64),
                stage_counts: breakdown.stage_counts,
                stage_cents: breakdown.stage_cents,
                level_counts: breakdown.level_counts,
            }
        })
        .collect();
    TrendPoint {
        summary,
        created,
        won,
        lost,
        won_amounts,
        lost_amounts,
        by_currency,
    }
}

// ---- the sweep ----------------------------------------------------------------------------

/// A deal's figures at one instant: what the filter's time-varying conditions and the sums
/// read (SPEC §8, "History rules for as of").
#[derive(Debug, Clone, PartialEq)]
pub struct DealState {
    pub stage: Stage,
    pub stage_entered_at: DateTime<Utc>,
    pub amount_cents: i64,
    pub expected_close_date: Option<NaiveDate>,
    pub risk_score: i64,
    pub risk_level: RiskLevel,
    pub risk_factor_mask: i64,
    /// In history, its stage entry when its stage is a closed one.
    pub closed_at: Option<DateTime<Utc>>,
}

/// A deal of a trend: who it is, and its state before any recorded change (its first
/// recorded values, history being taken to start at creation) and now.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendDeal {
    pub id: Uuid,
    pub currency: String,
    pub created_at: DateTime<Utc>,
    /// Its state from `created_at` until its first change: each history's first value (else
    /// today's), in its stage since creation, unassessed.
    pub first: DealState,
    /// Its state as stored now (what an instant not in the past reads).
    pub now: DealState,
}

/// One recorded change, in the order (instant, id) within its history.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Stage(Stage),
    Amount(i64),
    CloseDate(Option<NaiveDate>),
    Risk { score: i64, level: RiskLevel, mask: i64 },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub deal: Uuid,
    pub at: DateTime<Utc>,
    pub change: Change,
}

/// The filter's conditions that a deal's history can change (stage, amount, close date,
/// stored risk, closing); the rest (owner, account, currency, name, external ID, creation)
/// hold for a deal at every instant and are left to the query that reads the deals.
pub fn changing_conditions(filter: &DealFilter) -> DealFilter {
    DealFilter {
        stages: filter.stages.clone(),
        open: filter.open,
        risk_levels: filter.risk_levels.clone(),
        risk_factor: filter.risk_factor,
        min_amount_cents: filter.min_amount_cents,
        max_amount_cents: filter.max_amount_cents,
        close_date_from: filter.close_date_from,
        close_date_to: filter.close_date_to,
        closed_from: filter.closed_from,
        closed_to: filter.closed_to,
        ..DealFilter::default()
    }
}

/// The conditions [`changing_conditions`] leaves out.
pub fn lasting_conditions(filter: &DealFilter) -> DealFilter {
    DealFilter {
        owner_id: filter.owner_id.clone(),
        account_id: filter.account_id,
        matches_nothing: filter.matches_nothing,
        currency: filter.currency.clone(),
        name_contains: filter.name_contains.clone(),
        external_ids: filter.external_ids.clone(),
        created_from: filter.created_from,
        created_to: filter.created_to,
        ..DealFilter::default()
    }
}

/// Whether `state` meets the [`changing_conditions`] of `filter`, as the SQL condition reads
/// them (a missing close date meets no close-date bound).
fn meets(filter: &DealFilter, s: &DealState) -> bool {
    let within = |value: Option<NaiveDate>, from: Option<NaiveDate>, to: Option<NaiveDate>| {
        (from.is_none() && to.is_none())
            || value.is_some_and(|v| from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t))
    };
    let closed_within = match (filter.closed_from, filter.closed_to) {
        (None, None) => true,
        (from, to) => s.closed_at.is_some_and(|at| {
            from.is_none_or(|f| at >= midnight(f))
                && to.is_none_or(|t| t.succ_opt().is_none_or(|next| at < midnight(next)))
        }),
    };
    filter.stages.as_ref().is_none_or(|stages| stages.contains(&s.stage))
        && filter.open.is_none_or(|open| open != s.stage.is_closed())
        && filter
            .risk_levels
            .as_ref()
            .is_none_or(|levels| levels.contains(&s.risk_level))
        && filter
            .risk_factor
            .is_none_or(|code| s.risk_factor_mask & (1_i64 << code.index()) != 0)
        && filter.min_amount_cents.is_none_or(|min| s.amount_cents >= min)
        && filter.max_amount_cents.is_none_or(|max| s.amount_cents <= max)
        && within(s.expected_close_date, filter.close_date_from, filter.close_date_to)
        && closed_within
}

/// The deals of a trend as they stand at one instant after another, advanced by their
/// recorded changes in time order: memory for one state per deal, whatever the history.
pub struct Sweep {
    deals: Vec<TrendDeal>,
    states: Vec<DealState>,
    index: HashMap<Uuid, usize>,
    /// The [`changing_conditions`] of the trend's filter.
    filter: DealFilter,
}

impl Sweep {
    pub fn new(deals: Vec<TrendDeal>, filter: &DealFilter) -> Sweep {
        let states = deals.iter().map(|d| d.first.clone()).collect();
        let index = deals.iter().enumerate().map(|(i, d)| (d.id, i)).collect();
        Sweep {
            deals,
            states,
            index,
            filter: changing_conditions(filter),
        }
    }

    /// Applies a change (events must come in (instant, id) order within each history; a
    /// change of a deal outside the trend is ignored).
    pub fn apply(&mut self, event: &Event) {
        let Some(state) = self.index.get(&event.deal).and_then(|i| self.states.get_mut(*i)) else {
            return;
        };
        match &event.change {
            Change::Stage(stage) => {
                state.stage = *stage;
                state.stage_entered_at = event.at;
                state.closed_at = stage.is_closed().then_some(event.at);
            }
            Change::Amount(cents) => state.amount_cents = *cents,
            Change::CloseDate(date) => state.expected_close_date = *date,
            Change::Risk { score, level, mask } => {
                state.risk_score = *score;
                state.risk_level = *level;
                state.risk_factor_mask = *mask;
            }
        }
    }

    /// The deals that count at `at` with their state then: with `stored_now`, every deal as
    /// stored now (an instant not in the past); else those created by `at`, as swept.
    fn at(&self, at: DateTime<Utc>, stored_now: bool) -> impl Iterator<Item = (&TrendDeal, &DealState)> {
        self.deals
            .iter()
            .zip(&self.states)
            .filter(move |(d, _)| stored_now || d.created_at <= at)
            .map(move |(d, s)| (d, if stored_now { &d.now } else { s }))
            .filter(|(_, s)| meets(&self.filter, s))
    }

    /// The aggregate rows `pipelineHealth(asOf: at)` sums, for the deals as they stand now in
    /// the sweep (every change up to `at` applied), or as stored now with `stored_now`.
    pub fn buckets(&self, at: DateTime<Utc>, stored_now: bool) -> Vec<Bucket> {
        // (stage, currency, level) → (bucket, Σ stage entry in microseconds)
        let mut sums: BTreeMap<(Stage, &str, RiskLevel), (Bucket, i128)> = BTreeMap::new();
        for (deal, s) in self.at(at, stored_now) {
            let (b, entered) = sums.entry((s.stage, &deal.currency, s.risk_level)).or_insert_with(|| {
                let bucket = Bucket {
                    stage: s.stage,
                    currency: deal.currency.clone(),
                    level: s.risk_level,
                    count: 0,
                    amount_cents: 0,
                    risk_score_sum: 0,
                    group_size_sum: 0,
                    engaged_sum: 0,
                    stage_entered_epoch_sum: 0.0,
                    factor_counts: [0; 12],
                };
                (bucket, 0)
            });
            b.count += 1;
            b.amount_cents += s.amount_cents;
            b.risk_score_sum += s.risk_score;
            *entered += i128::from(s.stage_entered_at.timestamp_micros());
            for (bit, n) in b.factor_counts.iter_mut().enumerate() {
                if s.risk_factor_mask & (1_i64 << bit) != 0 {
                    *n += 1;
                }
            }
        }
        sums.into_values()
            .map(|(mut b, entered)| {
                b.stage_entered_epoch_sum = seconds(entered);
                b
            })
            .collect()
    }

    /// Per currency, the deals created in [`since`, `until`) and those closed won or lost in
    /// it, as they stand now in the sweep (or as stored now with `stored_now`).
    pub fn flows(&self, since: DateTime<Utc>, until: DateTime<Utc>, stored_now: bool) -> Vec<Flow> {
        let during = |t: DateTime<Utc>| since <= t && t < until;
        let mut flows: BTreeMap<&str, Flow> = BTreeMap::new();
        for (deal, s) in self.at(until, stored_now) {
            let created = during(deal.created_at);
            let closed = s.stage.is_closed() && s.closed_at.is_some_and(during);
            if !created && !closed {
                continue;
            }
            let f = flows.entry(&deal.currency).or_insert_with(|| Flow {
                currency: deal.currency.clone(),
                ..Flow::default()
            });
            f.created += i64::from(created);
            match (closed, s.stage) {
                (true, Stage::ClosedWon) => {
                    f.won += 1;
                    f.won_cents += s.amount_cents;
                }
                (true, Stage::ClosedLost) => {
                    f.lost += 1;
                    f.lost_cents += s.amount_cents;
                }
                _ => {}
            }
        }
        flows.into_values().collect()
    }
}

/// A sum of microseconds as seconds, correctly rounded (as PostgreSQL turns its exact sum of
/// epochs into a double), so that averages of days in stage match `pipelineHealth`'s.
fn seconds(micros: i128) -> f64 {
    Decimal::try_from_i128_with_scale(micros, 6)
        .ok()
        .and_then(|d| d.to_string().parse().ok())
        .unwrap_or(micros as f64 / 1e6)
}

#[cfg(test)]
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    fn instants(ws: &[Window]) -> Vec<String> {
        ws.iter().map(|w| w.at.format("%Y-%m-%d").to_string()).collect()
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-03-04 is a Wednesday.
        let ws = windows(day("2026-03-04"), day("2026-03-23"), Interval::Week).expect("weeks");
        assert_eq!(instants(&ws), ["2026-03-09", "2026-03-16", "2026-03-23"]);
        // The last interval is cut at the end of `to`.
        assert_eq!(ws[2].until, midnight(day("2026-03-24")));
        assert_eq!(ws[0].until, ws[1].at);

        let ws = windows(day("2026-01-01"), day("2026-03-31"), Interval::Month).expect("months");
        assert_eq!(instants(&ws), ["2026-01-01", "2026-02-01", "2026-03-01"]);
        assert_eq!(ws[2].until, midnight(day("2026-04-01")));
        let ws = windows(day("2026-01-02"), day("2026-04-15"), Interval::Month).expect("months");
        assert_eq!(instants(&ws), ["2026-02-01", "2026-03-01", "2026-04-01"]);
        assert_eq!(ws[2].until, midnight(day("2026-04-16")));

        let ws = windows(day("2026-02-27"), day("2026-03-01"), Interval::Day).expect("days");
        assert_eq!(instants(&ws), ["2026-02-27", "2026-02-28", "2026-03-01"]);
        assert_eq!(ws[2].until, midnight(day("2026-03-02")));
    }

    #[test]
    fn a_range_without_an_interval_start_has_no_points() {
        // Tuesday to Sunday.
        let ws = windows(day("2026-03-03"), day("2026-03-08"), Interval::Week).expect("weeks");
        assert!(ws.is_empty());
    }

    #[test]
    fn too_many_points_and_reversed_ranges_are_bad_input() {
        let field = |r: AppResult<Vec<Window>>| match r {
            Err(AppError::BadInput { field, .. }) => field,
            other => panic!("expected bad input, got {other:?}"),
        };
        // 2026-01-01 + 399 days: 400 points, the most allowed.
        let ws = windows(day("2026-01-01"), day("2027-02-04"), Interval::Day).expect("400 points");
        assert_eq!(ws.len(), MAX_POINTS);
        assert_eq!(
            field(windows(day("2026-01-01"), day("2027-02-05"), Interval::Day)),
            "interval"
        );
        assert_eq!(
            field(windows(day("0001-01-01"), day("9999-12-31"), Interval::Day)),
            "interval"
        );
        assert_eq!(
            field(windows(day("2026-01-02"), day("2026-01-01"), Interval::Day)),
            "from"
        );
    }

    fn instant(s: &str) -> DateTime<Utc> {
        s.parse().expect("instant")
    }

    fn state(stage: Stage, entered: &str, cents: i64) -> DealState {
        DealState {
            stage,
            stage_entered_at: instant(entered),
            amount_cents: cents,
            expected_close_date: None,
            risk_score: 0,
            risk_level: RiskLevel::Low,
            risk_factor_mask: 0,
            closed_at: None,
        }
    }

    #[test]
    fn the_sweep_applies_changes_up_to_each_instant_and_filters_on_the_values_then() {
        let id = Uuid::from_u128(1);
        let deal = TrendDeal {
            id,
            currency: "USD".into(),
            created_at: instant("2026-01-01T09:00:00Z"),
            first: state(Stage::Prospecting, "2026-01-01T09:00:00Z", 100_00),
            now: state(Stage::Negotiation, "2026-01-20T00:00:00Z", 300_00),
        };
        let filter = DealFilter {
            min_amount_cents: Some(200_00),
            open: Some(false),
            ..DealFilter::default()
        };
        let mut sweep = Sweep::new(vec![deal], &filter);
        let at = |s: &str| instant(s);
        // Not created yet, then too small.
        assert!(sweep.buckets(at("2026-01-01T00:00:00Z"), false).is_empty());
        sweep.apply(&Event {
            deal: id,
            at: at("2026-01-05T00:00:00Z"),
            change: Change::Amount(250_00),
        });
        // Large enough now, but open.
        assert!(sweep.buckets(at("2026-01-06T00:00:00Z"), false).is_empty());
        sweep.apply(&Event {
            deal: id,
            at: at("2026-01-07T12:00:00Z"),
            change: Change::Stage(Stage::ClosedWon),
        });
        // A change of a deal outside the trend is ignored.
        sweep.apply(&Event {
            deal: Uuid::from_u128(2),
            at: at("2026-01-07T13:00:00Z"),
            change: Change::Amount(1),
        });
        let buckets = sweep.buckets(at("2026-01-08T00:00:00Z"), false);
        assert_eq!(buckets.len(), 1);
        assert_eq!((buckets[0].stage, buckets[0].amount_cents), (Stage::ClosedWon, 250_00));
        let flows = sweep.flows(at("2026-01-05T00:00:00Z"), at("2026-01-12T00:00:00Z"), false);
        assert_eq!((flows[0].won, flows[0].won_cents, flows[0].created), (1, 250_00, 0));
        // As stored now: open again, so the filter leaves it out.
        assert!(sweep.buckets(at("2026-03-01T00:00:00Z"), true).is_empty());
    }

    #[test]
    fn sums_of_instants_are_correctly_rounded_seconds() {
        assert_eq!(seconds(1_500_000), 1.5);
        assert_eq!(seconds(3 * 1_767_225_600_123_456), 5_301_676_800.370368);
    }

    #[test]
    fn a_point_adds_flows_per_currency_to_the_pipeline_at_its_instant() {
        let bucket = |stage, currency: &str, count, cents, score| Bucket {
            stage,
            currency: currency.into(),
            level: RiskLevel::Low,
            count,
            amount_cents: cents,
            risk_score_sum: score,
            group_size_sum: 0,
            engaged_sum: 0,
            stage_entered_epoch_sum: 0.0,
            factor_counts: [0; 12],
        };
        let buckets = [
            bucket(Stage::Proposal, "USD", 2, 100_00, 60),
            bucket(Stage::ClosedWon, "EUR", 1, 5_00, 0),
        ];
        let flows = [
            Flow {
                currency: "EUR".into(),
                created: 1,
                won: 1,
                won_cents: 5_00,
                ..Flow::default()
            },
            Flow {
                currency: "GBP".into(),
                ..Flow::default()
            },
        ];
        let at = midnight(day("2026-03-02"));
        let p = point(&buckets, &flows, at);
        assert_eq!((p.summary.open_count, p.created, p.won, p.lost), (2, 1, 1, 0));
        assert_eq!(p.won_amounts.each().collect::<Vec<_>>(), [("EUR", money(5_00))]);
        assert!(p.lost_amounts.0.is_empty());
        let rows: Vec<(&str, i64, i64, Option<f64>)> = p
            .by_currency
            .iter()
            .map(|c| (c.currency.as_str(), c.open_count, c.won, c.average_risk_score))
            .collect();
        // GBP had neither open deals nor flows: no row.
        assert_eq!(rows, [("EUR", 0, 1, None), ("USD", 2, 0, Some(30.0))]);
        assert_eq!(p.by_currency[1].weighted_amount.to_string(), "60.00");
        assert_eq!(p.by_currency[0].amount.to_string(), "0.00");
    }
}
