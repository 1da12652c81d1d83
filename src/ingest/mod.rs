//! Bringing a real pipeline in (SPEC §7): the NDJSON record stream, upserted by external ID,
//! each record all-or-nothing (or the whole stream, `atomic`), history replaced as a set,
//! every touched deal re-assessed. One code path behind `POST /import` and `dealgraph import`.
//!
//! How a stream is applied:
//! 1. Line by line, each record is parsed ([`record`]); records are gathered in chunks (cut
//!    between deals), applied in memory against what they reference (earlier in the stream or
//!    stored in the tenant; see [`chunk`]) and written — each chunk in a transaction of its
//!    own, two at once when neither reads what the other writes ([`InFlight`]), or in the
//!    stream's one transaction when `atomic`. A record that fails changes nothing; a chunk
//!    the database refuses is applied again record by record.
//! 2. History records (`stage_change`, `close_date_change`, `amount_change`) are collected per
//!    deal and, once the stream has been read, replace the deal's history; the deal's current
//!    stage, when it entered it, its close date, `closedAt` and amount follow from the newest
//!    entries.
//! 3. Every touched deal's stored assessment is refreshed, and its risk history rebuilt by
//!    replaying the engine day by day over its past ([`backfill`](crate::domain::backfill)).

mod chunk;
pub mod record;
pub mod salesforce;
mod settle;

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

use chrono::{DateTime, Utc};
use serde::Serialize;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use uuid::Uuid;

use futures_util::StreamExt;
use futures_util::stream::FuturesOrdered;
use sea_orm::{ConnectionTrait, DatabaseTransaction, TransactionTrait};

use self::chunk::{Applied, Rejected, Working};
use self::record::{Record, Rejection};
use crate::domain::model::Stage;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::service;
use crate::store::changes;
use crate::store::{Store, bulk, interactions};

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
                let target = Target::Tx(tx);
                run.feed(ctx, &target, input, progress).await?;
                run.finish(ctx, &target).await?;
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
        let target = Target::Store(store);
        run.feed(ctx, &target, input, progress).await?;
        run.finish(ctx, &target).await?;
        durable(store).await?;
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

/// Records applied together (see [`chunk`]): large enough that a chunk's reads and writes are
/// a few statements of thousands of rows, small enough to hold a few MB.
const RECORDS_PER_CHUNK: usize = 2_000;
/// … or fewer, once their lines reach this many bytes (long summaries), so that a chunk's
/// memory does not depend on how big its records are.
const BYTES_PER_CHUNK: usize = 2 << 20;

/// Deals settled together ([`settle`]) and re-assessed together.
const DEALS_PER_CHUNK: usize = 500;
const DEALS_PER_REASSESSMENT: usize = 50;
/// … or fewer, so that a unit reads at most about this many interactions (a deal's whole
/// history is read to replay it; SQLite rows cost a few hundred bytes per column).
const INTERACTIONS_PER_REASSESSMENT: u64 = 5_000;

/// A record read, waiting for its chunk.
struct Item {
    origin: Origin,
    external_id: Option<String>,
    record: Result<Record, Rejection>,
}

impl Item {
    /// Whether applying the record reads or writes the database (history records wait for
    /// the end of the stream; a rejected line does nothing).
    fn needs_database(&self) -> bool {
        matches!(
            self.record,
            Ok(Record::Account(_)
                | Record::Contact(_)
                | Record::Opportunity(_)
                | Record::Member(_)
                | Record::Interaction(_))
        )
    }
}

/// Where a unit of work is written: a transaction of its own (records go in as they are
/// read), or a savepoint in the stream's one transaction (`atomic`).
enum Target<'a> {
    Store(&'a Store),
    Tx(&'a DatabaseTransaction),
}

impl Target<'_> {
    async fn unit<T>(&self, work: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>) -> AppResult<T> {
        match self {
            Target::Store(store) => {
                store
                    .write(async |tx| {
                        relax_commit(tx).await?;
                        work(tx).await
                    })
                    .await
            }
            Target::Tx(outer) => {
                let tx = outer.begin().await?;
                let mark = changes::mark();
                match work(&tx).await {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(err) => {
                        changes::forget_since(mark);
                        if let Err(rollback) = tx.rollback().await {
                            tracing::warn!(error = %rollback, "rollback to savepoint failed");
                        }
                        Err(err)
                    }
                }
            }
        }
    }
}

