//! Contacts: the people at an account.

use chrono::{DateTime, Utc};
use entity::contact::{ActiveModel, Column, Entity, Model};
use sea_orm::{ActiveModelTrait, ColumnTrait, PaginatorTrait, QueryFilter, Set};
use uuid::Uuid;

use super::page::{self, Key, Ordering, Page, Window};
use super::{Conn, db_error, scope};
use crate::domain::{AppResult, TenantCtx};

pub struct NewContact {
    pub account_id: Uuid,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
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

pub const ORDER_TAG: &str = "contact:FULL_NAME:ASC";

/// An account's contacts by name, then id.
pub async fn list_for_account(
    ctx: &TenantCtx,
    conn: &impl Conn,
    account_id: Uuid,
    window: &Window,
) -> AppResult<Page<Model>> {
    let ordering = Ordering {
        tag: ORDER_TAG.into(),
        key: Some(Column::FullName),
        nullable: false,
        descending: false,
    };
    let select = scope::select::<Entity>(ctx).filter(Column::AccountId.eq(account_id));
    let rows = page::apply(select, Column::Id, &ordering, window)
        .all(conn)
        .await
        .map_err(db_error)?;
    Ok(page::finish(rows, ORDER_TAG, window, |m| {
        (Key::Text(m.full_name.clone()), m.id)
    }))
}

pub async fn count_for_account(ctx: &TenantCtx, conn: &impl Conn, account_id: Uuid) -> AppResult<u64> {
    scope::select::<Entity>(ctx)
        .filter(Column::AccountId.eq(account_id))
        .count(conn)
        .await
        .map_err(db_error)
}

pub async fn insert(ctx: &TenantCtx, conn: &impl Conn, new: NewContact, now: DateTime<Utc>) -> AppResult<Model> {
    let row = ActiveModel {
        id: Set(Uuid::now_v7()),
        account_id: Set(new.account_id),
        full_name: Set(new.full_name),
        title: Set(new.title),
        email: Set(new.email),
        created_at: Set(now),
        ..Default::default()
    };
    scope::owned(ctx, row).insert(conn).await.map_err(db_error)
}
