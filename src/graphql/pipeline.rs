//! `pipelineHealth`: the BI view of the pipeline, now or as of an instant, from SQL aggregates
//! over stored assessments and histories.

use async_graphql::{Enum, SimpleObject};

use super::enums::{RiskFactorCode, RiskLevel, Stage};
use super::ids::{Kind, encode};
use super::scalars::{Money, Timestamp};
use crate::domain::pipeline::{self, Amounts, GroupKey, GroupSummary};
use crate::domain::{outcomes, trend};

/// What `PipelineHealth.groups` is keyed by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::query::GroupBy")]
pub enum PipelineGroupBy {
    Stage,
    Owner,
    Account,
    RiskLevel,
}

/// An amount in one currency.
#[derive(SimpleObject)]
pub struct CurrencyAmount {
    pub currency: String,
    pub amount: Money,
}

/// Open deals in one currency.
#[derive(SimpleObject)]
pub struct CurrencyTotal {
    pub currency: String,
    pub count: i32,
    pub amount: Money,
    /// Σ amount × stage probability (10, 20, 40, 60, 80 % for the open stages).
    pub weighted_amount: Money,
}

/// Deals in one stage (open and closed stages alike).
#[derive(SimpleObject)]
pub struct StageBucket {
    pub stage: Stage,
    pub count: i32,
    /// The sum when the bucket's deals share one currency; null when currencies mix (see `amounts`).
    pub amount: Option<Money>,
    /// The sum per currency.
    pub amounts: Vec<CurrencyAmount>,
    pub average_days_in_stage: f64,
}

/// Open deals at one stored risk level.
#[derive(SimpleObject)]
pub struct RiskLevelBucket {
    pub level: RiskLevel,
    pub count: i32,
    /// The sum when the bucket's deals share one currency; null when currencies mix (see `amounts`).
    pub amount: Option<Money>,
    pub amounts: Vec<CurrencyAmount>,
}

/// How many open deals carry one factor in their stored assessment.
#[derive(SimpleObject)]
pub struct FactorBucket {
    pub code: RiskFactorCode,
    pub count: i32,
}

/// The deals sharing one `groupBy` key (a row for every key with matching deals, open or
/// closed): `count`, the amounts and the risk figures cover its open deals; `won`, `lost`
/// and `winRate` its closed ones.
#[derive(SimpleObject)]
pub struct PipelineGroup {
    /// Stage or risk-level name, owner id, or account ID.
    pub key: String,
    /// Human label: stage or level in words, owner id, account name.
    pub label: String,
    /// Open deals.
    pub count: i32,
    /// The open deals' sum when they share one currency; null when currencies mix (see `amounts`).
    pub amount: Option<Money>,
    /// The open deals' sum per currency.
    pub amounts: Vec<CurrencyAmount>,
    /// Σ amount × stage probability of the open deals when they share one currency (like
    /// `amount`); null when currencies mix.
    pub weighted_amount: Option<Money>,
    pub average_risk_score: f64,
    pub high_or_critical_count: i32,
    /// Deals closed won.
    pub won: i32,
    /// Deals closed lost.
    pub lost: i32,
    /// won / (won + lost); null without closed deals.
    pub win_rate: Option<f64>,
}

/// Pipeline health of the deals matching a filter.
#[derive(SimpleObject)]
pub struct PipelineHealth {
    /// The instant the figures describe: `asOf`, or now.
    pub as_of: Timestamp,
    pub open_count: i32,
    /// Open deals per currency.
    pub totals: Vec<CurrencyTotal>,
    /// One row per stage that has deals.
    pub by_stage: Vec<StageBucket>,
    /// Open deals per stored risk level (all four levels).
    pub by_risk_level: Vec<RiskLevelBucket>,
    /// Open deals per factor (all twelve codes).
    pub by_factor: Vec<FactorBucket>,
    /// One row per `groupBy` key with matching deals (empty without `groupBy`).
    pub groups: Vec<PipelineGroup>,
    pub average_risk_score: Option<f64>,
    pub average_buying_group_size: Option<f64>,
    /// Null for an `asOf` in the past: who was engaged directly back then is not stored.
    pub average_directly_engaged: Option<f64>,
    /// CLOSED_WON / (CLOSED_WON + CLOSED_LOST) within the filter.
    pub win_rate: Option<f64>,
}

