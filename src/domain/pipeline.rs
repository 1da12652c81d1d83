//! Pipeline health from pre-aggregated buckets: the database sums per (stage, currency,
//! risk level); this turns those few rows into the totals, buckets and averages of
//! `PipelineHealth`. Amounts are never summed across currencies.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use super::model::{RiskFactorCode, RiskLevel, Stage};

/// One aggregate row: the deals of one stage, currency and stored risk level.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub stage: Stage,
    pub currency: String,
    pub level: RiskLevel,
    pub count: i64,
    pub amount_cents: i64,
    pub risk_score_sum: i64,
    pub group_size_sum: i64,
    pub engaged_sum: i64,
    /// Sum of the deals' stage-entry instants, in seconds since the epoch.
    pub stage_entered_epoch_sum: f64,
    /// Per factor (by `RiskFactorCode::index`): how many of the deals carry it.
    pub factor_counts: [i64; 12],
}

/// One `groups` aggregate row: the deals of one group key in one currency. The counts and
/// sums are of its open deals; `won` and `lost` count its closed ones.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupRow {
    /// Stage or level name, owner id, or account id.
    pub key: String,
    pub currency: String,
    pub count: i64,
    pub amount_cents: i64,
    /// Σ amount in cents × stage probability in percent.
    pub weighted_cent_percents: i64,
    pub risk_score_sum: i64,
    pub high_or_critical: i64,
    pub won: i64,
    pub lost: i64,
}

/// What a group is the group of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupKey {
    Stage(Stage),
    Owner(String),
    Account(Uuid),
    RiskLevel(RiskLevel),
}

impl GroupKey {
    /// Stages and levels sort in their natural order; owners and accounts by label.
    fn rank(&self) -> usize {
        match self {
            GroupKey::Stage(stage) => stage.index(),
            GroupKey::RiskLevel(level) => level.index(),
            GroupKey::Owner(_) | GroupKey::Account(_) => 0,
        }
    }
}

/// One group of `PipelineHealth.groups`: every currency of one key merged. `count`,
/// `amounts`, `weighted_amount` and the risk figures are of its open deals; `won`, `lost`
/// and `win_rate` of its closed ones.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSummary {
    pub key: GroupKey,
    pub label: String,
    pub count: i64,
    pub amounts: Amounts,
    /// Σ amount × stage probability when the open deals share one currency (0 without any).
    pub weighted_amount: Option<Decimal>,
    pub average_risk_score: f64,
    pub high_or_critical: i64,
    pub won: i64,
    pub lost: i64,
    pub win_rate: Option<f64>,
}

/// The pipeline of a filter, with its groups when asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineHealth {
    pub summary: Summary,
    pub groups: Vec<GroupSummary>,
}

/// Merges the per-currency rows of each key into one group, labelled by `key_and_label`
/// (which reads a stored key), in a stable, meaningful order: stages and levels in their
/// natural order, owners and accounts by label.
pub fn merge_groups<E>(
    rows: Vec<GroupRow>,
    key_and_label: impl Fn(&str) -> Result<(GroupKey, String), E>,
) -> Result<Vec<GroupSummary>, E> {
    #[derive(Default)]
    struct Merged {
        count: i64,
        score_sum: i64,
        high: i64,
        won: i64,
        lost: i64,
        amounts: Amounts,
        weighted: i128,
    }
    let mut merged: BTreeMap<String, Merged> = BTreeMap::new();
    for row in rows {
        let entry = merged.entry(row.key).or_default();
        entry.count += row.count;
        entry.score_sum += row.risk_score_sum;
        entry.high += row.high_or_critical;
        entry.won += row.won;
        entry.lost += row.lost;
        // A currency only the group's closed deals use is not one of its open amounts.
        if row.count > 0 {
            entry.amounts.add(&row.currency, row.amount_cents);
            entry.weighted += i128::from(row.weighted_cent_percents);
        }
    }
    let mut groups = Vec::with_capacity(merged.len());
    for (raw, m) in merged {
        let (key, label) = key_and_label(&raw)?;
        let single_currency = m.amounts.0.len() <= 1;
        groups.push(GroupSummary {
            key,
            label,
            count: m.count,
            weighted_amount: single_currency.then(|| two_places(Decimal::from_i128_with_scale(m.weighted, 4))),
            amounts: m.amounts,
            average_risk_score: ratio(m.score_sum, m.count).unwrap_or(0.0),
            high_or_critical: m.high,
            won: m.won,
            lost: m.lost,
            win_rate: ratio(m.won, m.won + m.lost),
        });
    }
    groups.sort_by_key(|g| (g.key.rank(), g.label.to_lowercase()));
    Ok(groups)
}

