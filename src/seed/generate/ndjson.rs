//! `dealgraph generate --ndjson FILE`: the same data set as a SPEC §7 record stream instead of
//! rows, to benchmark `dealgraph import` with. No database is involved.
//!
//! Every tenant of the plan goes into the one stream (it is imported into one tenant), so
//! external IDs carry the name of the tenant they were generated for: `bench/acc-00042`,
//! `bench-2/con-000007`, `bench/opp-00001`, `bench/mem-000012`, `bench/int-0000001`, numbered
//! in the order drawn, so that the same seed and `as_of` give the same bytes. Per tenant come
//! its accounts, then its contacts, then deal by deal the opportunity, its stage, close-date
//! and amount changes, its buying group and its interactions: every reference names a record
//! earlier in the stream, and every person in an interaction is in the deal's group already.
//!
//! Streamed in bounded memory: deals are drawn `DEALS_PER_TX` at a time, as for the
//! database, and written out before the next are drawn. Kept across batches are only the
//! external IDs of the tenant's accounts and contacts (what later deals refer to). Risk is
//! not assessed: the stream carries none, the importer assesses.

use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufWriter, Write};
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use indicatif::ProgressBar;
use serde::{Serialize, Serializer};
use uuid::Uuid;

use super::tenant::{Assess, TenantGenerator};
use super::{DEALS_PER_TX, Plan, progress_bar};
use crate::domain::values::cents_to_decimal;
use crate::store::bulk::Batch;

/// The record types, in the order a tenant's records come (deal by deal from `opportunity`).
pub const RECORD_TYPES: [&str; 8] = [
    "account",
    "contact",
    "opportunity",
    "stage_change",
    "close_date_change",
    "amount_change",
    "member",
    "interaction",
];

/// What [`write`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Records per type, in [`RECORD_TYPES`] order.
    pub records: [u64; 8],
    pub bytes: u64,
    pub elapsed: Duration,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let total: u64 = self.records.iter().sum();
        let by_type = RECORD_TYPES
            .iter()
            .zip(self.records)
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect::<Vec<_>>()
            .join(", ");
        write!(
            f,
            "wrote {total} records ({by_type}), {} bytes ({:.1} MiB) in {:.1} s",
            self.bytes,
            self.bytes as f64 / f64::from(1 << 20),
            self.elapsed.as_secs_f64()
        )
    }
}

/// Writes `plan`'s data set to `out` as NDJSON records. `out` is buffered here; it is flushed
/// before this returns.
pub fn write(plan: &Plan, out: impl Write) -> anyhow::Result<Report> {
    plan.validate()?;
    let tenants = plan.tenants()?;
    let total = tenants.iter().map(|(_, n)| *n as u64).sum();
    let bar = progress_bar(plan.progress, total);
    let started = Instant::now();
    let mut sink = Sink {
        out: BufWriter::with_capacity(1 << 16, out),
        line: Vec::with_capacity(1024),
        records: [0; 8],
        bytes: 0,
    };
    for (index, (tenant, deals)) in tenants.iter().enumerate() {
        bar.set_message(tenant.as_str().to_owned());
        write_tenant(&mut sink, plan, index, tenant.as_str(), *deals, &bar)
            .with_context(|| format!("writing the records of tenant `{}`", tenant.as_str()))?;
    }
    sink.out.flush().context("writing the record stream")?;
    bar.finish_and_clear();
    Ok(Report {
        records: sink.records,
        bytes: sink.bytes,
        elapsed: started.elapsed(),
    })
}

