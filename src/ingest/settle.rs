//! Settling deals once the stream has been read: the stream's history records replace the
//! stored history (consecutive entries of one value are one); without them, the opportunity
//! record's stage, close date and amount are recorded as changes of now (or of the deal's
//! creation, for a deal this import created). The deal follows its newest entries. Deals are
//! settled a chunk at a time: their histories read in three statements, replaced in a few.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::record::ChangeRecord;
use super::{Declared, Micros, Origin};
use crate::domain::model::Stage;
use crate::domain::records::{AmountChange, CloseDateChange, Deal, StageChange};
use crate::domain::{AppResult, TenantCtx};
use crate::store::bulk::{self, Batch};
use crate::store::opportunities::{self, Histories};
use crate::store::{Conn, scope};

/// One deal's history records in the stream (with where each came from) and what its
/// opportunity record declared.
#[derive(Default)]
pub(super) struct Pending {
    pub external_id: String,
    pub stages: Vec<(Origin, ChangeRecord<Stage>)>,
    pub closes: Vec<(Origin, ChangeRecord<NaiveDate>)>,
    pub amounts: Vec<(Origin, ChangeRecord<i64>)>,
    pub declared: Option<Declared>,
}

impl Pending {
    /// Every history record of the deal, with where it came from.
    pub(super) fn origins(&self) -> impl Iterator<Item = &Origin> {
        self.stages
            .iter()
            .map(|(o, _)| o)
            .chain(self.closes.iter().map(|(o, _)| o))
            .chain(self.amounts.iter().map(|(o, _)| o))
    }
}

/// What settling a deal changes.
struct Settled {
    /// The deal, when it changed.
    deal: Option<Deal>,
    /// Its new stage and close-date histories, when either changed.
    stages_and_closes: Option<(Vec<StageChange>, Vec<CloseDateChange>)>,
    /// Its new amount history, when it changed.
    amounts: Option<Vec<AmountChange>>,
}

/// Settles a chunk of deals; each either settles (its id) or is not found (the caller says
/// why: unknown, or rejected earlier in the stream).
pub(super) async fn chunk(
    ctx: &TenantCtx,
    conn: &impl Conn,
    pending: &[Pending],
    created: &std::collections::HashSet<Uuid>,
    now: DateTime<Utc>,
) -> AppResult<Vec<Option<Uuid>>> {
    let names: Vec<&str> = pending.iter().map(|p| p.external_id.as_str()).collect();
    let deals: HashMap<String, Deal> =
        scope::find_by_external_ids::<entity::opportunity::Entity, Deal>(ctx, conn, &names)
            .await?
            .into_iter()
            .map(|d| (d.external_id.clone().unwrap_or_default(), d))
            .collect();
    let ids: Vec<Uuid> = deals.values().map(|d| d.id).collect();
    let mut stored = opportunities::histories_of(ctx, conn, &ids).await?;
    let by = ctx.user_id();
    let mut out = Vec::with_capacity(pending.len());
    let (mut batch, mut changed_deals) = (Batch::default(), Vec::new());
    let (mut replace_stage_close, mut replace_amounts) = (Vec::new(), Vec::new());
    for p in pending {
        let Some(before) = deals.get(&p.external_id) else {
            out.push(None);
            continue;
        };
        let old = stored.remove(&before.id).unwrap_or_default();
        let settled = settle(before, &old, p, created.contains(&before.id), by, now);
        if let Some((mut stages, mut closes)) = settled.stages_and_closes {
            replace_stage_close.push(before.id);
            batch.stage_changes.append(&mut stages);
            batch.close_date_changes.append(&mut closes);
        }
        if let Some(mut amounts) = settled.amounts {
            replace_amounts.push(before.id);
            batch.amount_changes.append(&mut amounts);
        }
        if let Some(deal) = settled.deal {
            changed_deals.push(deal);
        }
        out.push(Some(before.id));
    }
    opportunities::delete_histories(ctx, conn, &replace_stage_close, &replace_amounts).await?;
    bulk::write(ctx, conn, &batch).await?;
    for deal in &changed_deals {
        opportunities::overwrite(ctx, conn, deal).await?;
    }
    Ok(out)
}

