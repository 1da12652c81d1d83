//! Buying-group members: the people on the customer side who decide a deal.

use chrono::{DateTime, Utc};
use entity::buying_group_member::{Column, Entity};
use entity::contact;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, EntityTrait, JoinType, PaginatorTrait, QueryFilter, QueryOrder, QueryResult, QuerySelect, QueryTrait,
    RelationDef,
};
use uuid::Uuid;

use super::convert::{MEMBER_COLUMNS, decode_member, member_row};
use super::{Conn, constraint_error, scope};
use crate::domain::records::{Contact, Member};
use crate::domain::{AppResult, TenantCtx};

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Member>> {
    scope::find_by_id::<Entity, _>(ctx, conn, id).await
}

/// Every membership of several deals' buying groups, ended ones included (past interactions
/// name them), each group in the order members were added. Members carry their contact's
/// name and title, which is all a board shows of the contact.
pub async fn for_deals(ctx: &TenantCtx, conn: &impl Conn, deal_ids: &[Uuid]) -> AppResult<Vec<Member>> {
    let query = scope::select::<Entity>(ctx)
        .select_only()
        .columns(MEMBER_COLUMNS)
        .filter(Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .into_query();
    conn.query_all(&query).await?.iter().map(decode_member).collect()
}

/// The buying groups of several deals with each member's whole contact, in one joined query
/// (the join includes the tenant, so a contact can only come from the caller's tenant).
pub async fn for_deals_with_contacts(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
) -> AppResult<Vec<(Member, Option<Contact>)>> {
    let member_contact: RelationDef = Entity::belongs_to(contact::Entity)
        .from((Column::TenantId, Column::ContactId))
        .to((contact::Column::TenantId, contact::Column::Id))
        .into();
    let query = scope::select::<Entity>(ctx)
        .select_only()
        .columns(MEMBER_COLUMNS)
        .columns([
            contact::Column::Id,
            contact::Column::AccountId,
            contact::Column::FullName,
            contact::Column::Title,
            contact::Column::Email,
            contact::Column::CreatedAt,
            contact::Column::ExternalId,
        ])
        .join(JoinType::LeftJoin, member_contact)
        .filter(Column::OpportunityId.is_in(deal_ids.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .into_query();
    conn.query_all(&query)
        .await?
        .iter()
        .map(decode_member_and_contact)
        .collect()
}

/// One row of [`for_deals_with_contacts`], by column position.
fn decode_member_and_contact(r: &QueryResult) -> AppResult<(Member, Option<Contact>)> {
    let member = decode_member(r)?;
    let contact = match r.try_get_by_index::<Option<Uuid>>(14)? {
        Some(id) => Some(Contact {
            id,
            account_id: r.try_get_by_index(15)?,
            full_name: r.try_get_by_index(16)?,
            title: r.try_get_by_index(17)?,
            email: r.try_get_by_index(18)?,
            created_at: r.try_get_by_index(19)?,
            external_id: r.try_get_by_index(20)?,
        }),
        None => None,
    };
    Ok((member, contact))
}

/// How many members a deal's group holds now.
pub async fn count_for_deal(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid) -> AppResult<u64> {
    Ok(scope::select::<Entity>(ctx)
        .filter(Column::OpportunityId.eq(deal_id))
        .filter(Column::RemovedAt.is_null())
        .count(conn)
        .await?)
}

pub async fn contact_in_group(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid, contact_id: Uuid) -> AppResult<bool> {
    let found = scope::select::<Entity>(ctx)
        .select_only()
        .column(Column::Id)
        .filter(Column::OpportunityId.eq(deal_id))
        .filter(Column::ContactId.eq(contact_id))
        .filter(Column::RemovedAt.is_null())
        .into_tuple::<Uuid>()
        .one(conn)
        .await?;
    Ok(found.is_some())
}

/// Inserts a member; a racing insert of the same contact is `BAD_USER_INPUT`, not `INTERNAL`.
pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, member: &Member) -> AppResult<()> {
    scope::insert_many(ctx, [member_row(member)])
        .exec_without_returning(conn)
        .await
        .map_err(constraint_error)?;
    Ok(())
}

/// Writes a member's attributes (role, stance, veto, influence, bandwidth, notes).
pub async fn update(ctx: &TenantCtx, conn: &impl Conn, member: &Member) -> AppResult<()> {
    scope::update::<Entity>(ctx)
        .filter(Column::Id.eq(member.id))
        .col_expr(Column::Role, Expr::val(member.role.as_str()))
        .col_expr(Column::Stance, Expr::val(member.stance.as_str()))
        .col_expr(Column::CanVeto, Expr::val(member.can_veto))
        .col_expr(Column::Influence, Expr::val(member.influence.as_str()))
        .col_expr(Column::Bandwidth, Expr::val(member.bandwidth.as_str()))
        .col_expr(Column::Notes, Expr::val(member.notes.clone()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Ends a current membership at `at` (the member and their interaction links stay); returns
/// how many memberships ended (0 if it had ended already).
pub async fn end(ctx: &TenantCtx, conn: &impl Conn, id: Uuid, at: DateTime<Utc>) -> AppResult<u64> {
    let result = scope::update::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .filter(Column::RemovedAt.is_null())
        .col_expr(Column::RemovedAt, Expr::val(at))
        .exec(conn)
        .await?;
    Ok(result.rows_affected)
}

/// The member with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, conn: &impl Conn, external_id: &str) -> AppResult<Option<Member>> {
    scope::find_by_external_id::<Entity, _>(ctx, conn, external_id).await
}

/// Overwrites a stored member with `member` (same id).
pub async fn overwrite(ctx: &TenantCtx, conn: &impl Conn, member: &Member) -> AppResult<()> {
    scope::overwrite(ctx, conn, member_row(member)).await
}
