//! Accounts: the customer companies deals are sold to.

use chrono::{DateTime, Utc};
use entity::account::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, contains_ci, db_error, scope};
use crate::domain::{AppResult, TenantCtx};

pub struct NewAccount {
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
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

pub const ORDER_TAG: &str = "account:NAME:ASC";

fn ordering() -> Ordering<Column> {
    Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::Name),
        nullable: false,
        descending: false,
    }
}

fn filtered(ctx: &TenantCtx, name_contains: Option<&str>) -> sea_orm::Select<Entity> {
    let mut select = scope::select::<Entity>(ctx);
    if let Some(text) = name_contains.filter(|t| !t.is_empty()) {
        select = select.filter(contains_ci(Column::Name, text));
    }
    select
}

/// Accounts by name, then id.
pub async fn list(
    ctx: &TenantCtx,
    conn: &impl Conn,
    name_contains: Option<&str>,
    window: &Window,
) -> AppResult<Page<Model>> {
    let ordering = ordering();
    let rows = page::apply(filtered(ctx, name_contains), Column::Id, &ordering, window)
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(page::finish(rows, ORDER_TAG, window, |m| {
        (Key::Text(m.name.clone()), m.id)
    }))
}

pub async fn count(ctx: &TenantCtx, conn: &impl Conn, name_contains: Option<&str>) -> AppResult<u64> {
    filtered(ctx, name_contains).count(conn).await.map_err(db_error)
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, new: NewAccount, now: DateTime<Utc>) -> AppResult<Model> {
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(new.name),
        domain: Set(new.domain),
        industry: Set(new.industry),
        created_at: Set(now),
        ..Default::default()
    };
    scope::owned(ctx, row).insert(conn).await.map_err(db_error)
}
