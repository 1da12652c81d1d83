//! A chunk of records applied together: what they reference is read in a few statements, the
//! records are applied one after the other to that picture in memory (each all-or-nothing:
//! checked whole before it changes anything), and what they changed is written in multi-row
//! statements through [`bulk`]. A chunk of one record is the same code; the run falls back to
//! that when a chunk's write fails, so a record the database refuses costs only itself.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::Micros;
use super::record::{
    self, AccountRecord, ContactRecord, InteractionRecord, MemberRecord, OpportunityRecord, Record, Rejection,
};
use crate::domain::model::{Bandwidth, BuyingRole, Influence, Stance};
use crate::domain::records::{Account, Contact, Deal, Interaction, Link, Member, StoredRisk};
use crate::domain::{AppResult, TenantCtx, values};
use crate::store::bulk::{self, Batch};
use crate::store::{Conn, accounts, contacts, interactions, members, opportunities, scope};

/// A stored row as the chunk sees it, and whether the chunk changed it.
struct Slot<T> {
    value: T,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// As stored.
    Stored,
    /// Stored, and to be overwritten.
    Changed,
    /// New in this chunk, to be inserted.
    New,
}

impl<T: PartialEq> Slot<T> {
    fn stored(value: T) -> Slot<T> {
        Slot {
            value,
            state: State::Stored,
        }
    }

    fn put(&mut self, value: T) {
        if self.value != value {
            self.value = value;
            if self.state == State::Stored {
                self.state = State::Changed;
            }
        }
    }
}

/// Puts `value` under `key`: new if nothing was there, else a change (if it differs).
fn upsert<T: PartialEq>(map: &mut HashMap<String, Slot<T>>, key: &str, value: T) {
    match map.get_mut(key) {
        Some(slot) => slot.put(value),
        None => {
            map.insert(
                key.to_owned(),
                Slot {
                    value,
                    state: State::New,
                },
            );
        }
    }
}

/// What a record did, once applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Applied {
    /// The deal the record wrote to (to re-assess).
    pub deal: Option<Uuid>,
    /// True when the record created that deal.
    pub created: bool,
}

/// External IDs rejected so far (earlier chunks, and this chunk's earlier records), so that a
/// record naming one says why it cannot resolve it.
pub(super) struct Rejected<'a> {
    pub earlier: &'a HashSet<(&'static str, String)>,
    pub here: HashSet<(&'static str, String)>,
}

impl Rejected<'_> {
    fn contains(&self, kind: &'static str, external_id: &str) -> bool {
        let key = (kind, external_id.to_owned());
        self.earlier.contains(&key) || self.here.contains(&key)
    }

    /// A reference that resolved to nothing: rejected earlier in the stream, or unknown.
    pub(super) fn unresolved(&self, field: &str, kind: &'static str, external_id: &str) -> Rejection {
        if self.contains(kind, external_id) {
            Rejection::field(
                field,
                record::REFERENCE_REJECTED,
                format!("{kind} {external_id:?} was rejected earlier in the stream"),
            )
        } else {
            Rejection::field(
                field,
                record::UNKNOWN_REFERENCE,
                format!("no {kind} with external ID {external_id:?} in the stream or the tenant"),
            )
        }
    }
}

/// The stored rows a chunk's records name, and what the records make of them.
#[derive(Default)]
pub(super) struct Working {
    accounts: HashMap<String, Slot<Account>>,
    contacts: HashMap<String, Slot<Contact>>,
    deals: HashMap<String, Slot<Deal>>,
    /// Members of the named deals (ended ones too) and members named by external ID, by id.
    members: HashMap<Uuid, Slot<Member>>,
    member_ids: HashMap<String, Uuid>,
    /// Each named deal's members, in the order they joined.
    groups: HashMap<Uuid, Vec<Uuid>>,
    /// Interactions with their links (sorted, so that equal sets compare equal).
    interactions: HashMap<String, Slot<(Interaction, Vec<Link>)>>,
}

/// The external IDs a record names, by type (members and interactions with their deal's).
#[derive(Default)]
struct Named<'a> {
    accounts: HashSet<&'a str>,
    contacts: HashSet<&'a str>,
    deals: HashSet<&'a str>,
    members: Vec<(String, &'a str)>,
    interactions: Vec<(&'a str, &'a str)>,
}