/// One tenant's records: its accounts and contacts, then its deals a batch at a time.
fn write_tenant<W: Write>(
    sink: &mut Sink<W>,
    plan: &Plan,
    index: usize,
    tenant: &str,
    deals: usize,
    bar: &ProgressBar,
) -> io::Result<()> {
    let mut generator = TenantGenerator::new(plan, index, deals);
    let people = generator.accounts_and_contacts();
    let mut accounts: HashMap<Uuid, String> = HashMap::with_capacity(people.accounts.len());
    for (n, a) in people.accounts.iter().enumerate() {
        let external_id = format!("{tenant}/acc-{:05}", n + 1);
        sink.put(&Line::Account {
            external_id: &external_id,
            name: &a.name,
            domain: a.domain.as_deref(),
            industry: a.industry.as_deref(),
            created_at: a.created_at,
        })?;
        accounts.insert(a.id, external_id);
    }
    let mut contacts: HashMap<Uuid, String> = HashMap::with_capacity(people.contacts.len());
    for (n, c) in people.contacts.iter().enumerate() {
        let external_id = format!("{tenant}/con-{:06}", n + 1);
        sink.put(&Line::Contact {
            external_id: &external_id,
            account: known(&accounts, c.account_id, "account")?,
            full_name: &c.full_name,
            title: c.title.as_deref(),
            email: c.email.as_deref(),
            created_at: c.created_at,
        })?;
        contacts.insert(c.id, external_id);
    }
    drop(people);

    let mut numbers = Numbers {
        tenant,
        deals: 0,
        members: 0,
        interactions: 0,
    };
    let mut done = 0;
    while done < deals {
        let n = DEALS_PER_TX.min(deals - done);
        let generated = generator.deals(n, Assess::Skip);
        write_deals(sink, &generated.batch, &accounts, &contacts, &mut numbers)?;
        done += n;
        bar.inc(n as u64);
    }
    Ok(())
}

/// The running numbers of a tenant's external IDs.
struct Numbers<'a> {
    tenant: &'a str,
    deals: usize,
    members: usize,
    interactions: usize,
}

/// One batch of deals, deal by deal: the opportunity, its history, its group, its interactions.
fn write_deals<W: Write>(
    sink: &mut Sink<W>,
    batch: &Batch,
    accounts: &HashMap<Uuid, String>,
    contacts: &HashMap<Uuid, String>,
    numbers: &mut Numbers<'_>,
) -> io::Result<()> {
    let stage_changes = by_deal(&batch.stage_changes, |c| c.opportunity_id);
    let close_date_changes = by_deal(&batch.close_date_changes, |c| c.opportunity_id);
    let amount_changes = by_deal(&batch.amount_changes, |c| c.opportunity_id);
    let members = by_deal(&batch.members, |m| m.opportunity_id);
    let interactions = by_deal(&batch.interactions, |i| i.opportunity_id);
    // Interactions name people by contact; the batch's links name them by membership.
    let mut member_contacts: HashMap<Uuid, &str> = HashMap::with_capacity(batch.members.len());
    for m in &batch.members {
        member_contacts.insert(m.id, known(contacts, m.contact_id, "contact")?);
    }
    let mut people: HashMap<Uuid, (Vec<&str>, Vec<&str>)> = HashMap::with_capacity(batch.interactions.len());
    for link in &batch.links {
        let contact = member_contacts
            .get(&link.member_id)
            .copied()
            .ok_or_else(|| missing("member", link.member_id))?;
        let (participants, about) = people.entry(link.interaction_id).or_default();
        if link.direct {
            participants.push(contact);
        } else {
            about.push(contact);
        }
    }

    let tenant = numbers.tenant;
    for deal in &batch.deals {
        numbers.deals += 1;
        let opportunity = format!("{tenant}/opp-{:05}", numbers.deals);
        let opportunity = opportunity.as_str();
        sink.put(&Line::Opportunity {
            external_id: opportunity,
            account: known(accounts, deal.account_id, "account")?,
            name: &deal.name,
            amount: Amount(deal.amount_cents),
            currency: &deal.currency,
            stage: deal.stage.as_str(),
            expected_close_date: deal.expected_close_date,
            owner_id: &deal.owner_id,
            created_at: deal.created_at,
            closed_at: deal.closed_at,
        })?;
        for c in stage_changes.get(&deal.id).into_iter().flatten() {
            sink.put(&Line::StageChange {
                opportunity,
                to: c.to.as_str(),
                at: c.at,
            })?;
        }
        for c in close_date_changes.get(&deal.id).into_iter().flatten() {
            // The generator never clears a close date; the stream could not say so anyway.
            if let Some(to) = c.to {
                sink.put(&Line::CloseDateChange {
                    opportunity,
                    to,
                    at: c.at,
                })?;
            }
        }
        for c in amount_changes.get(&deal.id).into_iter().flatten() {
            sink.put(&Line::AmountChange {
                opportunity,
                to: Amount(c.to),
                at: c.at,
            })?;
        }
        for m in members.get(&deal.id).into_iter().flatten() {
            numbers.members += 1;
            sink.put(&Line::Member {
                external_id: &format!("{tenant}/mem-{:06}", numbers.members),
                opportunity,
                contact: known(contacts, m.contact_id, "contact")?,
                role: m.role.as_str(),
                stance: m.stance.as_str(),
                can_veto: m.can_veto,
                influence: m.influence.as_str(),
                bandwidth: m.bandwidth.as_str(),
                notes: m.notes.as_deref(),
                added_at: m.created_at,
            })?;
        }
        for i in interactions.get(&deal.id).into_iter().flatten() {
            numbers.interactions += 1;
            let (participants, about) = people
                .get(&i.id)
                .map_or((&[][..], &[][..]), |(p, a)| (p.as_slice(), a.as_slice()));
            sink.put(&Line::Interaction {
                external_id: &format!("{tenant}/int-{:07}", numbers.interactions),
                opportunity,
                kind: i.kind.as_str(),
                occurred_at: i.occurred_at,
                summary: i.summary.as_deref(),
                participants,
                about,
                logged_by: &i.logged_by,
            })?;
        }
    }
    Ok(())
}

