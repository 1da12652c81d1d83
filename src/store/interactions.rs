//! Interactions: what the seller did with whom, and whom it was about.

use entity::interaction::{Column, Entity};
use entity::interaction_member;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use super::convert::{interaction_row, link_row};
use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, scope};
use crate::domain::records::{Interaction, Link};
use crate::domain::{AppResult, TenantCtx};

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Interaction>> {
    scope::find_by_id::<Entity, _>(ctx, conn, id).await
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Interaction>> {
    scope::find_by_ids::<Entity, _>(ctx, conn, ids).await
}

/// A deal's interactions are listed newest first (ties by id).
pub const ORDER_TAG: &str = "interaction:OCCURRED_AT:DESC";

/// The cursor position of an interaction in [`ORDER_TAG`]'s order.
pub fn cursor_key(i: &Interaction) -> (Key, Uuid) {
    (Key::Time(i.occurred_at), i.id)
}

/// A page of a deal's interactions, newest first.
pub async fn page_for_deal(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    window: &Window,
) -> AppResult<Page<Interaction>> {
    let ordering = Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::OccurredAt),
        nullable: false,
        descending: true,
    };
    let select = scope::select::<Entity>(ctx).filter(Column::OpportunityId.eq(deal_id));
    page::read(conn, select, Column::Id, &ordering, window, cursor_key).await
}

pub async fn count_for_deal(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid) -> AppResult<u64> {
    Ok(scope::select::<Entity>(ctx)
        .filter(Column::OpportunityId.eq(deal_id))
        .count(conn)
        .await?)
}

/// Participant and `about` links of several interactions.
pub async fn links(ctx: &TenantCtx, conn: &impl Conn, interaction_ids: &[Uuid]) -> AppResult<Vec<Link>> {
    scope::select::<interaction_member::Entity>(ctx)
        .filter(interaction_member::Column::InteractionId.is_in(interaction_ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(Link::try_from)
        .collect()
}

/// Inserts the interaction and its links. Members must already be checked to belong to the
/// deal; the composite foreign keys would refuse them otherwise.
pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, interaction: &Interaction, links: &[Link]) -> AppResult<()> {
    scope::insert_one(ctx, conn, interaction_row(interaction)).await?;
    if !links.is_empty() {
        scope::insert_many(ctx, links.iter().map(link_row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

pub async fn delete(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<u64> {
    scope::delete_by_id::<Entity>(ctx, conn, id).await
}

/// The interaction with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(
    ctx: &TenantCtx,
    conn: &impl Conn,
    external_id: &str,
) -> AppResult<Option<Interaction>> {
    scope::find_by_external_id::<Entity, _>(ctx, conn, external_id).await
}

/// Overwrites a stored interaction with `interaction` (same id) and replaces its links.
pub async fn overwrite(ctx: &TenantCtx, conn: &impl Conn, interaction: &Interaction, links: &[Link]) -> AppResult<()> {
    scope::overwrite(ctx, conn, interaction_row(interaction)).await?;
    scope::delete::<interaction_member::Entity>(ctx)
        .filter(interaction_member::Column::InteractionId.eq(interaction.id))
        .exec(conn)
        .await?;
    if !links.is_empty() {
        scope::insert_many(ctx, links.iter().map(link_row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// How many interactions each of these deals has (deals without any are left out), a
/// statement per thousand deals.
pub async fn count_for_deals(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
) -> AppResult<std::collections::HashMap<Uuid, u64>> {
    let mut counts = std::collections::HashMap::new();
    for chunk in deal_ids.chunks(1_000) {
        let rows: Vec<(Uuid, i64)> = scope::select::<Entity>(ctx)
            .select_only()
            .column(Column::OpportunityId)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(Column::OpportunityId.is_in(chunk.iter().copied()))
            .group_by(Column::OpportunityId)
            .into_tuple()
            .all(conn)
            .await?;
        counts.extend(rows.into_iter().map(|(id, n)| (id, u64::try_from(n).unwrap_or(0))));
    }
    Ok(counts)
}
