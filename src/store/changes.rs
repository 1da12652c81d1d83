//! Change events on their way out (SPEC §9): recorded while a write transaction runs,
//! announced only once it has committed, in commit order.
//!
//! - Writers call [`changed`] and [`risk_moved`] anywhere inside [`Store::write`]
//!   (crate::store::Store::write); outside one they do nothing.
//! - On PostgreSQL the transaction itself publishes its events with `NOTIFY` (delivered at
//!   commit, in commit order, never for a rollback), and every server process `LISTEN`s on a
//!   connection of its own ([`spawn_listener`]) and hands what arrives to its [`Bus`] — so a
//!   change made through one replica reaches the subscribers of all of them.
//! - On SQLite (one process) the events go to the [`Bus`] right after the commit.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement, Value};
use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, watch};
use uuid::Uuid;

use crate::domain::events::{ChangeEvent, ChangeKind, RiskMove, RiskState};
use crate::domain::model::{FactorSet, RiskLevel};
use crate::domain::records::StoredRisk;
use crate::domain::{AppResult, TenantCtx};

/// The PostgreSQL channel change events travel on.
pub const CHANNEL: &str = "dealgraph_changes";

/// The PostgreSQL channel that says webhook deliveries were committed (no payload).
pub const OUTBOX_CHANNEL: &str = "dealgraph_outbox";

/// Events a slow subscriber may fall behind by before it is told it missed some.
const BUS_CAPACITY: usize = 4096;

tokio::task_local! {
    static PENDING: RefCell<Vec<Recorded>>;
}

/// One thing a transaction recorded about a deal; merged per deal when it commits.
#[derive(Debug, Clone)]
struct Recorded {
    tenant: String,
    deal: Uuid,
    at: DateTime<Utc>,
    kind: Option<ChangeKind>,
    risk: Option<RiskMove>,
}

fn record(entry: Recorded) {
    // Outside a write transaction (tools writing in bulk) there is nobody to tell.
    let _ = PENDING.try_with(|pending| pending.borrow_mut().push(entry));
}

/// Records that the running transaction changed `deal` in the way `kind` says.
pub fn changed(ctx: &TenantCtx, deal: Uuid, kind: ChangeKind, at: DateTime<Utc>) {
    record(Recorded {
        tenant: ctx.tenant().as_str().to_owned(),
        deal,
        at,
        kind: Some(kind),
        risk: None,
    });
}

/// Records that the running transaction stored `next` as `deal`'s assessment in place of
/// `before` (nothing when score, level and factors are the same).
pub fn risk_moved(ctx: &TenantCtx, deal: Uuid, before: &StoredRisk, next: &StoredRisk) {
    let Some(current) = RiskState::of(next) else { return };
    let previous = RiskState::of(before);
    if previous.is_some_and(|p| (p.score, p.level, p.factors) == (current.score, current.level, current.factors)) {
        return;
    }
    record(Recorded {
        tenant: ctx.tenant().as_str().to_owned(),
        deal,
        at: current.at,
        kind: None,
        risk: Some(RiskMove { previous, current }),
    });
}

/// How many records the running transaction holds (a savepoint's start; see [`forget_since`]).
pub fn mark() -> usize {
    PENDING.try_with(|pending| pending.borrow().len()).unwrap_or(0)
}

/// Forgets what was recorded since `mark` (the work since a savepoint was rolled back).
pub fn forget_since(mark: usize) {
    let _ = PENDING.try_with(|pending| pending.borrow_mut().truncate(mark));
}

/// Runs `work` collecting what it records; returns its result and the events, one per deal
/// in the order deals were first touched, each of the most specific kind recorded (a change
/// of stored risk alone is `RISK_REASSESSED`) with the whole move of its assessment.
pub(super) async fn collect<T>(work: impl Future<Output = T>) -> (T, Vec<ChangeEvent>) {
    // On the heap: the work of an import is a large future, and this one would hold it twice.
    let work = Box::pin(work);
    PENDING
        .scope(RefCell::new(Vec::new()), async {
            let value = work.await;
            let recorded = PENDING.with(|pending| pending.take());
            (value, merge(recorded))
        })
        .await
}