/// Which interactions and members [`Working::load`] looks up by external ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lookup {
    /// Every one the records name.
    All,
    /// Those of deals already stored.
    StoredDeals,
}

/// A row a chunk reads or writes, by type and external ID (members also by their deal: a
/// chunk that adds to a deal's group changes what another chunk naming the deal reads).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Account(String),
    Contact(String),
    Deal(String),
    Member(String),
    Interaction(String),
}

/// What applying `records` reads: the rows they upsert and every row they name.
pub(super) fn reads<'r>(records: impl Iterator<Item = &'r Record>) -> HashSet<Key> {
    let mut keys = HashSet::new();
    for record in records {
        match record {
            Record::Account(r) => {
                keys.insert(Key::Account(r.external_id.clone()));
            }
            Record::Contact(r) => {
                keys.insert(Key::Contact(r.external_id.clone()));
                keys.insert(Key::Account(r.account.clone()));
            }
            Record::Opportunity(r) => {
                keys.insert(Key::Deal(r.external_id.clone()));
                keys.insert(Key::Account(r.account.clone()));
            }
            Record::Member(r) => {
                keys.insert(Key::Deal(r.opportunity.clone()));
                keys.insert(Key::Contact(r.contact.clone()));
                keys.insert(Key::Member(
                    r.external_id
                        .clone()
                        .unwrap_or_else(|| member_external_id(&r.opportunity, &r.contact)),
                ));
            }
            Record::Interaction(r) => {
                keys.insert(Key::Interaction(r.external_id.clone()));
                keys.insert(Key::Deal(r.opportunity.clone()));
                for contact in r.participants.iter().chain(&r.about) {
                    keys.insert(Key::Contact(contact.clone()));
                }
            }
            Record::StageChange(_) | Record::CloseDateChange(_) | Record::AmountChange(_) => {}
        }
    }
    keys
}