/// A batch's records of one kind by deal, each deal's in the order drawn.
fn by_deal<T>(records: &[T], deal: impl Fn(&T) -> Uuid) -> HashMap<Uuid, Vec<&T>> {
    let mut out: HashMap<Uuid, Vec<&T>> = HashMap::new();
    for record in records {
        out.entry(deal(record)).or_default().push(record);
    }
    out
}

/// The external ID given to a record drawn earlier.
fn known<'m>(ids: &'m HashMap<Uuid, String>, id: Uuid, what: &str) -> io::Result<&'m str> {
    ids.get(&id).map(String::as_str).ok_or_else(|| missing(what, id))
}

/// A reference to a record the generator did not draw: a bug here, not bad input.
fn missing(what: &str, id: Uuid) -> io::Error {
    io::Error::other(format!(
        "generated records refer to the {what} {id}, which was not generated"
    ))
}

/// The output, with what went into it.
struct Sink<W: Write> {
    out: BufWriter<W>,
    /// One line, serialized before it is written (reused).
    line: Vec<u8>,
    records: [u64; 8],
    bytes: u64,
}

impl<W: Write> Sink<W> {
    fn put(&mut self, record: &Line<'_>) -> io::Result<()> {
        self.line.clear();
        serde_json::to_writer(&mut self.line, record)?;
        self.line.push(b'\n');
        self.out.write_all(&self.line)?;
        self.bytes += self.line.len() as u64;
        self.records[record.index()] += 1;
        Ok(())
    }
}

/// One record of the stream, with SPEC §7's field names. Internally tagged, so `"type"` is
/// the first key of every line; enums are their GraphQL names (`as_str`).
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    #[serde(rename_all = "camelCase")]
    Account {
        external_id: &'a str,
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        domain: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        industry: Option<&'a str>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Contact {
        external_id: &'a str,
        account: &'a str,
        full_name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        email: Option<&'a str>,
        created_at: DateTime<Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Opportunity {
        external_id: &'a str,
        account: &'a str,
        name: &'a str,
        amount: Amount,
        currency: &'a str,
        stage: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        expected_close_date: Option<NaiveDate>,
        owner_id: &'a str,
        created_at: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        closed_at: Option<DateTime<Utc>>,
    },
    StageChange {
        opportunity: &'a str,
        to: &'static str,
        at: DateTime<Utc>,
    },
    CloseDateChange {
        opportunity: &'a str,
        to: NaiveDate,
        at: DateTime<Utc>,
    },
    AmountChange {
        opportunity: &'a str,
        to: Amount,
        at: DateTime<Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Member {
        external_id: &'a str,
        opportunity: &'a str,
        contact: &'a str,
        role: &'static str,
        stance: &'static str,
        can_veto: bool,
        influence: &'static str,
        bandwidth: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        notes: Option<&'a str>,
        added_at: DateTime<Utc>,
    },
    #[serde(rename_all = "camelCase")]
    Interaction {
        external_id: &'a str,
        opportunity: &'a str,
        kind: &'static str,
        occurred_at: DateTime<Utc>,
        #[serde(skip_serializing_if = "Option::is_none")]
        summary: Option<&'a str>,
        participants: &'a [&'a str],
        #[serde(skip_serializing_if = "nobody")]
        about: &'a [&'a str],
        logged_by: &'a str,
    },
}

