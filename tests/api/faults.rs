//! Faults (SPEC §5): SIGTERM drains the requests in flight; a database that goes away makes
//! `/readyz` 503 within 2 s and requests `SERVICE_UNAVAILABLE` within 5 s, and when it comes
//! back the server serves again, without a restart and without losing an acknowledged write;
//! its live subscribers hear changes again once its LISTEN connection is back (SPEC §9).
//!
//! The outage is a TCP proxy of the test's own between the server and PostgreSQL, cut and
//! restored by the test: the shared cluster, which other tests use in parallel, is never
//! stopped.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};

use crate::helpers::*;

const CREATE: &str = "mutation($n: String!) { createAccount(input: {name: $n}) { id name } }";

// ---- SIGTERM ----------------------------------------------------------------------------------

/// The server binary, serving `database_url` on a free port of 127.0.0.1.
pub(crate) struct Process {
    child: std::process::Child,
    pub(crate) url: String,
}

impl Process {
    async fn start(database_url: &str) -> Process {
        Process::start_with(database_url, &[]).await
    }

    /// Like `start`, with more environment variables set.
    pub(crate) async fn start_with(database_url: &str, env: &[(&str, &str)]) -> Process {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_dealgraph"))
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("DEALGRAPH_ADDR", format!("127.0.0.1:{port}"))
            .env("DEALGRAPH_JWT_SECRET", SECRET)
            .env("DEALGRAPH_DEMO", "0")
            .env("DEALGRAPH_RISK_SWEEP_SECS", "0")
            .env_remove("DEALGRAPH_DEV")
            .env_remove("DEALGRAPH_TRUSTED_DOCUMENTS")
            .env_remove("DEALGRAPH_WEBHOOK_ALLOW_PRIVATE")
            .env("RUST_LOG", "warn")
            .envs(env.iter().copied())
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("the server binary starts");
        let process = Process {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let client = http_client(Duration::from_secs(2));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let up = client.get(format!("{}/readyz", process.url)).send().await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return process;
            }
            assert!(Instant::now() < deadline, "the server did not come up");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    fn terminate(&self) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
    }
}

impl Process {
    /// SIGKILL: the process dies at once, finishing nothing.
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Holds the database's write lock on `accounts` (a table lock on PostgreSQL, the database's
/// write lock on SQLite) until dropped or released, so that a write request stays in flight.
async fn block_writes(database_url: &str) -> sea_orm::DatabaseConnection {
    let mut options = sea_orm::ConnectOptions::new(database_url.to_owned());
    options.max_connections(1).min_connections(1);
    let db = sea_orm::Database::connect(options).await.expect("connect");
    if database_url.starts_with("postgres") {
        db.execute_unprepared("BEGIN").await.expect("begin");
        db.execute_unprepared("LOCK TABLE accounts IN ACCESS EXCLUSIVE MODE")
            .await
            .expect("lock");
    } else {
        db.execute_unprepared("BEGIN IMMEDIATE").await.expect("begin");
    }
    db
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_requests_in_flight_then_exits_0() {
    let (database_url, _database) = fresh_database().await;
    let mut server = Process::start(&database_url).await;
    let client = http_client(CLIENT_TIMEOUT);
    let token = admin("acme");
    let create = |name: &str| {
        client
            .post(format!("{}/graphql", server.url))
            .bearer_auth(&token)
            .json(&json!({ "query": CREATE, "variables": { "n": name } }))
            .send()
    };
    assert_eq!(create("Before").await.expect("sent").status().as_u16(), 200);

    let lock = block_writes(&database_url).await;
    let in_flight = tokio::spawn(create("In flight"));
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(!in_flight.is_finished(), "the write waits for the lock");
    server.terminate();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Stopped accepting: a new connection is refused while the old request still runs.
    let fresh = http_client(Duration::from_secs(2));
    assert!(
        fresh.get(format!("{}/healthz", server.url)).send().await.is_err(),
        "no new connections after SIGTERM"
    );
    assert!(!in_flight.is_finished());
    lock.execute_unprepared("ROLLBACK").await.expect("release");
    lock.close().await.ok();

    let response = in_flight
        .await
        .expect("task")
        .expect("the request in flight is answered");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["createAccount"]["name"], "In flight", "{body}");
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "the server did not exit after draining");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit code {status:?}");
    // The drained write was committed.
    let db = sea_orm::Database::connect(database_url.as_str())
        .await
        .expect("connect");
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM accounts WHERE name = 'In flight'",
        ))
        .await
        .expect("query")
        .expect("a row");
    assert_eq!(row.try_get::<i64>("", "n").expect("count"), 1);
    db.close().await.ok();
}