/// How far apart the points of `pipelineTrend` are (UTC).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::trend::Interval")]
pub enum TrendInterval {
    Day,
    /// Weeks start on Monday.
    Week,
    /// Months start on the 1st.
    Month,
}

/// One point of `pipelineTrend`: the pipeline at the start of an interval — the same figures
/// as `pipelineHealth(asOf: at)` — and the deals created, won and lost during the interval.
#[derive(SimpleObject)]
pub struct PipelinePoint {
    /// The interval's start, 00:00 UTC.
    pub at: Timestamp,
    pub open_count: i32,
    /// Open deals per currency.
    pub totals: Vec<CurrencyTotal>,
    /// Open stages with deals (closed deals show up as `won` / `lost`).
    pub by_stage: Vec<StageBucket>,
    /// Open deals per stored risk level (all four levels).
    pub by_risk_level: Vec<RiskLevelBucket>,
    pub average_risk_score: Option<f64>,
    /// Deals created during the interval (until the end of `to` for the last point).
    pub created: i32,
    /// Deals closed won during the interval, as they stood at its end.
    pub won: i32,
    /// Deals closed lost during the interval, as they stood at its end.
    pub lost: i32,
    /// The won deals' amounts per currency.
    pub won_amounts: Vec<CurrencyAmount>,
    /// The lost deals' amounts per currency.
    pub lost_amounts: Vec<CurrencyAmount>,
}

impl From<trend::TrendPoint> for PipelinePoint {
    fn from(p: trend::TrendPoint) -> Self {
        let summary = &p.summary;
        PipelinePoint {
            at: Timestamp(summary.as_of),
            open_count: count(summary.open_count),
            totals: totals(summary),
            by_stage: stage_buckets(summary.by_stage.iter().filter(|s| !s.stage.is_closed())),
            by_risk_level: level_buckets(summary),
            average_risk_score: summary.average_risk_score,
            created: count(p.created),
            won: count(p.won),
            lost: count(p.lost),
            won_amounts: amounts_of(&p.won_amounts).1,
            lost_amounts: amounts_of(&p.lost_amounts).1,
        }
    }
}

/// Which risk flags predicted losses: closed deals' outcomes with and without each factor in
/// the lookback window before closing, and per stored level.
#[derive(SimpleObject)]
pub struct RiskOutcomes {
    pub closed_deals: i32,
    pub won: i32,
    pub lost: i32,
    /// won / closedDeals; null without closed deals.
    pub win_rate: Option<f64>,
    /// One row per factor code, all twelve.
    pub by_factor: Vec<FactorOutcome>,
    /// One row per level, all four: by the stored level in force `lookbackDays` before closing
    /// (or at creation, if later).
    pub by_level: Vec<LevelOutcome>,
}

/// Closed deals that did and did not carry a factor at any time in the lookback window
/// before closing (a `riskHistory` point in force then had it).
#[derive(SimpleObject)]
pub struct FactorOutcome {
    pub code: RiskFactorCode,
    pub with_factor: i32,
    pub won_with_factor: i32,
    pub win_rate_with: Option<f64>,
    pub without_factor: i32,
    pub won_without_factor: i32,
    pub win_rate_without: Option<f64>,
    /// winRateWithout / winRateWith: above 1, deals carrying the factor were won less often.
    /// Null when either rate is null or winRateWith is 0.
    pub lift: Option<f64>,
}

/// Closed deals by the stored level in force at the start of the lookback window.
#[derive(SimpleObject)]
pub struct LevelOutcome {
    pub level: RiskLevel,
    pub deals: i32,
    pub won: i32,
    pub lost: i32,
    pub win_rate: Option<f64>,
}