fn merge(recorded: Vec<Recorded>) -> Vec<ChangeEvent> {
    let mut events: Vec<(ChangeEvent, bool)> = Vec::new();
    let mut index: HashMap<(String, Uuid), usize> = HashMap::new();
    for r in recorded {
        let slot = *index.entry((r.tenant.clone(), r.deal)).or_insert_with(|| {
            events.push((
                ChangeEvent {
                    tenant: r.tenant.clone(),
                    deal: r.deal,
                    kind: ChangeKind::RiskReassessed,
                    at: r.at,
                    risk: None,
                },
                false,
            ));
            events.len() - 1
        });
        let (event, kind_set) = &mut events[slot];
        if let Some(kind) = r.kind
            && (!*kind_set || kind == ChangeKind::Created)
        {
            event.kind = kind;
            *kind_set = true;
        }
        if let Some(risk) = r.risk {
            event.risk = Some(match event.risk {
                Some(first) => RiskMove {
                    previous: first.previous,
                    current: risk.current,
                },
                None => risk,
            });
        }
        event.at = event.at.max(r.at);
    }
    events
        .into_iter()
        .map(|(event, _)| event)
        // A deal whose assessment moved back to where it started did not change risk.
        .map(|mut event| {
            if let Some(m) = event.risk
                && m.previous.is_some_and(|p| {
                    (p.score, p.level, p.factors) == (m.current.score, m.current.level, m.current.factors)
                })
            {
                event.risk = None;
            }
            event
        })
        .collect()
}

/// Where this process's subscribers receive change events: a channel per tenant with
/// subscribers, so that a change wakes only its own tenant's subscriptions.
#[derive(Clone)]
pub struct Bus {
    channels: Arc<Mutex<HashMap<String, broadcast::Sender<Arc<ChangeEvent>>>>>,
    /// How many times the feed was interrupted (PostgreSQL: the listener lost its connection,
    /// and events committed meanwhile never reached this process).
    interruptions: Arc<watch::Sender<u64>>,
}

impl Default for Bus {
    fn default() -> Bus {
        Bus {
            channels: Arc::default(),
            interruptions: Arc::new(watch::channel(0).0),
        }
    }
}

impl Bus {
    /// Changes each time the feed is interrupted from now on: a subscriber may then have
    /// missed events.
    pub fn interruptions(&self) -> watch::Receiver<u64> {
        self.interruptions.subscribe()
    }

    fn interrupted(&self) {
        self.interruptions.send_modify(|n| *n += 1);
    }

    /// The events of `tenant` from now on.
    pub fn subscribe(&self, tenant: &str) -> broadcast::Receiver<Arc<ChangeEvent>> {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        channels
            .entry(tenant.to_owned())
            .or_insert_with(|| broadcast::channel(BUS_CAPACITY).0)
            .subscribe()
    }

    pub(super) fn send_all(&self, events: Vec<ChangeEvent>) {
        let mut channels = self.channels.lock().unwrap_or_else(|p| p.into_inner());
        for event in events {
            let tenant = event.tenant.clone();
            // Nobody of the tenant listens any more: its channel goes.
            if let Some(channel) = channels.get(&tenant)
                && channel.send(Arc::new(event)).is_err()
            {
                channels.remove(&tenant);
            }
        }
    }
}

/// PostgreSQL: queues the events with `NOTIFY` in the committing transaction `conn` (the
/// database delivers them when, and only if, it commits), and word for the webhook sender
/// when the transaction wrote deliveries (`outbox`).
pub(super) async fn notify(conn: &impl ConnectionTrait, events: &[ChangeEvent], outbox: bool) -> AppResult<()> {
    if outbox {
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_notify($1, '')",
            [Value::from(OUTBOX_CHANNEL)],
        ))
        .await?;
    }
    if events.is_empty() {
        return Ok(());
    }
    let payloads: Vec<String> = events.iter().map(encode).collect();
    let doc = serde_json::to_string(&payloads).map_err(|e| crate::domain::AppError::Internal(e.to_string()))?;
    conn.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        "SELECT pg_notify($1, p) FROM json_array_elements_text($2::json) WITH ORDINALITY AS e(p, n) ORDER BY n",
        [Value::from(CHANNEL), Value::from(doc)],
    ))
    .await?;
    Ok(())
}