/// Settles one deal (pure): its histories and fields as the stream and its record say.
fn settle(before: &Deal, old: &Histories, p: &Pending, created: bool, by: &str, now: DateTime<Utc>) -> Settled {
    let mut deal = before.clone();
    // When a change the stream does not date happened: the deal's creation if this import
    // created it, else now.
    let undated = if created { before.created_at } else { now };
    let declared = p.declared.as_ref();

    let mut stages: Vec<StageChange> = Vec::new();
    if p.stages.is_empty() {
        stages.clone_from(&old.stages);
        if let Some(declared) = declared
            && stages.last().map(|c| c.to) != Some(declared.stage)
        {
            stages.push(StageChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from: stages.last().map(|c| c.to),
                to: declared.stage,
                at: undated,
                by: by.to_owned(),
            });
        }
    } else {
        for r in sorted(&p.stages) {
            let from = stages.last().map(|c: &StageChange| c.to);
            if from == Some(r.to) {
                continue; // the same stage again is no change
            }
            stages.push(StageChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: r.to,
                at: r.at.trunc_subsecs_micros(),
                by: by.to_owned(),
            });
        }
    }
    let mut closes: Vec<CloseDateChange> = Vec::new();
    if p.closes.is_empty() {
        closes.clone_from(&old.closes);
        if let Some(declared) = declared {
            let current = closes.last().and_then(|c| c.to);
            let nothing_to_say = closes.is_empty() && declared.expected_close_date.is_none();
            if current != declared.expected_close_date && !nothing_to_say {
                closes.push(CloseDateChange {
                    id: Uuid::now_v7(),
                    opportunity_id: deal.id,
                    from: current,
                    to: declared.expected_close_date,
                    at: undated,
                    by: by.to_owned(),
                });
            }
        }
    } else {
        for r in sorted(&p.closes) {
            let from = closes.last().and_then(|c: &CloseDateChange| c.to);
            if !closes.is_empty() && from == Some(r.to) {
                continue;
            }
            closes.push(CloseDateChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: Some(r.to),
                at: r.at.trunc_subsecs_micros(),
                by: by.to_owned(),
            });
        }
    }
    if let Some(last) = stages.last() {
        deal.stage = last.to;
        deal.stage_entered_at = last.at;
        // Closed when it moved into its final closed stage (or when the record says, if the
        // stream has no stage history for it).
        deal.closed_at = last.to.is_closed().then(|| match (p.stages.is_empty(), declared) {
            (
                true,
                Some(Declared {
                    closed_at: Some(at), ..
                }),
            ) => at.trunc_subsecs_micros(),
            _ => last.at,
        });
    }
    if let Some(last) = closes.last() {
        deal.expected_close_date = last.to;
    }
    // Amounts: the stream's changes replace the history, and the deal has the newest.
    let mut amounts_changed = None;
    if !p.amounts.is_empty() {
        let mut amounts: Vec<AmountChange> = Vec::new();
        for r in sorted(&p.amounts) {
            let from = amounts.last().map(|c: &AmountChange| c.to);
            if from == Some(r.to) {
                continue;
            }
            amounts.push(AmountChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: r.to,
                at: r.at.trunc_subsecs_micros(),
                by: by.to_owned(),
            });
        }
        if let Some(last) = amounts.last() {
            deal.amount_cents = last.to;
        }
        if !same_changes(&amounts, &old.amounts, |c| (c.from, c.to, c.at)) {
            amounts_changed = Some(amounts);
        }
    } else if let Some(declared) = declared {
        deal.amount_cents = declared.amount_cents;
    }
    let same_stages = same_changes(&stages, &old.stages, |c| (c.from, c.to, c.at));
    let same_closes = same_changes(&closes, &old.closes, |c| (c.from, c.to, c.at));
    let changed_deal = (deal != *before).then(|| {
        if !created {
            deal.version = before.version + 1;
            deal.updated_at = now;
        }
        deal
    });
    Settled {
        deal: changed_deal,
        stages_and_closes: (!same_stages || !same_closes).then_some((stages, closes)),
        amounts: amounts_changed,
    }
}

/// History records oldest first (a stable sort: records of one instant keep stream order).
fn sorted<T>(records: &[(Origin, ChangeRecord<T>)]) -> Vec<&ChangeRecord<T>> {
    let mut out: Vec<&ChangeRecord<T>> = records.iter().map(|(_, r)| r).collect();
    out.sort_by_key(|r| r.at);
    out
}

/// Whether two histories say the same (compared by `key`, not by their fresh ids).
fn same_changes<T, K: PartialEq>(new: &[T], old: &[T], key: impl Fn(&T) -> K) -> bool {
    new.len() == old.len() && new.iter().zip(old).all(|(a, b)| key(a) == key(b))
}
