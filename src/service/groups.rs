//! Buying groups: add, change and remove members (each re-assesses the deal), load groups.

use std::sync::Arc;

use uuid::Uuid;

use super::{Services, deals, now, risk};
use crate::domain::commands::{AddMember, Ref, UpdateMember};
use crate::domain::model::ChangeKind;
use crate::domain::model::{Bandwidth, Influence, Stance};
use crate::domain::records::{Contact, Member};
use crate::domain::values;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::changes;
use crate::store::{Conn, contacts, members};

pub async fn add(ctx: &TenantCtx, svc: &Services, input: AddMember) -> AppResult<Member> {
    ctx.require_writer()?;
    let notes = values::optional_long("input.notes", input.notes.as_deref())?;
    svc.store
        .write(async |tx| {
            let deal = deals::require_for_change(ctx, tx, input.opportunity_id).await?;
            let contact = match input.contact_id {
                Some(id) => contacts::get(ctx, tx, id).await?,
                None => None,
            }
            .ok_or(AppError::NotFound("contact"))?;
            if members::contact_in_group(ctx, tx, deal.id, contact.id).await? {
                return Err(AppError::bad_input(
                    "input.contactId",
                    "this contact is already in the buying group",
                ));
            }
            if members::count_for_deal(ctx, tx, deal.id).await? >= values::MAX_GROUP_SIZE {
                return Err(AppError::bad_input(
                    "input.opportunityId",
                    format!(
                        "a buying group holds at most {} members; this one is full",
                        values::MAX_GROUP_SIZE
                    ),
                ));
            }
            let at = now();
            let member = Member {
                external_id: values::external_id("input.externalId", input.external_id.as_deref())?,
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                contact_id: contact.id,
                contact_name: contact.full_name,
                contact_title: contact.title,
                role: input.role,
                stance: input.stance.unwrap_or(Stance::Unknown),
                can_veto: input.can_veto.unwrap_or(false),
                influence: input.influence.unwrap_or(Influence::Medium),
                bandwidth: input.bandwidth.unwrap_or(Bandwidth::Unknown),
                notes,
                created_at: at,
                removed_at: None,
            };
            members::insert(ctx, tx, &member).await?;
            changes::changed(ctx, deal.id, ChangeKind::GroupChanged, at);
            risk::refresh_deal(ctx, tx, deal, at).await?;
            Ok(member)
        })
        .await
}

pub async fn update(ctx: &TenantCtx, svc: &Services, input: UpdateMember) -> AppResult<Member> {
    ctx.require_writer()?;
    let notes = match input.notes {
        Some(text) => Some(values::optional_long("input.notes", text.as_deref())?),
        None => None,
    };
    svc.store
        .write(async |tx| {
            let mut member = require_current(ctx, tx, input.id, "input.id").await?;
            if let Some(role) = input.role {
                member.role = role;
            }
            if let Some(stance) = input.stance {
                member.stance = stance;
            }
            if let Some(can_veto) = input.can_veto {
                member.can_veto = can_veto;
            }
            if let Some(influence) = input.influence {
                member.influence = influence;
            }
            if let Some(bandwidth) = input.bandwidth {
                member.bandwidth = bandwidth;
            }
            if let Some(notes) = notes {
                member.notes = notes;
            }
            members::update(ctx, tx, &member).await?;
            let at = now();
            changes::changed(ctx, member.opportunity_id, ChangeKind::GroupChanged, at);
            risk::refresh_deal_by_id(ctx, tx, member.opportunity_id, at).await?;
            Ok(member)
        })
        .await
}

/// Ends a membership: the member leaves the group (and stops counting in risk), but stays
/// in the interactions they took part in or were discussed in. Returns its id.
pub async fn remove(ctx: &TenantCtx, svc: &Services, id: Ref) -> AppResult<Uuid> {
    ctx.require_writer()?;
    svc.store
        .write(async |tx| {
            let member = require_current(ctx, tx, id, "id").await?;
            let at = now();
            if members::end(ctx, tx, member.id, at).await? == 0 {
                return Err(ended("id"));
            }
            changes::changed(ctx, member.opportunity_id, ChangeKind::GroupChanged, at);
            risk::refresh_deal_by_id(ctx, tx, member.opportunity_id, at).await?;
            Ok(member.id)
        })
        .await
}

/// Like [`require_for_change`], for a member still in the group (`field` names the id).
async fn require_current(ctx: &TenantCtx, conn: &impl Conn, id: Ref, field: &str) -> AppResult<Member> {
    let member = require_for_change(ctx, conn, id).await?;
    if !member.is_current() {
        return Err(ended(field));
    }
    Ok(member)
}

fn ended(field: &str) -> AppError {
    AppError::bad_input(
        field,
        "this member was removed from the buying group; add the contact again to start a new membership",
    )
}

/// The member a client referred to, if it exists in the caller's tenant and the caller may
/// change its deal.
async fn require_for_change(ctx: &TenantCtx, conn: &impl Conn, id: Ref) -> AppResult<Member> {
    let member = match id {
        Some(id) => members::get(ctx, conn, id).await?,
        None => None,
    }
    .ok_or(AppError::NotFound("buying group member"))?;
    deals::require_for_change(ctx, conn, Some(member.opportunity_id)).await?;
    Ok(member)
}

/// One member by id, if it exists in the caller's tenant.
pub async fn get(ctx: &TenantCtx, svc: &Services, id: Uuid) -> AppResult<Option<Member>> {
    members::get(ctx, svc.store.reader(), id).await
}

/// The buying groups of several deals, each in the order members joined.
pub async fn load(ctx: &TenantCtx, svc: &Services, deal_ids: &[Uuid]) -> AppResult<Vec<Arc<Member>>> {
    Ok(members::for_deals(ctx, svc.store.reader(), deal_ids)
        .await?
        .into_iter()
        .map(Arc::new)
        .collect())
}

/// Like [`load`], with every member's whole contact, in one query.
pub async fn load_with_contacts(
    ctx: &TenantCtx,
    svc: &Services,
    deal_ids: &[Uuid],
) -> AppResult<Vec<(Arc<Member>, Option<Contact>)>> {
    Ok(members::for_deals_with_contacts(ctx, svc.store.reader(), deal_ids)
        .await?
        .into_iter()
        .map(|(m, c)| (Arc::new(m), c))
        .collect())
}
