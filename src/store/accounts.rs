//! Accounts: the customer companies deals are sold to.

use entity::account::{Column, Entity};
use sea_orm::{PaginatorTrait, QueryFilter};
use uuid::Uuid;

use super::convert::account_row;
use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, contains_ci, scope};
use crate::domain::records::Account;
use crate::domain::{AppResult, TenantCtx};

pub async fn get_many(ctx: &TenantCtx, conn: &impl Conn, ids: &[Uuid]) -> AppResult<Vec<Account>> {
    scope::find_by_ids::<Entity, _>(ctx, conn, ids).await
}

pub const ORDER_TAG: &str = "account:NAME:ASC";

fn filtered(ctx: &TenantCtx, name_contains: Option<&str>) -> sea_orm::Select<Entity> {
    let mut select = scope::select::<Entity>(ctx);
    if let Some(text) = name_contains.filter(|t| !t.is_empty()) {
        select = select.filter(contains_ci(Column::Name, text));
    }
    select
}

/// Accounts by name, then id.
pub async fn page(
    ctx: &TenantCtx,
    conn: &impl Conn,
    name_contains: Option<&str>,
    window: &Window,
) -> AppResult<Page<Account>> {
    let ordering = Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::Name),
        nullable: false,
        descending: false,
    };
    page::read(
        conn,
        filtered(ctx, name_contains),
        Column::Id,
        &ordering,
        window,
        |a: &Account| (Key::Text(a.name.clone()), a.id),
    )
    .await
}

pub async fn count(ctx: &TenantCtx, conn: &impl Conn, name_contains: Option<&str>) -> AppResult<u64> {
    Ok(filtered(ctx, name_contains).count(conn).await?)
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, account: &Account) -> AppResult<()> {
    scope::insert_one(ctx, conn, account_row(account)).await
}

/// The account with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, conn: &impl Conn, external_id: &str) -> AppResult<Option<Account>> {
    scope::find_by_external_id::<entity::account::Entity, _>(ctx, conn, external_id).await
}

/// Overwrites a stored account with `account` (same id).
pub async fn overwrite(ctx: &TenantCtx, conn: &impl Conn, account: &Account) -> AppResult<()> {
    scope::overwrite(ctx, conn, account_row(account)).await
}