impl Working {
    /// Reads what `records` name: the rows with their external IDs, the named deals' whole
    /// buying groups, the named interactions' links — a handful of statements per chunk.
    ///
    /// `Lookup::StoredDeals` looks interactions and members up by external ID only for deals
    /// already stored: those of a deal the chunk creates can only be stored under another
    /// deal, which the database's unique indexes refuse — and the records are then applied
    /// again one by one with `Lookup::All`, which says why. (On a first import the lookup of
    /// thousands of interaction IDs that are not there was a good part of the server's work.)
    pub(super) async fn load<'r>(
        ctx: &TenantCtx,
        conn: &impl Conn,
        records: impl Iterator<Item = &'r Record>,
        lookup: Lookup,
    ) -> AppResult<Working> {
        let mut named = Named::default();
        for record in records {
            match record {
                Record::Account(r) => {
                    named.accounts.insert(&r.external_id);
                }
                Record::Contact(r) => {
                    named.contacts.insert(&r.external_id);
                    named.accounts.insert(&r.account);
                }
                Record::Opportunity(r) => {
                    named.deals.insert(&r.external_id);
                    named.accounts.insert(&r.account);
                }
                Record::Member(r) => {
                    named.deals.insert(&r.opportunity);
                    named.contacts.insert(&r.contact);
                    named.members.push((
                        r.external_id
                            .clone()
                            .unwrap_or_else(|| member_external_id(&r.opportunity, &r.contact)),
                        &r.opportunity,
                    ));
                }
                Record::Interaction(r) => {
                    named.interactions.push((&r.external_id, &r.opportunity));
                    named.deals.insert(&r.opportunity);
                    named.contacts.extend(r.participants.iter().map(String::as_str));
                    named.contacts.extend(r.about.iter().map(String::as_str));
                }
                Record::StageChange(_) | Record::CloseDateChange(_) | Record::AmountChange(_) => {}
            }
        }
        let mut w = Working::default();
        let list = |set: &HashSet<&'r str>| set.iter().copied().collect::<Vec<&str>>();
        for a in
            scope::find_by_external_ids::<entity::account::Entity, Account>(ctx, conn, &list(&named.accounts)).await?
        {
            w.accounts
                .insert(a.external_id.clone().unwrap_or_default(), Slot::stored(a));
        }
        for c in
            scope::find_by_external_ids::<entity::contact::Entity, Contact>(ctx, conn, &list(&named.contacts)).await?
        {
            w.contacts
                .insert(c.external_id.clone().unwrap_or_default(), Slot::stored(c));
        }
        let deals =
            scope::find_by_external_ids::<entity::opportunity::Entity, Deal>(ctx, conn, &list(&named.deals)).await?;
        let deal_ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
        let stored_deals: HashSet<String> = deals.iter().filter_map(|d| d.external_id.clone()).collect();
        let wanted = |deal: &str| lookup == Lookup::All || stored_deals.contains(deal);
        let member_ext: HashSet<&str> = named
            .members
            .iter()
            .filter(|(_, deal)| wanted(deal))
            .map(|(ext, _)| ext.as_str())
            .collect();
        let interaction_ext: HashSet<&str> = named
            .interactions
            .iter()
            .filter(|(_, deal)| wanted(deal))
            .map(|(ext, _)| *ext)
            .collect();
        for d in deals {
            w.groups.insert(d.id, Vec::new());
            w.deals
                .insert(d.external_id.clone().unwrap_or_default(), Slot::stored(d));
        }
        for m in members::for_deals(ctx, conn, &deal_ids).await? {
            w.groups.entry(m.opportunity_id).or_default().push(m.id);
            w.add_stored_member(m);
        }
        let member_ext: Vec<&str> = member_ext.into_iter().collect();
        for m in
            scope::find_by_external_ids::<entity::buying_group_member::Entity, Member>(ctx, conn, &member_ext).await?
        {
            if !w.members.contains_key(&m.id) {
                w.add_stored_member(m);
            }
        }
        let found =
            scope::find_by_external_ids::<entity::interaction::Entity, Interaction>(ctx, conn, &list(&interaction_ext))
                .await?;
        let ids: Vec<Uuid> = found.iter().map(|i| i.id).collect();
        let mut links: HashMap<Uuid, Vec<Link>> = HashMap::new();
        for chunk in ids.chunks(1_000) {
            for link in interactions::links(ctx, conn, chunk).await? {
                links.entry(link.interaction_id).or_default().push(link);
            }
        }
        for i in found {
            let mut own = links.remove(&i.id).unwrap_or_default();
            sort_links(&mut own);
            w.interactions
                .insert(i.external_id.clone().unwrap_or_default(), Slot::stored((i, own)));
        }
        Ok(w)
    }

    fn add_stored_member(&mut self, m: Member) {
        if let Some(ext) = &m.external_id {
            self.member_ids.insert(ext.clone(), m.id);
        }
        self.members.insert(m.id, Slot::stored(m));
    }

    /// Applies one record, or says why not (then nothing changed).
    pub(super) fn apply(
        &mut self,
        ctx: &TenantCtx,
        record: &Record,
        rejected: &Rejected<'_>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Rejection> {
        let none = Applied {
            deal: None,
            created: false,
        };
        match record {
            Record::Account(r) => self.account(r, now).map(|()| none),
            Record::Contact(r) => self.contact(r, rejected, now).map(|()| none),
            Record::Opportunity(r) => self.deal(ctx, r, rejected, now),
            Record::Member(r) => self.member(r, rejected),
            Record::Interaction(r) => self.interaction(ctx, r, rejected, now),
            Record::StageChange(_) | Record::CloseDateChange(_) | Record::AmountChange(_) => Ok(none),
        }
    }

    fn account(&mut self, r: &AccountRecord, now: DateTime<Utc>) -> Result<(), Rejection> {
        let existing = self.accounts.get(&r.external_id).map(|s| &s.value);
        let account = Account {
            id: existing.map_or_else(Uuid::now_v7, |a| a.id),
            external_id: Some(r.external_id.clone()),
            name: r.name.clone(),
            domain: r.domain.clone(),
            industry: r.industry.clone(),
            created_at: r
                .created_at
                .map(Micros::trunc_subsecs_micros)
                .or(existing.map(|a| a.created_at))
                .unwrap_or(now),
        };
        upsert(&mut self.accounts, &r.external_id, account);
        Ok(())
    }

    fn contact(&mut self, r: &ContactRecord, rejected: &Rejected<'_>, now: DateTime<Utc>) -> Result<(), Rejection> {
        let Some(account) = self.accounts.get(&r.account) else {
            return Err(rejected.unresolved("account", "account", &r.account));
        };
        let existing = self.contacts.get(&r.external_id).map(|s| &s.value);
        let contact = Contact {
            id: existing.map_or_else(Uuid::now_v7, |c| c.id),
            external_id: Some(r.external_id.clone()),
            account_id: account.value.id,
            full_name: r.full_name.clone(),
            title: r.title.clone(),
            email: r.email.clone(),
            created_at: r
                .created_at
                .map(Micros::trunc_subsecs_micros)
                .or(existing.map(|c| c.created_at))
                .unwrap_or(now),
        };
        upsert(&mut self.contacts, &r.external_id, contact);
        Ok(())
    }

    /// A deal's own fields. Its stage, close date and amount are settled once the stream has
    /// been read ([`settle`](super::settle)): history records in the stream decide them, else
    /// the record's values.
    fn deal(
        &mut self,
        ctx: &TenantCtx,
        r: &OpportunityRecord,
        rejected: &Rejected<'_>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Rejection> {
        let Some(account) = self.accounts.get(&r.account) else {
            return Err(rejected.unresolved("account", "account", &r.account));
        };
        let account_id = account.value.id;
        let existing = self.deals.get(&r.external_id).map(|s| &s.value);
        let created_at = r
            .created_at
            .map(Micros::trunc_subsecs_micros)
            .or(existing.map(|d| d.created_at))
            .unwrap_or(now);
        let owner_id = r.owner_id.clone().unwrap_or_else(|| ctx.user_id().to_owned());
        let (deal, created) = match existing {
            Some(before) => {
                let mut deal = Deal {
                    account_id,
                    name: r.name.clone(),
                    owner_id,
                    currency: r.currency.clone(),
                    created_at,
                    ..before.clone()
                };
                if deal != *before {
                    deal.version = before.version + 1;
                    deal.updated_at = now;
                }
                (deal, false)
            }
            None => (
                Deal {
                    id: Uuid::now_v7(),
                    external_id: Some(r.external_id.clone()),
                    account_id,
                    name: r.name.clone(),
                    owner_id,
                    stage: r.stage,
                    amount_cents: r.amount_cents,
                    currency: r.currency.clone(),
                    expected_close_date: r.expected_close_date,
                    stage_entered_at: created_at,
                    closed_at: r.stage.is_closed().then(|| r.closed_at.unwrap_or(created_at)),
                    created_at,
                    updated_at: now,
                    version: 1,
                    risk: StoredRisk::UNASSESSED,
                },
                true,
            ),
        };
        let id = deal.id;
        if created {
            self.groups.insert(id, Vec::new());
        }
        upsert(&mut self.deals, &r.external_id, deal);
        Ok(Applied {
            deal: Some(id),
            created,
        })
    }

    fn current_members(&self, deal: Uuid) -> impl Iterator<Item = &Member> {
        self.groups
            .get(&deal)
            .into_iter()
            .flatten()
            .filter_map(|id| self.members.get(id))
            .map(|s| &s.value)
            .filter(|m| m.is_current())
    }

    fn member(&mut self, r: &MemberRecord, rejected: &Rejected<'_>) -> Result<Applied, Rejection> {
        let Some(deal) = self.deals.get(&r.opportunity).map(|s| &s.value) else {
            return Err(rejected.unresolved("opportunity", "opportunity", &r.opportunity));
        };
        let Some(contact) = self.contacts.get(&r.contact).map(|s| &s.value) else {
            return Err(rejected.unresolved("contact", "contact", &r.contact));
        };
        let external_id = r
            .external_id
            .clone()
            .unwrap_or_else(|| member_external_id(&r.opportunity, &r.contact));
        let existing = self
            .member_ids
            .get(&external_id)
            .and_then(|id| self.members.get(id))
            .map(|s| &s.value);
        match existing {
            Some(before) if before.opportunity_id != deal.id || before.contact_id != contact.id => {
                return Err(Rejection::field(
                    "externalId",
                    record::INVALID,
                    "this member external ID already names another opportunity's or contact's membership",
                ));
            }
            Some(_) => {}
            None => {
                if self.current_members(deal.id).any(|m| m.contact_id == contact.id) {
                    return Err(Rejection::field(
                        "contact",
                        record::INVALID,
                        "this contact is already in the opportunity's buying group (under another external ID)",
                    ));
                }
                if self.current_members(deal.id).count() as u64 >= values::MAX_GROUP_SIZE {
                    return Err(group_full("opportunity"));
                }
            }
        }
        let member = Member {
            id: existing.map_or_else(Uuid::now_v7, |m| m.id),
            external_id: Some(external_id.clone()),
            opportunity_id: deal.id,
            contact_id: contact.id,
            contact_name: contact.full_name.clone(),
            contact_title: contact.title.clone(),
            role: r.role,
            stance: r.stance.unwrap_or(Stance::Unknown),
            can_veto: r.can_veto.unwrap_or(false),
            influence: r.influence.unwrap_or(Influence::Medium),
            bandwidth: r.bandwidth.unwrap_or(Bandwidth::Unknown),
            notes: r.notes.clone(),
            created_at: r
                .added_at
                .map(Micros::trunc_subsecs_micros)
                .or(existing.map(|m| m.created_at))
                .unwrap_or(deal.created_at),
            // A membership ended through the API stays ended: the CRM does not know of it.
            removed_at: existing.and_then(|m| m.removed_at),
        };
        let deal_id = deal.id;
        self.put_member(member);
        Ok(Applied {
            deal: Some(deal_id),
            created: false,
        })
    }

    fn put_member(&mut self, member: Member) {
        match self.members.get_mut(&member.id) {
            Some(slot) => slot.put(member),
            None => {
                if let Some(ext) = &member.external_id {
                    self.member_ids.insert(ext.clone(), member.id);
                }
                self.groups.entry(member.opportunity_id).or_default().push(member.id);
                self.members.insert(
                    member.id,
                    Slot {
                        value: member,
                        state: State::New,
                    },
                );
            }
        }
    }

    fn interaction(
        &mut self,
        ctx: &TenantCtx,
        r: &InteractionRecord,
        rejected: &Rejected<'_>,
        now: DateTime<Utc>,
    ) -> Result<Applied, Rejection> {
        let Some(deal) = self.deals.get(&r.opportunity).map(|s| &s.value) else {
            return Err(rejected.unresolved("opportunity", "opportunity", &r.opportunity));
        };
        let existing = self.interactions.get(&r.external_id).map(|s| &s.value.0);
        if let Some(before) = existing
            && before.opportunity_id != deal.id
        {
            return Err(Rejection::field(
                "opportunity",
                record::INVALID,
                "this interaction external ID already names another opportunity's interaction",
            ));
        }
        // Every person named, resolved before anything changes.
        let mut people: Vec<(&Contact, bool)> = Vec::with_capacity(r.participants.len() + r.about.len());
        for (field, list, direct) in [("participants", &r.participants, true), ("about", &r.about, false)] {
            for external_id in list {
                let Some(contact) = self.contacts.get(external_id).map(|s| &s.value) else {
                    return Err(rejected.unresolved(field, "contact", external_id));
                };
                if people.iter().any(|(c, _)| c.id == contact.id) {
                    return Err(Rejection::field(
                        field,
                        record::INVALID,
                        format!("names {external_id:?} twice"),
                    ));
                }
                people.push((contact, direct));
            }
        }
        if !people.iter().any(|(_, direct)| *direct) {
            return Err(Rejection::field(
                "participants",
                record::INVALID,
                "an interaction needs at least one participant",
            ));
        }
        let id = existing.map_or_else(Uuid::now_v7, |i| i.id);
        let mut current = self.current_members(deal.id).count() as u64;
        let mut joiners: Vec<Member> = Vec::new();
        let mut links = Vec::with_capacity(people.len());
        for (contact, direct) in &people {
            let member_id = match self.current_members(deal.id).find(|m| m.contact_id == contact.id) {
                Some(member) => member.id,
                None => {
                    // People the seller meets are part of the group: they join as OTHER.
                    if current >= values::MAX_GROUP_SIZE {
                        return Err(group_full("participants"));
                    }
                    let contact_ext = contact.external_id.clone().unwrap_or_default();
                    let member_ext = member_external_id(&r.opportunity, &contact_ext);
                    if self.member_ids.contains_key(&member_ext) {
                        return Err(Rejection::field(
                            "participants",
                            record::INVALID,
                            format!(
                                "{contact_ext:?} would join the buying group as {member_ext:?}, \
                                 but a member with that external ID exists"
                            ),
                        ));
                    }
                    let member = Member {
                        id: Uuid::now_v7(),
                        external_id: Some(member_ext),
                        opportunity_id: deal.id,
                        contact_id: contact.id,
                        contact_name: contact.full_name.clone(),
                        contact_title: contact.title.clone(),
                        role: BuyingRole::Other,
                        stance: Stance::Unknown,
                        can_veto: false,
                        influence: Influence::Medium,
                        bandwidth: Bandwidth::Unknown,
                        notes: None,
                        created_at: r.occurred_at.trunc_subsecs_micros().min(now),
                        removed_at: None,
                    };
                    current += 1;
                    let member_id = member.id;
                    joiners.push(member);
                    member_id
                }
            };
            links.push(Link {
                interaction_id: id,
                member_id,
                opportunity_id: deal.id,
                direct: *direct,
            });
        }
        sort_links(&mut links);
        let interaction = Interaction {
            id,
            external_id: Some(r.external_id.clone()),
            opportunity_id: deal.id,
            kind: r.kind,
            occurred_at: r.occurred_at.trunc_subsecs_micros(),
            summary: r.summary.clone(),
            logged_by: r.logged_by.clone().unwrap_or_else(|| ctx.user_id().to_owned()),
            created_at: existing.map_or(now, |i| i.created_at),
        };
        let deal_id = deal.id;
        for member in joiners {
            self.put_member(member);
        }
        upsert(&mut self.interactions, &r.external_id, (interaction, links));
        Ok(Applied {
            deal: Some(deal_id),
            created: false,
        })
    }

    /// The rows [`write`](Self::write) inserts or overwrites, and the deals whose members or
    /// interactions it writes.
    pub(super) fn writes(&self) -> HashSet<Key> {
        fn changed<T>(slot: &Slot<T>) -> bool {
            slot.state != State::Stored
        }
        let mut keys = HashSet::new();
        let deal_of: HashMap<Uuid, &String> = self.deals.iter().map(|(ext, d)| (d.value.id, ext)).collect();
        let deal = |id: Uuid, keys: &mut HashSet<Key>| {
            if let Some(ext) = deal_of.get(&id) {
                keys.insert(Key::Deal((*ext).clone()));
            }
        };
        for (ext, slot) in &self.accounts {
            if changed(slot) {
                keys.insert(Key::Account(ext.clone()));
            }
        }
        for (ext, slot) in &self.contacts {
            if changed(slot) {
                keys.insert(Key::Contact(ext.clone()));
            }
        }
        for (ext, slot) in &self.deals {
            if changed(slot) {
                keys.insert(Key::Deal(ext.clone()));
            }
        }
        for slot in self.members.values() {
            if changed(slot) {
                if let Some(ext) = &slot.value.external_id {
                    keys.insert(Key::Member(ext.clone()));
                }
                deal(slot.value.opportunity_id, &mut keys);
            }
        }
        for (ext, slot) in &self.interactions {
            if changed(slot) {
                keys.insert(Key::Interaction(ext.clone()));
                deal(slot.value.0.opportunity_id, &mut keys);
            }
        }
        keys
    }

    /// Writes what the chunk changed: new rows in multi-row statements (parents first), changed
    /// ones one by one (a re-import of an unchanged snapshot writes nothing).
    pub(super) async fn write(self, ctx: &TenantCtx, conn: &impl Conn) -> AppResult<()> {
        fn split<T>(slots: impl Iterator<Item = Slot<T>>) -> (Vec<T>, Vec<T>) {
            let (mut new, mut changed) = (Vec::new(), Vec::new());
            for slot in slots {
                match slot.state {
                    State::New => new.push(slot.value),
                    State::Changed => changed.push(slot.value),
                    State::Stored => {}
                }
            }
            (new, changed)
        }
        let (new_accounts, changed_accounts) = split(self.accounts.into_values());
        let (new_contacts, changed_contacts) = split(self.contacts.into_values());
        let (new_deals, changed_deals) = split(self.deals.into_values());
        let (mut new_members, changed_members) = split(self.members.into_values());
        let (new_interactions, changed_interactions) = split(self.interactions.into_values());
        let parents = Batch {
            accounts: new_accounts,
            contacts: new_contacts,
            deals: new_deals,
            ..Batch::default()
        };
        bulk::write(ctx, conn, &parents).await?;
        for account in &changed_accounts {
            accounts::overwrite(ctx, conn, account).await?;
        }
        for contact in &changed_contacts {
            contacts::overwrite(ctx, conn, contact).await?;
        }
        for deal in &changed_deals {
            opportunities::overwrite(ctx, conn, deal).await?;
        }
        // Members in the order they joined (ids are time-ordered), as one-by-one writes would.
        new_members.sort_by_key(|m| m.id);
        let mut children = Batch {
            members: new_members,
            ..Batch::default()
        };
        bulk::write(ctx, conn, &children).await?;
        for member in &changed_members {
            members::overwrite(ctx, conn, member).await?;
        }
        children.members.clear();
        // In id order (ids are time-ordered): each index the rows go into is then filled at
        // its end, page after page, rather than at places scattered over the chunk's range.
        let mut new_interactions = new_interactions;
        new_interactions.sort_by_key(|(interaction, _)| interaction.id);
        for (interaction, mut links) in new_interactions {
            children.links.append(&mut links);
            children.interactions.push(interaction);
        }
        bulk::write(ctx, conn, &children).await?;
        for (interaction, links) in &changed_interactions {
            interactions::overwrite(ctx, conn, interaction, links).await?;
        }
        Ok(())
    }
}

