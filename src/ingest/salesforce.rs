//! A Salesforce weekly data export (SPEC §7, "Salesforce data export"): a folder of CSV files
//! named by object, with API field names as headers, turned into the records of the stream.
//!
//! The items come out in an order in which every reference points backwards: accounts,
//! contacts, opportunities, members (`OpportunityContactRole`), history (`OpportunityHistory`),
//! then interactions (`Task`, `Event`). Rows that are not records (deleted, open tasks,
//! activities of other objects, …) are skipped and counted by reason.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use csv::StringRecord;
use rust_decimal::Decimal;

use super::record::{
    self, AccountRecord, ChangeRecord, ContactRecord, InteractionRecord, MemberRecord, OpportunityRecord, Record,
    Rejection,
};
use crate::domain::AppError;
use crate::domain::model::{BuyingRole, InteractionKind, Stage};
use crate::domain::values;

/// One converted row: where it came from and what it became.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub file: &'static str,
    /// The physical line where the row starts (the header is line 1).
    pub line: u64,
    pub external_id: Option<String>,
    pub record: Result<Record, Rejection>,
}

/// A converted export: the items in applying order, and the rows skipped, by reason.
#[derive(Debug, Clone, Default)]
pub struct Export {
    pub items: Vec<Item>,
    pub skipped: BTreeMap<String, u64>,
}

/// Skip reasons (the keys of [`Export::skipped`]).
pub const SKIP_DELETED: &str = "deleted";
pub const SKIP_DUPLICATE_ROLE: &str = "duplicate_role";
pub const SKIP_OPEN_TASK: &str = "open_task";
pub const SKIP_NO_CONTACT: &str = "no_contact";
pub const SKIP_ACTIVITY_WITHOUT_OPPORTUNITY: &str = "activity_without_opportunity";
pub const SKIP_HISTORY_WITHOUT_OPPORTUNITY: &str = "history_without_opportunity";

pub const ACCOUNT_FILE: &str = "Account.csv";
pub const CONTACT_FILE: &str = "Contact.csv";
pub const OPPORTUNITY_FILE: &str = "Opportunity.csv";
pub const CONTACT_ROLE_FILE: &str = "OpportunityContactRole.csv";
pub const HISTORY_FILE: &str = "OpportunityHistory.csv";
pub const TASK_FILE: &str = "Task.csv";
pub const EVENT_FILE: &str = "Event.csv";
pub const EVENT_RELATION_FILE: &str = "EventRelation.csv";

/// Salesforce picklist values to dealgraph enums: stage names and contact roles.
#[derive(Debug, Clone)]
pub struct Mapping {
    stages: HashMap<String, Stage>,
    roles: HashMap<String, BuyingRole>,
}

