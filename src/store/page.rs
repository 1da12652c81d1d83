//! Relay cursor pagination by keyset: every ordering is `(key, id)`, so it is total and a
//! cursor names an exact position that survives inserts and deletes around it.
//!
//! A nullable key sorts as if NULL were larger than every value (last when ascending), the
//! same on SQLite and PostgreSQL because the order is spelled out, not left to the engine.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Condition, Expr, ExprTrait};
use sea_orm::{ColumnTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select, Value};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::AppError;

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// `first`/`after`/`last`/`before` as a client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A sort key value as carried in a cursor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Key {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Time(DateTime<Utc>),
    Null,
}

impl Key {
    fn value(&self) -> Option<Value> {
        match self {
            Key::Int(v) => Some((*v).into()),
            Key::Text(v) => Some(v.clone().into()),
            Key::Date(v) => Some((*v).into()),
            Key::Time(v) => Some((*v).into()),
            Key::Null => None,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Which ordering the cursor belongs to; a cursor from another ordering is rejected.
    o: String,
    k: Key,
    i: Uuid,
}

/// How one listing is sorted: an optional key column (then always the id).
pub struct Ordering<C> {
    /// Names the ordering inside cursors, e.g. `"opportunity:AMOUNT:ASC"`.
    pub tag: String,
    pub key: Option<C>,
    pub nullable: bool,
    pub descending: bool,
}

/// A validated page request: how many rows, from where, in which direction.
#[derive(Debug, Clone)]
pub struct Window {
    pub limit: u64,
    backward: bool,
    cursor: Option<(Key, Uuid)>,
}

impl PageArgs {
    pub fn forward(first: Option<i32>, after: Option<String>) -> PageArgs {
        PageArgs {
            first,
            after,
            last: None,
            before: None,
        }
    }

    /// Checks sizes and cursors against the ordering the page will be read in.
    pub fn window(&self, tag: &str) -> Result<Window, AppError> {
        let size = |field: &str, value: Option<i32>| match value {
            None => Ok(DEFAULT_PAGE_SIZE as u64),
            Some(n) if n < 0 => Err(AppError::bad_input(field, "must not be negative")),
            Some(n) if n > MAX_PAGE_SIZE => Err(AppError::bad_input(field, format!("must be at most {MAX_PAGE_SIZE}"))),
            Some(n) => Ok(n as u64),
        };
        if self.first.is_some() && self.last.is_some() {
            return Err(AppError::bad_input("last", "use either first or last, not both"));
        }
        if self.after.is_some() && self.before.is_some() {
            return Err(AppError::bad_input("before", "use either after or before, not both"));
        }
        let backward = self.last.is_some() || self.before.is_some();
        if backward && (self.first.is_some() || self.after.is_some()) {
            return Err(AppError::bad_input(
                "before",
                "page backward with last and before, forward with first and after",
            ));
        }
        let (field, limit, raw) = if backward {
            ("before", size("last", self.last)?, self.before.as_deref())
        } else {
            ("after", size("first", self.first)?, self.after.as_deref())
        };
        let cursor = raw.map(|raw| decode_cursor(field, raw, tag)).transpose()?;
        Ok(Window {
            limit,
            backward,
            cursor,
        })
    }
}

fn decode_cursor(field: &str, raw: &str, tag: &str) -> Result<(Key, Uuid), AppError> {
    let invalid = || AppError::bad_input(field, "is not a cursor of this list");
    let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| invalid())?;
    let cursor: Cursor = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if cursor.o != tag {
        return Err(AppError::bad_input(field, "is a cursor of another list or ordering"));
    }
    Ok((cursor.k, cursor.i))
}

fn encode_cursor(tag: &str, key: Key, id: Uuid) -> String {
    let cursor = Cursor {
        o: tag.to_owned(),
        k: key,
        i: id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// One page of rows with their cursors.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    /// The same page with every row transformed.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(cursor, row)| (cursor, f(row))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }
}

/// Adds the window's cursor condition, order and limit to `select`.
pub fn apply<E: EntityTrait>(
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
            select = select.order_by(Expr::col(key).is_null(), order.clone());
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
    match (key.value(), descending) {
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

/// Turns the fetched rows (one more than the limit) into a page in reading order.
pub fn finish<T>(mut rows: Vec<T>, ordering_tag: &str, window: &Window, key_of: impl Fn(&T) -> (Key, Uuid)) -> Page<T> {
    let has_more = rows.len() as u64 > window.limit;
    rows.truncate(window.limit as usize);
    if window.backward {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let (key, id) = key_of(&row);
            (encode_cursor(ordering_tag, key, id), row)
        })
        .collect();
    let had_cursor = window.cursor.is_some();
    if window.backward {
        Page {
            items,
            has_next_page: had_cursor,
            has_previous_page: has_more,
        }
    } else {
        Page {
            items,
            has_next_page: has_more,
            has_previous_page: had_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(PageArgs::default().window("t").map(|w| w.limit).ok(), Some(20));
        assert!(PageArgs::forward(Some(101), None).window("t").is_err());
        assert!(PageArgs::forward(Some(-1), None).window("t").is_err());
        assert_eq!(
            PageArgs::forward(Some(100), None).window("t").map(|w| w.limit).ok(),
            Some(100)
        );
        let both = PageArgs {
            first: Some(1),
            last: Some(1),
            ..Default::default()
        };
        assert!(both.window("t").is_err());
    }

    #[test]
    fn cursors_round_trip_and_stay_with_their_ordering() {
        let id = Uuid::now_v7();
        let raw = encode_cursor("a", Key::Text("x".into()), id);
        let window = PageArgs::forward(None, Some(raw.clone()))
            .window("a")
            .expect("valid cursor");
        assert_eq!(window.cursor, Some((Key::Text("x".into()), id)));
        assert!(PageArgs::forward(None, Some(raw)).window("b").is_err());
        assert!(PageArgs::forward(None, Some("garbage".into())).window("a").is_err());
    }
}