/// PostgreSQL: an import's unit of work commits without waiting for its WAL to reach the
/// disk (thousands of commits; the wait was a good part of an import's time). Nothing is
/// risked but the last instants before a server crash — an import is idempotent, so running
/// it again restores them — and the import ends with a commit that waits ([`durable`]),
/// which makes every earlier one durable too (the WAL is flushed in order).
async fn relax_commit(tx: &DatabaseTransaction) -> AppResult<()> {
    if tx.get_database_backend() == sea_orm::DbBackend::Postgres {
        tx.execute_unprepared("SET LOCAL synchronous_commit = off").await?;
    }
    Ok(())
}

/// Waits until everything the import committed is on disk (see [`relax_commit`]): a
/// transaction that takes a transaction id commits with a WAL flush.
async fn durable(store: &Store) -> AppResult<()> {
    if store.reader().get_database_backend() == sea_orm::DbBackend::Postgres {
        store
            .write(async |tx| {
                tx.execute_unprepared("SELECT pg_current_xact_id()").await?;
                Ok(())
            })
            .await?;
    }
    Ok(())
}

/// Units of work run at once when settling deals: PostgreSQL works on one while this process
/// computes the next (SQLite takes them in turn).
const UNITS_AT_ONCE: usize = 2;

/// Units of work run at once when re-assessing deals: one per core for this process's replay
/// of their pasts, and one more so that the database always has one to work on.
const REASSESSING_AT_ONCE: usize = 3;

/// Whether an error of a unit of work is the database being away (the import stops) rather
/// than something one record caused (the records are tried one by one).
fn stops_the_import(err: &AppError) -> bool {
    matches!(err, AppError::Unavailable(_))
}

/// A record the database refused although it passed every check here.
fn refused(err: &AppError) -> Rejection {
    Rejection::record(record::INVALID, format!("the database refused this record: {err}"))
}

