//! `pipelineHealth`: the BI view of the pipeline, from SQL aggregates over stored assessments.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Context, Enum, Result, SimpleObject};
use uuid::Uuid;

use super::enums::{RiskFactorCode, RiskLevel, Stage};
use super::ids::{Kind, encode};
use super::query::{OpportunityFilter, resolve_filter};
use super::scalars::{Money, Timestamp};
use super::scope;
use crate::domain::model;
use crate::domain::pipeline::{self, Amounts};
use crate::store::opportunities::parse_stored;
use crate::store::pipeline::{GroupBy, GroupRow};
use crate::store::{accounts, pipeline as aggregates};

/// What `PipelineHealth.groups` is keyed by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
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

/// Open deals sharing one `groupBy` key.
#[derive(SimpleObject)]
pub struct PipelineGroup {
    /// Stage or risk-level name, owner id, or account ID.
    pub key: String,
    /// Human label: stage or level in words, owner id, account name.
    pub label: String,
    pub count: i32,
    /// The sum when the group's deals share one currency; null when currencies mix (see `amounts`).
    pub amount: Option<Money>,
    pub amounts: Vec<CurrencyAmount>,
    pub average_risk_score: f64,
    pub high_or_critical_count: i32,
}

/// Pipeline health of the deals matching a filter.
#[derive(SimpleObject)]
pub struct PipelineHealth {
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
    /// Open deals per `groupBy` key (empty without `groupBy`).
    pub groups: Vec<PipelineGroup>,
    pub average_risk_score: Option<f64>,
    pub average_buying_group_size: Option<f64>,
    pub average_directly_engaged: Option<f64>,
    /// CLOSED_WON / (CLOSED_WON + CLOSED_LOST) within the filter.
    pub win_rate: Option<f64>,
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

fn title_case(name: &str) -> String {
    let lower = name.replace('_', " ").to_lowercase();
    let mut chars = lower.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

pub async fn pipeline_health(
    ctx: &Context<'_>,
    filter: Option<OpportunityFilter>,
    group_by: Option<PipelineGroupBy>,
) -> Result<PipelineHealth> {
    let (scope, store) = scope(ctx)?;
    let filter = resolve_filter(filter)?;
    let now = crate::service::now();
    let db = store.reader();
    let buckets = aggregates::buckets(&scope.ctx, db, &filter).await?;
    let summary = pipeline::summarize(&buckets, now);

    let groups = match group_by {
        None => Vec::new(),
        Some(by) => {
            let by = match by {
                PipelineGroupBy::Stage => GroupBy::Stage,
                PipelineGroupBy::Owner => GroupBy::Owner,
                PipelineGroupBy::Account => GroupBy::Account,
                PipelineGroupBy::RiskLevel => GroupBy::RiskLevel,
            };
            let rows = aggregates::groups(&scope.ctx, db, &filter, by).await?;
            label_groups(ctx, by, rows).await?
        }
    };

    Ok(PipelineHealth {
        as_of: Timestamp(summary.as_of),
        open_count: count(summary.open_count),
        totals: summary
            .totals
            .into_iter()
            .map(|t| CurrencyTotal {
                currency: t.currency,
                count: count(t.count),
                amount: Money(t.amount),
                weighted_amount: Money(t.weighted_amount),
            })
            .collect(),
        by_stage: summary
            .by_stage
            .iter()
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
            .collect(),
        by_risk_level: summary
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
            .collect(),
        by_factor: summary
            .by_factor
            .iter()
            .map(|(c, n)| FactorBucket {
                code: (*c).into(),
                count: count(*n),
            })
            .collect(),
        groups,
        average_risk_score: summary.average_risk_score,
        average_buying_group_size: summary.average_group_size,
        average_directly_engaged: summary.average_directly_engaged,
        win_rate: summary.win_rate,
    })
}

/// Merges the per-currency rows of each key and gives every key its label.
async fn label_groups(ctx: &Context<'_>, by: GroupBy, rows: Vec<GroupRow>) -> Result<Vec<PipelineGroup>> {
    let (scope, store) = scope(ctx)?;
    let mut merged: BTreeMap<String, (i64, i64, i64, Amounts)> = BTreeMap::new();
    for row in rows {
        let entry = merged.entry(row.key).or_default();
        entry.0 += row.n;
        entry.1 += row.score_sum;
        entry.2 += row.high_or_critical;
        *entry.3.0.entry(row.currency).or_default() += row.amount;
    }
    let account_names: HashMap<Uuid, String> = if by == GroupBy::Account {
        let ids: Vec<Uuid> = merged.keys().filter_map(|k| Uuid::try_parse(k).ok()).collect();
        accounts::get_many(&scope.ctx, store.reader(), &ids)
            .await?
            .into_iter()
            .map(|a| (a.id, a.name))
            .collect()
    } else {
        HashMap::new()
    };
    let mut groups = Vec::with_capacity(merged.len());
    for (key, (n, score_sum, high, amounts)) in merged {
        let (key, label) = match by {
            GroupBy::Stage => {
                let stage: model::Stage = parse_stored(&key)?;
                (key.clone(), title_case(stage.as_str()))
            }
            GroupBy::RiskLevel => {
                let level: model::RiskLevel = parse_stored(&key)?;
                (key.clone(), title_case(level.as_str()))
            }
            GroupBy::Owner => (key.clone(), key),
            GroupBy::Account => match Uuid::try_parse(&key) {
                Ok(id) => (
                    encode(Kind::Account, id).0,
                    account_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "(unknown account)".into()),
                ),
                Err(_) => (key.clone(), key),
            },
        };
        let (amount, amounts) = amounts_of(&amounts);
        groups.push(PipelineGroup {
            key,
            label,
            count: count(n),
            amount,
            amounts,
            average_risk_score: if n > 0 { score_sum as f64 / n as f64 } else { 0.0 },
            high_or_critical_count: count(high),
        });
    }
    // Stable, meaningful order: stages and levels in their natural order, others by label.
    let rank = |g: &PipelineGroup| -> (usize, String) {
        let natural = match by {
            GroupBy::Stage => g.key.parse::<model::Stage>().map(|s| s.index()).unwrap_or(usize::MAX),
            GroupBy::RiskLevel => g
                .key
                .parse::<model::RiskLevel>()
                .map(|l| l.index())
                .unwrap_or(usize::MAX),
            _ => 0,
        };
        (natural, g.label.to_lowercase())
    };
    groups.sort_by_key(|g| rank(g));
    Ok(groups)
}
