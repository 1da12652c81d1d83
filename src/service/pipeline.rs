//! Pipeline health: SQL aggregates over the stored assessments, summarized and labelled.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{Services, now};
use crate::domain::model::{RiskLevel, Stage};
use crate::domain::pipeline::{self, GroupKey, PipelineHealth};
use crate::domain::query::{DealFilter, GroupBy};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{accounts, pipeline as aggregates};

/// The health of the deals matching `filter`, with one group per `group_by` key, now or as
/// the pipeline stood at `as_of`.
///
/// An instant not in the past is answered from the deals as they are (days in stage are
/// counted up to it); a past one from the stored history (SPEC §8). Direct engagement is not
/// stored over time, so a past answer has no average of directly engaged members.
pub async fn health(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    group_by: Option<GroupBy>,
    as_of: Option<DateTime<Utc>>,
) -> AppResult<PipelineHealth> {
    let db = svc.store.reader();
    let now = now();
    let at = as_of.unwrap_or(now);
    let past = as_of.filter(|t| *t < now);
    // The two aggregates are independent statements: side by side, the answer takes as long
    // as the slower one (each reads the whole as-of table when `as_of` is past).
    let group_rows = async {
        match group_by {
            None => Ok(None),
            Some(by) => aggregates::groups(ctx, db, filter, by, past)
                .await
                .map(|rows| Some((by, rows))),
        }
    };
    let (buckets, group_rows) = tokio::try_join!(aggregates::buckets(ctx, db, filter, past), group_rows)?;
    let mut summary = pipeline::summarize(&buckets, at);
    if past.is_some() {
        summary.average_directly_engaged = None;
    }
    let groups = match group_rows {
        None => Vec::new(),
        Some((by, rows)) => {
            let account_names: HashMap<Uuid, String> = if by == GroupBy::Account {
                let ids: Vec<Uuid> = rows.iter().filter_map(|r| Uuid::try_parse(&r.key).ok()).collect();
                accounts::get_many(ctx, db, &ids)
                    .await?
                    .into_iter()
                    .map(|a| (a.id, a.name))
                    .collect()
            } else {
                HashMap::new()
            };
            let corrupted = |raw: &str| AppError::Internal(format!("pipeline group key {raw:?} of {by:?}"));
            pipeline::merge_groups(rows, |raw| match by {
                GroupBy::Stage => {
                    let stage: Stage = raw.parse().map_err(|_| corrupted(raw))?;
                    Ok::<_, AppError>((GroupKey::Stage(stage), pipeline::title_case(stage.as_str())))
                }
                GroupBy::RiskLevel => {
                    let level: RiskLevel = raw.parse().map_err(|_| corrupted(raw))?;
                    Ok((GroupKey::RiskLevel(level), pipeline::title_case(level.as_str())))
                }
                GroupBy::Owner => Ok((GroupKey::Owner(raw.to_owned()), raw.to_owned())),
                GroupBy::Account => {
                    let id = Uuid::try_parse(raw).map_err(|_| corrupted(raw))?;
                    let label = account_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "(unknown account)".into());
                    Ok((GroupKey::Account(id), label))
                }
            })?
        }
    };
    Ok(PipelineHealth { summary, groups })
}