impl Line<'_> {
    /// The position of the record's type in [`RECORD_TYPES`].
    fn index(&self) -> usize {
        match self {
            Line::Account { .. } => 0,
            Line::Contact { .. } => 1,
            Line::Opportunity { .. } => 2,
            Line::StageChange { .. } => 3,
            Line::CloseDateChange { .. } => 4,
            Line::AmountChange { .. } => 5,
            Line::Member { .. } => 6,
            Line::Interaction { .. } => 7,
        }
    }
}

fn nobody(people: &&[&str]) -> bool {
    people.is_empty()
}

/// An amount in cents, written as the decimal string the stream carries (`"125000.00"`).
struct Amount(i64);

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&cents_to_decimal(self.0))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use super::*;
    use crate::domain::model::Stage;
    use crate::ingest::record::{OpportunityRecord, Record, parse_line};

    /// Two tenants, small enough to check line by line, large enough for closed and re-scoped
    /// deals.
    fn plan() -> Plan {
        Plan {
            deals: 40,
            other_tenants: 1,
            other_deals: 5,
            members: 12,
            interactions_per_deal: 10,
            progress: false,
            ..Plan::bench(DateTime::from_timestamp(1_781_524_800, 0).expect("2026-06-15T12:00:00Z"))
        }
    }

    fn stream(plan: &Plan) -> (Vec<u8>, Report) {
        let mut out = Vec::new();
        let report = write(plan, &mut out).expect("written");
        (out, report)
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let p = plan();
        let (first, _) = stream(&p);
        let (second, _) = stream(&p);
        assert!(first == second, "two runs of one plan differ");
        let (other, _) = stream(&Plan { seed: 7, ..p });
        assert!(first != other, "another seed gives another stream");
    }

    /// A deal's history as the stream says it: (to, at) in stream order.
    type History<T> = HashMap<String, Vec<(T, DateTime<Utc>)>>;

    #[test]
    fn every_line_is_a_record_the_importer_reads_naming_only_records_before_it() {
        let p = plan();
        let (out, report) = stream(&p);
        assert_eq!(report.bytes, out.len() as u64);
        let text = std::str::from_utf8(&out).expect("UTF-8");

        let mut counts: HashMap<&str, u64> = HashMap::new();
        let (mut accounts, mut contacts, mut members, mut interactions) =
            (HashSet::new(), HashSet::new(), HashSet::new(), HashSet::new());
        // The deals by external ID; the people in each one's group.
        let mut deals: HashMap<String, OpportunityRecord> = HashMap::new();
        let mut groups: HashSet<(String, String)> = HashSet::new();
        let (mut stages, mut amounts): (History<Stage>, History<i64>) = (HashMap::new(), HashMap::new());
        let deal_before = |deals: &HashMap<String, _>, id: &str| {
            assert!(deals.contains_key(id), "unknown opportunity {id}");
        };
        for (n, line) in text.lines().enumerate() {
            assert!(
                line.starts_with(r#"{"type":""#),
                "line {}: type is not first: {line}",
                n + 1
            );
            let record = parse_line(line).unwrap_or_else(|err| panic!("line {}: {err:?}: {line}", n + 1));
            *counts.entry(record.kind()).or_default() += 1;
            match record {
                Record::Account(a) => assert!(accounts.insert(a.external_id)),
                Record::Contact(c) => {
                    assert!(accounts.contains(&c.account), "unknown account {}", c.account);
                    assert!(contacts.insert(c.external_id));
                }
                Record::Opportunity(o) => {
                    assert!(accounts.contains(&o.account), "unknown account {}", o.account);
                    assert!(
                        deals.insert(o.external_id.clone(), o).is_none(),
                        "duplicate opportunity"
                    );
                }
                Record::StageChange(c) => {
                    deal_before(&deals, &c.opportunity);
                    stages.entry(c.opportunity).or_default().push((c.to, c.at));
                }
                Record::CloseDateChange(c) => deal_before(&deals, &c.opportunity),
                Record::AmountChange(c) => {
                    deal_before(&deals, &c.opportunity);
                    amounts.entry(c.opportunity).or_default().push((c.to, c.at));
                }
                Record::Member(m) => {
                    deal_before(&deals, &m.opportunity);
                    assert!(contacts.contains(&m.contact), "unknown contact {}", m.contact);
                    assert!(members.insert(m.external_id.expect("members have external IDs")));
                    assert!(groups.insert((m.opportunity, m.contact)), "one person twice in a group");
                }
                Record::Interaction(i) => {
                    deal_before(&deals, &i.opportunity);
                    assert!(!i.participants.is_empty());
                    for person in i.participants.iter().chain(&i.about) {
                        let in_group = groups.contains(&(i.opportunity.clone(), person.clone()));
                        assert!(in_group, "{person} is not in the group of {}", i.opportunity);
                    }
                    assert!(interactions.insert(i.external_id));
                }
            }
        }

        // Counts by type: as the report says, and as the plan says.
        for (kind, n) in RECORD_TYPES.iter().zip(report.records) {
            assert_eq!(counts.get(kind).copied().unwrap_or(0), n, "{kind}");
        }
        let count = |kind: &str| counts.get(kind).copied().unwrap_or(0);
        let planned_deals = (p.deals + p.other_deals) as u64;
        let planned_accounts = (p.deals / 5 + p.other_deals / 5) as u64;
        let per_deal = p.interactions_per_deal as u64;
        assert_eq!(count("account"), planned_accounts);
        assert_eq!(count("contact"), planned_accounts * (p.members as u64 + 6));
        assert_eq!(count("opportunity"), planned_deals);
        assert_eq!(count("member"), planned_deals * p.members as u64);
        assert_eq!(
            count("stage_change"),
            stages.values().map(|h| h.len() as u64).sum::<u64>()
        );
        let interactions_planned = planned_deals * per_deal / 2..=planned_deals * per_deal * 3 / 2;
        assert!(
            interactions_planned.contains(&count("interaction")),
            "{}",
            count("interaction")
        );
        assert!(count("close_date_change") > 0);
        assert!(
            accounts.iter().any(|a| a.starts_with("bench/")) && accounts.iter().any(|a| a.starts_with("bench-2/")),
            "both tenants are in the stream"
        );

        // A deal's stage is its newest stage change; a closed deal closed when it moved into it.
        let mut closed = 0;
        for (id, deal) in &deals {
            let (stage, closed_at) = (deal.stage, deal.closed_at);
            let history = &stages[id];
            let (last, at) = history[history.len() - 1];
            assert_eq!(last, stage, "{id}");
            assert!(
                history.windows(2).all(|w| w[0].1 <= w[1].1),
                "{id}: stage changes in order"
            );
            assert_eq!(closed_at.is_some(), stage.is_closed(), "{id}");
            if let Some(closed_at) = closed_at {
                assert!(matches!(last, Stage::ClosedWon | Stage::ClosedLost));
                assert_eq!(closed_at, at, "{id}: closed when it moved into {last}");
                closed += 1;
            }
        }
        assert!(closed > 0, "some deals are closed");

        // Amount histories: from creation to the amount the deal has.
        assert!(!amounts.is_empty(), "some deals were re-scoped");
        for (id, history) in &amounts {
            let (amount, created_at) = (deals[id].amount_cents, deals[id].created_at.expect("createdAt"));
            assert!(history.len() >= 2, "{id}: an initial amount and at least one change");
            assert_eq!(
                history[0].1, created_at,
                "{id}: the first amount is the one it was created with"
            );
            assert_eq!(
                history[history.len() - 1].0,
                amount,
                "{id}: the newest amount is the deal's"
            );
            assert!(history.windows(2).all(|w| w[0].1 < w[1].1 && w[0].0 != w[1].0), "{id}");
        }
    }
}
