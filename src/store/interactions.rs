//! Interactions: what the seller did with whom, and whom it was about.

use chrono::{DateTime, Utc};
use entity::interaction::{ActiveModel, Column, Entity, Model};
use entity::interaction_member;
use sea_orm::{ActiveModelTrait, ColumnTrait, PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, db_error, scope};
use crate::domain::model::InteractionKind;
use crate::domain::{AppResult, TenantCtx};

pub struct NewInteraction {
    pub opportunity_id: Uuid,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<String>,
    /// Members engaged directly.
    pub participants: Vec<Uuid>,
    /// Members discussed but not present.
    pub about: Vec<Uuid>,
}

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Model>> {
    scope::select::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await
        .map_err(db_error)
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Model>> {
    scope::select::<Entity>(ctx)
        .filter(Column::Id.is_in(ids.iter().copied()))
        .all(conn)
        .await
        .map_err(db_error)
}

pub const ORDER_TAG: &str = "interaction:OCCURRED_AT:DESC";

/// A deal's interactions, newest first (ties by id).
pub async fn list_for_opportunity(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_id: Uuid,
    window: &Window,
) -> AppResult<Page<Model>> {
    let ordering = Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::OccurredAt),
        nullable: false,
        descending: true,
    };
    let select = scope::select::<Entity>(ctx).filter(Column::OpportunityId.eq(opportunity_id));
    let rows = page::apply(select, Column::Id, &ordering, window)
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(page::finish(rows, ORDER_TAG, window, |m| {
        (Key::Time(m.occurred_at), m.id)
    }))
}

pub async fn count_for_opportunity(ctx: &TenantCtx, conn: &impl Conn, opportunity_id: Uuid) -> AppResult<u64> {
    scope::select::<Entity>(ctx)
        .filter(Column::OpportunityId.eq(opportunity_id))
        .count(conn)
        .await
        .map_err(db_error)
}

/// When each interaction of several deals happened, oldest first: `(id, deal, occurred_at)`.
/// Only what risk needs, decoded by position (a deal page reads every interaction of its deal).
pub async fn times_for_opportunities(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_ids: &[Uuid],
) -> AppResult<Vec<(Uuid, Uuid, DateTime<Utc>)>> {
    scope::select::<Entity>(ctx)
        .select_only()
        .columns([Column::Id, Column::OpportunityId, Column::OccurredAt])
        .filter(Column::OpportunityId.is_in(opportunity_ids.iter().copied()))
        .order_by_asc(Column::OccurredAt)
        .order_by_asc(Column::Id)
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_error)
}

/// Participant and `about` links of several interactions.
pub async fn links(
    ctx: &TenantCtx,
    conn: &impl Conn,
    interaction_ids: &[Uuid],
) -> AppResult<Vec<interaction_member::Model>> {
    scope::select::<interaction_member::Entity>(ctx)
        .filter(interaction_member::Column::InteractionId.is_in(interaction_ids.iter().copied()))
        .all(conn)
        .await
        .map_err(db_error)
}

/// Participant and `about` links of all interactions of several deals, decoded by position.
pub async fn links_for_opportunities(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_ids: &[Uuid],
) -> AppResult<Vec<interaction_member::Model>> {
    use interaction_member::Column as Link;
    let rows: Vec<(Uuid, Uuid, Uuid, bool)> = scope::select::<interaction_member::Entity>(ctx)
        .select_only()
        .columns([Link::InteractionId, Link::MemberId, Link::OpportunityId, Link::Direct])
        .filter(Link::OpportunityId.is_in(opportunity_ids.iter().copied()))
        .into_tuple()
        .all(conn)
        .await
        .map_err(db_error)?;
    let tenant = ctx.tenant().as_str();
    Ok(rows
        .into_iter()
        .map(
            |(interaction_id, member_id, opportunity_id, direct)| interaction_member::Model {
                tenant_id: tenant.to_owned(),
                interaction_id,
                member_id,
                opportunity_id,
                direct,
            },
        )
        .collect())
}

/// Inserts the interaction and its links. Members must already be checked to belong to the
/// deal; the composite foreign keys would refuse them otherwise.
pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, new: NewInteraction, now: DateTime<Utc>) -> AppResult<Model> {
    let id = Uuid::now_v7();
    let row = ActiveModel {
        id: Set(id),
        opportunity_id: Set(new.opportunity_id),
        kind: Set(new.kind.as_str().to_owned()),
        occurred_at: Set(new.occurred_at),
        summary: Set(new.summary),
        logged_by: Set(ctx.user_id().to_owned()),
        created_at: Set(now),
        ..Default::default()
    };
    let model = scope::owned(ctx, row).insert(conn).await.map_err(db_error)?;
    let link = |member_id: Uuid, direct: bool| interaction_member::ActiveModel {
        interaction_id: Set(id),
        member_id: Set(member_id),
        opportunity_id: Set(new.opportunity_id),
        direct: Set(direct),
        ..Default::default()
    };
    let rows: Vec<_> = new
        .participants
        .iter()
        .map(|m| link(*m, true))
        .chain(new.about.iter().map(|m| link(*m, false)))
        .collect();
    if !rows.is_empty() {
        scope::insert_many(ctx, rows)
            .exec_without_returning(conn)
            .await
            .map_err(db_error)?;
    }
    Ok(model)
}

pub async fn delete(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<u64> {
    let result = scope::delete::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}