/// The payload of one event on the channel (well under PostgreSQL's 8,000 bytes).
#[derive(Serialize, Deserialize)]
struct Wire {
    t: String,
    d: Uuid,
    k: String,
    at: DateTime<Utc>,
    p: Option<WireRisk>,
    c: Option<WireRisk>,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
struct WireRisk {
    at: DateTime<Utc>,
    s: u32,
    l: RiskLevelWire,
    f: i64,
}

#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(transparent)]
struct RiskLevelWire(u8);

fn encode(event: &ChangeEvent) -> String {
    let risk = |s: RiskState| WireRisk {
        at: s.at,
        s: s.score,
        l: RiskLevelWire(s.level.index() as u8),
        f: s.factors.bits(),
    };
    let wire = Wire {
        t: event.tenant.clone(),
        d: event.deal,
        k: event.kind.as_str().to_owned(),
        at: event.at,
        p: event.risk.and_then(|m| m.previous).map(risk),
        c: event.risk.map(|m| risk(m.current)),
    };
    serde_json::to_string(&wire).unwrap_or_default()
}

fn decode(payload: &str) -> Option<ChangeEvent> {
    let wire: Wire = serde_json::from_str(payload).ok()?;
    let risk = |w: WireRisk| -> Option<RiskState> {
        Some(RiskState {
            at: w.at,
            score: w.s,
            level: *RiskLevel::ALL.get(usize::from(w.l.0))?,
            factors: FactorSet::from_bits(w.f)?,
        })
    };
    let current = match wire.c {
        Some(c) => Some(risk(c)?),
        None => None,
    };
    let previous = match wire.p {
        Some(p) => Some(risk(p)?),
        None => None,
    };
    Some(ChangeEvent {
        tenant: wire.t,
        deal: wire.d,
        kind: wire.k.parse().ok()?,
        at: wire.at,
        risk: current.map(|current| RiskMove { previous, current }),
    })
}

/// PostgreSQL: listens on [`CHANNEL`] on a connection of its own and hands every event to
/// `bus` (and wakes `outbox` for every commit of webhook deliveries). Returns once listening
/// (so that no change committed after it returns is missed). Whenever the connection is lost —
/// a database restart included — the task listens again on a new one (a pause growing to 5 s
/// between tries); events committed while it was away are not replayed, so once it listens
/// again it tells the bus ([`Bus::interruptions`]: subscribers are told to reconnect and
/// re-read) and wakes `outbox` (word of new deliveries may have been missed too).
pub async fn start_listener(
    url: &str,
    bus: Bus,
    outbox: Arc<tokio::sync::Notify>,
) -> AppResult<tokio::task::JoinHandle<()>> {
    let mut listener = listen(url)
        .await
        .map_err(|err| crate::domain::AppError::Unavailable(format!("cannot listen for change events: {err}")))?;
    let url = url.to_owned();
    Ok(tokio::spawn(async move {
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) if note.channel() == OUTBOX_CHANNEL => outbox.notify_one(),
                Ok(Some(note)) => match decode(note.payload()) {
                    Some(event) => bus.send_all(vec![event]),
                    None => tracing::warn!(payload = note.payload(), "unreadable change event"),
                },
                lost => {
                    let error = lost.err().map(|err| err.to_string());
                    tracing::warn!(?error, "the change listener's connection was lost; listening again");
                    listener = listen_again(&url).await;
                    tracing::info!("the change listener listens again; live subscribers are told to reconnect");
                    bus.interrupted();
                    outbox.notify_one();
                }
            }
        }
    }))
}

