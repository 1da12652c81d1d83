//! Buying-group members: the people on the customer side who decide a deal.

use chrono::{DateTime, Utc};
use entity::buying_group_member::{ActiveModel, Column, Entity, Model};
use entity::contact;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DbErr, EntityTrait, JoinType, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, RelationDef, Set,
};
use uuid::Uuid;

use super::{Conn, constraint_error, db_error, scope};
use crate::domain::model::{Bandwidth, BuyingRole, Influence, Stance};
use crate::domain::{AppResult, TenantCtx};

pub struct NewMember {
    pub opportunity_id: Uuid,
    pub contact_id: Uuid,
    /// The contact's name and title, copied onto the member (see the migration that added them).
    pub contact_name: String,
    pub contact_title: Option<String>,
    pub role: BuyingRole,
    pub stance: Stance,
    pub can_veto: bool,
    pub influence: Influence,
    pub bandwidth: Bandwidth,
    pub notes: Option<String>,
}

/// Changed attributes; `None` leaves one as it is. `notes: Some(None)` clears the notes.
#[derive(Debug, Default)]
pub struct MemberChanges {
    pub role: Option<BuyingRole>,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    pub notes: Option<Option<String>>,
}

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Model>> {
    scope::select::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .one(conn)
        .await
        .map_err(db_error)
}

/// The member columns, in the order [`decode_member`] reads them.
const MEMBER_COLUMNS: [Column; 13] = [
    Column::TenantId,
    Column::Id,
    Column::OpportunityId,
    Column::ContactId,
    Column::ContactName,
    Column::ContactTitle,
    Column::Role,
    Column::Stance,
    Column::CanVeto,
    Column::Influence,
    Column::Bandwidth,
    Column::Notes,
    Column::CreatedAt,
];

/// A member from the first 13 columns of a row, by position: boards read hundreds of members,
/// and decoding by column name cost more server time than the query itself.
fn decode_member(r: &QueryResult) -> Result<Model, DbErr> {
    Ok(Model {
        tenant_id: r.try_get_by_index(0)?,
        id: r.try_get_by_index(1)?,
        opportunity_id: r.try_get_by_index(2)?,
        contact_id: r.try_get_by_index(3)?,
        contact_name: r.try_get_by_index(4)?,
        contact_title: r.try_get_by_index(5)?,
        role: r.try_get_by_index(6)?,
        stance: r.try_get_by_index(7)?,
        can_veto: r.try_get_by_index(8)?,
        influence: r.try_get_by_index(9)?,
        bandwidth: r.try_get_by_index(10)?,
        notes: r.try_get_by_index(11)?,
        created_at: r.try_get_by_index(12)?,
    })
}

/// The buying groups of several deals, in the order members were added. Members carry their
/// contact's name and title, which is all a board shows of the contact.
pub async fn for_opportunities(ctx: &TenantCtx, conn: &impl Conn, opportunity_ids: &[Uuid]) -> AppResult<Vec<Model>> {
    let query = scope::select::<Entity>(ctx)
        .select_only()
        .columns(MEMBER_COLUMNS)
        .filter(Column::OpportunityId.is_in(opportunity_ids.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .into_query();
    let rows = conn.query_all(&query).await.map_err(db_error)?;
    rows.iter().map(|r| decode_member(r).map_err(db_error)).collect()
}

/// The buying groups of several deals with each member's whole contact, in one joined query
/// (the join includes the tenant, so a contact can only come from the caller's tenant).
pub async fn for_opportunities_with_contacts(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_ids: &[Uuid],
) -> AppResult<Vec<(Model, Option<contact::Model>)>> {
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
        ])
        .join(JoinType::LeftJoin, member_contact)
        .filter(Column::OpportunityId.is_in(opportunity_ids.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .into_query();
    let rows = conn.query_all(&query).await.map_err(db_error)?;
    rows.iter()
        .map(|r| decode_member_and_contact(r).map_err(db_error))
        .collect()
}

/// One row of [`for_opportunities_with_contacts`], by column position.
fn decode_member_and_contact(r: &QueryResult) -> Result<(Model, Option<contact::Model>), DbErr> {
    let member = decode_member(r)?;
    let contact = match r.try_get_by_index::<Option<Uuid>>(13)? {
        Some(id) => Some(contact::Model {
            tenant_id: member.tenant_id.clone(),
            id,
            account_id: r.try_get_by_index(14)?,
            full_name: r.try_get_by_index(15)?,
            title: r.try_get_by_index(16)?,
            email: r.try_get_by_index(17)?,
            created_at: r.try_get_by_index(18)?,
        }),
        None => None,
    };
    Ok((member, contact))
}

pub async fn contact_in_group(
    ctx: &TenantCtx,
    conn: &impl Conn,
    opportunity_id: Uuid,
    contact_id: Uuid,
) -> AppResult<bool> {
    let found = scope::select::<Entity>(ctx)
        .filter(Column::OpportunityId.eq(opportunity_id))
        .filter(Column::ContactId.eq(contact_id))
        .one(conn)
        .await
        .map_err(db_error)?;
    Ok(found.is_some())
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, new: NewMember, now: DateTime<Utc>) -> AppResult<Model> {
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        opportunity_id: Set(new.opportunity_id),
        contact_id: Set(new.contact_id),
        contact_name: Set(new.contact_name),
        contact_title: Set(new.contact_title),
        role: Set(new.role.as_str().to_owned()),
        stance: Set(new.stance.as_str().to_owned()),
        can_veto: Set(new.can_veto),
        influence: Set(new.influence.as_str().to_owned()),
        bandwidth: Set(new.bandwidth.as_str().to_owned()),
        notes: Set(new.notes),
        created_at: Set(now),
        ..Default::default()
    };
    scope::owned(ctx, row).insert(conn).await.map_err(constraint_error)
}

pub async fn update(ctx: &TenantCtx, conn: &impl Conn, id: Uuid, changes: MemberChanges) -> AppResult<Option<Model>> {
    let mut sets: Vec<(Column, sea_orm::Value)> = Vec::new();
    let mut set = |col: Column, value: sea_orm::Value| sets.push((col, value));
    if let Some(role) = changes.role {
        set(Column::Role, role.as_str().into());
    }
    if let Some(stance) = changes.stance {
        set(Column::Stance, stance.as_str().into());
    }
    if let Some(can_veto) = changes.can_veto {
        set(Column::CanVeto, can_veto.into());
    }
    if let Some(influence) = changes.influence {
        set(Column::Influence, influence.as_str().into());
    }
    if let Some(bandwidth) = changes.bandwidth {
        set(Column::Bandwidth, bandwidth.as_str().into());
    }
    if let Some(notes) = changes.notes {
        set(Column::Notes, notes.into());
    }
    if !sets.is_empty() {
        let update = scope::update::<Entity>(ctx).filter(Column::Id.eq(id));
        let update = sets
            .into_iter()
            .fold(update, |u, (col, value)| u.col_expr(col, Expr::val(value)));
        update.exec(conn).await.map_err(db_error)?;
    }
    get(ctx, conn, id).await
}

/// Removes a member; their interaction links go with them (foreign-key cascade).
pub async fn delete(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<u64> {
    let result = scope::delete::<Entity>(ctx)
        .filter(Column::Id.eq(id))
        .exec(conn)
        .await
        .map_err(db_error)?;
    Ok(result.rows_affected)
}
