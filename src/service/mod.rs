//! Use cases: everything a client (or the server itself) can do, in terms of domain types.
//!
//! The rules this layer keeps:
//! - It is the only way into the store from above: resolvers and loaders call these
//!   functions, which return domain records and pages, never rows.
//! - Every write checks the caller's rights, validates its input (naming the offending input
//!   field) and runs in one transaction ([`Store::write`]): all or nothing.
//! - Stored risk follows every write to a deal's inputs, in the same transaction
//!   ([`risk::refresh_deal`]).
//! - Reads see only the caller's tenant: every function takes the [`TenantCtx`] first.

pub mod accounts;
pub mod contacts;
pub mod deals;
pub mod export;
pub mod groups;
pub mod interactions;
pub mod live;
pub mod pipeline;
pub mod risk;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use chrono::{DateTime, SubsecRound, Utc};

use crate::domain::AppResult;
use crate::domain::page::Page;
use crate::store::Store;

/// The current time at the precision both databases keep (microseconds).
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}

/// What the use cases run on: the store and the process-wide caches in front of it.
/// Cheap to clone (handles only).
#[derive(Clone)]
pub struct Services {
    store: Store,
    policies: Arc<risk::PolicyCache>,
    /// `DEALGRAPH_WEBHOOK_ALLOW_PRIVATE`: webhooks may point at private addresses.
    webhooks_allow_private: bool,
}

impl Services {
    pub fn new(store: Store) -> Services {
        Services {
            store,
            policies: Arc::new(risk::PolicyCache::default()),
            webhooks_allow_private: false,
        }
    }

    /// Lets webhooks point at loopback and private addresses, over plain HTTP too.
    pub fn allowing_private_webhooks(mut self, allow: bool) -> Services {
        self.webhooks_allow_private = allow;
        self
    }

    /// The store, for the bulk paths that write through it directly (imports).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// True when the database answers.
    pub async fn ready(&self) -> bool {
        self.store.ping().await
    }
}

/// A page, with the size of the whole list when `with_total` (counted side by side with the
/// page, on a second pooled connection).
async fn counted<T>(
    page: impl Future<Output = AppResult<Page<T>>>,
    count: impl Future<Output = AppResult<u64>>,
    with_total: bool,
) -> AppResult<Page<T>> {
    let total = async {
        match with_total {
            true => count.await.map(Some),
            false => Ok(None),
        }
    };
    let (page, total) = tokio::try_join!(page, total)?;
    Ok(page.with_total(total))
}
