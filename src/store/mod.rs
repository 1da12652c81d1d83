//! Persistence: the only layer that builds queries, and the only one that knows rows.
//!
//! The rules it keeps:
//! - Every function takes the caller's [`TenantCtx`](crate::domain::TenantCtx) first and
//!   reaches tables only through [`scope`], which adds `tenant_id = <caller's tenant>` to every
//!   read, update and delete and stamps it on every insert. Nothing else in the crate calls
//!   `Entity::find()` (a test in `scope` keeps it so).
//! - Rows go in and come out as domain records ([`crate::domain::records`]), converted in one
//!   place per table ([`convert`]); nothing above this layer names an entity.
//! - Writes run in one transaction per use case: [`Store::write`].
//! - A database error is an `INTERNAL` [`AppError`] (`?` converts it); its detail is logged
//!   once, at the edge, and never sent to a client.

pub mod accounts;
pub mod bulk;
pub mod changes;
pub mod contacts;
pub mod convert;
pub mod export;
pub mod history;
pub mod interactions;
pub mod leader;
pub mod members;
pub mod opportunities;
pub mod outcomes;
pub mod page;
pub mod pipeline;
pub mod policy;
pub mod risk;
pub mod scope;
pub mod trend;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::SqliteJournalMode;
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend, DbErr, SqlErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};
use tokio::sync::Mutex;

use crate::domain::{AppError, AppResult};

/// How long a serving request waits for a database connection (SPEC §5: a clean error within
/// 5 s when the database is away).
const ACQUIRE_TIMEOUT_SERVING: Duration = Duration::from_secs(3);

/// How long a readiness check waits for the database (SPEC §5: `/readyz` 503 within 2 s).
const PING_TIMEOUT: Duration = Duration::from_millis(1500);

/// The database handle shared by all requests.
#[derive(Clone)]
pub struct Store {
    db: DatabaseConnection,
    /// SQL statements run through this store (tests use it to prove batching).
    statements: Arc<AtomicU64>,
    /// SQLite allows one writer at a time; writers queue here instead of spinning on
    /// `SQLITE_BUSY`. `None` on PostgreSQL, which takes concurrent writers.
    write_gate: Option<Arc<Mutex<()>>>,
    /// Where this process's live subscribers hear about committed changes.
    bus: changes::Bus,
    /// Woken when webhook deliveries were committed (here, or on PostgreSQL by any replica).
    outbox: Arc<tokio::sync::Notify>,
}

impl Store {
    /// Connects, tuning SQLite for concurrent use (WAL, busy timeout, foreign keys), with no
    /// limit on how long one statement may run (loads, migrations, tools).
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, DbErr> {
        Store::connect_with_timeout(url, max_connections, None).await
    }

