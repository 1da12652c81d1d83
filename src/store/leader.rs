//! One process at a time does the periodic work (the risk sweep), however many replicas
//! serve (SPEC §9): on PostgreSQL the one holding a session advisory lock, on a connection of
//! its own. When the holder dies its session ends and the lock with it; another replica,
//! trying at each of its ticks, takes over within one interval. SQLite serves one process,
//! which always leads.

use sea_orm::sqlx::{Connection, PgConnection};

/// The periodic work one replica does at a time, each under an advisory lock of its own.
#[derive(Debug, Clone, Copy)]
pub enum Work {
    /// The risk sweep.
    Sweep,
    /// The webhook sender.
    Webhooks,
}

impl Work {
    /// The advisory lock's key (constants shared by all replicas; "dealgraph" and
    /// "dealhook" in ASCII).
    fn key(self) -> i64 {
        match self {
            Work::Sweep => 0x6465_616c_6772_6170,
            Work::Webhooks => 0x6465_616c_686f_6f6b,
        }
    }
}

pub struct Leadership {
    work: Work,
    /// PostgreSQL's URL; `None` on SQLite.
    url: Option<String>,
    /// The session holding the lock, while we hold it.
    held: Option<PgConnection>,
}

impl Leadership {
    /// `url` is the database's; only PostgreSQL needs a lock.
    pub fn new(url: &str, work: Work) -> Leadership {
        let postgres = url.starts_with("postgres:") || url.starts_with("postgresql:");
        Leadership {
            work,
            url: postgres.then(|| url.to_owned()),
            held: None,
        }
    }

    /// Whether this process leads now: it still holds the lock (its session answers), or it
    /// just took it. A database that cannot be reached means no.
    pub async fn leads(&mut self) -> bool {
        let Some(url) = &self.url else { return true };
        if let Some(session) = &mut self.held {
            if session.ping().await.is_ok() {
                return true;
            }
            // The session is gone, and the lock with it.
            self.held = None;
            tracing::warn!("lost the periodic-work lock with its connection");
        }
        let Ok(mut session) = PgConnection::connect(url).await else {
            return false;
        };
        let taken: Result<bool, _> = sea_orm::sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(self.work.key())
            .fetch_one(&mut session)
            .await;
        match taken {
            Ok(true) => {
                tracing::info!(work = ?self.work, "this process now runs this periodic work");
                self.held = Some(session);
                true
            }
            _ => {
                let _ = session.close().await;
                false
            }
        }
    }
}