/// A connection listening on both channels.
async fn listen(url: &str) -> Result<sea_orm::sqlx::postgres::PgListener, sea_orm::sqlx::Error> {
    let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url).await?;
    listener.listen_all([CHANNEL, OUTBOX_CHANNEL]).await?;
    Ok(listener)
}

/// [`listen`], tried until it works (a pause growing to 5 s between tries).
async fn listen_again(url: &str) -> sea_orm::sqlx::postgres::PgListener {
    let mut pause = Duration::from_millis(100);
    loop {
        match listen(url).await {
            Ok(listener) => return listener,
            Err(err) => {
                tracing::warn!(error = %err, "the change listener cannot reach the database; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::RiskFactorCode;

    fn state(score: u32, level: RiskLevel, codes: &[RiskFactorCode]) -> RiskState {
        RiskState {
            at: DateTime::from_timestamp(1_700_000_000, 123_000).unwrap_or_default(),
            score,
            level,
            factors: codes.iter().copied().collect(),
        }
    }

    #[test]
    fn events_survive_the_channel() {
        let event = ChangeEvent {
            tenant: "acme".into(),
            deal: Uuid::now_v7(),
            kind: ChangeKind::GroupChanged,
            at: DateTime::from_timestamp(1_700_000_001, 456_000).unwrap_or_default(),
            risk: Some(RiskMove {
                previous: Some(state(40, RiskLevel::Medium, &[RiskFactorCode::Stalled])),
                current: state(
                    60,
                    RiskLevel::High,
                    &[RiskFactorCode::Stalled, RiskFactorCode::GoingDark],
                ),
            }),
        };
        assert_eq!(decode(&encode(&event)), Some(event.clone()));
        let plain = ChangeEvent { risk: None, ..event };
        assert_eq!(decode(&encode(&plain)), Some(plain));
        assert_eq!(decode("{\"t\":1}"), None);
    }

    #[test]
    fn one_event_per_deal_of_its_most_specific_kind_with_the_whole_risk_move() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let at = DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default();
        let rec = |deal, kind, risk| Recorded {
            tenant: "acme".into(),
            deal,
            at,
            kind,
            risk,
        };
        let low = state(10, RiskLevel::Low, &[]);
        let mid = state(30, RiskLevel::Medium, &[RiskFactorCode::Stalled]);
        let high = state(
            55,
            RiskLevel::High,
            &[RiskFactorCode::Stalled, RiskFactorCode::GoingDark],
        );
        let events = merge(vec![
            rec(
                b,
                None,
                Some(RiskMove {
                    previous: Some(low),
                    current: mid,
                }),
            ),
            rec(a, Some(ChangeKind::Updated), None),
            rec(
                a,
                Some(ChangeKind::Created),
                Some(RiskMove {
                    previous: None,
                    current: low,
                }),
            ),
            rec(
                b,
                Some(ChangeKind::GroupChanged),
                Some(RiskMove {
                    previous: Some(mid),
                    current: high,
                }),
            ),
            rec(a, Some(ChangeKind::InteractionLogged), None),
        ]);
        assert_eq!(events.len(), 2);
        assert_eq!((events[0].deal, events[0].kind), (b, ChangeKind::GroupChanged));
        assert_eq!(
            events[0].risk,
            Some(RiskMove {
                previous: Some(low),
                current: high
            })
        );
        assert_eq!((events[1].deal, events[1].kind), (a, ChangeKind::Created));
        assert_eq!(
            events[1].risk,
            Some(RiskMove {
                previous: None,
                current: low
            })
        );
        // There and back again is no change of risk.
        let events = merge(vec![
            rec(
                a,
                None,
                Some(RiskMove {
                    previous: Some(low),
                    current: mid,
                }),
            ),
            rec(
                a,
                None,
                Some(RiskMove {
                    previous: Some(mid),
                    current: low,
                }),
            ),
        ]);
        assert_eq!((events[0].kind, events[0].risk), (ChangeKind::RiskReassessed, None));
    }
}