impl Mapping {
    /// The default tables of SPEC §7.
    pub fn defaults() -> Mapping {
        let stages = [
            ("Prospecting", Stage::Prospecting),
            ("Qualification", Stage::Discovery),
            ("Needs Analysis", Stage::Discovery),
            ("Value Proposition", Stage::Evaluation),
            ("Id. Decision Makers", Stage::Evaluation),
            ("Perception Analysis", Stage::Evaluation),
            ("Proposal/Price Quote", Stage::Proposal),
            ("Negotiation/Review", Stage::Negotiation),
            ("Closed Won", Stage::ClosedWon),
            ("Closed Lost", Stage::ClosedLost),
        ];
        let roles = [
            ("Economic Buyer", BuyingRole::EconomicBuyer),
            ("Economic Decision Maker", BuyingRole::EconomicBuyer),
            ("Decision Maker", BuyingRole::DecisionMaker),
            ("Executive Sponsor", BuyingRole::Sponsor),
            ("Technical Buyer", BuyingRole::TechnicalEvaluator),
            ("Evaluator", BuyingRole::TechnicalEvaluator),
            ("Influencer", BuyingRole::Influencer),
            ("Business User", BuyingRole::EndUser),
        ];
        Mapping {
            stages: stages.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            roles: roles.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    /// Merges the `[stages]` and `[roles]` tables of a mapping file (`"Salesforce value" =
    /// "ENUM_NAME"`) over these tables.
    pub fn merged_with_toml(mut self, text: &str) -> Result<Mapping, String> {
        let table: toml::Table = toml::from_str(text).map_err(|err| format!("the mapping file is not TOML: {err}"))?;
        for (key, value) in &table {
            let entries = value
                .as_table()
                .ok_or_else(|| format!("mapping file: `{key}` must be a table"))?;
            match key.as_str() {
                "stages" => merge(&mut self.stages, key, entries)?,
                "roles" => merge(&mut self.roles, key, entries)?,
                other => {
                    return Err(format!(
                        "mapping file: unknown table [{other}]; expected [stages] and [roles]"
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The dealgraph stage of a Salesforce stage name.
    pub fn stage(&self, name: &str) -> Option<Stage> {
        self.stages.get(name.trim()).copied()
    }

    /// The buying role of a Salesforce contact role (anything unmapped is `OTHER`).
    pub fn role(&self, name: &str) -> BuyingRole {
        self.roles.get(name.trim()).copied().unwrap_or(BuyingRole::Other)
    }
}

fn merge<T: std::str::FromStr + std::fmt::Display>(
    into: &mut HashMap<String, T>,
    table: &str,
    entries: &toml::Table,
) -> Result<(), String> {
    for (salesforce, value) in entries {
        let name = value
            .as_str()
            .ok_or_else(|| format!("mapping file: [{table}] {salesforce:?} must map to an enum name (a string)"))?;
        let parsed = name
            .trim()
            .parse::<T>()
            .map_err(|_| format!("mapping file: [{table}] {salesforce:?} = {name:?}: {name:?} is not a value"))?;
        into.insert(salesforce.trim().to_owned(), parsed);
    }
    Ok(())
}

/// Files of an export sent as one zip (`POST /import?format=salesforce`) most an archive may
/// hold, and what an archive's name has to end with to be read.
const MAX_ZIP_ENTRIES: usize = 1_000;

/// Reads an export sent as a zip: its CSV files (by file name, wherever they sit in the
/// archive) and an optional `mapping.toml` merged over `mapping`. At most `max_bytes` are
/// unpacked in all, so a zip bomb is refused rather than unpacked. Blocking (file I/O).
pub fn read_zip(zip: &Path, mapping: &Mapping, default_currency: &str, max_bytes: u64) -> Result<Export, String> {
    use std::io::Read as _;
    let file = File::open(zip).map_err(|err| format!("cannot read the upload: {err}"))?;
    let mut archive = ::zip::ZipArchive::new(file).map_err(|err| format!("not a zip archive: {err}"))?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(format!(
            "the archive holds {} files; an export holds at most {MAX_ZIP_ENTRIES}",
            archive.len()
        ));
    }
    let scratch = Scratch::new().map_err(|err| format!("cannot unpack the archive: {err}"))?;
    let mut unpacked = 0u64;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|err| format!("cannot read the archive: {err}"))?;
        if entry.is_dir() {
            continue;
        }
        // Only the file name counts: no path from the archive is ever followed.
        let Some(name) = Path::new(entry.name())
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_owned)
        else {
            continue;
        };
        if !(name.ends_with(".csv") || name == "mapping.toml") {
            continue;
        }
        let mut out = File::create(scratch.0.join(&name)).map_err(|err| format!("cannot unpack {name}: {err}"))?;
        let budget = max_bytes.saturating_sub(unpacked).saturating_add(1);
        let copied = std::io::copy(&mut (&mut entry).take(budget), &mut out)
            .map_err(|err| format!("cannot unpack {name}: {err}"))?;
        unpacked += copied;
        if unpacked > max_bytes {
            return Err(format!("the archive unpacks to more than {max_bytes} bytes"));
        }
    }
    let mut merged = mapping.clone();
    let mapping_file = scratch.0.join("mapping.toml");
    if mapping_file.exists() {
        let text = std::fs::read_to_string(&mapping_file).map_err(|err| format!("mapping.toml: {err}"))?;
        merged = merged
            .merged_with_toml(&text)
            .map_err(|err| format!("mapping.toml: {err}"))?;
    }
    read_dir(&scratch.0, &merged, default_currency)
}

/// A folder of its own under the system's temporary directory, removed when dropped.
pub struct Scratch(pub std::path::PathBuf);

impl Scratch {
    pub fn new() -> std::io::Result<Scratch> {
        let path = std::env::temp_dir().join(format!("dealgraph-import-{}", uuid::Uuid::now_v7().simple()));
        std::fs::create_dir(&path)?;
        Ok(Scratch(path))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads an export folder. Fails only when the folder cannot be read as an export at all (no
/// `Opportunity.csv`, a file that cannot be read, a file without one of its key columns).
pub fn read_dir(dir: &Path, mapping: &Mapping, default_currency: &str) -> Result<Export, String> {
    if !dir.is_dir() {
        return Err(format!("{} is not a folder", dir.display()));
    }
    if !dir.join(OPPORTUNITY_FILE).is_file() {
        return Err(format!(
            "{} has no {OPPORTUNITY_FILE}: not a Salesforce data export",
            dir.display()
        ));
    }
    let mut out = Export::default();
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    let mut skip = |reason: &str| *skipped.entry(reason.to_owned()).or_default() += 1;

    // Accounts.
    let mut bad = Vec::new();
    let mut items = Vec::new();
    read_rows(dir, ACCOUNT_FILE, &["Id", "Name"], &mut bad, |cols, line, row| {
        if cols.deleted(row) {
            skip(SKIP_DELETED);
            return;
        }
        items.push(item(ACCOUNT_FILE, line, cols.get(row, "Id"), account(cols, row)));
    })?;
    out.items.append(&mut items);
    out.items.append(&mut bad);

    // Contacts.
    read_rows(
        dir,
        CONTACT_FILE,
        &["Id", "AccountId", "LastName"],
        &mut bad,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            items.push(item(CONTACT_FILE, line, cols.get(row, "Id"), contact(cols, row)));
        },
    )?;
    out.items.append(&mut items);
    out.items.append(&mut bad);

    // History first (the opportunities depend on it), emitted after the members.
    let mut histories: HashMap<String, Vec<HistoryRow>> = HashMap::new();
    let mut bad_history = Vec::new();
    read_rows(
        dir,
        HISTORY_FILE,
        &["OpportunityId", "CreatedDate", "StageName"],
        &mut bad_history,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            histories
                .entry(cols.get(row, "OpportunityId").to_owned())
                .or_default()
                .push(HistoryRow {
                    line,
                    created: cols.get(row, "CreatedDate").to_owned(),
                    stage: cols.get(row, "StageName").to_owned(),
                    close_date: cols.get(row, "CloseDate").to_owned(),
                    amount: cols.get(row, "Amount").to_owned(),
                });
        },
    )?;

    // Opportunities, and the history items of those that went in.
    let mut opportunities: HashSet<String> = HashSet::new();
    let mut history_items = Vec::new();
    read_rows(
        dir,
        OPPORTUNITY_FILE,
        &["Id", "AccountId", "Name", "StageName"],
        &mut bad,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            let id = cols.get(row, "Id");
            if !id.is_empty() {
                opportunities.insert(id.to_owned());
            }
            let history = histories.remove(id).unwrap_or_default();
            let converted = opportunity(cols, row, mapping, default_currency, history);
            let record = converted.map(|(record, mut changes)| {
                history_items.append(&mut changes);
                record
            });
            items.push(item(OPPORTUNITY_FILE, line, id, record));
        },
    )?;
    out.items.append(&mut items);
    out.items.append(&mut bad);
    for rows in histories.values() {
        for _ in rows {
            skip(SKIP_HISTORY_WITHOUT_OPPORTUNITY);
        }
    }

    // Members: one per contact and deal, the earliest role row winning.
    let mut roles: Vec<RoleRow> = Vec::new();
    read_rows(
        dir,
        CONTACT_ROLE_FILE,
        &["OpportunityId", "ContactId"],
        &mut bad,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            let created = cols.get(row, "CreatedDate");
            roles.push(RoleRow {
                line,
                id: cols.get(row, "Id").to_owned(),
                opportunity: cols.get(row, "OpportunityId").to_owned(),
                contact: cols.get(row, "ContactId").to_owned(),
                role: mapping.role(cols.get(row, "Role")),
                created: optional_instant("CreatedDate", created),
                earliest: parse_instant(created),
            });
        },
    )?;
    let mut winners: HashMap<(&str, &str), RowOrder> = HashMap::new();
    for r in &roles {
        let key = (r.opportunity.as_str(), r.contact.as_str());
        let candidate = (r.earliest, r.line);
        winners
            .entry(key)
            .and_modify(|best| {
                if earlier(candidate, *best) {
                    *best = candidate;
                }
            })
            .or_insert(candidate);
    }
    for r in &roles {
        if winners.get(&(r.opportunity.as_str(), r.contact.as_str())).map(|w| w.1) != Some(r.line) {
            skip(SKIP_DUPLICATE_ROLE);
            continue;
        }
        out.items.push(item(CONTACT_ROLE_FILE, r.line, &r.id, member(r)));
    }
    out.items.append(&mut bad);

    out.items.append(&mut history_items);
    out.items.append(&mut bad_history);

    // Tasks.
    read_rows(
        dir,
        TASK_FILE,
        &["Id", "WhoId", "WhatId"],
        &mut bad,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            if cols.has("IsClosed") && is_false(cols.get(row, "IsClosed")) {
                skip(SKIP_OPEN_TASK);
                return;
            }
            if !opportunities.contains(cols.get(row, "WhatId")) {
                skip(SKIP_ACTIVITY_WITHOUT_OPPORTUNITY);
                return;
            }
            let who = cols.get(row, "WhoId");
            if !is_contact(who) {
                skip(SKIP_NO_CONTACT);
                return;
            }
            items.push(item(TASK_FILE, line, cols.get(row, "Id"), task(cols, row, who)));
        },
    )?;
    out.items.append(&mut items);
    out.items.append(&mut bad);

    // Events, with their invitees.
    let mut invitees: HashMap<String, Vec<String>> = HashMap::new();
    read_rows(
        dir,
        EVENT_RELATION_FILE,
        &["EventId", "RelationId"],
        &mut bad,
        |cols, _, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            let invitee = !cols.has("IsInvitee") || is_true(cols.get(row, "IsInvitee"));
            let relation = cols.get(row, "RelationId");
            if invitee && is_contact(relation) {
                invitees
                    .entry(cols.get(row, "EventId").to_owned())
                    .or_default()
                    .push(relation.to_owned());
            }
        },
    )?;
    let mut bad_relations = std::mem::take(&mut bad);
    read_rows(
        dir,
        EVENT_FILE,
        &["Id", "WhoId", "WhatId"],
        &mut bad,
        |cols, line, row| {
            if cols.deleted(row) {
                skip(SKIP_DELETED);
                return;
            }
            if !opportunities.contains(cols.get(row, "WhatId")) {
                skip(SKIP_ACTIVITY_WITHOUT_OPPORTUNITY);
                return;
            }
            let id = cols.get(row, "Id");
            let mut participants: Vec<String> = Vec::new();
            let who = cols.get(row, "WhoId");
            let named = std::iter::once(who)
                .filter(|w| is_contact(w))
                .chain(invitees.get(id).into_iter().flatten().map(String::as_str));
            for person in named {
                if !participants.iter().any(|p| p == person) {
                    participants.push(person.to_owned());
                }
            }
            if participants.is_empty() {
                skip(SKIP_NO_CONTACT);
                return;
            }
            items.push(item(EVENT_FILE, line, id, event(cols, row, participants)));
        },
    )?;
    out.items.append(&mut items);
    out.items.append(&mut bad_relations);
    out.items.append(&mut bad);

    out.skipped = skipped;
    Ok(out)
}

fn item(file: &'static str, line: u64, id: &str, record: Result<Record, Rejection>) -> Item {
    Item {
        file,
        line,
        external_id: (!id.is_empty()).then(|| id.to_owned()),
        record,
    }
}

/// The columns of one file, by header name.
struct Cols {
    index: HashMap<String, usize>,
}

impl Cols {
    fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// A row's value of a column, trimmed; empty when the file has no such column.
    fn get<'r>(&self, row: &'r StringRecord, name: &str) -> &'r str {
        self.index.get(name).and_then(|&i| row.get(i)).map_or("", str::trim)
    }

    fn deleted(&self, row: &StringRecord) -> bool {
        is_true(self.get(row, "IsDeleted"))
    }
}

