//! Bringing a real pipeline in (SPEC §7): the NDJSON record stream, upserted by external ID,
//! each record all-or-nothing (or the whole stream, `atomic`), history replaced as a set,
//! every touched deal re-assessed. One code path behind `POST /import` and `dealgraph import`.
//!
//! How a stream is applied:
//! 1. Line by line, each record is parsed ([`record`]), its references resolved (earlier in
//!    the stream or stored in the tenant), then written — in a transaction of its own, or in
//!    the stream's one transaction when `atomic`. A record that fails changes nothing.
//! 2. History records (`stage_change`, `close_date_change`, `amount_change`) are collected per
//!    deal and, once the stream has been read, replace the deal's history; the deal's current
//!    stage, when it entered it, its close date, `closedAt` and amount follow from the newest
//!    entries.
//! 3. Every touched deal's stored assessment is refreshed, and its risk history rebuilt by
//!    replaying the engine day by day over its past ([`backfill`](crate::domain::backfill)).

pub mod record;
pub mod salesforce;

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use uuid::Uuid;

use self::record::{
    AccountRecord, ChangeRecord, ContactRecord, InteractionRecord, MemberRecord, OpportunityRecord, Record, Rejection,
};
use crate::domain::model::{Bandwidth, BuyingRole, Influence, Stage, Stance};
use crate::domain::records::{
    Account, AmountChange, CloseDateChange, Contact, Deal, Interaction, Link, Member, StageChange, StoredRisk,
};
use crate::domain::{AppError, AppResult, TenantCtx, values};
use crate::service;
use crate::store::{Conn, Store, accounts, contacts, interactions, members, opportunities};

/// The first this many errors are reported (all are counted).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// The whole stream is one unit: nothing is written if any record fails.
    pub atomic: bool,
}

/// One rejected record.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportError {
    /// The file of an export the record came from (CSV input).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub code: String,
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub accepted: u64,
    pub rejected: u64,
    /// Accepted records per type.
    pub records: BTreeMap<&'static str, u64>,
    /// Deals whose stored assessment was refreshed.
    pub reassessed: u64,
    /// True when nothing was written (an atomic import with a rejected record).
    pub rolled_back: bool,
    /// Rows of an export left out on purpose, by reason (deleted rows, open tasks, …).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped: BTreeMap<String, u64>,
    pub errors: Vec<ImportError>,
}

impl Summary {
    fn reject(&mut self, origin: &Origin, external_id: Option<String>, rejection: Rejection) {
        self.rejected += 1;
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(ImportError {
                file: origin.file.map(str::to_owned),
                line: origin.line,
                external_id,
                field: rejection.field,
                code: rejection.code.to_owned(),
                message: rejection.message,
            });
        }
    }

    fn accept(&mut self, kind: &'static str) {
        self.accepted += 1;
        *self.records.entry(kind).or_default() += 1;
    }

    /// Records read so far.
    pub fn read(&self) -> u64 {
        self.accepted + self.rejected
    }
}

/// The caller of an import run by the operator (`dealgraph import`): an admin of `tenant`.
pub fn operator(tenant: &str) -> AppResult<TenantCtx> {
    Ok(TenantCtx::system(crate::domain::values::TenantId::parse(tenant)?))
}

/// Imports an NDJSON stream into the caller's tenant (admin only). `progress` is called now
/// and then with the summary so far.
pub async fn ndjson(
    ctx: &TenantCtx,
    store: &Store,
    input: impl AsyncBufRead + Unpin + Send,
    options: Options,
    progress: &mut (dyn FnMut(&Summary) + Send),
) -> AppResult<Summary> {
    import(ctx, store, Input::Lines(input), BTreeMap::new(), options, progress).await
}

/// One record converted from another format (a CRM's export), with where it came from.
pub struct Converted {
    pub file: &'static str,
    /// The line the row starts on (the header is line 1).
    pub line: u64,
    pub external_id: Option<String>,
    pub record: Result<Record, Rejection>,
}

impl From<salesforce::Item> for Converted {
    fn from(item: salesforce::Item) -> Converted {
        Converted {
            file: item.file,
            line: item.line,
            external_id: item.external_id,
            record: item.record,
        }
    }
}

