//! Per-request batch loading with a cache, over the service layer: related records for a
//! whole page are fetched with one call per relation, and a record asked for twice in one
//! request is read once — also when sibling resolvers ask at the same moment (loads of one
//! kind wait for each other, then find the records already there).
//!
//! The getters answer from the cache without awaiting anything, and box the load otherwise:
//! a resolver's future is as large as the largest future it may await, and async-graphql
//! allocates and moves one per field — a board resolves thousands of fields, nearly all of them
//! from the cache.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use uuid::Uuid;

use crate::domain::deal_record::{DealHistory, DealRecord};
use crate::domain::records::{self, Account, Contact, Deal, Link, Member};
use crate::domain::risk::RiskPolicy;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::service::{self, Services};

/// A map filled on demand. `load` fetches only keys not seen before in this request, and one
/// load of a kind runs at a time, so concurrent callers never fetch the same records twice.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, V>>,
    loading: tokio::sync::Mutex<()>,
}

impl<K: Hash + Eq + Copy, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    fn missing(&self, keys: &[K]) -> Vec<K> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut seen = HashSet::new();
        keys.iter()
            .copied()
            .filter(|k| !entries.contains_key(k) && seen.insert(*k))
            .collect()
    }

    fn fill(&self, found: impl IntoIterator<Item = (K, V)>) {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).extend(found);
    }

    fn get(&self, key: &K) -> Option<V> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }

    /// Makes sure every key of `keys` has an entry, fetching the missing ones with one call
    /// of `fetch`, which must return an entry for each key it was given.
    async fn load<F, Fut>(&self, keys: &[K], fetch: F) -> AppResult<()>
    where
        F: FnOnce(Vec<K>) -> Fut,
        Fut: Future<Output = AppResult<Vec<(K, V)>>>,
    {
        if self.missing(keys).is_empty() {
            return Ok(());
        }
        let _one_at_a_time = self.loading.lock().await;
        let missing = self.missing(keys);
        if !missing.is_empty() {
            self.fill(fetch(missing).await?);
        }
        Ok(())
    }
}

impl<T> Cache<Uuid, Option<Arc<T>>> {
    /// Like [`Cache::load`], for records fetched by id (an id that names nothing is
    /// remembered as `None`).
    async fn load_by_id<F, Fut>(&self, ids: &[Uuid], fetch: F, id_of: impl Fn(&T) -> Uuid) -> AppResult<()>
    where
        F: FnOnce(Vec<Uuid>) -> Fut,
        Fut: Future<Output = AppResult<Vec<T>>>,
    {
        self.load(ids, |keys| async move {
            let found = fetch(keys.clone()).await?;
            Ok(by_id(&keys, found, id_of))
        })
        .await
    }
}

/// Pairs every asked-for key with its record, or `None` when there is none. Records are
/// shared (`Arc`), so handing one to several resolvers copies nothing.
fn by_id<T>(keys: &[Uuid], records: Vec<T>, id: impl Fn(&T) -> Uuid) -> Vec<(Uuid, Option<Arc<T>>)> {
    let mut found: HashMap<Uuid, T> = records.into_iter().map(|r| (id(&r), r)).collect();
    keys.iter().map(|k| (*k, found.remove(k).map(Arc::new))).collect()
}

