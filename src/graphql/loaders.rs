//! Per-request batch loading with a cache: related rows for a whole page are fetched with
//! one query per relation, and a row asked for twice in one request is read once — also when
//! sibling resolvers ask at the same moment (loads of one kind wait for each other, then find
//! the rows already there).

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use entity::{account, buying_group_member, contact, interaction_member, opportunity};
use uuid::Uuid;

use crate::domain::risk::RiskPolicy;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::risk::DealInputs;
use crate::store::{Store, accounts, contacts, interactions, members, opportunities, policy, risk};

/// A map filled on demand. `load` fetches only keys not seen before in this request, and one
/// load of a kind runs at a time, so concurrent callers never fetch the same rows twice.
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
        let mut seen = std::collections::HashSet::new();
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

/// Pairs every asked-for key with its row, or `None` when there is none. Rows are shared
/// (`Arc`), so handing one to several resolvers copies nothing.
fn by_id<T>(keys: &[Uuid], rows: Vec<T>, id: impl Fn(&T) -> Uuid) -> Vec<(Uuid, Option<Arc<T>>)> {
    let mut found: HashMap<Uuid, T> = rows.into_iter().map(|r| (id(&r), r)).collect();
    keys.iter().map(|k| (*k, found.remove(k).map(Arc::new))).collect()
}

/// Groups rows by a parent key, with an (empty) entry for every asked-for key.
fn grouped<T>(keys: &[Uuid], rows: Vec<T>, parent: impl Fn(&T) -> Uuid) -> Vec<(Uuid, Arc<Vec<T>>)> {
    let mut groups: HashMap<Uuid, Vec<T>> = keys.iter().map(|k| (*k, Vec::new())).collect();
    for row in rows {
        groups.entry(parent(&row)).or_default().push(row);
    }
    groups.into_iter().map(|(k, v)| (k, Arc::new(v))).collect()
}

pub struct Loaders {
    ctx: TenantCtx,
    store: Store,
    accounts: Cache<Uuid, Option<Arc<account::Model>>>,
    contacts: Cache<Uuid, Option<Arc<contact::Model>>>,
    opportunities: Cache<Uuid, Option<Arc<opportunity::Model>>>,
    groups: Cache<Uuid, Arc<Vec<Arc<buying_group_member::Model>>>>,
    links: Cache<Uuid, Arc<Vec<interaction_member::Model>>>,
    inputs: Cache<Uuid, Option<Arc<DealInputs>>>,
    policy: Cache<(), Arc<RiskPolicy>>,
}

impl Loaders {
    pub fn new(ctx: TenantCtx, store: Store) -> Loaders {
        Loaders {
            ctx,
            store,
            accounts: Cache::new(),
            contacts: Cache::new(),
            opportunities: Cache::new(),
            groups: Cache::new(),
            links: Cache::new(),
            inputs: Cache::new(),
            policy: Cache::new(),
        }
    }

