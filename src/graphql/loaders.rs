//! Per-request batch loading with a cache: related rows for a whole page are fetched with
//! one query per relation, and a row asked for twice in one request is read once.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;

use std::sync::Arc;

use entity::{account, buying_group_member, contact, interaction_member, opportunity};
use uuid::Uuid;

use crate::domain::risk::RiskPolicy;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::risk::DealInputs;
use crate::store::{Store, accounts, contacts, interactions, members, opportunities, policy, risk};

/// A map filled on demand: `load` fetches only keys not seen before in this request.
struct Cache<K, V> {
    entries: Mutex<HashMap<K, V>>,
}

impl<K: Hash + Eq + Copy, V: Clone> Cache<K, V> {
    fn new() -> Self {
        Cache {
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn missing(&self, keys: &[K]) -> Vec<K> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let mut out: Vec<K> = keys.iter().copied().filter(|k| !entries.contains_key(k)).collect();
        let mut seen = std::collections::HashSet::new();
        out.retain(|k| seen.insert(*k));
        out
    }

    fn fill(&self, found: impl IntoIterator<Item = (K, V)>) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.extend(found);
    }

    fn get(&self, key: &K) -> Option<V> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(key).cloned()
    }
}

pub struct Loaders {
    ctx: TenantCtx,
    store: Store,
    accounts: Cache<Uuid, Option<account::Model>>,
    contacts: Cache<Uuid, Option<contact::Model>>,
    opportunities: Cache<Uuid, Option<opportunity::Model>>,
    groups: Cache<Uuid, Vec<buying_group_member::Model>>,
    members: Cache<Uuid, Option<buying_group_member::Model>>,
    links: Cache<Uuid, Vec<interaction_member::Model>>,
    inputs: Cache<Uuid, Option<Arc<DealInputs>>>,
    policy: Mutex<Option<Arc<RiskPolicy>>>,
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
            members: Cache::new(),
            links: Cache::new(),
            inputs: Cache::new(),
            policy: Mutex::new(None),
        }
    }

    /// Loads the accounts of `ids` not already loaded, in one query.
    pub async fn prime_accounts(&self, ids: &[Uuid]) -> AppResult<()> {
        let missing = self.accounts.missing(ids);
        if !missing.is_empty() {
            let rows = accounts::get_many(&self.ctx, self.store.reader(), &missing).await?;
            let mut found: HashMap<Uuid, Option<account::Model>> = missing.iter().map(|id| (*id, None)).collect();
            found.extend(rows.into_iter().map(|r| (r.id, Some(r))));
            self.accounts.fill(found);
        }
        Ok(())
    }

    pub async fn account(&self, id: Uuid) -> AppResult<Option<account::Model>> {
        self.prime_accounts(&[id]).await?;
        Ok(self.accounts.get(&id).flatten())
    }

    pub async fn prime_contacts(&self, ids: &[Uuid]) -> AppResult<()> {
        let missing = self.contacts.missing(ids);
        if !missing.is_empty() {
            let rows = contacts::get_many(&self.ctx, self.store.reader(), &missing).await?;
            let mut found: HashMap<Uuid, Option<contact::Model>> = missing.iter().map(|id| (*id, None)).collect();
            found.extend(rows.into_iter().map(|r| (r.id, Some(r))));
            self.contacts.fill(found);
        }
        Ok(())
    }

    pub async fn contact(&self, id: Uuid) -> AppResult<Option<contact::Model>> {
        self.prime_contacts(&[id]).await?;
        Ok(self.contacts.get(&id).flatten())
    }

    pub async fn opportunity(&self, id: Uuid) -> AppResult<Option<opportunity::Model>> {
        let missing = self.opportunities.missing(&[id]);
        if !missing.is_empty() {
            let row = opportunities::get(&self.ctx, self.store.reader(), id).await?;
            self.opportunities.fill([(id, row)]);
        }
        Ok(self.opportunities.get(&id).flatten())
    }

    /// Remembers deals already read (e.g. a page of the board) so children can find them.
    pub fn remember_opportunities(&self, rows: &[opportunity::Model]) {
        self.opportunities.fill(rows.iter().map(|r| (r.id, Some(r.clone()))));
    }

    /// Loads the buying groups of `deal_ids` not already loaded, in one query.
    pub async fn prime_groups(&self, deal_ids: &[Uuid]) -> AppResult<()> {
        let missing = self.groups.missing(deal_ids);
        if !missing.is_empty() {
            let rows = members::for_opportunities(&self.ctx, self.store.reader(), &missing).await?;
            self.members.fill(rows.iter().map(|m| (m.id, Some(m.clone()))));
            let mut found: HashMap<Uuid, Vec<buying_group_member::Model>> =
                missing.iter().map(|id| (*id, Vec::new())).collect();
            for row in rows {
                found.entry(row.opportunity_id).or_default().push(row);
            }
            self.groups.fill(found);
        }
        Ok(())
    }

    /// The contacts of the already loaded groups of `deal_ids`.
    pub fn group_contact_ids(&self, deal_ids: &[Uuid]) -> Vec<Uuid> {
        deal_ids
            .iter()
            .filter_map(|id| self.groups.get(id))
            .flatten()
            .map(|m| m.contact_id)
            .collect()
    }

    pub async fn group(&self, deal_id: Uuid) -> AppResult<Vec<buying_group_member::Model>> {
        self.prime_groups(&[deal_id]).await?;
        Ok(self.groups.get(&deal_id).unwrap_or_default())
    }

    pub async fn member(&self, id: Uuid) -> AppResult<Option<buying_group_member::Model>> {
        let missing = self.members.missing(&[id]);
        if !missing.is_empty() {
            let rows = members::get_many(&self.ctx, self.store.reader(), &missing).await?;
            self.members.fill(
                missing
                    .iter()
                    .map(|id| (*id, rows.iter().find(|r| r.id == *id).cloned())),
            );
        }
        Ok(self.members.get(&id).flatten())
    }

    /// Loads participant/about links of `interaction_ids` not already loaded, in one query.
    pub async fn prime_links(&self, interaction_ids: &[Uuid]) -> AppResult<()> {
        let missing = self.links.missing(interaction_ids);
        if !missing.is_empty() {
            let rows = interactions::links(&self.ctx, self.store.reader(), &missing).await?;
            let mut found: HashMap<Uuid, Vec<interaction_member::Model>> =
                missing.iter().map(|id| (*id, Vec::new())).collect();
            for row in rows {
                found.entry(row.interaction_id).or_default().push(row);
            }
            self.links.fill(found);
        }
        Ok(())
    }

    pub async fn links(&self, interaction_id: Uuid) -> AppResult<Vec<interaction_member::Model>> {
        self.prime_links(&[interaction_id]).await?;
        Ok(self.links.get(&interaction_id).unwrap_or_default())
    }

    /// The risk facts of one deal (six queries the first time, then cached for the request).
    pub async fn deal_inputs(&self, deal_id: Uuid) -> AppResult<Arc<DealInputs>> {
        if self.inputs.missing(&[deal_id]).is_empty() {
            return self
                .inputs
                .get(&deal_id)
                .flatten()
                .ok_or(AppError::NotFound("opportunity"));
        }
        let deal = self
            .opportunity(deal_id)
            .await?
            .ok_or(AppError::NotFound("opportunity"))?;
        let loaded = risk::load_inputs(&self.ctx, self.store.reader(), vec![deal])
            .await?
            .into_iter()
            .next()
            .map(Arc::new);
        if let Some(inputs) = &loaded {
            let contacts: Vec<(Uuid, Option<contact::Model>)> = inputs
                .members
                .iter()
                .filter_map(|m| m.contact.clone())
                .map(|c| (c.id, Some(c)))
                .collect();
            self.contacts.fill(contacts);
        }
        self.inputs.fill([(deal_id, loaded.clone())]);
        loaded.ok_or(AppError::NotFound("opportunity"))
    }

    /// The tenant's risk policy, read once per request.
    pub async fn policy(&self) -> AppResult<Arc<RiskPolicy>> {
        if let Some(policy) = self.policy.lock().unwrap_or_else(|p| p.into_inner()).clone() {
            return Ok(policy);
        }
        let loaded = Arc::new(policy::get(&self.ctx, self.store.reader()).await?);
        *self.policy.lock().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}