/// Reads one CSV file row by row (a missing file has no rows). Rows that are not valid CSV or
/// UTF-8 become rejected items in `bad`.
fn read_rows(
    dir: &Path,
    file: &'static str,
    required: &[&str],
    bad: &mut Vec<Item>,
    mut each: impl FnMut(&Cols, u64, &StringRecord),
) -> Result<(), String> {
    let path = dir.join(file);
    let handle = match File::open(&path) {
        Ok(handle) => handle,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => return Err(format!("{file}: cannot be read: {err}")),
    };
    let mut input = BufReader::new(handle);
    // A UTF-8 byte order mark is not part of the first header.
    let buffered = input
        .fill_buf()
        .map_err(|err| format!("{file}: cannot be read: {err}"))?;
    if buffered.starts_with(b"\xEF\xBB\xBF") {
        input.consume(3);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers = reader
        .headers()
        .map_err(|err| format!("{file}: the header line cannot be read: {err}"))?
        .clone();
    if headers.iter().all(|h| h.trim().is_empty()) {
        return Ok(()); // an empty file
    }
    let cols = Cols {
        index: headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.trim().to_owned(), i))
            .collect(),
    };
    if let Some(missing) = required.iter().find(|c| !cols.has(c)) {
        return Err(format!("{file}: no column {missing} in the header line"));
    }
    let mut row = StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let line = row.position().map_or(0, |p| p.line());
                each(&cols, line, &row);
            }
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                match err.kind() {
                    csv::ErrorKind::Utf8 { .. } | csv::ErrorKind::UnequalLengths { .. } => bad.push(Item {
                        file,
                        line,
                        external_id: None,
                        record: Err(Rejection::record(
                            record::MALFORMED,
                            format!("not a CSV row of UTF-8 text: {err}"),
                        )),
                    }),
                    _ => return Err(format!("{file}: cannot be read: {err}")),
                }
            }
        }
    }
}