    /// Loads the accounts of `ids` not already loaded, in one query.
    pub async fn prime_accounts(&self, ids: &[Uuid]) -> AppResult<()> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.accounts
            .load(ids, |keys| async move {
                Ok(by_id(&keys, accounts::get_many(ctx, db, &keys).await?, |r| r.id))
            })
            .await
    }

    pub async fn account(&self, id: Uuid) -> AppResult<Option<Arc<account::Model>>> {
        self.prime_accounts(&[id]).await?;
        Ok(self.accounts.get(&id).flatten())
    }

    pub async fn prime_contacts(&self, ids: &[Uuid]) -> AppResult<()> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.contacts
            .load(ids, |keys| async move {
                Ok(by_id(&keys, contacts::get_many(ctx, db, &keys).await?, |r| r.id))
            })
            .await
    }

    pub async fn contact(&self, id: Uuid) -> AppResult<Option<Arc<contact::Model>>> {
        self.prime_contacts(&[id]).await?;
        Ok(self.contacts.get(&id).flatten())
    }

    pub async fn opportunity(&self, id: Uuid) -> AppResult<Option<Arc<opportunity::Model>>> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.opportunities
            .load(&[id], |keys| async move {
                Ok(by_id(&keys, opportunities::get_many(ctx, db, &keys).await?, |r| r.id))
            })
            .await?;
        Ok(self.opportunities.get(&id).flatten())
    }

    /// Remembers deals already read (e.g. a page of the board) so children can find them.
    pub fn remember_opportunities(&self, rows: &[Arc<opportunity::Model>]) {
        self.opportunities
            .fill(rows.iter().map(|r| (r.id, Some(Arc::clone(r)))));
    }

    /// Loads the buying groups of `deal_ids` not already loaded, in one query.
    pub async fn prime_groups(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.groups
            .load(deal_ids, |keys| async move {
                let rows: Vec<Arc<buying_group_member::Model>> = members::for_opportunities(ctx, db, &keys)
                    .await?
                    .into_iter()
                    .map(Arc::new)
                    .collect();
                Ok(grouped(&keys, rows, |m| m.opportunity_id))
            })
            .await
    }

    /// Like [`prime_groups`](Self::prime_groups), with every member's contact, in one query.
    pub async fn prime_groups_with_contacts(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        let contacts = &self.contacts;
        self.groups
            .load(deal_ids, |keys| async move {
                let joined = members::for_opportunities_with_contacts(ctx, db, &keys).await?;
                let mut rows = Vec::with_capacity(joined.len());
                let mut found = Vec::with_capacity(joined.len());
                for (member, contact) in joined {
                    let member = Arc::new(member);
                    found.push((member.contact_id, contact.map(Arc::new)));
                    rows.push(member);
                }
                contacts.fill(found);
                Ok(grouped(&keys, rows, |m| m.opportunity_id))
            })
            .await
    }

    pub async fn group(&self, deal_id: Uuid) -> AppResult<Arc<Vec<Arc<buying_group_member::Model>>>> {
        self.prime_groups(&[deal_id]).await?;
        Ok(self.groups.get(&deal_id).unwrap_or_default())
    }

    /// Loads participant/about links of `interaction_ids` not already loaded, in one query.
    pub async fn prime_links(&self, interaction_ids: &[Uuid]) -> AppResult<()> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.links
            .load(interaction_ids, |keys| async move {
                Ok(grouped(&keys, interactions::links(ctx, db, &keys).await?, |l| {
                    l.interaction_id
                }))
            })
            .await
    }

    pub async fn links(&self, interaction_id: Uuid) -> AppResult<Arc<Vec<interaction_member::Model>>> {
        self.prime_links(&[interaction_id]).await?;
        Ok(self.links.get(&interaction_id).unwrap_or_default())
    }

    /// The risk facts of one deal: five queries the first time, shared by everything that
    /// needs them in this request (its contacts are remembered too).
    pub async fn deal_inputs(&self, deal_id: Uuid) -> AppResult<Arc<DealInputs>> {
        let deal = self
            .opportunity(deal_id)
            .await?
            .ok_or(AppError::NotFound("opportunity"))?;
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.inputs
            .load(&[deal_id], |keys| async move {
                let mut inputs = risk::load_inputs(ctx, db, vec![(*deal).clone()])
                    .await?
                    .into_iter()
                    .next();
                if let Some(inputs) = &inputs {
                    self.remember_inputs(inputs);
                }
                Ok(keys.into_iter().map(|k| (k, inputs.take().map(Arc::new))).collect())
            })
            .await?;
        self.inputs
            .get(&deal_id)
            .flatten()
            .ok_or(AppError::NotFound("opportunity"))
    }

    /// The facts of a deal hold its group and its links: the page's other resolvers need not
    /// read them again.
    fn remember_inputs(&self, inputs: &DealInputs) {
        let deal_id = inputs.deal.id;
        if self.groups.missing(&[deal_id]).len() == 1 {
            let group = inputs.members.iter().map(|m| Arc::clone(&m.row)).collect();
            self.groups.fill([(deal_id, Arc::new(group))]);
        }
        let ids: Vec<Uuid> = inputs.interaction_ids().collect();
        let unseen = self.links.missing(&ids);
        let links = inputs
            .links
            .iter()
            .filter(|l| unseen.contains(&l.interaction_id))
            .cloned()
            .collect();
        self.links.fill(grouped(&unseen, links, |l| l.interaction_id));
    }

    /// The tenant's risk policy, read once per request.
    pub async fn policy(&self) -> AppResult<Arc<RiskPolicy>> {
        let (ctx, db) = (&self.ctx, self.store.reader());
        self.policy
            .load(&[()], |_| async move {
                Ok(vec![((), Arc::new(policy::get(ctx, db).await?))])
            })
            .await?;
        self.policy
            .get(&())
            .ok_or_else(|| AppError::Internal("policy not loaded".into()))
    }
}