    /// Like [`connect`](Self::connect); on PostgreSQL every statement is cancelled by the
    /// database after `statement_timeout` (the server's request timeout: a request that is
    /// given up on does not leave its SQL running).
    pub async fn connect_with_timeout(
        url: &str,
        max_connections: u32,
        statement_timeout: Option<Duration>,
    ) -> Result<Store, DbErr> {
        let mut opts = ConnectOptions::new(url.to_owned());
        if let Some(timeout) = statement_timeout {
            let millis = timeout.as_millis().to_string();
            opts.map_sqlx_postgres_opts(move |o| o.options([("statement_timeout", millis.clone())]));
        }
        // Serving, a request waits for a connection briefly, then answers SERVICE_UNAVAILABLE:
        // a database that is away must not hang requests.
        let acquire = match statement_timeout {
            Some(request_timeout) => request_timeout.min(ACQUIRE_TIMEOUT_SERVING),
            None => Duration::from_secs(10),
        };
        opts.max_connections(max_connections)
            .min_connections(1)
            .connect_timeout(acquire)
            .acquire_timeout(acquire)
            .sqlx_logging(false)
            .map_sqlx_sqlite_opts(|o| {
                o.journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(30))
                    .foreign_keys(true)
                    .pragma("synchronous", "NORMAL")
            });
        let mut db = Database::connect(opts).await?;
        let statements = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&statements);
        db.set_metric_callback(move |info| {
            counter.fetch_add(1, Ordering::Relaxed);
            metrics::counter!("dealgraph_db_statements_total").increment(1);
            metrics::histogram!("dealgraph_db_statement_duration_seconds").record(info.elapsed.as_secs_f64());
        });
        let write_gate = (db.get_database_backend() == DbBackend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Store {
            db,
            statements,
            write_gate,
            bus: changes::Bus::default(),
            outbox: Arc::default(),
        })
    }

    /// How many SQL statements this store has run so far.
    pub fn statements_executed(&self) -> u64 {
        self.statements.load(Ordering::Relaxed)
    }

    pub async fn migrate(&self) -> Result<(), DbErr> {
        Migrator::up(&self.db, None).await
    }

    /// True when the database answers a trivial query within [`PING_TIMEOUT`].
    pub async fn ping(&self) -> bool {
        matches!(tokio::time::timeout(PING_TIMEOUT, self.db.ping()).await, Ok(Ok(())))
    }

    /// The connection for reads (outside any transaction).
    pub fn reader(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Runs `work` in one write transaction: committed when it returns `Ok`, rolled back
    /// when it returns `Err` (or is dropped half-way, e.g. by a request timeout). On SQLite
    /// writers queue here, one at a time (`BEGIN IMMEDIATE`), instead of failing with
    /// "database is locked".
    pub async fn write<T>(&self, work: impl AsyncFnOnce(&DatabaseTransaction) -> AppResult<T>) -> AppResult<T> {
        // Held until the transaction has ended, so the next writer starts after it.
        let _gate = match &self.write_gate {
            Some(gate) => Some(Arc::clone(gate).lock_owned().await),
            None => None,
        };
        let options = TransactionOptions {
            sqlite_transaction_mode: _gate.as_ref().map(|_| SqliteTransactionMode::Immediate),
            ..Default::default()
        };
        let txn = self.db.begin_with_options(options).await?;
        let (outcome, events) = changes::collect(work(&txn)).await;
        match outcome {
            Ok(value) => {
                // PostgreSQL announces the events itself when (and only if) this commits.
                let postgres = self.db.get_database_backend() == DbBackend::Postgres;
                let queued = match events.is_empty() {
                    true => 0,
                    false => {
                        webhooks::enqueue(&txn, &events, chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6))
                            .await?
                    }
                };
                if postgres {
                    changes::notify(&txn, &events, queued > 0).await?;
                }
                txn.commit().await?;
                if !postgres {
                    self.bus.send_all(events);
                    if queued > 0 {
                        self.outbox.notify_one();
                    }
                }
                Ok(value)
            }
            Err(err) => {
                if let Err(rollback) = txn.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed");
                }
                Err(err)
            }
        }
    }

    /// Where this process's subscribers hear about committed changes (on PostgreSQL, once
    /// [`changes::spawn_listener`] runs).
    pub fn bus(&self) -> &changes::Bus {
        &self.bus
    }

    /// Notified when webhook deliveries have been committed (the sender waits on it; on
    /// PostgreSQL the change listener wakes it for every replica's commits).
    pub fn outbox(&self) -> &Arc<tokio::sync::Notify> {
        &self.outbox
    }

    pub async fn close(self) {
        if let Err(err) = self.db.close().await {
            tracing::warn!(error = %err, "closing the database pool failed");
        }
    }
}

/// A database error is `INTERNAL`: the client cannot fix it. The detail travels inside the
/// error to the edge, which logs it with the request id and sends only "internal error".
/// A database that cannot be reached (down, restarting, the network cut) is
/// `SERVICE_UNAVAILABLE` instead: nothing was changed, and trying again later will work.
impl From<DbErr> for AppError {
    fn from(err: DbErr) -> Self {
        if unreachable(&err) {
            tracing::warn!(error = %err, "database unreachable");
            return AppError::Unavailable("the database is unavailable just now; try again shortly".into());
        }
        AppError::Internal(format!("database: {err}"))
    }
}

/// Whether `err` says the database could not be reached, as opposed to refusing a statement.
fn unreachable(err: &DbErr) -> bool {
    use sea_orm::RuntimeErr;
    use sea_orm::sqlx::Error as Sqlx;
    let sqlx = match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => return true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => e,
        _ => return false,
    };
    match sqlx.as_ref() {
        Sqlx::Io(_) | Sqlx::Tls(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed => true,
        // PostgreSQL's connection exceptions (08…) and shutdowns (57P01-57P03); a cancelled
        // statement (57014, the statement timeout) is not one.
        Sqlx::Database(db) => db
            .code()
            .is_some_and(|code| code.starts_with("08") || code.starts_with("57P")),
        _ => false,
    }
}

/// Maps constraint violations that a racing request can cause to client errors, by name;
/// anything else stays `INTERNAL`.
pub fn constraint_error(err: DbErr) -> AppError {
    match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(msg))
            if msg.contains("buying_group_members") && msg.contains("contact_id") =>
        {
            AppError::bad_input("input.contactId", "this contact is already in the buying group")
        }
        Some(SqlErr::UniqueConstraintViolation(msg)) if msg.contains("external_id") => AppError::bad_input(
            "input.externalId",
            "this external ID is already used by another record of this kind",
        ),
        Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
            // A parent vanished between our check and the insert (a concurrent delete).
            AppError::NotFound("referenced record")
        }
        _ => err.into(),
    }
}

/// Runs `f` on any connection (pool or transaction); the alias keeps signatures short.
pub trait Conn: ConnectionTrait {}
impl<T: ConnectionTrait> Conn for T {}

/// Case-insensitive substring match (`LOWER(col) LIKE '%text%'`), the same on both engines.
pub(crate) fn contains_ci<C: sea_orm::ColumnTrait>(col: C, text: &str) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    Expr::expr(Func::lower(col.into_expr())).like(LikeExpr::new(pattern).escape('\\'))
}