// ---- database outage ----------------------------------------------------------------------

/// A TCP proxy to PostgreSQL that the test can cut (every connection closed, new ones
/// closed at once) and restore.
struct Proxy {
    addr: SocketAddr,
    cut: watch::Sender<bool>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy addr");
        let (cut, watching) = watch::channel(false);
        tokio::spawn(async move {
            loop {
                let Ok((mut client, _)) = listener.accept().await else {
                    continue;
                };
                let mut cut = watching.clone();
                if *cut.borrow() {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.wait_for(|cut| *cut) => {}
                    }
                });
            }
        });
        Proxy { addr, cut }
    }

    fn set_cut(&self, cut: bool) {
        self.cut.send_replace(cut);
    }
}

/// `postgres://user@host:port/db` with `host:port` replaced by `addr`.
fn through(url: &str, addr: SocketAddr) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a url");
    let (credentials, rest) = match rest.rsplit_once('@') {
        Some((credentials, rest)) => (format!("{credentials}@"), rest),
        None => (String::new(), rest),
    };
    let (authority, path) = rest.split_once('/').expect("a database name");
    let upstream = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:5432")
    };
    (format!("{scheme}://{credentials}{addr}/{path}"), upstream)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_reported_survived_and_loses_no_acknowledged_write() {
    if !std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        return; // SQLite lives in the process: there is no connection to cut.
    }
    // The proxy's upstream is the cluster the test database lives on.
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_default();
    let (_, upstream) = through(&admin_url, "127.0.0.1:1".parse().expect("addr"));
    let proxy = Proxy::start(upstream).await;
    let app = Arc::new(
        TestApp::spawn_with(|config| {
            config.database_url = through(&config.database_url, proxy.addr).0;
        })
        .await,
    );
    let token = admin("acme");

    // A writer that never stops: every write it sees acknowledged must survive.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (app, token, acknowledged, stop) = (
            Arc::clone(&app),
            token.clone(),
            Arc::clone(&acknowledged),
            Arc::clone(&stop),
        );
        tokio::spawn(async move {
            let mut slowest = Duration::ZERO;
            let mut refused = 0;
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let name = format!("write-{i}");
                let started = Instant::now();
                let (status, body) = app
                    .post(&token, json!({ "query": CREATE, "variables": { "n": name } }))
                    .await;
                slowest = slowest.max(started.elapsed());
                match status {
                    200 if body.get("errors").is_none() => acknowledged.lock().await.push(name),
                    503 => {
                        assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
                        refused += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    _ => panic!("a write answered {status}: {body}"),
                }
            }
            (slowest, refused)
        })
    };
    tokio::time::sleep(Duration::from_millis(800)).await;

    proxy.set_cut(true);
    let cut_at = Instant::now();
    let probe = http_client(Duration::from_secs(10));
    loop {
        let ready = probe
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .expect("readyz answers");
        if ready.status().as_u16() == 503 {
            break;
        }
        assert!(cut_at.elapsed() < Duration::from_secs(2), "/readyz still 200 after 2 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let readyz_after = cut_at.elapsed();
    // A read during the outage: a clean 503 within 5 s, under either media type.
    for accept in ["application/json", "application/graphql-response+json"] {
        let started = Instant::now();
        let response = probe
            .post(format!("{}/graphql", app.url))
            .bearer_auth(&token)
            .header("accept", accept)
            .json(&json!({ "query": "{ accounts(first: 5) { totalCount } }" }))
            .send()
            .await
            .expect("answered");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{accept}: {:?}",
            started.elapsed()
        );
        assert_eq!(response.status().as_u16(), 503, "{accept}");
        let body: Value = response.json().await.expect("json");
        assert_eq!(code(&body), "SERVICE_UNAVAILABLE", "{body}");
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    proxy.set_cut(false);
    let restored_at = Instant::now();
    loop {
        let ready = probe
            .get(format!("{}/readyz", app.url))
            .send()
            .await
            .expect("readyz answers");
        if ready.status().is_success() {
            break;
        }
        assert!(restored_at.elapsed() < Duration::from_secs(15), "not ready again");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let acknowledged_before = acknowledged.lock().await.len();
    let deadline = Instant::now() + Duration::from_secs(15);
    while acknowledged.lock().await.len() < acknowledged_before + 5 {
        assert!(Instant::now() < deadline, "writes do not succeed again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (slowest, refused) = writer.await.expect("writer");
    eprintln!(
        "outage: /readyz 503 after {readyz_after:?}; slowest write {slowest:?}; {refused} writes refused; \
         ready again {:?} after the restore",
        restored_at.elapsed()
    );
    assert!(refused > 0, "the outage was seen");
    assert!(slowest < Duration::from_secs(5), "no write hung: {slowest:?}");

    // Every acknowledged write is there, once; nothing is there twice.
    let mut names = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let data = app
            .ok(
                &token,
                "query($a: String) { accounts(first: 100, after: $a) { pageInfo { hasNextPage endCursor } edges { node { name } } } }",
                json!({ "a": after }),
            )
            .await;
        let page = &data["accounts"];
        names.extend(
            page["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["name"].as_str().unwrap_or_default().to_owned()),
        );
        if page["pageInfo"]["hasNextPage"] != json!(true) {
            break;
        }
        after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "a write is there twice");
    for name in acknowledged.lock().await.iter() {
        assert!(names.contains(name), "acknowledged write {name} is lost");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_subscribers_are_told_to_reconnect_after_a_database_outage_and_then_hear_changes() {
    if !std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        return; // SQLite's events never leave the process.
    }
    let admin_url = std::env::var("DATABASE_URL").unwrap_or_default();
    let (_, upstream) = through(&admin_url, "127.0.0.1:1".parse().expect("addr"));
    let proxy = Proxy::start(upstream).await;
    // Every connection of the server goes through the proxy, its LISTEN connection included.
    let app = TestApp::spawn_with(|config| {
        config.database_url = through(&config.database_url, proxy.addr).0;
    })
    .await;
    let token = admin("acme");
    let account = app.create_account(&token, "Acme").await;
    let mut socket = crate::live::connect(&app.url, &token).await;
    let changes = "subscription { opportunityChanged { kind opportunity { name } } }";
    crate::live::subscribe(&mut socket, "1", changes).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    app.create_opportunity(&token, &account, "Before", "1").await;
    let heard = crate::live::next(&mut socket, Duration::from_secs(10)).await;
    assert_eq!(
        heard.expect("an event")["payload"]["data"]["opportunityChanged"]["opportunity"]["name"],
        "Before"
    );

    // The database goes away for a second and comes back.
    proxy.set_cut(true);
    tokio::time::sleep(Duration::from_secs(1)).await;
    proxy.set_cut(false);

    // Changes committed while the listener was away are not replayed: once it listens again,
    // the socket is closed with 1012 ("service restart"), which the graphql-ws client answers
    // by reconnecting (and the app by re-reading), rather than going on without knowing.
    let closed = crate::live::next(&mut socket, Duration::from_secs(15)).await;
    assert_eq!(
        closed,
        Some(json!({ "close": 1012 })),
        "the socket is told to reconnect"
    );

    // A new socket hears changes again. Keep changing until one arrives (within 15 s).
    let mut socket = crate::live::connect(&app.url, &token).await;
    crate::live::subscribe(&mut socket, "1", changes).await;
    let started = Instant::now();
    for attempt in 0.. {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no event reached the subscriber after the outage"
        );
        let name = format!("After {attempt}");
        let (status, body) = app
            .post(
                &token,
                json!({ "query": "mutation($a: ID!, $n: String!) { createOpportunity(input: {accountId: $a, name: $n, amount: \"1\", currency: \"USD\"}) { id } }",
                        "variables": { "a": account, "n": name } }),
            )
            .await;
        if status != 200 || body.get("errors").is_some() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        if let Some(message) = crate::live::next(&mut socket, Duration::from_secs(1)).await {
            assert_eq!(message["type"], "next", "{message}");
            let name = &message["payload"]["data"]["opportunityChanged"]["opportunity"]["name"];
            assert!(name.as_str().is_some_and(|n| n.starts_with("After ")), "{message}");
            break;
        }
    }
}