fn is_true(raw: &str) -> bool {
    raw.eq_ignore_ascii_case("true") || raw == "1"
}

fn is_false(raw: &str) -> bool {
    raw.eq_ignore_ascii_case("false") || raw == "0"
}

/// Contact IDs start with the key prefix `003` (users are `005`, leads `00Q`).
fn is_contact(id: &str) -> bool {
    id.starts_with("003")
}

fn from_app(err: AppError) -> Rejection {
    match err {
        AppError::BadInput { field, message } => Rejection::field(&field, record::INVALID, message),
        other => Rejection::record(other.code(), other.to_string()),
    }
}

fn invalid(column: &str, message: impl Into<String>) -> Rejection {
    Rejection::field(column, record::INVALID, message)
}

/// A required ID (the row's own, or a reference).
fn required_id(cols: &Cols, row: &StringRecord, column: &str) -> Result<String, Rejection> {
    values::external_id(column, Some(cols.get(row, column)))
        .map_err(from_app)?
        .ok_or_else(|| invalid(column, "must not be empty"))
}

/// An instant as Salesforce writes it: `2026-03-01T15:04:05.000Z`, `…+0000`, `2026-03-01
/// 15:04:05` (UTC), or a bare date (00:00 UTC).
fn parse_instant(raw: &str) -> Option<DateTime<Utc>> {
    let raw = raw.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(raw) {
        return Some(t.to_utc());
    }
    for format in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z"] {
        if let Ok(t) = DateTime::parse_from_str(raw, format) {
            return Some(t.to_utc());
        }
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(raw, format) {
            return Some(t.and_utc());
        }
    }
    parse_date(raw).map(midnight)
}

/// A date (`2026-03-01`; the date of an instant is accepted too).
fn parse_date(raw: &str) -> Option<NaiveDate> {
    let raw = raw.trim();
    NaiveDate::parse_from_str(raw, "%Y-%m-%d").ok().or_else(|| {
        (raw.len() > 10)
            .then(|| parse_instant(raw).map(|t| t.date_naive()))
            .flatten()
    })
}

fn midnight(date: NaiveDate) -> DateTime<Utc> {
    date.and_time(chrono::NaiveTime::MIN).and_utc()
}

fn optional_instant(column: &str, raw: &str) -> Result<Option<DateTime<Utc>>, Rejection> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_instant(raw)
        .map(Some)
        .ok_or_else(|| invalid(column, format!("{raw:?} is not a date-time")))
}

fn optional_date(column: &str, raw: &str) -> Result<Option<NaiveDate>, Rejection> {
    if raw.is_empty() {
        return Ok(None);
    }
    parse_date(raw)
        .map(Some)
        .ok_or_else(|| invalid(column, format!("{raw:?} is not a date (YYYY-MM-DD)")))
}

/// An amount in cents; blank is 0.
fn amount(column: &str, raw: &str) -> Result<i64, Rejection> {
    if raw.is_empty() {
        return Ok(0);
    }
    let decimal: Decimal = raw
        .parse()
        .or_else(|_| Decimal::from_scientific(raw))
        .map_err(|_| invalid(column, format!("{raw:?} is not a decimal number")))?;
    values::amount_cents(column, decimal).map_err(from_app)
}

