//! Relay cursor pagination by keyset: every ordering is `(key, id)`, so it is total and a
//! cursor names an exact position that survives inserts and deletes around it.
//!
//! A nullable key sorts as if NULL were larger than every value (last when ascending). The
//! store applies a [`Window`] to SQL (`store::page`); [`Window::slice`] applies the same
//! window to a list already in memory, with the same cursors, so a client can page on
//! through either.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::AppError;

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

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    /// Which ordering the cursor belongs to; a cursor from another ordering is rejected.
    o: String,
    k: Key,
    i: Uuid,
}

/// A validated page request: how many rows, from where, in which direction.
#[derive(Debug, Clone)]
pub struct Window {
    pub limit: u64,
    /// Reading backward (`last`/`before`): the order is reversed, then the page turned back.
    pub backward: bool,
    /// The position to start strictly after (in the effective direction).
    pub cursor: Option<(Key, Uuid)>,
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

pub fn encode_cursor(tag: &str, key: Key, id: Uuid) -> String {
    let cursor = Cursor {
        o: tag.to_owned(),
        k: key,
        i: id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
}

/// One page of items with their cursors, and the size of the whole list when it was asked for.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<(String, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// The same page with every item transformed.
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(cursor, row)| (cursor, f(row))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
            total: self.total,
        }
    }

    pub fn with_total(mut self, total: Option<u64>) -> Self {
        self.total = total;
        self
    }
}

/// Orders two keys of one ordering: values by value, NULL after every value.
fn compare_keys(a: &Key, b: &Key) -> std::cmp::Ordering {
    use std::cmp::Ordering::*;
    match (a, b) {
        (Key::Int(x), Key::Int(y)) => x.cmp(y),
        (Key::Text(x), Key::Text(y)) => x.cmp(y),
        (Key::Date(x), Key::Date(y)) => x.cmp(y),
        (Key::Time(x), Key::Time(y)) => x.cmp(y),
        (Key::Null, Key::Null) => Equal,
        (Key::Null, _) => Greater,
        (_, Key::Null) => Less,
        // Keys of one ordering share a kind; a mixed pair has no meaningful order.
        _ => Equal,
    }
}

impl Window {
    /// The page of `items` — the whole list, in the ordering's order (`descending` when
    /// the ordering sorts its key and id from the largest down) — that this window selects,
    /// as [`store::page`](crate::store) would read it from SQL.
    pub fn slice<T: Clone>(
        &self,
        items: &[T],
        ordering_tag: &str,
        descending: bool,
        key_of: impl Fn(&T) -> (Key, Uuid),
    ) -> Page<T> {
        let effective_descending = descending != self.backward;
        let after_cursor = |item: &T| match &self.cursor {
            None => true,
            Some((key, id)) => {
                let (k, i) = key_of(item);
                let order = compare_keys(&k, key).then(i.cmp(id));
                if effective_descending {
                    order.is_lt()
                } else {
                    order.is_gt()
                }
            }
        };
        let take = usize::try_from(self.limit).unwrap_or(usize::MAX).saturating_add(1);
        let rows: Vec<T> = if self.backward {
            items
                .iter()
                .rev()
                .filter(|i| after_cursor(i))
                .take(take)
                .cloned()
                .collect()
        } else {
            items.iter().filter(|i| after_cursor(i)).take(take).cloned().collect()
        };
        finish(rows, ordering_tag, self, key_of)
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
            total: None,
        }
    } else {
        Page {
            items,
            has_next_page: has_more,
            has_previous_page: had_cursor,
            total: None,
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

    #[test]
    fn a_list_in_memory_pages_like_sql_both_ways() {
        // Newest first: key descending, ties by id descending.
        let mut items: Vec<(i64, Uuid)> = (0..7).map(|n| (n / 2, Uuid::now_v7())).collect();
        items.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)));
        let key = |item: &(i64, Uuid)| (Key::Int(item.0), item.1);
        let ids = |page: &Page<(i64, Uuid)>| page.items.iter().map(|(_, i)| i.1).collect::<Vec<_>>();
        let all: Vec<Uuid> = items.iter().map(|i| i.1).collect();

        let first = PageArgs::forward(Some(3), None)
            .window("t")
            .expect("window")
            .slice(&items, "t", true, key);
        assert_eq!(ids(&first), all[..3]);
        assert!(first.has_next_page && !first.has_previous_page);
        let after = first.items.last().map(|(c, _)| c.clone());
        let second = PageArgs::forward(Some(3), after)
            .window("t")
            .expect("window")
            .slice(&items, "t", true, key);
        assert_eq!(ids(&second), all[3..6]);
        let after = second.items.last().map(|(c, _)| c.clone());
        let third = PageArgs::forward(Some(3), after)
            .window("t")
            .expect("window")
            .slice(&items, "t", true, key);
        assert_eq!(ids(&third), all[6..]);
        assert!(!third.has_next_page && third.has_previous_page);

        let back = PageArgs {
            last: Some(2),
            before: third.items.first().map(|(c, _)| c.clone()),
            ..Default::default()
        }
        .window("t")
        .expect("window")
        .slice(&items, "t", true, key);
        assert_eq!(ids(&back), all[4..6], "the two before the cursor, in reading order");
        assert!(back.has_previous_page && back.has_next_page);
    }
}