/// Imports records converted from another format, in the order given (parents first), with
/// the rows the conversion left out (`skipped`, by reason) reported in the summary.
pub async fn converted(
    ctx: &TenantCtx,
    store: &Store,
    records: Vec<Converted>,
    skipped: BTreeMap<String, u64>,
    options: Options,
    progress: &mut (dyn FnMut(&Summary) + Send),
) -> AppResult<Summary> {
    import::<tokio::io::Empty>(ctx, store, Input::Records(records), skipped, options, progress).await
}

/// Where records come from.
enum Input<R> {
    Lines(R),
    Records(Vec<Converted>),
}

async fn import<R: AsyncBufRead + Unpin + Send>(
    ctx: &TenantCtx,
    store: &Store,
    input: Input<R>,
    skipped: BTreeMap<String, u64>,
    options: Options,
    progress: &mut (dyn FnMut(&Summary) + Send),
) -> AppResult<Summary> {
    ctx.require_admin()?;
    let mut run = Run::default();
    run.summary.skipped = skipped;
    if options.atomic {
        let outcome = store
            .write(async |tx| {
                run.feed(ctx, tx, input, None, progress).await?;
                run.finish(ctx, tx, None).await?;
                if run.summary.rejected > 0 {
                    // Undo everything; the summary says why.
                    return Err(AppError::Conflict("rejected".into()));
                }
                Ok(())
            })
            .await;
        match outcome {
            Ok(()) => {}
            Err(AppError::Conflict(_)) if run.summary.rejected > 0 => {
                run.summary.rolled_back = true;
                run.summary.accepted = 0;
                run.summary.records.clear();
                run.summary.reassessed = 0;
            }
            Err(err) => return Err(err),
        }
    } else {
        let reader = store.reader();
        run.feed(ctx, reader, input, Some(store), progress).await?;
        run.finish(ctx, reader, Some(store)).await?;
    }
    progress(&run.summary);
    Ok(run.summary)
}

/// Where a record came from: its file (CSV input), the line it starts on, and its type.
#[derive(Debug, Clone, Copy)]
struct Origin {
    file: Option<&'static str>,
    line: u64,
    kind: &'static str,
}

/// What an import remembers between records.
#[derive(Default)]
struct Run {
    summary: Summary,
    /// External IDs of records rejected so far, by type, so that dependents say why.
    rejected: HashSet<(&'static str, String)>,
    /// History records per deal external ID, with their line numbers.
    stage_changes: HashMap<String, Vec<(Origin, ChangeRecord<Stage>)>>,
    close_date_changes: HashMap<String, Vec<(Origin, ChangeRecord<chrono::NaiveDate>)>>,
    amount_changes: HashMap<String, Vec<(Origin, ChangeRecord<i64>)>>,
    /// What each opportunity record said of its stage and close date, by external ID.
    declared: HashMap<String, Declared>,
    /// Deals this import created.
    fresh: HashSet<Uuid>,
    /// Deals written to (to re-assess), by id.
    touched: HashSet<Uuid>,
}

/// Runs one record's work in a transaction of its own (`svc` given) or on the stream's.
macro_rules! unit {
    ($svc:expr, $conn:expr, |$tx:ident| $body:expr) => {
        match $svc {
            Some(store) => store.write(async |$tx| $body).await,
            None => {
                let $tx = $conn;
                $body
            }
        }
    };
}

impl Run {
    async fn feed<R: AsyncBufRead + Unpin>(
        &mut self,
        ctx: &TenantCtx,
        conn: &impl Conn,
        input: Input<R>,
        svc: Option<&Store>,
        progress: &mut (dyn FnMut(&Summary) + Send),
    ) -> AppResult<()> {
        match input {
            Input::Lines(lines) => self.read_stream(ctx, conn, lines, svc, progress).await,
            Input::Records(records) => {
                for (n, converted) in records.into_iter().enumerate() {
                    let origin = Origin {
                        file: Some(converted.file),
                        line: converted.line,
                        kind: match &converted.record {
                            Ok(record) => record.kind(),
                            Err(_) => kind_of_file(converted.file),
                        },
                    };
                    self.apply(ctx, conn, svc, origin, converted.external_id, converted.record)
                        .await?;
                    if (n + 1).is_multiple_of(1_000) {
                        progress(&self.summary);
                    }
                }
                Ok(())
            }
        }
    }

