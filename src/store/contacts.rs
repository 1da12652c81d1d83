//! Contacts: the people at an account.

use entity::contact::{Column, Entity};
use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::convert::contact_row;
use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, scope};
use crate::domain::records::Contact;
use crate::domain::{AppResult, TenantCtx};

pub async fn get(ctx: &TenantCtx, conn: &impl Conn, id: Uuid) -> AppResult<Option<Contact>> {
    scope::find_by_id::<Entity, _>(ctx, conn, id).await
}

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Contact>> {
    scope::find_by_ids::<Entity, _>(ctx, conn, ids).await
}

pub const ORDER_TAG: &str = "contact:FULL_NAME:ASC";

/// An account's contacts by name, then id.
pub async fn page_for_account(
    ctx: &TenantCtx,
    conn: &impl Conn,
    account_id: Uuid,
    window: &Window,
) -> AppResult<Page<Contact>> {
    let ordering = Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::FullName),
        nullable: false,
        descending: false,
    };
    let select = scope::select::<Entity>(ctx).filter(Column::AccountId.eq(account_id));
    page::read(conn, select, Column::Id, &ordering, window, |c: &Contact| {
        (Key::Text(c.full_name.clone()), c.id)
    })
    .await
}

pub async fn count_for_account(ctx: &TenantCtx, conn: &impl Conn, account_id: Uuid) -> AppResult<u64> {
    Ok(scope::select::<Entity>(ctx)
        .filter(Column::AccountId.eq(account_id))
        .count(conn)
        .await?)
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, contact: &Contact) -> AppResult<()> {
    scope::insert_one(ctx, conn, contact_row(contact)).await
}

/// The contact with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, conn: &impl Conn, external_id: &str) -> AppResult<Option<Contact>> {
    scope::find_by_external_id::<entity::contact::Entity, _>(ctx, conn, external_id).await
}

/// Overwrites a stored contact with `contact` (same id).
pub async fn overwrite(ctx: &TenantCtx, conn: &impl Conn, contact: &Contact) -> AppResult<()> {
    scope::overwrite(ctx, conn, contact_row(contact)).await
}