fn sort_links(links: &mut [Link]) {
    links.sort_by_key(|l| (l.member_id, l.direct));
}

fn group_full(field: &str) -> Rejection {
    Rejection::field(
        field,
        record::INVALID,
        format!(
            "a buying group holds at most {} members; this one is full",
            values::MAX_GROUP_SIZE
        ),
    )
}

/// The default external ID of a membership: `"<opportunity>/<contact>"`.
pub(super) fn member_external_id(opportunity: &str, contact: &str) -> String {
    format!("{opportunity}/{contact}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::values::TenantId;

    fn records(lines: &[&str]) -> Vec<Record> {
        lines
            .iter()
            .map(|line| record::parse_line(line).expect("a valid record"))
            .collect()
    }

    #[test]
    fn a_chunk_writes_what_it_creates_and_reads_what_it_names() {
        let ctx = TenantCtx::system(TenantId::parse("acme").expect("a tenant"));
        let stream = records(&[
            r#"{"type":"account","externalId":"a1","name":"A"}"#,
            r#"{"type":"contact","externalId":"c1","account":"a1","fullName":"C One"}"#,
            r#"{"type":"opportunity","externalId":"o1","account":"a1","name":"O","amount":"10","currency":"USD","stage":"DISCOVERY"}"#,
            r#"{"type":"interaction","externalId":"i1","opportunity":"o1","kind":"CALL","occurredAt":"2026-01-01T00:00:00Z","participants":["c1"]}"#,
        ]);
        let earlier = HashSet::new();
        let rejected = Rejected {
            earlier: &earlier,
            here: HashSet::new(),
        };
        let mut working = Working::default();
        for record in &stream {
            working
                .apply(&ctx, record, &rejected, chrono::Utc::now())
                .expect("applied");
        }
        let writes = working.writes();
        for key in [
            Key::Account("a1".into()),
            Key::Contact("c1".into()),
            Key::Deal("o1".into()),
            // The contact joined the group as OTHER.
            Key::Member("o1/c1".into()),
            Key::Interaction("i1".into()),
        ] {
            assert!(writes.contains(&key), "{key:?} in {writes:?}");
        }
        let reads = reads(stream.iter().skip(3));
        assert_eq!(
            reads,
            HashSet::from([
                Key::Interaction("i1".into()),
                Key::Deal("o1".into()),
                Key::Contact("c1".into())
            ])
        );
        // Rows loaded as stored and left as they were are not written.
        let mut unchanged = Working::default();
        unchanged.accounts.insert(
            "a1".into(),
            Slot::stored(working.accounts.remove("a1").expect("a1").value),
        );
        assert!(unchanged.writes().is_empty());
    }
}
