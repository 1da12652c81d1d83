//! Pipeline health: SQL aggregates over the stored assessments, summarized and labelled.

use std::collections::HashMap;

use uuid::Uuid;

use super::{Services, now};
use crate::domain::model::{RiskLevel, Stage};
use crate::domain::pipeline::{self, GroupKey, PipelineHealth};
use crate::domain::query::{DealFilter, GroupBy};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{accounts, pipeline as aggregates};

/// The health of the deals matching `filter`, with one group per `group_by` key (open deals).
pub async fn health(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    group_by: Option<GroupBy>,
) -> AppResult<PipelineHealth> {
    let db = svc.store.reader();
    let buckets = aggregates::buckets(ctx, db, filter).await?;
    let summary = pipeline::summarize(&buckets, now());
    let groups = match group_by {
        None => Vec::new(),
        Some(by) => {
            let rows = aggregates::groups(ctx, db, filter, by).await?;
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