/// Groups records by a parent key, with an (empty) entry for every asked-for key.
fn grouped<T>(keys: &[Uuid], records: Vec<T>, parent: impl Fn(&T) -> Uuid) -> Vec<(Uuid, Arc<Vec<T>>)> {
    let mut groups: HashMap<Uuid, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for record in records {
        groups.entry(parent(&record)).or_default().push(record);
    }
    groups.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

pub struct Loaders {
    ctx: TenantCtx,
    svc: Services,
    accounts: Cache<Uuid, Option<Arc<Account>>>,
    contacts: Cache<Uuid, Option<Arc<Contact>>>,
    deals: Cache<Uuid, Option<Arc<Deal>>>,
    groups: Cache<Uuid, Arc<Vec<Arc<Member>>>>,
    links: Cache<Uuid, Arc<Vec<Link>>>,
    histories: Cache<Uuid, Arc<DealHistory>>,
    records: Cache<Uuid, Option<Arc<DealRecord>>>,
    policy: Cache<(), Arc<RiskPolicy>>,
}

impl Loaders {
    pub fn new(ctx: TenantCtx, svc: Services) -> Loaders {
        Loaders {
            ctx,
            svc,
            accounts: Cache::new(),
            contacts: Cache::new(),
            deals: Cache::new(),
            groups: Cache::new(),
            links: Cache::new(),
            histories: Cache::new(),
            records: Cache::new(),
            policy: Cache::new(),
        }
    }

    /// Loads the accounts of `ids` not already loaded, in one call.
    pub async fn prime_accounts(&self, ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        let fetch = |keys: Vec<Uuid>| async move { service::accounts::load_many(ctx, svc, &keys).await };
        self.accounts.load_by_id(ids, fetch, |a| a.id).await
    }

    pub async fn account(&self, id: Uuid) -> AppResult<Option<Arc<Account>>> {
        if let Some(known) = self.accounts.get(&id) {
            return Ok(known);
        }
        Box::pin(self.prime_accounts(&[id])).await?;
        Ok(self.accounts.get(&id).flatten())
    }

    pub async fn prime_contacts(&self, ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        let fetch = |keys: Vec<Uuid>| async move { service::contacts::load_many(ctx, svc, &keys).await };
        self.contacts.load_by_id(ids, fetch, |c| c.id).await
    }

    pub async fn contact(&self, id: Uuid) -> AppResult<Option<Arc<Contact>>> {
        if let Some(known) = self.contacts.get(&id) {
            return Ok(known);
        }
        Box::pin(self.prime_contacts(&[id])).await?;
        Ok(self.contacts.get(&id).flatten())
    }

    pub async fn deal(&self, id: Uuid) -> AppResult<Option<Arc<Deal>>> {
        if let Some(known) = self.deals.get(&id) {
            return Ok(known);
        }
        let (ctx, svc) = (&self.ctx, &self.svc);
        let fetch = |keys: Vec<Uuid>| async move { service::deals::load_many(ctx, svc, &keys).await };
        Box::pin(self.deals.load_by_id(&[id], fetch, |d| d.id)).await?;
        Ok(self.deals.get(&id).flatten())
    }

    /// A deal and its account in one query (the deal page).
    pub async fn deal_with_account(&self, id: Uuid) -> AppResult<Option<Arc<Deal>>> {
        if let Some(known) = self.deals.get(&id) {
            if let Some(deal) = &known {
                self.prime_accounts(&[deal.account_id]).await?;
            }
            return Ok(known);
        }
        let found = service::deals::get_with_account(&self.ctx, &self.svc, id).await?;
        let deal = found.map(|(deal, account)| {
            let deal = Arc::new(deal);
            self.accounts.fill([(deal.account_id, account.map(Arc::new))]);
            deal
        });
        self.deals.fill([(id, deal.clone())]);
        Ok(deal)
    }

    /// Remembers accounts already read (with a page of deals).
    pub fn remember_accounts(&self, accounts: impl Iterator<Item = (Uuid, Option<records::Account>)>) {
        let known: Vec<(Uuid, Option<Arc<Account>>)> = accounts.map(|(id, a)| (id, a.map(Arc::new))).collect();
        self.accounts.fill(known);
    }

    /// Remembers deals already read (e.g. a page of the board) so children can find them.
    pub fn remember_deals(&self, deals: &[Arc<Deal>]) {
        self.deals.fill(deals.iter().map(|d| (d.id, Some(Arc::clone(d)))));
    }

    /// Loads the buying groups of `deal_ids` not already loaded, in one call.
    pub async fn prime_groups(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        self.groups
            .load(deal_ids, |keys| async move {
                let members = service::groups::load(ctx, svc, &keys).await?;
                Ok(grouped(&keys, members, |m| m.opportunity_id))
            })
            .await
    }

    /// Like [`prime_groups`](Self::prime_groups), with every member's contact, in one call.
    pub async fn prime_groups_with_contacts(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        let contacts = &self.contacts;
        self.groups
            .load(deal_ids, |keys| async move {
                let joined = service::groups::load_with_contacts(ctx, svc, &keys).await?;
                let mut members = Vec::with_capacity(joined.len());
                let mut found = Vec::with_capacity(joined.len());
                for (member, contact) in joined {
                    found.push((member.contact_id, contact.map(Arc::new)));
                    members.push(member);
                }
                contacts.fill(found);
                Ok(grouped(&keys, members, |m| m.opportunity_id))
            })
            .await
    }

    pub async fn group(&self, deal_id: Uuid) -> AppResult<Arc<Vec<Arc<Member>>>> {
        if let Some(known) = self.groups.get(&deal_id) {
            return Ok(known);
        }
        Box::pin(self.prime_groups(&[deal_id])).await?;
        Ok(self.groups.get(&deal_id).unwrap_or_default())
    }

    /// Loads participant/about links of `interaction_ids` not already loaded, in one call.
    pub async fn prime_links(&self, interaction_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        self.links
            .load(interaction_ids, |keys| async move {
                let links = service::interactions::links(ctx, svc, &keys).await?;
                Ok(grouped(&keys, links, |l| l.interaction_id))
            })
            .await
    }

    pub async fn links(&self, interaction_id: Uuid) -> AppResult<Arc<Vec<Link>>> {
        if let Some(known) = self.links.get(&interaction_id) {
            return Ok(known);
        }
        Box::pin(self.prime_links(&[interaction_id])).await?;
        Ok(self.links.get(&interaction_id).unwrap_or_default())
    }

    /// Loads the histories of `deal_ids` not already loaded, in one call; their interactions'
    /// links are then at hand for `participants` and `about` too.
    pub async fn prime_histories(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, svc) = (&self.ctx, &self.svc);
        let links = &self.links;
        self.histories
            .load(deal_ids, |keys| async move {
                let mut found = service::deals::histories(ctx, svc, &keys).await?;
                let mut entries = Vec::with_capacity(keys.len());
                for key in keys {
                    let history = found.remove(&key).unwrap_or_default();
                    let ids: Vec<Uuid> = history.interactions.iter().map(|i| i.id).collect();
                    links.fill(grouped(&ids, history.links.clone(), |l| l.interaction_id));
                    entries.push((key, Arc::new(history)));
                }
                Ok(entries)
            })
            .await
    }

    /// A deal's history, if this request has loaded it already.
    pub fn loaded_history(&self, deal_id: Uuid) -> Option<Arc<DealHistory>> {
        self.histories.get(&deal_id)
    }

    /// Everything recorded about one deal (what risk is computed from): its group and its
    /// history, loaded side by side the first time, shared by every resolver after that.
    pub async fn record(&self, deal_id: Uuid) -> AppResult<Arc<DealRecord>> {
        if let Some(Some(known)) = self.records.get(&deal_id) {
            return Ok(known);
        }
        let deal = self.deal(deal_id).await?.ok_or(AppError::NotFound("opportunity"))?;
        let keys = [deal_id];
        let built = self.records.load(&keys, |keys| async move {
            tokio::try_join!(self.prime_groups(&keys), self.prime_histories(&keys))?;
            let group = self.groups.get(&deal_id).unwrap_or_default();
            let history = self.histories.get(&deal_id).unwrap_or_default();
            let record = DealRecord::new(deal, group.as_ref().clone(), history);
            Ok(vec![(deal_id, Some(Arc::new(record)))])
        });
        Box::pin(built).await?;
        self.records
            .get(&deal_id)
            .flatten()
            .ok_or(AppError::NotFound("opportunity"))
    }

    /// The tenant's risk policy, once per request.
    pub async fn policy(&self) -> AppResult<Arc<RiskPolicy>> {
        if let Some(known) = self.policy.get(&()) {
            return Ok(known);
        }
        let (ctx, svc) = (&self.ctx, &self.svc);
        let keys = [()];
        let load = self.policy.load(&keys, |_| async move {
            Ok(vec![((), service::risk::policy(ctx, svc).await?)])
        });
        Box::pin(load).await?;
        self.policy
            .get(&())
            .ok_or_else(|| AppError::Internal("policy not loaded".into()))
    }
}