    async fn read_stream(
        &mut self,
        ctx: &TenantCtx,
        conn: &impl Conn,
        input: impl AsyncBufRead + Unpin,
        svc: Option<&Store>,
        progress: &mut (dyn FnMut(&Summary) + Send),
    ) -> AppResult<()> {
        let mut lines = input.lines();
        let mut line_no = 0u64;
        while let Some(line) = lines
            .next_line()
            .await
            .map_err(|err| AppError::bad_input("body", format!("cannot read the stream: {err}")))?
        {
            line_no += 1;
            if line.trim().is_empty() {
                continue;
            }
            // The line is parsed once; only a rejected one is looked at again, for its type.
            let (kind, external_id, parsed) = match record::parse_line(&line) {
                Ok(record) => (record.kind(), record.external_id().map(str::to_owned), Ok(record)),
                Err((external_id, rejection)) => (kind_of_line(&line), external_id, Err(rejection)),
            };
            let origin = Origin {
                file: None,
                line: line_no,
                kind,
            };
            self.apply(ctx, conn, svc, origin, external_id, parsed).await?;
            if line_no.is_multiple_of(1_000) {
                progress(&self.summary);
            }
        }
        Ok(())
    }

    /// Applies one record (or records its rejection).
    async fn apply(
        &mut self,
        ctx: &TenantCtx,
        conn: &impl Conn,
        svc: Option<&Store>,
        origin: Origin,
        external_id: Option<String>,
        parsed: Result<Record, Rejection>,
    ) -> AppResult<()> {
        let record = match parsed {
            Ok(record) => record,
            Err(rejection) => {
                if let Some(id) = &external_id {
                    self.rejected.insert((origin.kind, id.clone()));
                }
                self.summary.reject(&origin, external_id, rejection);
                return Ok(());
            }
        };
        let outcome = match record {
            Record::StageChange(change) => {
                self.stage_changes
                    .entry(change.opportunity.clone())
                    .or_default()
                    .push((origin, change));
                self.summary.accept("stage_change");
                return Ok(());
            }
            Record::CloseDateChange(change) => {
                self.close_date_changes
                    .entry(change.opportunity.clone())
                    .or_default()
                    .push((origin, change));
                self.summary.accept("close_date_change");
                return Ok(());
            }
            Record::AmountChange(change) => {
                self.amount_changes
                    .entry(change.opportunity.clone())
                    .or_default()
                    .push((origin, change));
                self.summary.accept("amount_change");
                return Ok(());
            }
            Record::Account(r) => {
                unit!(svc, conn, |tx| upsert_account(ctx, tx, &r).await).map(|o| o.map(|_| "account"))
            }
            Record::Contact(r) => {
                let rejected = &self.rejected;
                unit!(svc, conn, |tx| upsert_contact(ctx, tx, &r, rejected).await).map(|o| o.map(|_| "contact"))
            }
            Record::Opportunity(r) => {
                let rejected = &self.rejected;
                let done = unit!(svc, conn, |tx| upsert_deal(ctx, tx, &r, rejected).await);
                if let Ok(Ok((id, fresh))) = &done {
                    self.touched.insert(*id);
                    if *fresh {
                        self.fresh.insert(*id);
                    }
                    let declared = Declared {
                        stage: r.stage,
                        amount_cents: r.amount_cents,
                        expected_close_date: r.expected_close_date,
                        closed_at: r.closed_at,
                    };
                    self.declared.insert(r.external_id.clone(), declared);
                }
                done.map(|o| o.map(|_| "opportunity"))
            }
            Record::Member(r) => {
                let rejected = &self.rejected;
                let done = unit!(svc, conn, |tx| upsert_member(ctx, tx, &r, rejected).await);
                if let Ok(Ok(id)) = &done {
                    self.touched.insert(*id);
                }
                done.map(|o| o.map(|_| "member"))
            }
            Record::Interaction(r) => {
                let rejected = &self.rejected;
                let done = unit!(svc, conn, |tx| upsert_interaction(ctx, tx, &r, rejected).await);
                if let Ok(Ok(id)) = &done {
                    self.touched.insert(*id);
                }
                done.map(|o| o.map(|_| "interaction"))
            }
        };
        match outcome? {
            Ok(kind) => self.summary.accept(kind),
            Err(rejection) => {
                if let Some(id) = &external_id {
                    self.rejected.insert((origin.kind, id.clone()));
                }
                self.summary.reject(&origin, external_id, rejection);
            }
        }
        Ok(())
    }

