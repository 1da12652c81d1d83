//! Interactions: log and delete them (each re-assesses the deal), page through a deal's.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::SubsecRound;
use uuid::Uuid;

use super::{Services, counted, deals, now, risk};
use crate::domain::commands::{LogInteraction, Ref};
use crate::domain::deal_record::DealHistory;
use crate::domain::model::ChangeKind;
use crate::domain::page::{Page, PageArgs};
use crate::domain::records::{Interaction, Link};
use crate::domain::values;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::changes;
use crate::store::{interactions, members};

/// How far ahead of now an interaction may be dated (clock skew, time zones).
const MAX_FUTURE_INTERACTION_HOURS: i64 = 24;

pub async fn log(ctx: &TenantCtx, svc: &Services, input: LogInteraction) -> AppResult<Interaction> {
    ctx.require_writer()?;
    let summary = values::optional_long("input.summary", input.summary.as_deref())?;
    let at = now();
    if input.occurred_at > at + chrono::Duration::hours(MAX_FUTURE_INTERACTION_HOURS) {
        return Err(AppError::bad_input(
            "input.occurredAt",
            "must not lie in the future; log interactions that happened",
        ));
    }
    if input.participant_ids.is_empty() {
        return Err(AppError::bad_input(
            "input.participantIds",
            "name at least one participant",
        ));
    }
    let named: HashSet<Ref> = input.participant_ids.iter().chain(&input.about_ids).copied().collect();
    if named.len() > values::MAX_INTERACTION_MEMBERS {
        return Err(AppError::bad_input(
            "input.participantIds",
            format!(
                "an interaction names at most {} distinct members in participantIds and aboutIds together; this one names {}",
                values::MAX_INTERACTION_MEMBERS,
                named.len()
            ),
        ));
    }
    let occurred_at = input.occurred_at.trunc_subsecs(6);
    svc.store
        .write(async |tx| {
            let deal = deals::require_for_change(ctx, tx, input.opportunity_id).await?;
            let members = members::for_deals(ctx, tx, &[deal.id]).await?;
            // Only current members take part in what happens now.
            let group: HashSet<Uuid> = members.iter().filter(|m| m.is_current()).map(|m| m.id).collect();
            let resolve = |field: &str, refs: &[Ref]| -> AppResult<Vec<Uuid>> {
                let mut ids = Vec::with_capacity(refs.len());
                for r in refs {
                    match r.filter(|id| group.contains(id)) {
                        Some(id) if !ids.contains(&id) => ids.push(id),
                        Some(_) => {
                            return Err(AppError::bad_input(field, "names the same member twice"));
                        }
                        None => {
                            return Err(AppError::bad_input(
                                field,
                                "every id must be a member of this opportunity's buying group",
                            ));
                        }
                    }
                }
                Ok(ids)
            };
            let participants = resolve("input.participantIds", &input.participant_ids)?;
            let about = resolve("input.aboutIds", &input.about_ids)?;
            if about.iter().any(|id| participants.contains(id)) {
                return Err(AppError::bad_input(
                    "input.aboutIds",
                    "a member cannot be both a participant and discussed in absence",
                ));
            }
            let interaction = Interaction {
                external_id: values::external_id("input.externalId", input.external_id.as_deref())?,
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                kind: input.kind,
                occurred_at,
                summary,
                logged_by: ctx.user_id().to_owned(),
                created_at: at,
            };
            let link = |member_id: Uuid, direct: bool| Link {
                interaction_id: interaction.id,
                member_id,
                opportunity_id: deal.id,
                direct,
            };
            let links: Vec<Link> = participants
                .iter()
                .map(|m| link(*m, true))
                .chain(about.iter().map(|m| link(*m, false)))
                .collect();
            interactions::insert(ctx, tx, &interaction, &links).await?;
            changes::changed(ctx, deal.id, ChangeKind::InteractionLogged, at);
            risk::refresh_deal_with_group(ctx, tx, deal, members, at).await?;
            Ok(interaction)
        })
        .await
}

/// Deletes an interaction; returns its id.
pub async fn delete(ctx: &TenantCtx, svc: &Services, id: Ref) -> AppResult<Uuid> {
    ctx.require_writer()?;
    svc.store
        .write(async |tx| {
            let found = match id {
                Some(id) => interactions::get(ctx, tx, id).await?,
                None => None,
            }
            .ok_or(AppError::NotFound("interaction"))?;
            let deal = deals::require_for_change(ctx, tx, Some(found.opportunity_id)).await?;
            interactions::delete(ctx, tx, found.id).await?;
            let at = now();
            changes::changed(ctx, deal.id, ChangeKind::InteractionDeleted, at);
            risk::refresh_deal(ctx, tx, deal, at).await?;
            Ok(found.id)
        })
        .await
}

/// The interactions of `ids` that exist in the caller's tenant.
pub async fn load_many(ctx: &TenantCtx, svc: &Services, ids: &[Uuid]) -> AppResult<Vec<Interaction>> {
    interactions::get_many(ctx, svc.store.reader(), ids).await
}

/// The participant and `about` links of several interactions.
pub async fn links(ctx: &TenantCtx, svc: &Services, interaction_ids: &[Uuid]) -> AppResult<Vec<Link>> {
    interactions::links(ctx, svc.store.reader(), interaction_ids).await
}

/// A page of a deal's interactions, newest first.
pub async fn page_for_deal(
    ctx: &TenantCtx,
    svc: &Services,
    deal_id: Uuid,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<Page<Arc<Interaction>>> {
    let window = args.window(interactions::ORDER_TAG)?;
    let db = svc.store.reader();
    let page = interactions::page_for_deal(ctx, db, deal_id, &window);
    Ok(
        counted(page, interactions::count_for_deal(ctx, db, deal_id), with_total)
            .await?
            .map(Arc::new),
    )
}

/// The same page as [`page_for_deal`] (same order, same cursors), cut from a history already
/// loaded: no query.
pub fn page_of_history(history: &DealHistory, args: &PageArgs) -> AppResult<Page<Arc<Interaction>>> {
    let window = args.window(interactions::ORDER_TAG)?;
    let newest_first: Vec<Arc<Interaction>> = history.interactions.iter().rev().cloned().collect();
    let page = window.slice(&newest_first, interactions::ORDER_TAG, true, |i| {
        interactions::cursor_key(i)
    });
    Ok(page.with_total(Some(history.interactions.len() as u64)))
}