/// `CLOSED_WON` → `Closed won`.
pub fn title_case(name: &str) -> String {
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

/// Per-currency amounts of a bucket, by currency code.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Amounts(pub BTreeMap<String, i64>);

impl Amounts {
    pub fn add(&mut self, currency: &str, cents: i64) {
        *self.0.entry(currency.to_owned()).or_default() += cents;
    }

    /// The sum when all deals share one currency (`0.00` when there are none), else `None`.
    pub fn single(&self) -> Option<Decimal> {
        match self.0.len() {
            0 => Some(money(0)),
            1 => self.0.values().next().map(|c| money(*c)),
            _ => None,
        }
    }

    pub fn each(&self) -> impl Iterator<Item = (&str, Decimal)> {
        self.0.iter().map(|(c, cents)| (c.as_str(), money(*cents)))
    }
}

/// Cents as a decimal with two places.
pub fn money(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i64,
    pub amount: Decimal,
    /// Σ amount × stage probability.
    pub weighted_amount: Decimal,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StageSummary {
    pub stage: Stage,
    pub count: i64,
    pub amounts: Amounts,
    pub average_days_in_stage: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LevelSummary {
    pub level: RiskLevel,
    pub count: i64,
    pub amounts: Amounts,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub as_of: DateTime<Utc>,
    pub open_count: i64,
    pub totals: Vec<CurrencyTotal>,
    pub by_stage: Vec<StageSummary>,
    pub by_level: Vec<LevelSummary>,
    pub by_factor: Vec<(RiskFactorCode, i64)>,
    pub average_risk_score: Option<f64>,
    pub average_group_size: Option<f64>,
    pub average_directly_engaged: Option<f64>,
    pub win_rate: Option<f64>,
}

fn ratio(sum: i64, count: i64) -> Option<f64> {
    (count > 0).then(|| sum as f64 / count as f64)
}

/// Summarizes the buckets of the deals that matched the filter.
///
/// `open_count`, `totals`, `by_level`, `by_factor` and the averages cover open deals;
/// `by_stage` has a row for every stage with deals; `win_rate` uses the closed ones.
pub fn summarize(buckets: &[Bucket], as_of: DateTime<Utc>) -> Summary {
    let open: Vec<&Bucket> = buckets.iter().filter(|b| !b.stage.is_closed()).collect();
    let open_count: i64 = open.iter().map(|b| b.count).sum();

    let mut totals: BTreeMap<&str, (i64, i64, i128)> = BTreeMap::new();
    for b in &open {
        let entry = totals.entry(&b.currency).or_default();
        entry.0 += b.count;
        entry.1 += b.amount_cents;
        entry.2 += i128::from(b.amount_cents) * i128::from(b.stage.probability_percent());
    }
    let totals = totals
        .into_iter()
        .map(|(currency, (count, cents, weighted))| CurrencyTotal {
            currency: currency.to_owned(),
            count,
            amount: money(cents),
            weighted_amount: two_places(Decimal::from_i128_with_scale(weighted, 4)),
        })
        .collect();

    let now = as_of.timestamp() as f64 + f64::from(as_of.timestamp_subsec_micros()) / 1e6;
    let by_stage = Stage::ALL
        .iter()
        .filter_map(|stage| {
            let rows: Vec<&Bucket> = buckets.iter().filter(|b| b.stage == *stage).collect();
            let count: i64 = rows.iter().map(|b| b.count).sum();
            if count == 0 {
                return None;
            }
            let mut amounts = Amounts::default();
            rows.iter().for_each(|b| amounts.add(&b.currency, b.amount_cents));
            let entered: f64 = rows.iter().map(|b| b.stage_entered_epoch_sum).sum();
            let average_days_in_stage = ((now * count as f64 - entered) / count as f64 / 86_400.0).max(0.0);
            Some(StageSummary {
                stage: *stage,
                count,
                amounts,
                average_days_in_stage,
            })
        })
        .collect();

    let by_level = RiskLevel::ALL
        .iter()
        .map(|level| {
            let mut amounts = Amounts::default();
            let mut count = 0;
            for b in open.iter().filter(|b| b.level == *level) {
                count += b.count;
                amounts.add(&b.currency, b.amount_cents);
            }
            LevelSummary {
                level: *level,
                count,
                amounts,
            }
        })
        .collect();

    let by_factor = RiskFactorCode::ALL
        .iter()
        .map(|code| (*code, open.iter().map(|b| b.factor_counts[code.index()]).sum()))
        .collect();

    let sum = |f: fn(&Bucket) -> i64| open.iter().map(|b| f(b)).sum::<i64>();
    let won: i64 = buckets
        .iter()
        .filter(|b| b.stage == Stage::ClosedWon)
        .map(|b| b.count)
        .sum();
    let lost: i64 = buckets
        .iter()
        .filter(|b| b.stage == Stage::ClosedLost)
        .map(|b| b.count)
        .sum();
    Summary {
        as_of,
        open_count,
        totals,
        by_stage,
        by_level,
        by_factor,
        average_risk_score: ratio(sum(|b| b.risk_score_sum), open_count),
        average_group_size: ratio(sum(|b| b.group_size_sum), open_count),
        average_directly_engaged: ratio(sum(|b| b.engaged_sum), open_count),
        win_rate: ratio(won, won + lost),
    }
}

/// At least two decimal places (`75000` → `75000.00`), never fewer digits than exact.
fn two_places(d: Decimal) -> Decimal {
    let d = d.normalize();
    if d.scale() < 2 {
        let mut d = d;
        d.rescale(2);
        d
    } else {
        d
    }
}

#[cfg(test)]
// Cents are written `units_cents` (`100_000_00` is 100,000.00) so the figures read as money.
#[allow(clippy::inconsistent_digit_grouping)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn bucket(stage: Stage, currency: &str, level: RiskLevel, count: i64, cents: i64) -> Bucket {
        Bucket {
            stage,
            currency: currency.into(),
            level,
            count,
            amount_cents: cents,
            risk_score_sum: 0,
            group_size_sum: 0,
            engaged_sum: 0,
            stage_entered_epoch_sum: 0.0,
            factor_counts: [0; 12],
        }
    }

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(secs, 0).single().expect("valid instant")
    }

    #[test]
    fn totals_are_per_currency_and_weighted_by_stage_probability() {
        let buckets = [
            bucket(Stage::Proposal, "USD", RiskLevel::Low, 2, 100_000_00), // 60%
            bucket(Stage::Negotiation, "USD", RiskLevel::High, 1, 50_000_00), // 80%
            bucket(Stage::Discovery, "EUR", RiskLevel::Low, 1, 10_000_05), // 20%
            bucket(Stage::ClosedWon, "USD", RiskLevel::Low, 3, 999_00),
        ];
        let s = summarize(&buckets, at(0));
        assert_eq!(s.open_count, 4);
        assert_eq!(
            s.totals,
            vec![
                CurrencyTotal {
                    currency: "EUR".into(),
                    count: 1,
                    amount: Decimal::new(10_000_05, 2),
                    weighted_amount: Decimal::new(2_000_01, 2)
                },
                CurrencyTotal {
                    currency: "USD".into(),
                    count: 3,
                    amount: Decimal::new(150_000_00, 2),
                    weighted_amount: Decimal::new(100_000_00, 2)
                },
            ]
        );
        assert_eq!(s.totals[0].weighted_amount.to_string(), "2000.01");
        assert_eq!(s.totals[1].weighted_amount.to_string(), "100000.00");
    }

    #[test]
    fn stages_with_deals_get_rows_and_mixed_currencies_have_no_single_amount() {
        let mut proposal = bucket(Stage::Proposal, "USD", RiskLevel::Low, 2, 300);
        proposal.stage_entered_epoch_sum = 2.0 * 86_400.0; // both entered at day 1
        let buckets = [proposal, bucket(Stage::Proposal, "EUR", RiskLevel::Low, 1, 100)];
        let s = summarize(&buckets, at(11 * 86_400));
        assert_eq!(s.by_stage.len(), 1);
        let row = &s.by_stage[0];
        assert_eq!((row.stage, row.count), (Stage::Proposal, 3));
        assert_eq!(row.amounts.single(), None);
        assert_eq!(
            row.amounts.each().collect::<Vec<_>>(),
            vec![("EUR", money(100)), ("USD", money(300))]
        );
        // (10 + 10 + 11) / 3 days: two deals entered at day 1, one at the epoch.
        assert!(
            (row.average_days_in_stage - 31.0 / 3.0).abs() < 1e-9,
            "{}",
            row.average_days_in_stage
        );
    }

    #[test]
    fn averages_cover_open_deals_and_win_rate_the_closed_ones() {
        let mut open = bucket(Stage::Evaluation, "USD", RiskLevel::Critical, 2, 0);
        open.risk_score_sum = 150;
        open.group_size_sum = 12;
        open.engaged_sum = 3;
        open.factor_counts[RiskFactorCode::Stalled.index()] = 2;
        let mut won = bucket(Stage::ClosedWon, "USD", RiskLevel::Low, 1, 0);
        won.group_size_sum = 100;
        let buckets = [open, won, bucket(Stage::ClosedLost, "USD", RiskLevel::Low, 3, 0)];
        let s = summarize(&buckets, at(0));
        assert_eq!(s.average_risk_score, Some(75.0));
        assert_eq!(s.average_group_size, Some(6.0));
        assert_eq!(s.average_directly_engaged, Some(1.5));
        assert_eq!(s.win_rate, Some(0.25));
        assert!(s.by_factor.contains(&(RiskFactorCode::Stalled, 2)));
        assert_eq!(
            s.by_level
                .iter()
                .find(|l| l.level == RiskLevel::Critical)
                .map(|l| l.count),
            Some(2)
        );
    }

    #[test]
    fn groups_merge_currencies_and_count_outcomes_apart_from_open_deals() {
        let row = |key: &str, currency: &str, count, cents, won, lost| GroupRow {
            key: key.into(),
            currency: currency.into(),
            count,
            amount_cents: cents,
            weighted_cent_percents: cents * 60,
            risk_score_sum: 30 * count,
            won,
            lost,
            ..GroupRow::default()
        };
        let rows = vec![
            row("bo", "USD", 2, 100_00, 1, 0),
            row("bo", "EUR", 0, 0, 0, 3), // closed only: not an open currency
            row("al", "USD", 1, 50_00, 0, 0),
            row("al", "EUR", 1, 10_00, 0, 0),
        ];
        let groups = merge_groups(rows, |raw| Ok::<_, ()>((GroupKey::Owner(raw.into()), raw.into()))).expect("keys");
        assert_eq!(
            groups.iter().map(|g| g.label.as_str()).collect::<Vec<_>>(),
            ["al", "bo"]
        );
        let (al, bo) = (&groups[0], &groups[1]);
        assert_eq!((al.count, al.amounts.single(), al.weighted_amount), (2, None, None));
        assert_eq!((al.won, al.lost, al.win_rate), (0, 0, None));
        assert_eq!((bo.count, bo.amounts.single()), (2, Some(money(100_00))));
        assert_eq!(bo.weighted_amount.map(|d| d.to_string()).as_deref(), Some("60.00"));
        assert_eq!((bo.won, bo.lost, bo.win_rate), (1, 3, Some(0.25)));
        assert_eq!(bo.average_risk_score, 30.0);
    }

    #[test]
    fn an_empty_pipeline_has_no_averages() {
        let s = summarize(&[], at(0));
        assert_eq!((s.open_count, s.totals.len(), s.by_stage.len()), (0, 0, 0));
        assert_eq!((s.average_risk_score, s.win_rate), (None, None));
        assert_eq!(s.by_level.len(), 4);
        assert!(
            s.by_level
                .iter()
                .all(|l| l.count == 0 && l.amounts.single() == Some(money(0)))
        );
    }
}