/// What an import remembers between chunks.
#[derive(Default)]
struct Run {
    summary: Summary,
    /// External IDs of records rejected so far, by type, so that dependents say why.
    rejected: HashSet<(&'static str, String)>,
    /// History records and declared values per deal external ID, settled at the end.
    histories: HashMap<String, settle::Pending>,
    /// Deals this import created.
    created: HashSet<Uuid>,
    /// Deals written to (to re-assess), by id.
    touched: HashSet<Uuid>,
    /// Chunks written so far.
    chunks_written: u64,
    /// Chunks applied and being written, oldest first.
    in_flight: VecDeque<InFlight>,
}

/// Chunks written at once (PostgreSQL works on each with a process of its own; the machine
/// the import was measured on has two cores). SQLite takes the writes in turn.
const WRITERS: usize = 2;

/// A chunk applied in memory whose rows are being written in a transaction of their own.
///
/// Chunks overlap only where that changes nothing: a chunk reads no row that one still
/// writing writes, and writes no row that one still writing has read — so each chunk sees
/// what it would see had the chunks before it been written one after the other. The stream
/// is cut between deals where it can ([`cut_before`]), so that consecutive chunks of deal
/// records rarely share a row. Outcomes are taken in stream order (errors by line, change
/// events of a deal in the order its records came).
struct InFlight {
    items: Vec<Item>,
    results: Vec<Result<Applied, Rejection>>,
    /// The rows the chunk's records named, and those it writes.
    reads: HashSet<chunk::Key>,
    writes: HashSet<chunk::Key>,
    /// `None` when the chunk had nothing to write.
    write: Option<Spawned<()>>,
}

/// A unit of work (a chunk's write, a re-assessment) running on a task of its own, stopped
/// (its transaction rolled back) if the import ends before it is waited for.
struct Spawned<T>(tokio::task::JoinHandle<AppResult<T>>);

impl<T> Spawned<T> {
    async fn finished(&mut self) -> AppResult<T> {
        (&mut self.0)
            .await
            .map_err(|err| AppError::Internal(format!("a unit of work of the import failed: {err}")))?
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// How a chunk looks its records up (see [`Working::load`]): a record applied on its own (a
/// refused chunk's, record by record) looks up everything it names, so that it is rejected
/// with the reason rather than with the database's refusal.
fn lookup_for(items: &[Item]) -> chunk::Lookup {
    if items.len() == 1 {
        chunk::Lookup::All
    } else {
        chunk::Lookup::StoredDeals
    }
}

/// Whether the chunk being gathered (`items`, `bytes` long) is full before `next`: at
/// [`RECORDS_PER_CHUNK`] records or [`BYTES_PER_CHUNK`] bytes, where the next record belongs
/// to another deal than the last (so that a deal's records share a chunk and chunks can be
/// written at once), and at twice that whatever it is.
fn cut_before(items: &[Item], bytes: usize, next: &Item) -> bool {
    fn deal(item: &Item) -> Option<&str> {
        item.record.as_ref().ok().and_then(Record::deal)
    }
    if items.len() >= 2 * RECORDS_PER_CHUNK || bytes >= 2 * BYTES_PER_CHUNK {
        return true;
    }
    let full = items.len() >= RECORDS_PER_CHUNK || bytes >= BYTES_PER_CHUNK;
    full && items
        .last()
        .is_none_or(|last| deal(last).is_none() || deal(last) != deal(next))
}

impl Run {
    async fn feed<R: AsyncBufRead + Unpin>(
        &mut self,
        ctx: &TenantCtx,
        target: &Target<'_>,
        input: Input<R>,
        progress: &mut (dyn FnMut(&Summary) + Send),
    ) -> AppResult<()> {
        let mut items: Vec<Item> = Vec::with_capacity(RECORDS_PER_CHUNK);
        match input {
            Input::Lines(input) => {
                let mut lines = input.lines();
                let (mut line_no, mut bytes) = (0u64, 0usize);
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
                    let (kind, external_id, record) = match record::parse_line(&line) {
                        Ok(record) => (record.kind(), record.external_id().map(str::to_owned), Ok(record)),
                        Err((external_id, rejection)) => (kind_of_line(&line), external_id, Err(rejection)),
                    };
                    let origin = Origin {
                        file: None,
                        line: line_no,
                        kind,
                    };
                    let item = Item {
                        origin,
                        external_id,
                        record,
                    };
                    if cut_before(&items, bytes, &item) {
                        self.submit(ctx, target, std::mem::take(&mut items)).await?;
                        bytes = 0;
                        progress(&self.summary);
                    }
                    items.push(item);
                    bytes += line.len();
                }
            }
            Input::Records(records) => {
                for converted in records {
                    let origin = Origin {
                        file: Some(converted.file),
                        line: converted.line,
                        kind: match &converted.record {
                            Ok(record) => record.kind(),
                            Err(_) => kind_of_file(converted.file),
                        },
                    };
                    let item = Item {
                        origin,
                        external_id: converted.external_id,
                        record: converted.record,
                    };
                    if cut_before(&items, 0, &item) {
                        self.submit(ctx, target, std::mem::take(&mut items)).await?;
                        progress(&self.summary);
                    }
                    items.push(item);
                }
            }
        }
        self.submit(ctx, target, items).await?;
        while !self.in_flight.is_empty() {
            self.finish_oldest(ctx, target).await?;
        }
        tracing::info!(records = self.summary.read(), "import: records read and written");
        Ok(())
    }

    /// Applies a chunk of records and writes it. In the stream's one transaction (`atomic`) in
    /// turn ([`chunk`](Self::chunk)); else up to [`WRITERS`] chunks are written at once, each
    /// on a connection of its own, while the next is read and applied (see [`InFlight`]).
    async fn submit(&mut self, ctx: &TenantCtx, target: &Target<'_>, items: Vec<Item>) -> AppResult<()> {
        let Target::Store(store) = target else {
            return self.chunk(ctx, target, items).await;
        };
        if items.is_empty() {
            return Ok(());
        }
        let reads = chunk::reads(items.iter().filter_map(|i| i.record.as_ref().ok()));
        // What this chunk reads must be as the chunks before it left it: those still writing
        // any of it are finished first (and so are all before them, in order).
        while self.in_flight.len() >= WRITERS || self.in_flight.iter().any(|c| !c.writes.is_disjoint(&reads)) {
            self.finish_oldest(ctx, target).await?;
        }
        let now = service::now();
        let mut working = if items.iter().any(Item::needs_database) {
            let records = items.iter().filter_map(|i| i.record.as_ref().ok());
            Working::load(ctx, store.reader(), records, lookup_for(&items)).await?
        } else {
            Working::default()
        };
        let results = self.apply(&mut working, ctx, &items, now);
        // The next chunks are applied before this one is merged: they must know what it rejected.
        for (item, result) in items.iter().zip(&results) {
            if result.is_err()
                && let Some(id) = &item.external_id
            {
                self.rejected.insert((item.origin.kind, id.clone()));
            }
        }
        let writes = working.writes();
        // … and what it writes must not be read by a chunk still writing (which read it before).
        while self.in_flight.iter().any(|c| !c.reads.is_disjoint(&writes)) {
            self.finish_oldest(ctx, target).await?;
        }
        let write = (!writes.is_empty()).then(|| {
            let (ctx, store) = (ctx.clone(), (*store).clone());
            Spawned(tokio::spawn(async move {
                store
                    .write(async |tx| {
                        relax_commit(tx).await?;
                        working.write(&ctx, tx).await
                    })
                    .await
            }))
        });
        self.in_flight.push_back(InFlight {
            items,
            results,
            reads,
            writes,
            write,
        });
        Ok(())
    }

    /// Waits for the oldest chunk in flight and takes its outcome into the run; a chunk the
    /// database refused is applied again record by record (see [`chunk`](Self::chunk)).
    async fn finish_oldest(&mut self, ctx: &TenantCtx, target: &Target<'_>) -> AppResult<()> {
        let Some(mut chunk) = self.in_flight.pop_front() else {
            return Ok(());
        };
        let outcome = match &mut chunk.write {
            Some(write) => write.finished().await,
            None => Ok(()),
        };
        let items = std::mem::take(&mut chunk.items);
        match outcome {
            Ok(()) => {
                self.merge(items, std::mem::take(&mut chunk.results));
                if chunk.write.is_some() {
                    self.written(target).await?;
                }
            }
            Err(err) => self.refused(ctx, target, items, err).await?,
        }
        Ok(())
    }

    /// Counts a chunk written, and refreshes the planner's statistics as the stream's rows
    /// arrive table by table (see `bulk::analyze`): after chunk 1, 2, 4, 8, … — a few dozen
    /// times at most.
    async fn written(&mut self, target: &Target<'_>) -> AppResult<()> {
        self.chunks_written += 1;
        if self.chunks_written.is_power_of_two() {
            match target {
                Target::Store(store) => bulk::analyze(store.reader()).await?,
                Target::Tx(tx) => bulk::analyze(*tx).await?,
            }
        }
        Ok(())
    }

    /// Applies a chunk of records in one unit of work; if the database refuses it, each
    /// record in a unit of its own, so that only the culprit is rejected.
    async fn chunk(&mut self, ctx: &TenantCtx, target: &Target<'_>, items: Vec<Item>) -> AppResult<()> {
        if !items.iter().any(Item::needs_database) {
            let results = self.apply(&mut Working::default(), ctx, &items, service::now());
            self.merge(items, results);
            return Ok(());
        }
        let now = service::now();
        let this = &*self;
        let outcome = target
            .unit(async |tx| {
                let records = items.iter().filter_map(|i| i.record.as_ref().ok());
                let mut working = Working::load(ctx, tx, records, lookup_for(&items)).await?;
                let results = this.apply(&mut working, ctx, &items, now);
                working.write(ctx, tx).await?;
                Ok(results)
            })
            .await;
        match outcome {
            Ok(results) => {
                self.merge(items, results);
                self.written(target).await?;
            }
            Err(err) => self.refused(ctx, target, items, err).await?,
        }
        Ok(())
    }

    /// A chunk the database refused: an unreachable database stops the import; a single
    /// record is rejected; several are applied again one by one, so that only the culprit is.
    async fn refused(
        &mut self,
        ctx: &TenantCtx,
        target: &Target<'_>,
        items: Vec<Item>,
        err: AppError,
    ) -> AppResult<()> {
        if stops_the_import(&err) {
            return Err(err);
        }
        if items.len() == 1 {
            self.merge(items, vec![Err(refused(&err))]);
            return Ok(());
        }
        tracing::info!(error = %err, records = items.len(), "a chunk was refused; applying its records one by one");
        for item in items {
            Box::pin(self.chunk(ctx, target, vec![item])).await?;
        }
        Ok(())
    }

    /// Applies records to the chunk's picture in memory, in order.
    fn apply(
        &self,
        working: &mut Working,
        ctx: &TenantCtx,
        items: &[Item],
        now: DateTime<Utc>,
    ) -> Vec<Result<Applied, Rejection>> {
        let mut rejected = Rejected {
            earlier: &self.rejected,
            here: HashSet::new(),
        };
        let mut results = Vec::with_capacity(items.len());
        for item in items {
            let result = match &item.record {
                Ok(record) => working.apply(ctx, record, &rejected, now),
                Err(rejection) => Err(rejection.clone()),
            };
            if result.is_err()
                && let Some(id) = &item.external_id
            {
                rejected.here.insert((item.origin.kind, id.clone()));
            }
            results.push(result);
        }
        results
    }

    /// Takes a written chunk's outcomes into the run: counts, rejected IDs, touched deals, and
    /// the history records that wait for the end of the stream.
    fn merge(&mut self, items: Vec<Item>, results: Vec<Result<Applied, Rejection>>) {
        for (item, result) in items.into_iter().zip(results) {
            let Item {
                origin,
                external_id,
                record,
            } = item;
            let (record, applied) = match (record, result) {
                (Ok(record), Ok(applied)) => (record, applied),
                (_, Err(rejection)) | (Err(rejection), _) => {
                    if let Some(id) = &external_id {
                        self.rejected.insert((origin.kind, id.clone()));
                    }
                    self.summary.reject(&origin, external_id, rejection);
                    continue;
                }
            };
            if let Some(deal) = applied.deal {
                self.touched.insert(deal);
                if applied.created {
                    self.created.insert(deal);
                }
            }
            let kind = record.kind();
            match record {
                Record::StageChange(change) => {
                    let deal = change.opportunity.clone();
                    self.history(&deal).stages.push((origin, change));
                }
                Record::CloseDateChange(change) => {
                    let deal = change.opportunity.clone();
                    self.history(&deal).closes.push((origin, change));
                }
                Record::AmountChange(change) => {
                    let deal = change.opportunity.clone();
                    self.history(&deal).amounts.push((origin, change));
                }
                Record::Opportunity(r) => {
                    self.history(&r.external_id).declared = Some(Declared {
                        stage: r.stage,
                        amount_cents: r.amount_cents,
                        expected_close_date: r.expected_close_date,
                        closed_at: r.closed_at,
                    });
                }
                Record::Account(_) | Record::Contact(_) | Record::Member(_) | Record::Interaction(_) => {}
            }
            self.summary.accept(kind);
        }
    }

    fn history(&mut self, deal: &str) -> &mut settle::Pending {
        self.histories
            .entry(deal.to_owned())
            .or_insert_with(|| settle::Pending {
                external_id: deal.to_owned(),
                ..settle::Pending::default()
            })
    }

    /// Settles every deal the stream named (histories, stage, close date, amount), then
    /// re-assesses every touched deal and rebuilds its risk history.
    async fn finish(&mut self, ctx: &TenantCtx, target: &Target<'_>) -> AppResult<()> {
        let started = std::time::Instant::now();
        let mut deals: Vec<settle::Pending> = std::mem::take(&mut self.histories).into_values().collect();
        deals.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        let created = &self.created;
        let at_once = if matches!(target, Target::Store(_)) {
            UNITS_AT_ONCE
        } else {
            1
        };
        let mut outcomes = Vec::with_capacity(deals.len().div_ceil(DEALS_PER_CHUNK));
        let mut running = FuturesOrdered::new();
        for chunk in deals.chunks(DEALS_PER_CHUNK) {
            running.push_back(settle_unit(ctx, target, chunk, created));
            if running.len() >= at_once
                && let Some(outcome) = running.next().await
            {
                outcomes.push(outcome);
            }
        }
        while let Some(outcome) = running.next().await {
            outcomes.push(outcome);
        }
        for (chunk, outcome) in deals.chunks(DEALS_PER_CHUNK).zip(outcomes) {
            let settled = outcome?;
            for (deal, outcome) in chunk.iter().zip(settled) {
                let rejection = match outcome {
                    Ok(Some(id)) => {
                        self.touched.insert(id);
                        continue;
                    }
                    Ok(None) => Rejected {
                        earlier: &self.rejected,
                        here: HashSet::new(),
                    }
                    .unresolved("opportunity", "opportunity", &deal.external_id),
                    Err(err) => refused(&err),
                };
                // Every history record of the deal goes with it.
                for origin in deal.origins() {
                    self.summary.reject(origin, None, rejection.clone());
                    self.summary.accepted -= 1;
                    if let Some(n) = self.summary.records.get_mut(origin.kind) {
                        *n -= 1;
                    }
                }
            }
        }
        self.summary.records.retain(|_, n| *n > 0);
        tracing::info!(seconds = started.elapsed().as_secs_f64(), "import: histories settled");
        let started = std::time::Instant::now();
        let mut touched: Vec<Uuid> = self.touched.iter().copied().collect();
        touched.sort();
        let at = service::now();
        let counts = target
            .unit(async |tx| interactions::count_for_deals(ctx, tx, &touched).await)
            .await?;
        let (mut chunks, mut start, mut load) = (Vec::new(), 0, 0);
        for (i, id) in touched.iter().enumerate() {
            let n = counts.get(id).copied().unwrap_or(0) + 1;
            if i > start && (i - start >= DEALS_PER_REASSESSMENT || load + n > INTERACTIONS_PER_REASSESSMENT) {
                chunks.push(&touched[start..i]);
                (start, load) = (i, 0);
            }
            load += n;
        }
        if start < touched.len() {
            chunks.push(&touched[start..]);
        }
        match target {
            // Each unit on a task of its own: replaying a deal's past is work for this
            // process, which then runs on every core beside the database's.
            Target::Store(store) => {
                let mut running = VecDeque::new();
                for chunk in chunks {
                    let (ctx, store, chunk) = (ctx.clone(), (*store).clone(), chunk.to_vec());
                    running.push_back(Spawned(tokio::spawn(async move {
                        store
                            .write(async |tx| {
                                relax_commit(tx).await?;
                                service::risk::reassess_and_backfill(&ctx, tx, &chunk, at).await
                            })
                            .await
                    })));
                    if running.len() >= REASSESSING_AT_ONCE
                        && let Some(mut oldest) = running.pop_front()
                    {
                        oldest.finished().await?;
                    }
                }
                while let Some(mut oldest) = running.pop_front() {
                    oldest.finished().await?;
                }
            }
            Target::Tx(_) => {
                for chunk in chunks {
                    reassess_unit(ctx, target, chunk, at).await?;
                }
            }
        }
        self.summary.reassessed = touched.len() as u64;
        tracing::info!(
            seconds = started.elapsed().as_secs_f64(),
            deals = touched.len(),
            "import: deals re-assessed, risk history rebuilt"
        );
        Ok(())
    }
}

/// Settles a chunk of deals in one unit of work; if the database refuses it, each deal in a
/// unit of its own, so that only the deal it refuses is rejected.
async fn settle_unit(
    ctx: &TenantCtx,
    target: &Target<'_>,
    chunk: &[settle::Pending],
    created: &HashSet<Uuid>,
) -> AppResult<Vec<Result<Option<Uuid>, AppError>>> {
    let now = service::now();
    match target
        .unit(async |tx| settle::chunk(ctx, tx, chunk, created, now).await)
        .await
    {
        Ok(found) => Ok(found.into_iter().map(Ok).collect()),
        Err(err) if stops_the_import(&err) => Err(err),
        Err(_) => {
            let mut one_by_one = Vec::with_capacity(chunk.len());
            for deal in chunk {
                let single = std::slice::from_ref(deal);
                match target
                    .unit(async |tx| settle::chunk(ctx, tx, single, created, now).await)
                    .await
                {
                    Ok(found) => one_by_one.push(Ok(found.into_iter().next().flatten())),
                    Err(err) if stops_the_import(&err) => return Err(err),
                    Err(err) => one_by_one.push(Err(err)),
                }
            }
            Ok(one_by_one)
        }
    }
}

/// Re-assesses a chunk of deals and rebuilds their risk histories, in one unit of work.
async fn reassess_unit(ctx: &TenantCtx, target: &Target<'_>, chunk: &[Uuid], at: DateTime<Utc>) -> AppResult<usize> {
    target
        .unit(async |tx| service::risk::reassess_and_backfill(ctx, tx, chunk, at).await)
        .await
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

/// What an `opportunity` record said of a deal's stage, amount and close date.
#[derive(Debug, Clone)]
struct Declared {
    stage: Stage,
    amount_cents: i64,
    expected_close_date: Option<chrono::NaiveDate>,
    closed_at: Option<DateTime<Utc>>,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn item(line: &str) -> Item {
        let record = record::parse_line(line).map_err(|(_, rejection)| rejection);
        Item {
            origin: Origin {
                file: None,
                line: 1,
                kind: "interaction",
            },
            external_id: None,
            record,
        }
    }

    fn interaction(deal: &str, n: usize) -> Item {
        item(&format!(
            r#"{{"type":"interaction","externalId":"i{n}","opportunity":"{deal}","kind":"CALL","occurredAt":"2026-01-01T00:00:00Z","participants":["c1"]}}"#
        ))
    }

    #[test]
    fn chunks_are_cut_between_deals_once_full() {
        let mut items: Vec<Item> = (0..RECORDS_PER_CHUNK - 1).map(|n| interaction("d1", n)).collect();
        // Not full yet.
        assert!(!cut_before(&items, 0, &interaction("d2", 0)));
        items.push(interaction("d1", RECORDS_PER_CHUNK));
        // Full: the next record of the same deal still goes in, one of another deal does not.
        assert!(!cut_before(&items, 0, &interaction("d1", 0)));
        assert!(cut_before(&items, 0, &interaction("d2", 0)));
        let account = item(r#"{"type":"account","externalId":"a1","name":"A"}"#);
        assert!(cut_before(&items, 0, &account));
        // A deal never holds a chunk open past twice the size.
        while items.len() < 2 * RECORDS_PER_CHUNK {
            items.push(interaction("d1", items.len()));
        }
        assert!(cut_before(&items, 0, &interaction("d1", 0)));
        // Accounts and contacts belong to no deal: a full chunk of them is cut anywhere.
        let accounts: Vec<Item> = (0..RECORDS_PER_CHUNK)
            .map(|n| item(&format!(r#"{{"type":"account","externalId":"a{n}","name":"A"}}"#)))
            .collect();
        assert!(cut_before(&accounts, 0, &interaction("d1", 0)));
        assert!(cut_before(&accounts[..1], BYTES_PER_CHUNK, &interaction("d1", 0)));
    }
}
