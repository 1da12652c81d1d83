//! Keyset pagination in SQL: a [`Window`] (see [`crate::domain::page`]) becomes the cursor
//! condition, the order and the limit of a query. Every ordering is `(key, id)`; a nullable key
//! sorts as if NULL were larger than every value, the same on SQLite and PostgreSQL because
//! the order is spelled out, not left to the engine.

use sea_orm::sea_query::{Condition, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value};
use uuid::Uuid;

use super::Conn;
pub(super) use crate::domain::page::finish;
pub use crate::domain::page::{Key, Page, PageArgs, Window};
use crate::domain::{AppError, AppResult};

/// How one listing is sorted: an optional key column (then always the id).
pub struct Ordering<C> {
    /// Names the ordering inside cursors, e.g. `"opportunity:AMOUNT:ASC"`.
    pub tag: String,
    pub key: Option<C>,
    pub nullable: bool,
    pub descending: bool,
}

fn key_value(key: &Key) -> Option<Value> {
    match key {
        Key::Int(v) => Some((*v).into()),
        Key::Text(v) => Some(v.clone().into()),
        Key::Date(v) => Some((*v).into()),
        Key::Time(v) => Some((*v).into()),
        Key::Null => None,
    }
}

/// Reads the page `window` selects from `select` in `ordering`, converting each row and
/// giving it its cursor (`key_of`: its position in the ordering).
pub async fn read<E, T>(
    conn: &impl Conn,
    select: Select<E>,
    id: E::Column,
    ordering: &Ordering<E::Column>,
    window: &Window,
    key_of: impl Fn(&T) -> (Key, Uuid),
) -> AppResult<Page<T>>
where
    E: EntityTrait,
    T: TryFrom<E::Model, Error = AppError>,
{
    let rows = apply(select, id, ordering, window)
        .all(conn)
        .await?
        .into_iter()
        .map(T::try_from)
        .collect::<AppResult<Vec<T>>>()?;
    Ok(finish(rows, &ordering.tag, window, key_of))
}

/// Adds the window's cursor condition, order and limit to `select`.
pub(super) fn apply<E: EntityTrait>(
    select: Select<E>,
    id: E::Column,
    ordering: &Ordering<E::Column>,
    window: &Window,
) -> Select<E> {
    let descending = ordering.descending != window.backward;
    let mut select = select;
    if let Some((key_value, cursor_id)) = &window.cursor {
        select = select.filter(after_condition(id, ordering, descending, key_value, *cursor_id));
    }
    let order = if descending { Order::Desc } else { Order::Asc };
    if let Some(key) = ordering.key {
        if ordering.nullable {
            select = select.order_by(key.into_expr().is_null(), order.clone());
        }
        select = select.order_by(key, order.clone());
    }
    select.order_by(id, order).limit(window.limit + 1)
}

/// Rows strictly after the cursor in the effective (possibly reversed) order.
fn after_condition<C: ColumnTrait>(
    id: C,
    ordering: &Ordering<C>,
    descending: bool,
    key: &Key,
    cursor_id: Uuid,
) -> Condition {
    let id_after = if descending { id.lt(cursor_id) } else { id.gt(cursor_id) };
    let Some(col) = ordering.key else {
        return Condition::all().add(id_after);
    };
    match (key_value(key), descending) {
        (Some(v), false) => {
            let mut c = Condition::any()
                .add(col.gt(v.clone()))
                .add(Condition::all().add(col.eq(v)).add(id_after));
            if ordering.nullable {
                c = c.add(col.is_null());
            }
            c
        }
        (Some(v), true) => Condition::any()
            .add(col.lt(v.clone()))
            .add(Condition::all().add(col.eq(v)).add(id_after)),
        (None, false) => Condition::all().add(col.is_null()).add(id_after),
        (None, true) => Condition::any()
            .add(col.is_not_null())
            .add(Condition::all().add(col.is_null()).add(id_after)),
    }
}