/// `Website` to a domain: the host only (no scheme, credentials, port or path).
fn domain_of(website: &str) -> String {
    let rest = website.split_once("://").map_or(website, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.rsplit_once('@').map_or(host, |(_, host)| host);
    let host = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn account(cols: &Cols, row: &StringRecord) -> Result<Record, Rejection> {
    let website = domain_of(cols.get(row, "Website"));
    Ok(Record::Account(AccountRecord {
        external_id: required_id(cols, row, "Id")?,
        name: values::name("Name", cols.get(row, "Name")).map_err(from_app)?,
        domain: values::optional_short("Website", Some(&website)).map_err(from_app)?,
        industry: values::optional_short("Industry", Some(cols.get(row, "Industry"))).map_err(from_app)?,
        created_at: optional_instant("CreatedDate", cols.get(row, "CreatedDate"))?,
    }))
}

fn contact(cols: &Cols, row: &StringRecord) -> Result<Record, Rejection> {
    let full_name = format!("{} {}", cols.get(row, "FirstName"), cols.get(row, "LastName"));
    Ok(Record::Contact(ContactRecord {
        external_id: required_id(cols, row, "Id")?,
        account: required_id(cols, row, "AccountId")?,
        full_name: values::name("LastName", &full_name).map_err(from_app)?,
        title: values::optional_short("Title", Some(cols.get(row, "Title"))).map_err(from_app)?,
        email: values::optional_email("Email", Some(cols.get(row, "Email"))).map_err(from_app)?,
        created_at: optional_instant("CreatedDate", cols.get(row, "CreatedDate"))?,
    }))
}

/// One `OpportunityHistory` row, as read.
struct HistoryRow {
    line: u64,
    created: String,
    stage: String,
    close_date: String,
    amount: String,
}

/// An opportunity record and the history items that go with it; any history row that cannot
/// be converted rejects the opportunity (and so its whole history).
fn opportunity(
    cols: &Cols,
    row: &StringRecord,
    mapping: &Mapping,
    default_currency: &str,
    history: Vec<HistoryRow>,
) -> Result<(Record, Vec<Item>), Rejection> {
    let external_id = required_id(cols, row, "Id")?;
    let account = required_id(cols, row, "AccountId")?;
    let name = values::name("Name", cols.get(row, "Name")).map_err(from_app)?;
    let stage_name = cols.get(row, "StageName");
    let stage = mapping.stage(stage_name).ok_or_else(|| unmapped(stage_name, None))?;
    let amount_cents = amount("Amount", cols.get(row, "Amount"))?;
    let currency = match cols.get(row, "CurrencyIsoCode") {
        "" => values::currency("CurrencyIsoCode", default_currency),
        code => values::currency("CurrencyIsoCode", code),
    }
    .map_err(from_app)?;
    let close_date = optional_date("CloseDate", cols.get(row, "CloseDate"))?;
    let owner_id = values::optional_short("OwnerId", Some(cols.get(row, "OwnerId"))).map_err(from_app)?;
    let created_at = optional_instant("CreatedDate", cols.get(row, "CreatedDate"))?;
    let is_closed = is_true(cols.get(row, "IsClosed"));

    let (items, last_stage) = history_items(&external_id, history, mapping)?;
    let closed_at = match last_stage {
        // The change into the final closed stage.
        Some(change) => change.to.is_closed().then_some(change.at),
        None => (is_closed || stage.is_closed())
            .then(|| close_date.map(midnight))
            .flatten(),
    };
    let record = Record::Opportunity(OpportunityRecord {
        external_id,
        account,
        name,
        amount_cents,
        currency,
        stage,
        expected_close_date: close_date,
        owner_id,
        created_at,
        closed_at,
    });
    Ok((record, items))
}

fn unmapped(value: &str, history_line: Option<u64>) -> Rejection {
    let place = match history_line {
        Some(line) => format!("{HISTORY_FILE} line {line}: "),
        None => String::new(),
    };
    invalid(
        "StageName",
        format!("{place}stage {value:?} has no mapping; map it in the [stages] table of the mapping file"),
    )
}

/// The history of one deal, oldest first: a stage change where the mapped stage changes, a
/// close-date change where `CloseDate` changes, an amount change where `Amount` changes (the
/// first row sets all three). Also returns the last stage change.
fn history_items(
    opportunity: &str,
    rows: Vec<HistoryRow>,
    mapping: &Mapping,
) -> Result<(Vec<Item>, Option<ChangeRecord<Stage>>), Rejection> {
    let in_history = |line: u64, rejection: Rejection| Rejection {
        message: format!("{HISTORY_FILE} line {line}: {}", rejection.message),
        ..rejection
    };
    let mut parsed = Vec::with_capacity(rows.len());
    for r in rows {
        let at = parse_instant(&r.created).ok_or_else(|| {
            in_history(
                r.line,
                invalid("CreatedDate", format!("{:?} is not a date-time", r.created)),
            )
        })?;
        let stage = match r.stage.as_str() {
            "" => None, // not a change of stage
            name => Some(mapping.stage(name).ok_or_else(|| unmapped(name, Some(r.line)))?),
        };
        let close = optional_date("CloseDate", &r.close_date).map_err(|e| in_history(r.line, e))?;
        let cents = amount("Amount", &r.amount).map_err(|e| in_history(r.line, e))?;
        parsed.push((at, r.line, stage, close, cents));
    }
    parsed.sort_by_key(|&(at, line, ..)| (at, line));
    let mut items = Vec::new();
    let (mut last_stage, mut last_close, mut last_amount): (Option<ChangeRecord<Stage>>, Option<NaiveDate>, _) =
        (None, None, None);
    let push = |items: &mut Vec<Item>, line: u64, record: Record| {
        items.push(Item {
            file: HISTORY_FILE,
            line,
            external_id: None,
            record: Ok(record),
        });
    };
    for (at, line, stage, close, cents) in parsed {
        if let Some(stage) = stage
            && last_stage.as_ref().map(|c| c.to) != Some(stage)
        {
            let change = ChangeRecord {
                opportunity: opportunity.to_owned(),
                to: stage,
                at,
            };
            push(&mut items, line, Record::StageChange(change.clone()));
            last_stage = Some(change);
        }
        if let Some(close) = close
            && last_close != Some(close)
        {
            let change = ChangeRecord {
                opportunity: opportunity.to_owned(),
                to: close,
                at,
            };
            push(&mut items, line, Record::CloseDateChange(change));
            last_close = Some(close);
        }
        if last_amount != Some(cents) {
            let change = ChangeRecord {
                opportunity: opportunity.to_owned(),
                to: cents,
                at,
            };
            push(&mut items, line, Record::AmountChange(change));
            last_amount = Some(cents);
        }
    }
    Ok((items, last_stage))
}

/// One `OpportunityContactRole` row, as read.
struct RoleRow {
    line: u64,
    id: String,
    opportunity: String,
    contact: String,
    role: BuyingRole,
    created: Result<Option<DateTime<Utc>>, Rejection>,
    /// For "the earliest row wins": `CreatedDate` when it parses.
    earliest: Option<DateTime<Utc>>,
}

/// Where a role row stands among the rows of its contact and deal: its `CreatedDate` (when
/// it parses) and its line.
type RowOrder = (Option<DateTime<Utc>>, u64);

/// True when `a` (created, line) is an earlier row than `b`: by `CreatedDate`, rows without
/// one after those with one, then by line.
fn earlier(a: RowOrder, b: RowOrder) -> bool {
    let key = |(at, line): RowOrder| (at.is_none(), at, line);
    key(a) < key(b)
}

fn member(r: &RoleRow) -> Result<Record, Rejection> {
    let required = |column: &str, value: &str| {
        values::external_id(column, Some(value))
            .map_err(from_app)?
            .ok_or_else(|| invalid(column, "must not be empty"))
    };
    Ok(Record::Member(MemberRecord {
        external_id: values::external_id("Id", Some(&r.id)).map_err(from_app)?,
        opportunity: required("OpportunityId", &r.opportunity)?,
        contact: required("ContactId", &r.contact)?,
        role: r.role,
        stance: None,
        can_veto: None,
        influence: None,
        bandwidth: None,
        notes: None,
        added_at: r.created.clone()?,
    }))
}

fn task(cols: &Cols, row: &StringRecord, who: &str) -> Result<Record, Rejection> {
    let completed = optional_instant("CompletedDateTime", cols.get(row, "CompletedDateTime"))?;
    let activity = optional_date("ActivityDate", cols.get(row, "ActivityDate"))?.map(midnight);
    let created = optional_instant("CreatedDate", cols.get(row, "CreatedDate"))?;
    let occurred_at = completed.or(activity).or(created).ok_or_else(|| {
        invalid(
            "CreatedDate",
            "required (the task has no CompletedDateTime or ActivityDate)",
        )
    })?;
    let kind = match cols.get(row, "TaskSubtype") {
        "Call" => InteractionKind::Call,
        "Email" => InteractionKind::Email,
        _ => InteractionKind::Other,
    };
    Ok(Record::Interaction(InteractionRecord {
        external_id: required_id(cols, row, "Id")?,
        opportunity: required_id(cols, row, "WhatId")?,
        kind,
        occurred_at,
        summary: values::optional_long("Subject", Some(cols.get(row, "Subject"))).map_err(from_app)?,
        participants: vec![who.to_owned()],
        about: Vec::new(),
        logged_by: None,
    }))
}

fn event(cols: &Cols, row: &StringRecord, participants: Vec<String>) -> Result<Record, Rejection> {
    if participants.len() > values::MAX_INTERACTION_MEMBERS {
        return Err(invalid(
            "RelationId",
            format!(
                "an interaction names at most {} people; this event has {} contacts",
                values::MAX_INTERACTION_MEMBERS,
                participants.len()
            ),
        ));
    }
    let start = optional_instant("StartDateTime", cols.get(row, "StartDateTime"))?;
    let activity = optional_instant("ActivityDateTime", cols.get(row, "ActivityDateTime"))?;
    let occurred_at = start.or(activity).ok_or_else(|| invalid("StartDateTime", "required"))?;
    Ok(Record::Interaction(InteractionRecord {
        external_id: required_id(cols, row, "Id")?,
        opportunity: required_id(cols, row, "WhatId")?,
        kind: InteractionKind::Meeting,
        occurred_at,
        summary: values::optional_long("Subject", Some(cols.get(row, "Subject"))).map_err(from_app)?,
        participants,
        about: Vec::new(),
        logged_by: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WON: &str = "0065g00000Won01AAB";
    const CUSTOM: &str = "0065g00000Cust2AAB";
    const NORMAL: &str = "0065g00000Norm3AAB";

    fn fixture() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/salesforce")
    }

    fn export(mapping: &Mapping) -> Export {
        read_dir(&fixture(), mapping, "GBP").expect("the fixture export reads")
    }

    fn at(raw: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(raw).expect("an instant").to_utc()
    }

    fn date(raw: &str) -> NaiveDate {
        NaiveDate::parse_from_str(raw, "%Y-%m-%d").expect("a date")
    }

    fn find<'a>(export: &'a Export, id: &str) -> &'a Item {
        export
            .items
            .iter()
            .find(|i| i.external_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("an item {id}"))
    }

    fn opportunity_of(item: &Item) -> &OpportunityRecord {
        match &item.record {
            Ok(Record::Opportunity(o)) => o,
            other => panic!("an opportunity: {other:?}"),
        }
    }

    fn interaction_of(item: &Item) -> &InteractionRecord {
        match &item.record {
            Ok(Record::Interaction(i)) => i,
            other => panic!("an interaction: {other:?}"),
        }
    }

    /// The section an item belongs to, in applying order.
    fn rank(item: &Item) -> u8 {
        match (&item.record, item.file) {
            (Ok(Record::Account(_)), _) | (Err(_), ACCOUNT_FILE) => 0,
            (Ok(Record::Contact(_)), _) | (Err(_), CONTACT_FILE) => 1,
            (Ok(Record::Opportunity(_)), _) | (Err(_), OPPORTUNITY_FILE) => 2,
            (Ok(Record::Member(_)), _) | (Err(_), CONTACT_ROLE_FILE) => 3,
            (Ok(Record::StageChange(_) | Record::CloseDateChange(_) | Record::AmountChange(_)), _)
            | (Err(_), HISTORY_FILE) => 4,
            _ => 5,
        }
    }

    #[test]
    fn items_come_in_applying_order() {
        let export = export(&Mapping::defaults());
        let ranks: Vec<u8> = export.items.iter().map(rank).collect();
        let mut sorted = ranks.clone();
        sorted.sort();
        assert_eq!(
            ranks, sorted,
            "accounts, contacts, opportunities, members, history, interactions"
        );
        let count = |r: u8| ranks.iter().filter(|&&x| x == r).count();
        assert_eq!(
            (0..6).map(count).collect::<Vec<_>>(),
            [2, 5, 3, 6, 6 + 9, 5],
            "{:#?}",
            export.items
        );
        let ids: Vec<&str> = export.items[..10]
            .iter()
            .map(|i| i.external_id.as_deref().unwrap_or(""))
            .collect();
        assert_eq!(&ids[..2], ["0015g00000Glbx1AAB", "0015g00000SgAe2AAB"]);
        assert_eq!(&ids[7..], [WON, CUSTOM, NORMAL]);
        let files: Vec<&str> = export.items.iter().rev().take(5).map(|i| i.file).collect();
        assert_eq!(files, [EVENT_FILE, TASK_FILE, TASK_FILE, TASK_FILE, TASK_FILE]);
    }

    #[test]
    fn accounts_and_contacts_convert_with_their_values() {
        let export = export(&Mapping::defaults());
        let Ok(Record::Account(sg)) = &find(&export, "0015g00000SgAe2AAB").record else {
            panic!("an account");
        };
        assert_eq!(sg.name, "Société Générale Ærø");
        assert_eq!(sg.domain.as_deref(), Some("sg-aero.example"));
        assert_eq!(sg.created_at, Some(at("2025-09-02T11:30:00Z")));
        let first = &export.items[0];
        assert_eq!(
            (first.file, first.line),
            (ACCOUNT_FILE, 2),
            "the byte order mark is no header"
        );
        let Ok(Record::Account(globex)) = &first.record else {
            panic!("an account");
        };
        assert_eq!(globex.domain.as_deref(), Some("www.globex.example"));
        let Ok(Record::Contact(okafor)) = &find(&export, "0035g00000Okaf5AAB").record else {
            panic!("a contact");
        };
        assert_eq!(okafor.full_name, "Okafor");
        assert_eq!(okafor.created_at, Some(at("2025-09-05T12:00:00Z")));
        let Ok(Record::Contact(jonas)) = &find(&export, "0035g00000Jona4AAB").record else {
            panic!("a contact");
        };
        assert_eq!((jonas.full_name.as_str(), jonas.email.as_deref()), ("Jonas Ærø", None));
    }

    #[test]
    fn the_history_becomes_changes_without_repeating_a_stage() {
        let export = export(&Mapping::defaults());
        let normal = opportunity_of(find(&export, NORMAL));
        assert_eq!(
            (normal.stage, normal.amount_cents, normal.currency.as_str()),
            (Stage::Negotiation, 9_500_000, "GBP"),
            "a blank CurrencyIsoCode is the default currency"
        );
        assert_eq!(normal.closed_at, None);
        let mut stages = Vec::new();
        let mut closes = Vec::new();
        let mut amounts = Vec::new();
        for item in &export.items {
            match &item.record {
                Ok(Record::StageChange(c)) if c.opportunity == NORMAL => stages.push((c.to, c.at)),
                Ok(Record::CloseDateChange(c)) if c.opportunity == NORMAL => closes.push((c.to, c.at)),
                Ok(Record::AmountChange(c)) if c.opportunity == NORMAL => amounts.push((c.to, c.at)),
                _ => {}
            }
        }
        assert_eq!(
            stages,
            [
                (Stage::Prospecting, at("2025-12-01T09:00:00Z")),
                (Stage::Discovery, at("2025-12-10T14:00:00Z")),
                (Stage::Proposal, at("2026-02-02T15:30:00Z")),
                (Stage::Negotiation, at("2026-03-03T10:00:00Z")),
            ],
            "Needs Analysis is DISCOVERY again: no change"
        );
        assert_eq!(
            closes,
            [
                (date("2026-03-31"), at("2025-12-01T09:00:00Z")),
                (date("2026-04-30"), at("2026-01-05T11:00:00Z")),
                (date("2026-05-15"), at("2026-03-03T10:00:00Z")),
            ]
        );
        assert_eq!(
            amounts,
            [
                (8_000_000, at("2025-12-01T09:00:00Z")),
                (9_500_000, at("2026-02-02T15:30:00Z")),
            ]
        );
    }

    #[test]
    fn a_won_deal_is_closed_when_it_moved_into_closed_won() {
        let export = export(&Mapping::defaults());
        let won = opportunity_of(find(&export, WON));
        assert_eq!(won.stage, Stage::ClosedWon);
        assert_eq!(won.closed_at, Some(at("2026-01-28T16:45:00Z")));
        assert_eq!(won.owner_id.as_deref(), Some("0055g00000OwnrAAAB"));
        assert_eq!((won.amount_cents, won.currency.as_str()), (12_000_000, "USD"));
    }

    #[test]
    fn an_unmapped_stage_rejects_the_deal_until_it_is_mapped() {
        let export = export(&Mapping::defaults());
        let item = find(&export, CUSTOM);
        let rejection = item.record.clone().expect_err("an unmapped stage");
        assert_eq!(
            (rejection.field.as_deref(), rejection.code),
            (Some("StageName"), record::INVALID)
        );
        assert!(rejection.message.contains("\"Custom Stage\""), "{}", rejection.message);
        assert_eq!((item.file, item.line), (OPPORTUNITY_FILE, 3));
        let history_of_custom = export.items.iter().any(|i| {
            matches!(&i.record, Ok(Record::StageChange(c)) if c.opportunity == CUSTOM)
                || matches!(&i.record, Ok(Record::CloseDateChange(c)) if c.opportunity == CUSTOM)
        });
        assert!(!history_of_custom, "no history of a rejected deal");

        let mapping = Mapping::defaults()
            .merged_with_toml("[stages]\n\"Custom Stage\" = \"EVALUATION\"")
            .expect("a valid mapping");
        let export = super::tests::export(&mapping);
        let custom = opportunity_of(find(&export, CUSTOM));
        assert_eq!(
            (custom.stage, custom.amount_cents, custom.currency.as_str()),
            (Stage::Evaluation, 0, "EUR"),
            "a blank Amount is 0"
        );
        let stages: Vec<Stage> = export
            .items
            .iter()
            .filter_map(|i| match &i.record {
                Ok(Record::StageChange(c)) if c.opportunity == CUSTOM => Some(c.to),
                _ => None,
            })
            .collect();
        assert_eq!(stages, [Stage::Prospecting, Stage::Evaluation]);
    }

    #[test]
    fn a_history_row_with_an_unmapped_stage_rejects_the_deal() {
        // The deal's own stage is mapped, one of its history rows is not.
        let mapping = Mapping::defaults()
            .merged_with_toml("[stages]\n\"Prospecting\" = \"PROSPECTING\"")
            .expect("a valid mapping");
        let rows = vec![HistoryRow {
            line: 7,
            created: "2025-12-01T09:00:00.000Z".into(),
            stage: "Legacy Stage".into(),
            close_date: String::new(),
            amount: String::new(),
        }];
        let rejection = history_items(NORMAL, rows, &mapping).expect_err("unmapped");
        assert_eq!(rejection.field.as_deref(), Some("StageName"));
        assert!(
            rejection.message.contains("\"Legacy Stage\"") && rejection.message.contains("line 7"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn mapping_files_merge_over_the_defaults_and_name_unknown_values() {
        let mapping = Mapping::defaults()
            .merged_with_toml("[stages]\n\"Contracting\" = \"NEGOTIATION\"\n[roles]\n\"Champion\" = \"MOBILIZER\"\n")
            .expect("a valid mapping");
        assert_eq!(mapping.stage("Contracting"), Some(Stage::Negotiation));
        assert_eq!(mapping.stage("Closed Lost"), Some(Stage::ClosedLost), "defaults stay");
        assert_eq!(mapping.role("Champion"), BuyingRole::Mobilizer);
        assert_eq!(mapping.role("Business User"), BuyingRole::EndUser);
        assert_eq!(mapping.role("Somebody"), BuyingRole::Other);
        let err = Mapping::defaults()
            .merged_with_toml("[stages]\n\"Won\" = \"WON_IT\"")
            .expect_err("an unknown stage");
        assert!(err.contains("WON_IT"), "{err}");
        let err = Mapping::defaults()
            .merged_with_toml("[roles]\n\"Champion\" = \"CHAMPION\"")
            .expect_err("an unknown role");
        assert!(err.contains("CHAMPION"), "{err}");
        assert!(Mapping::defaults().merged_with_toml("[stages").is_err());
    }

    #[test]
    fn contact_roles_become_members_once_per_contact() {
        let export = export(&Mapping::defaults());
        let members: Vec<(&str, &str, BuyingRole, Option<&str>)> = export
            .items
            .iter()
            .filter_map(|i| match &i.record {
                Ok(Record::Member(m)) => Some((
                    m.opportunity.as_str(),
                    m.contact.as_str(),
                    m.role,
                    m.external_id.as_deref(),
                )),
                _ => None,
            })
            .collect();
        assert_eq!(
            members,
            [
                (
                    WON,
                    "0035g00000Dana1AAB",
                    BuyingRole::EconomicBuyer,
                    Some("00K5g00000Role1AAB")
                ),
                (
                    WON,
                    "0035g00000LeeP2AAB",
                    BuyingRole::TechnicalEvaluator,
                    Some("00K5g00000Role2AAB")
                ),
                (
                    NORMAL,
                    "0035g00000Dana1AAB",
                    BuyingRole::DecisionMaker,
                    Some("00K5g00000Role3AAB")
                ),
                (
                    NORMAL,
                    "0035g00000Okaf5AAB",
                    BuyingRole::Other,
                    Some("00K5g00000Role5AAB")
                ),
                (
                    CUSTOM,
                    "0035g00000Amel3AAB",
                    BuyingRole::Sponsor,
                    Some("00K5g00000Role6AAB")
                ),
                (
                    NORMAL,
                    "0035g00000LeeP2AAB",
                    BuyingRole::Other,
                    Some("00K5g00000Role8AAB")
                ),
            ]
        );
        let Ok(Record::Member(m)) = &find(&export, "00K5g00000Role1AAB").record else {
            panic!("a member");
        };
        assert_eq!((m.stance, m.can_veto, m.bandwidth), (None, None, None));
        assert_eq!(m.added_at, Some(at("2025-10-02T09:00:00Z")));
    }

    #[test]
    fn activities_become_interactions() {
        let export = export(&Mapping::defaults());
        let call = interaction_of(find(&export, "00T5g00000Task1AAB"));
        assert_eq!(
            (call.kind, call.occurred_at, call.opportunity.as_str()),
            (InteractionKind::Call, at("2025-12-11T15:30:00Z"), NORMAL),
            "CompletedDateTime first"
        );
        assert_eq!(call.participants, ["0035g00000Dana1AAB"]);
        let email = interaction_of(find(&export, "00T5g00000Task2AAB"));
        assert_eq!(
            (email.kind, email.occurred_at),
            (InteractionKind::Email, at("2026-02-03T00:00:00Z")),
            "then ActivityDate at 00:00 UTC"
        );
        let multi = find(&export, "00T5g00000Task5AAB");
        assert_eq!(multi.line, 6);
        let multi = interaction_of(multi);
        assert_eq!(multi.kind, InteractionKind::Other);
        assert_eq!(multi.summary.as_deref(), Some("Pricing review, legal terms"));
        let after = find(&export, "00T5g00000Task7AAB");
        assert_eq!(
            (after.file, after.line),
            (TASK_FILE, 10),
            "the line where the row starts"
        );
        assert_eq!(
            interaction_of(after).occurred_at,
            at("2026-01-29T08:00:00Z"),
            "then CreatedDate"
        );

        let meeting = find(&export, "00U5g00000Evnt1AAB");
        assert_eq!((meeting.file, meeting.line), (EVENT_FILE, 2));
        let meeting = interaction_of(meeting);
        assert_eq!(
            (meeting.kind, meeting.occurred_at, meeting.summary.as_deref()),
            (
                InteractionKind::Meeting,
                at("2026-01-06T14:00:00Z"),
                Some("Solution workshop")
            )
        );
        assert_eq!(
            meeting.participants,
            ["0035g00000Dana1AAB", "0035g00000LeeP2AAB"],
            "the WhoId and contact invitees, once each; users, leads and non-invitees left out"
        );
        for skipped in [
            "00T5g00000Task3AAB",
            "00T5g00000Task4AAB",
            "00T5g00000Task6AAB",
            "00U5g00000Evnt2AAB",
        ] {
            assert!(
                !export.items.iter().any(|i| i.external_id.as_deref() == Some(skipped)),
                "{skipped} is skipped"
            );
        }
    }

    #[test]
    fn skipped_rows_are_counted_by_reason() {
        let export = export(&Mapping::defaults());
        let expected: BTreeMap<String, u64> = [
            (SKIP_ACTIVITY_WITHOUT_OPPORTUNITY, 2),
            (SKIP_DELETED, 1),
            (SKIP_DUPLICATE_ROLE, 1),
            (SKIP_HISTORY_WITHOUT_OPPORTUNITY, 1),
            (SKIP_NO_CONTACT, 1),
            (SKIP_OPEN_TASK, 1),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        assert_eq!(export.skipped, expected);
    }

    #[test]
    fn a_folder_without_opportunities_is_no_export() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let err = read_dir(dir.path(), &Mapping::defaults(), "USD").expect_err("no Opportunity.csv");
        assert!(err.contains("Opportunity.csv"), "{err}");
        assert!(read_dir(&dir.path().join("missing"), &Mapping::defaults(), "USD").is_err());
    }

    #[test]
    fn salesforce_values_parse() {
        for raw in [
            "2026-03-01T15:04:05.000Z",
            "2026-03-01T15:04:05.000+0000",
            "2026-03-01T16:04:05.000+0100",
            "2026-03-01 15:04:05",
            "2026-03-01T15:04:05Z",
        ] {
            assert_eq!(parse_instant(raw), Some(at("2026-03-01T15:04:05Z")), "{raw}");
        }
        assert_eq!(parse_instant("2026-03-01"), Some(at("2026-03-01T00:00:00Z")));
        assert_eq!(parse_instant("01/03/2026"), None);
        assert_eq!(parse_date("2026-03-01"), Some(date("2026-03-01")));
        assert_eq!(domain_of("https://www.acme.example/path?q=1"), "www.acme.example");
        assert_eq!(domain_of("acme.example"), "acme.example");
        assert_eq!(domain_of("HTTP://user@Acme.Example:443/"), "acme.example");
        assert_eq!(domain_of(""), "");
        assert_eq!(amount("Amount", ""), Ok(0));
        assert_eq!(amount("Amount", "1250.5"), Ok(125_050));
        let err = amount("Amount", "12,5").expect_err("not a number");
        assert_eq!(err.field.as_deref(), Some("Amount"));
        assert!(is_true("1") && is_true("TRUE") && is_false("0") && !is_true("") && !is_false(""));
    }
}