    /// Applies the collected histories, then re-assesses every touched deal.
    async fn finish(&mut self, ctx: &TenantCtx, conn: &impl Conn, svc: Option<&Store>) -> AppResult<()> {
        let mut deals: Vec<String> = self
            .stage_changes
            .keys()
            .chain(self.close_date_changes.keys())
            .chain(self.amount_changes.keys())
            .chain(self.declared.keys())
            .cloned()
            .collect();
        deals.sort();
        deals.dedup();
        for deal_ext in deals {
            let stages = self.stage_changes.remove(&deal_ext).unwrap_or_default();
            let closes = self.close_date_changes.remove(&deal_ext).unwrap_or_default();
            let amounts = self.amount_changes.remove(&deal_ext).unwrap_or_default();
            let rejected = &self.rejected;
            let (declared, fresh) = (self.declared.get(&deal_ext), &self.fresh);
            let outcome = unit!(svc, conn, |tx| {
                let history = StreamHistory {
                    stages: &stages,
                    closes: &closes,
                    amounts: &amounts,
                };
                settle(ctx, tx, &deal_ext, history, declared, fresh, rejected).await
            })?;
            match outcome {
                Ok(id) => {
                    self.touched.insert(id);
                }
                Err(rejection) => {
                    // Every history record of the deal goes with it.
                    for (origin, _) in &stages {
                        self.summary.reject(origin, None, rejection.clone());
                    }
                    for (origin, _) in &closes {
                        self.summary.reject(origin, None, rejection.clone());
                    }
                    for (origin, _) in &amounts {
                        self.summary.reject(origin, None, rejection.clone());
                    }
                    self.summary.accepted -= (stages.len() + closes.len() + amounts.len()) as u64;
                    for (kind, n) in [
                        ("stage_change", stages.len()),
                        ("close_date_change", closes.len()),
                        ("amount_change", amounts.len()),
                    ] {
                        *self.summary.records.entry(kind).or_default() -= n as u64;
                    }
                }
            }
        }
        self.summary.records.retain(|_, n| *n > 0);
        let mut touched: Vec<Uuid> = self.touched.iter().copied().collect();
        touched.sort();
        let at = service::now();
        for chunk in touched.chunks(200) {
            unit!(svc, conn, |tx| {
                service::risk::refresh_deals_by_id(ctx, tx, chunk, at).await?;
                service::risk::backfill_deals(ctx, tx, chunk, at).await
            })?;
        }
        self.summary.reassessed = touched.len() as u64;
        Ok(())
    }
}

/// The record type a file of a CRM export holds.
fn kind_of_file(file: &str) -> &'static str {
    match file {
        "Account.csv" => "account",
        "Contact.csv" => "contact",
        "Opportunity.csv" => "opportunity",
        "OpportunityContactRole.csv" => "member",
        "Task.csv" | "Event.csv" => "interaction",
        _ => "other",
    }
}

/// The record type of a line, for remembering rejected external IDs (the line parsed).
fn kind_of_line(line: &str) -> &'static str {
    let value: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
    match value.get("type").and_then(|t| t.as_str()) {
        Some("account") => "account",
        Some("contact") => "contact",
        Some("opportunity") => "opportunity",
        Some("member") => "member",
        Some("interaction") => "interaction",
        _ => "other",
    }
}