impl From<outcomes::RiskOutcomes> for RiskOutcomes {
    fn from(r: outcomes::RiskOutcomes) -> Self {
        RiskOutcomes {
            closed_deals: count(r.closed_deals),
            won: count(r.won),
            lost: count(r.lost),
            win_rate: r.win_rate,
            by_factor: r
                .by_factor
                .into_iter()
                .map(|f| FactorOutcome {
                    code: f.code.into(),
                    with_factor: count(f.with_factor),
                    won_with_factor: count(f.won_with_factor),
                    win_rate_with: f.win_rate_with,
                    without_factor: count(f.without_factor),
                    won_without_factor: count(f.won_without_factor),
                    win_rate_without: f.win_rate_without,
                    lift: f.lift,
                })
                .collect(),
            by_level: r
                .by_level
                .into_iter()
                .map(|l| LevelOutcome {
                    level: l.level.into(),
                    deals: count(l.deals),
                    won: count(l.won),
                    lost: count(l.lost),
                    win_rate: l.win_rate,
                })
                .collect(),
        }
    }
}

fn count(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

fn amounts_of(amounts: &Amounts) -> (Option<Money>, Vec<CurrencyAmount>) {
    let each = amounts
        .each()
        .map(|(c, a)| CurrencyAmount {
            currency: c.to_owned(),
            amount: Money(a),
        })
        .collect();
    (amounts.single().map(Money), each)
}

fn group(g: GroupSummary) -> PipelineGroup {
    let key = match &g.key {
        GroupKey::Stage(stage) => stage.as_str().to_owned(),
        GroupKey::RiskLevel(level) => level.as_str().to_owned(),
        GroupKey::Owner(owner) => owner.clone(),
        GroupKey::Account(id) => encode(Kind::Account, *id).0,
    };
    let (amount, amounts) = amounts_of(&g.amounts);
    PipelineGroup {
        key,
        label: g.label,
        count: count(g.count),
        amount,
        amounts,
        weighted_amount: g.weighted_amount.map(Money),
        average_risk_score: g.average_risk_score,
        high_or_critical_count: count(g.high_or_critical),
        won: count(g.won),
        lost: count(g.lost),
        win_rate: g.win_rate,
    }
}

fn totals(summary: &pipeline::Summary) -> Vec<CurrencyTotal> {
    summary
        .totals
        .iter()
        .map(|t| CurrencyTotal {
            currency: t.currency.clone(),
            count: count(t.count),
            amount: Money(t.amount),
            weighted_amount: Money(t.weighted_amount),
        })
        .collect()
}

fn stage_buckets<'a>(stages: impl Iterator<Item = &'a pipeline::StageSummary>) -> Vec<StageBucket> {
    stages
        .map(|s| {
            let (amount, amounts) = amounts_of(&s.amounts);
            StageBucket {
                stage: s.stage.into(),
                count: count(s.count),
                amount,
                amounts,
                average_days_in_stage: s.average_days_in_stage,
            }
        })
        .collect()
}

fn level_buckets(summary: &pipeline::Summary) -> Vec<RiskLevelBucket> {
    summary
        .by_level
        .iter()
        .map(|l| {
            let (amount, amounts) = amounts_of(&l.amounts);
            RiskLevelBucket {
                level: l.level.into(),
                count: count(l.count),
                amount,
                amounts,
            }
        })
        .collect()
}

impl From<pipeline::PipelineHealth> for PipelineHealth {
    fn from(health: pipeline::PipelineHealth) -> Self {
        let summary = health.summary;
        PipelineHealth {
            as_of: Timestamp(summary.as_of),
            open_count: count(summary.open_count),
            totals: totals(&summary),
            by_stage: stage_buckets(summary.by_stage.iter()),
            by_risk_level: level_buckets(&summary),
            by_factor: summary
                .by_factor
                .iter()
                .map(|(c, n)| FactorBucket {
                    code: (*c).into(),
                    count: count(*n),
                })
                .collect(),
            groups: health.groups.into_iter().map(group).collect(),
            average_risk_score: summary.average_risk_score,
            average_buying_group_size: summary.average_group_size,
            average_directly_engaged: summary.average_directly_engaged,
            win_rate: summary.win_rate,
        }
    }
}