/// A reference that resolved to nothing: rejected earlier in the stream, or unknown.
fn unresolved(
    field: &str,
    kind: &'static str,
    external_id: &str,
    rejected: &HashSet<(&'static str, String)>,
) -> Rejection {
    if rejected.contains(&(kind, external_id.to_owned())) {
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

type Outcome<T> = AppResult<Result<T, Rejection>>;

async fn upsert_account(ctx: &TenantCtx, conn: &impl Conn, r: &AccountRecord) -> Outcome<Uuid> {
    let existing = accounts::get_by_external_id(ctx, conn, &r.external_id).await?;
    let account = Account {
        id: existing.as_ref().map_or_else(Uuid::now_v7, |a| a.id),
        external_id: Some(r.external_id.clone()),
        name: r.name.clone(),
        domain: r.domain.clone(),
        industry: r.industry.clone(),
        created_at: r
            .created_at
            .or(existing.as_ref().map(|a| a.created_at))
            .unwrap_or_else(service::now),
    };
    match existing {
        None => accounts::insert(ctx, conn, &account).await?,
        Some(before) if before != account => accounts::overwrite(ctx, conn, &account).await?,
        Some(_) => {}
    }
    Ok(Ok(account.id))
}

async fn upsert_contact(
    ctx: &TenantCtx,
    conn: &impl Conn,
    r: &ContactRecord,
    rejected: &HashSet<(&'static str, String)>,
) -> Outcome<Uuid> {
    let Some(account) = accounts::get_by_external_id(ctx, conn, &r.account).await? else {
        return Ok(Err(unresolved("account", "account", &r.account, rejected)));
    };
    let existing = contacts::get_by_external_id(ctx, conn, &r.external_id).await?;
    let contact = Contact {
        id: existing.as_ref().map_or_else(Uuid::now_v7, |c| c.id),
        external_id: Some(r.external_id.clone()),
        account_id: account.id,
        full_name: r.full_name.clone(),
        title: r.title.clone(),
        email: r.email.clone(),
        created_at: r
            .created_at
            .or(existing.as_ref().map(|c| c.created_at))
            .unwrap_or_else(service::now),
    };
    match existing {
        None => contacts::insert(ctx, conn, &contact).await?,
        Some(before) if before != contact => contacts::overwrite(ctx, conn, &contact).await?,
        Some(_) => {}
    }
    Ok(Ok(contact.id))
}

/// Writes a deal's own fields. Its stage, close date and amount are settled once the stream
/// has been read ([`settle`]): history records in the stream decide them, else the record's
/// values.
/// Returns the deal's id and whether this import created it.
async fn upsert_deal(
    ctx: &TenantCtx,
    conn: &impl Conn,
    r: &OpportunityRecord,
    rejected: &HashSet<(&'static str, String)>,
) -> Outcome<(Uuid, bool)> {
    let Some(account) = accounts::get_by_external_id(ctx, conn, &r.account).await? else {
        return Ok(Err(unresolved("account", "account", &r.account, rejected)));
    };
    let now = service::now();
    let existing = opportunities::get_by_external_id(ctx, conn, &r.external_id).await?;
    let created_at = r
        .created_at
        .map(|t| t.trunc_subsecs_micros())
        .or(existing.as_ref().map(|d| d.created_at))
        .unwrap_or(now);
    let owner_id = r.owner_id.clone().unwrap_or_else(|| ctx.user_id().to_owned());
    match existing {
        Some(before) => {
            let mut deal = Deal {
                account_id: account.id,
                name: r.name.clone(),
                owner_id,
                currency: r.currency.clone(),
                created_at,
                ..before.clone()
            };
            if deal != before {
                deal.version = before.version + 1;
                deal.updated_at = now;
                opportunities::overwrite(ctx, conn, &deal).await?;
            }
            Ok(Ok((deal.id, false)))
        }
        None => {
            let deal = Deal {
                id: Uuid::now_v7(),
                external_id: Some(r.external_id.clone()),
                account_id: account.id,
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
            };
            opportunities::insert(ctx, conn, &deal).await?;
            Ok(Ok((deal.id, true)))
        }
    }
}

/// The default external ID of a membership: `"<opportunity>/<contact>"`.
fn member_external_id(opportunity: &str, contact: &str) -> String {
    format!("{opportunity}/{contact}")
}

async fn upsert_member(
    ctx: &TenantCtx,
    conn: &impl Conn,
    r: &MemberRecord,
    rejected: &HashSet<(&'static str, String)>,
) -> Outcome<Uuid> {
    let Some(deal) = opportunities::get_by_external_id(ctx, conn, &r.opportunity).await? else {
        return Ok(Err(unresolved("opportunity", "opportunity", &r.opportunity, rejected)));
    };
    let Some(contact) = contacts::get_by_external_id(ctx, conn, &r.contact).await? else {
        return Ok(Err(unresolved("contact", "contact", &r.contact, rejected)));
    };
    let external_id = r
        .external_id
        .clone()
        .unwrap_or_else(|| member_external_id(&r.opportunity, &r.contact));
    let existing = members::get_by_external_id(ctx, conn, &external_id).await?;
    if existing.is_none() && members::contact_in_group(ctx, conn, deal.id, contact.id).await? {
        return Ok(Err(Rejection::field(
            "contact",
            record::INVALID,
            "this contact is already in the opportunity's buying group (under another external ID)",
        )));
    }
    if existing.is_none() && members::count_for_deal(ctx, conn, deal.id).await? >= values::MAX_GROUP_SIZE {
        return Ok(Err(Rejection::field(
            "opportunity",
            record::INVALID,
            format!(
                "a buying group holds at most {} members; this one is full",
                values::MAX_GROUP_SIZE
            ),
        )));
    }
    let member = Member {
        id: existing.as_ref().map_or_else(Uuid::now_v7, |m| m.id),
        external_id: Some(external_id),
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
            .or(existing.as_ref().map(|m| m.created_at))
            .unwrap_or(deal.created_at),
        removed_at: None,
    };
    match existing {
        Some(before) if before.opportunity_id != deal.id || before.contact_id != contact.id => {
            return Ok(Err(Rejection::field(
                "externalId",
                record::INVALID,
                "this member external ID already names another opportunity's or contact's membership",
            )));
        }
        None => members::insert(ctx, conn, &member).await?,
        Some(before) if before != member => members::overwrite(ctx, conn, &member).await?,
        Some(_) => {}
    }
    Ok(Ok(deal.id))
}

async fn upsert_interaction(
    ctx: &TenantCtx,
    conn: &impl Conn,
    r: &InteractionRecord,
    rejected: &HashSet<(&'static str, String)>,
) -> Outcome<Uuid> {
    let Some(deal) = opportunities::get_by_external_id(ctx, conn, &r.opportunity).await? else {
        return Ok(Err(unresolved("opportunity", "opportunity", &r.opportunity, rejected)));
    };
    // Every person named, resolved before anything is written.
    let mut people: Vec<(Contact, bool)> = Vec::with_capacity(r.participants.len() + r.about.len());
    for (field, list, direct) in [("participants", &r.participants, true), ("about", &r.about, false)] {
        for external_id in list {
            let Some(contact) = contacts::get_by_external_id(ctx, conn, external_id).await? else {
                return Ok(Err(unresolved(field, "contact", external_id, rejected)));
            };
            if people.iter().any(|(c, _)| c.id == contact.id) {
                return Ok(Err(Rejection::field(
                    field,
                    record::INVALID,
                    format!("names {external_id:?} twice"),
                )));
            }
            people.push((contact, direct));
        }
    }
    if !people.iter().any(|(_, direct)| *direct) {
        return Ok(Err(Rejection::field(
            "participants",
            record::INVALID,
            "an interaction needs at least one participant",
        )));
    }
    let group = members::for_deals(ctx, conn, &[deal.id]).await?;
    let mut current = group.iter().filter(|m| m.is_current()).count() as u64;
    let mut links = Vec::with_capacity(people.len());
    let existing = interactions::get_by_external_id(ctx, conn, &r.external_id).await?;
    let id = existing.as_ref().map_or_else(Uuid::now_v7, |i| i.id);
    for (contact, direct) in &people {
        let member_id = match group.iter().find(|m| m.is_current() && m.contact_id == contact.id) {
            Some(member) => member.id,
            None => {
                // People the seller meets are part of the group: they join as OTHER.
                if current >= values::MAX_GROUP_SIZE {
                    return Ok(Err(Rejection::field(
                        "participants",
                        record::INVALID,
                        format!(
                            "a buying group holds at most {} members; this one is full",
                            values::MAX_GROUP_SIZE
                        ),
                    )));
                }
                let contact_ext = contact.external_id.clone().unwrap_or_default();
                let member = Member {
                    id: Uuid::now_v7(),
                    external_id: Some(member_external_id(&r.opportunity, &contact_ext)),
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
                    created_at: r.occurred_at.min(service::now()),
                    removed_at: None,
                };
                members::insert(ctx, conn, &member).await?;
                current += 1;
                member.id
            }
        };
        links.push(Link {
            interaction_id: id,
            member_id,
            opportunity_id: deal.id,
            direct: *direct,
        });
    }
    let interaction = Interaction {
        id,
        external_id: Some(r.external_id.clone()),
        opportunity_id: deal.id,
        kind: r.kind,
        occurred_at: r.occurred_at.trunc_subsecs_micros(),
        summary: r.summary.clone(),
        logged_by: r.logged_by.clone().unwrap_or_else(|| ctx.user_id().to_owned()),
        created_at: existing.as_ref().map_or_else(service::now, |i| i.created_at),
    };
    match existing {
        Some(before) if before.opportunity_id != deal.id => {
            return Ok(Err(Rejection::field(
                "opportunity",
                record::INVALID,
                "this interaction external ID already names another opportunity's interaction",
            )));
        }
        None => interactions::insert(ctx, conn, &interaction, &links).await?,
        Some(before) => {
            let stored = interactions::links(ctx, conn, &[id]).await?;
            let same_links = stored.len() == links.len() && links.iter().all(|l| stored.contains(l));
            if before != interaction || !same_links {
                interactions::overwrite(ctx, conn, &interaction, &links).await?;
            }
        }
    }
    Ok(Ok(deal.id))
}

/// A deal's history records in the stream, with their line numbers.
#[derive(Clone, Copy)]
struct StreamHistory<'a> {
    stages: &'a [(Origin, ChangeRecord<Stage>)],
    closes: &'a [(Origin, ChangeRecord<chrono::NaiveDate>)],
    amounts: &'a [(Origin, ChangeRecord<i64>)],
}

/// What an `opportunity` record said of a deal's stage and close date.
#[derive(Debug, Clone)]
struct Declared {
    stage: Stage,
    amount_cents: i64,
    expected_close_date: Option<chrono::NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
}

/// Settles a deal's stage and close date once the stream has been read: the stream's history
/// records replace the stored history (consecutive entries of one stage are one); without
/// them, the record's stage and close date are recorded as changes of now (or of the deal's
/// creation, for a deal this import created). The deal follows its newest entries.
#[allow(clippy::too_many_arguments)]
async fn settle(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ext: &str,
    history: StreamHistory<'_>,
    declared: Option<&Declared>,
    fresh: &HashSet<Uuid>,
    rejected: &HashSet<(&'static str, String)>,
) -> Outcome<Uuid> {
    let Some(before) = opportunities::get_by_external_id(ctx, conn, deal_ext).await? else {
        return Ok(Err(unresolved("opportunity", "opportunity", deal_ext, rejected)));
    };
    let fresh = fresh.contains(&before.id);
    let (stage_records, close_records) = (history.stages, history.closes);
    let (old_stages, old_closes) = opportunities::histories(ctx, conn, before.id).await?;
    let by = ctx.user_id().to_owned();
    let now = service::now();
    let mut deal = before.clone();
    // When a change the stream does not date happened: the deal's creation if this import
    // created it, else now.
    let undated = if fresh { before.created_at } else { now };

    let mut stages: Vec<StageChange> = Vec::new();
    if stage_records.is_empty() {
        stages.clone_from(&old_stages);
        if let Some(declared) = declared
            && stages.last().map(|c| c.to) != Some(declared.stage)
        {
            stages.push(StageChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from: stages.last().map(|c| c.to),
                to: declared.stage,
                at: undated,
                by: by.clone(),
            });
        }
    } else {
        let mut sorted: Vec<&ChangeRecord<Stage>> = stage_records.iter().map(|(_, r)| r).collect();
        sorted.sort_by_key(|r| r.at);
        for r in sorted {
            let from = stages.last().map(|c: &StageChange| c.to);
            if from == Some(r.to) {
                continue; // the same stage again is no change
            }
            stages.push(StageChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: r.to,
                at: r.at.trunc_subsecs_micros(),
                by: by.clone(),
            });
        }
    }
    let mut closes: Vec<CloseDateChange> = Vec::new();
    if close_records.is_empty() {
        closes.clone_from(&old_closes);
        if let Some(declared) = declared {
            let current = closes.last().and_then(|c| c.to);
            let nothing_to_say = closes.is_empty() && declared.expected_close_date.is_none();
            if current != declared.expected_close_date && !nothing_to_say {
                closes.push(CloseDateChange {
                    id: Uuid::now_v7(),
                    opportunity_id: deal.id,
                    from: current,
                    to: declared.expected_close_date,
                    at: undated,
                    by: by.clone(),
                });
            }
        }
    } else {
        let mut sorted: Vec<&ChangeRecord<chrono::NaiveDate>> = close_records.iter().map(|(_, r)| r).collect();
        sorted.sort_by_key(|r| r.at);
        for r in sorted {
            let from = closes.last().and_then(|c: &CloseDateChange| c.to);
            if !closes.is_empty() && from == Some(r.to) {
                continue;
            }
            closes.push(CloseDateChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: Some(r.to),
                at: r.at.trunc_subsecs_micros(),
                by: by.clone(),
            });
        }
    }
    if let Some(last) = stages.last() {
        deal.stage = last.to;
        deal.stage_entered_at = last.at;
        // Closed when it moved into its final closed stage (or when the record says, if the
        // stream has no stage history for it).
        deal.closed_at = last.to.is_closed().then(|| match (stage_records.is_empty(), declared) {
            (
                true,
                Some(Declared {
                    closed_at: Some(at), ..
                }),
            ) => at.trunc_subsecs_micros(),
            _ => last.at,
        });
    }
    if let Some(last) = closes.last() {
        deal.expected_close_date = last.to;
    }
    // Amounts: the stream's changes replace the history, and the deal has the newest.
    if !history.amounts.is_empty() {
        let mut sorted: Vec<&ChangeRecord<i64>> = history.amounts.iter().map(|(_, r)| r).collect();
        sorted.sort_by_key(|r| r.at);
        let mut amounts: Vec<AmountChange> = Vec::new();
        for r in sorted {
            let from = amounts.last().map(|c: &AmountChange| c.to);
            if from == Some(r.to) {
                continue;
            }
            amounts.push(AmountChange {
                id: Uuid::now_v7(),
                opportunity_id: deal.id,
                from,
                to: r.to,
                at: r.at.trunc_subsecs_micros(),
                by: by.clone(),
            });
        }
        let old_amounts = opportunities::amount_history(ctx, conn, deal.id).await?;
        if !same_changes(&amounts, &old_amounts, |c| (c.from, c.to, c.at)) {
            opportunities::replace_amount_history(ctx, conn, deal.id, &amounts).await?;
        }
        if let Some(last) = amounts.last() {
            deal.amount_cents = last.to;
        }
    } else if let Some(declared) = declared {
        deal.amount_cents = declared.amount_cents;
    }
    let same_stages = same_changes(&stages, &old_stages, |c| (c.from, c.to, c.at));
    let same_closes = same_changes(&closes, &old_closes, |c| (c.from, c.to, c.at));
    if !same_stages || !same_closes {
        opportunities::replace_histories(ctx, conn, deal.id, &stages, &closes).await?;
    }
    if deal != before {
        if !fresh {
            deal.version = before.version + 1;
            deal.updated_at = now;
        }
        opportunities::overwrite(ctx, conn, &deal).await?;
    }
    Ok(Ok(deal.id))
}

/// Whether two histories say the same (compared by `key`, not by their fresh ids).
fn same_changes<T, K: PartialEq>(new: &[T], old: &[T], key: impl Fn(&T) -> K) -> bool {
    new.len() == old.len() && new.iter().zip(old).all(|(a, b)| key(a) == key(b))
}

/// Instants are kept to the microsecond, as the databases store them (so that a re-import
/// compares equal).
trait Micros {
    fn trunc_subsecs_micros(self) -> Self;
}

impl Micros for DateTime<Utc> {
    fn trunc_subsecs_micros(self) -> Self {
        use chrono::SubsecRound;
        self.trunc_subsecs(6)
    }
}
