//! Live updates over WebSocket (SPEC §9), with a real client speaking `graphql-transport-ws`
//! as the `graphql-ws` npm package does: the token in `connection_init`, 4401 for a missing,
//! bad or expired one, events after commit only, scoped to the tenant; on PostgreSQL, a
//! change made through one server reaches a subscriber of another.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::import::post_import;

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for an event that must come.
const WAIT: Duration = Duration::from_secs(10);

/// Opens `/graphql` as a WebSocket offering `graphql-transport-ws`, with no header of ours.
async fn open(base: &str) -> Socket {
    let mut request = format!("{}/graphql", base.replacen("http://", "ws://", 1))
        .into_client_request()
        .expect("ws request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let (socket, response) = tokio_tungstenite::connect_async(request).await.expect("upgrade");
    assert_eq!(
        response
            .headers()
            .get("sec-websocket-protocol")
            .map(|v| v.to_str().unwrap_or("")),
        Some("graphql-transport-ws")
    );
    socket
}

async fn send(socket: &mut Socket, message: Value) {
    socket.send(Message::text(message.to_string())).await.expect("send");
}

/// The next protocol message (JSON), or the close frame's code as `{"close": code}`;
/// `None` when nothing arrives within `wait`.
pub(crate) async fn next(socket: &mut Socket, wait: Duration) -> Option<Value> {
    loop {
        let message = match tokio::time::timeout(wait, socket.next()).await {
            Err(_) => return None,
            Ok(None) => return Some(json!({ "close": null })),
            Ok(Some(Err(err))) => return Some(json!({ "close": null, "error": err.to_string() })),
            Ok(Some(Ok(message))) => message,
        };
        match message {
            Message::Text(text) => return Some(serde_json::from_str(text.as_str()).expect("json message")),
            Message::Close(frame) => {
                return Some(json!({ "close": frame.map(|f| u16::from(f.code)), }));
            }
            _ => continue,
        }
    }
}

/// Opens a socket and completes the handshake with `token`.
pub(crate) async fn connect(base: &str, token: &str) -> Socket {
    let mut socket = open(base).await;
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }),
    )
    .await;
    let ack = next(&mut socket, WAIT).await;
    assert_eq!(ack, Some(json!({ "type": "connection_ack" })));
    socket
}

pub(crate) async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    send(
        socket,
        json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
    )
    .await;
}

/// The next `next` message's data, with its subscription id.
async fn event(socket: &mut Socket) -> (String, Value) {
    let message = next(socket, WAIT).await.expect("an event within the wait");
    assert_eq!(message["type"], "next", "{message}");
    assert!(message["payload"].get("errors").is_none(), "{message}");
    (
        message["id"].as_str().unwrap_or_default().to_owned(),
        message["payload"]["data"].clone(),
    )
}

const CHANGES: &str = "subscription { opportunityChanged { kind at opportunity { name version riskScore } } }";
const RISK: &str = "subscription { riskChanged(minLevel: LOW) { opportunity { name } previous { score level } current { score level factorCodes } newFactors clearedFactors } }";

/// The lines of a one-deal import; with `bad`, a last line that cannot go in.
fn deal_stream(bad: bool) -> String {
    let mut lines = vec![
        json!({ "type": "account", "externalId": "A1", "name": "Globex" }),
        json!({ "type": "contact", "externalId": "C1", "account": "A1", "fullName": "Dana Ruiz", "title": "Controller" }),
        json!({ "type": "opportunity", "externalId": "O1", "account": "A1", "name": "Imported deal", "amount": "1000",
                "currency": "USD", "stage": "DISCOVERY", "createdAt": days_ago(30) }),
        json!({ "type": "member", "opportunity": "O1", "contact": "C1", "role": "SPONSOR" }),
    ];
    if bad {
        lines.push(json!({ "type": "opportunity", "externalId": "O2", "account": "A1", "name": "Bad", "amount": "1", "currency": "USD", "stage": "WON" }));
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

#[tokio::test]
async fn subscribers_hear_their_tenants_committed_changes_and_nothing_else() {
    let app = TestApp::spawn().await;
    let acme = admin("acme");
    let mut socket = connect(&app.url, &acme).await;
    subscribe(&mut socket, "changes", CHANGES).await;
    subscribe(&mut socket, "risk", RISK).await;
    // Give the subscriptions a moment to start listening.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Another tenant's change, and a stream of ours rolled back whole: nothing to hear.
    let globex = admin("globex");
    let other = app.create_account(&globex, "Other").await;
    app.create_opportunity(&globex, &other, "Not yours", "5").await;
    let (status, summary) = post_import(&app, &acme, deal_stream(true), "?atomic=true").await;
    assert_eq!(status, 422, "{summary}");
    assert_eq!(
        next(&mut socket, Duration::from_millis(500)).await,
        None,
        "nothing was committed for acme"
    );

    // A created deal: one change event and its first assessment (no previous one).
    let account = app.create_account(&acme, "Acme").await;
    let deal = app.create_opportunity(&acme, &account, "Acme deal", "100").await;
    let mut heard = [event(&mut socket).await, event(&mut socket).await];
    heard.sort_by(|a, b| a.0.cmp(&b.0));
    let (changes, risk) = (&heard[0], &heard[1]);
    assert_eq!(changes.0, "changes");
    let changed = &changes.1["opportunityChanged"];
    assert_eq!(changed["kind"], "CREATED");
    assert_eq!(changed["opportunity"]["name"], "Acme deal");
    assert_eq!(changed["opportunity"]["version"], 1);
    assert_eq!(risk.0, "risk");
    let moved = &risk.1["riskChanged"];
    assert_eq!(moved["opportunity"]["name"], "Acme deal");
    assert_eq!(moved["previous"], Value::Null);
    assert_eq!(moved["current"]["score"], changed["opportunity"]["riskScore"]);
    assert_eq!(moved["newFactors"], moved["current"]["factorCodes"]);
    assert_eq!(moved["clearedFactors"], json!([]));

    // A change to the deal's fields that leaves its risk alone: one UPDATED event, read after it.
    app.ok(
        &acme,
        "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, name: \"Renamed\"}) { version } }",
        json!({ "id": deal }),
    )
    .await;
    let (id, data) = event(&mut socket).await;
    assert_eq!(id, "changes");
    assert_eq!(data["opportunityChanged"]["kind"], "UPDATED");
    assert_eq!(data["opportunityChanged"]["opportunity"]["name"], "Renamed");
    assert_eq!(data["opportunityChanged"]["opportunity"]["version"], 2);
    assert_eq!(
        next(&mut socket, Duration::from_millis(300)).await,
        None,
        "the risk did not change"
    );

    // A member joins: the group changed (and the risk, if it moved, from where it was).
    let contact = app.create_contact(&acme, &account, "Priya Shah", "VP Operations").await;
    app.add_member(&acme, &deal, &contact, "SPONSOR").await;
    let (id, data) = event(&mut socket).await;
    let (id, data) = if id == "risk" {
        assert_eq!(
            data["riskChanged"]["previous"]["score"],
            risk.1["riskChanged"]["current"]["score"]
        );
        event(&mut socket).await
    } else {
        (id, data)
    };
    assert_eq!(id, "changes");
    assert_eq!(data["opportunityChanged"]["kind"], "GROUP_CHANGED");
    if let Some((id, _)) = next(&mut socket, Duration::from_millis(300))
        .await
        .map(|m| (m["id"].as_str().unwrap_or_default().to_owned(), m))
    {
        assert_eq!(id, "risk", "one change event per deal and transaction");
    }

    // An import that commits: the deal it brought is announced as re-assessed.
    let (status, summary) = post_import(&app, &acme, deal_stream(false), "").await;
    assert_eq!(status, 200, "{summary}");
    let mut heard = [event(&mut socket).await, event(&mut socket).await];
    heard.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(heard[0].1["opportunityChanged"]["kind"], "RISK_REASSESSED");
    assert_eq!(heard[0].1["opportunityChanged"]["opportunity"]["name"], "Imported deal");
    assert_eq!(heard[1].1["riskChanged"]["previous"], Value::Null);

    // `complete` ends a subscription; the other goes on.
    send(&mut socket, json!({ "id": "changes", "type": "complete" })).await;
    // async-graphql confirms with a `complete` of its own (clients ignore it).
    if let Some(confirmed) = next(&mut socket, Duration::from_millis(300)).await {
        assert_eq!(confirmed, json!({ "id": "changes", "type": "complete" }));
    }
    let version = app
        .ok(
            &acme,
            "query($id: ID!) { node(id: $id) { ... on Opportunity { version } } }",
            json!({ "id": deal }),
        )
        .await;
    app.ok(
        &acme,
        "mutation($id: ID!, $v: Int!) { updateOpportunity(input: {id: $id, expectedVersion: $v, name: \"Again\"}) { version } }",
        json!({ "id": deal, "v": version["node"]["version"] }),
    )
    .await;
    assert_eq!(next(&mut socket, Duration::from_millis(500)).await, None);
}

/// A subscriber more than the bus's 4,096 events behind is told so in an error, and its
/// subscription ends (going on would skip events without its knowing); the socket stays open,
/// and a new subscription on it hears the next change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_more_than_4096_events_behind_is_told_and_its_subscription_ends() {
    let app = TestApp::spawn().await;
    let acme = admin("acme");
    let mut socket = connect(&app.url, &acme).await;
    // Big answers (each deal's risk explained 30 times over, ≈ 35 KB), and a client that reads
    // nothing while the import runs: once the sockets' buffers are full the server cannot send,
    // and the events pile up behind the subscription.
    let fields: String = (0..30)
        .map(|n| format!("f{n}: risk {{ factors {{ code message recommendation }} }} "))
        .collect();
    let query = format!("subscription {{ opportunityChanged {{ kind opportunity {{ name {fields} }} }} }}");
    subscribe(&mut socket, "big", &query).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // 8,000 deals in one import: each is announced once re-assessed.
    let mut stream = format!(
        "{}\n",
        json!({ "type": "account", "externalId": "A1", "name": "Globex" })
    );
    for n in 0..8_000 {
        let deal = json!({ "type": "opportunity", "externalId": format!("O{n}"), "account": "A1", "name": format!("Deal {n}"),
                           "amount": "1000", "currency": "USD", "stage": "DISCOVERY", "createdAt": days_ago(30) });
        stream.push_str(&format!("{deal}\n"));
    }
    let (status, summary) = post_import(&app, &acme, stream, "").await;
    assert_eq!(status, 200, "{summary}");

    let mut heard = 0;
    let told = loop {
        let message = next(&mut socket, WAIT).await.expect("a message within the wait");
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], "big");
        match message["payload"].get("errors") {
            Some(errors) => break errors[0]["message"].as_str().unwrap_or_default().to_owned(),
            None => heard += 1,
        }
    };
    assert!(
        told.contains("events behind") && told.contains("subscribe again"),
        "{told}"
    );
    // (Run here: 114 heard, then "fell 3790 events behind" — 8,000 − 4,096 − 114.)
    assert!(heard < 8_000 - 4_096, "it heard {heard} events before it fell behind");
    assert_eq!(
        next(&mut socket, WAIT).await,
        Some(json!({ "id": "big", "type": "complete" })),
        "the subscription ends"
    );

    subscribe(&mut socket, "again", CHANGES).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let account = app.create_account(&acme, "Acme").await;
    app.create_opportunity(&acme, &account, "After", "1").await;
    let (id, data) = event(&mut socket).await;
    assert_eq!(id, "again");
    assert_eq!(data["opportunityChanged"]["opportunity"]["name"], "After");
}

#[tokio::test]
async fn a_missing_bad_or_expired_token_closes_the_socket_with_4401() {
    let app = TestApp::spawn().await;
    let closed = json!({ "close": 4401 });
    // No authorization at all.
    let mut socket = open(&app.url).await;
    send(&mut socket, json!({ "type": "connection_init", "payload": {} })).await;
    assert_eq!(next(&mut socket, WAIT).await, Some(closed.clone()));
    // A token signed with another key.
    let mut socket = open(&app.url).await;
    let forged = sign_with(
        json!({ "sub": "x", "tid": "acme", "roles": ["admin"], "exp": now_secs() + 3600 }),
        "another-secret-another-secret-0123456789",
    );
    send(
        &mut socket,
        json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {forged}") } }),
    )
    .await;
    assert_eq!(next(&mut socket, WAIT).await, Some(closed.clone()));
    // Subscribing before the handshake.
    let mut socket = open(&app.url).await;
    subscribe(&mut socket, "1", CHANGES).await;
    assert_eq!(next(&mut socket, WAIT).await, Some(closed.clone()));
    // A token that runs out while the socket is open (exp 4 s ago, within the 5 s leeway).
    let expiring = sign(json!({ "sub": "x", "tid": "acme", "roles": ["seller"], "exp": now_secs() - 4 }));
    let mut socket = connect(&app.url, &expiring).await;
    subscribe(&mut socket, "1", CHANGES).await;
    assert_eq!(next(&mut socket, WAIT).await, Some(closed));
}

#[tokio::test]
async fn a_socket_that_never_says_connection_init_is_closed_with_4408_after_10_seconds() {
    let app = TestApp::spawn().await;
    let opened = std::time::Instant::now();
    let mut socket = open(&app.url).await;
    // Nothing for a while: the server waits...
    assert_eq!(next(&mut socket, Duration::from_secs(8)).await, None);
    // ...then closes with 4408 ("connection initialisation timeout").
    assert_eq!(next(&mut socket, WAIT).await, Some(json!({ "close": 4408 })));
    let waited = opened.elapsed();
    assert!(waited >= Duration::from_secs(10), "closed after {waited:?}");
}

#[tokio::test]
async fn a_change_made_through_one_server_reaches_a_subscriber_of_another() {
    let (first, database_url) = TestApp::spawn_with_database().await;
    if !database_url.starts_with("postgres") {
        // SQLite serves one process; replicas share PostgreSQL.
        return;
    }
    let mut config = default_config();
    config.database_url = database_url;
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.jwt_secret = Some(SECRET.into());
    config.demo = Some(false);
    config.db_max_connections = 3;
    let second = dealgraph::startup::Server::build(&config).await.expect("second server");
    let second_url = format!("http://{}", second.local_addr());
    tokio::spawn(second.run(std::future::pending()));

    let token = admin("acme");
    let mut socket = connect(&second_url, &token).await;
    subscribe(&mut socket, "changes", CHANGES).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let account = first.create_account(&token, "Acme").await;
    first
        .create_opportunity(&token, &account, "Made on the first", "100")
        .await;
    let (_, data) = event(&mut socket).await;
    assert_eq!(data["opportunityChanged"]["kind"], "CREATED");
    assert_eq!(data["opportunityChanged"]["opportunity"]["name"], "Made on the first");
}

/// The sessions holding the periodic-work lock in the test's database.
/// The advisory lock of the risk sweep ("dealgraph" in ASCII) and of the webhook sender
/// ("dealhook").
const SWEEP_LOCK: i64 = 0x6465_616c_6772_6170;
const SENDER_LOCK: i64 = 0x6465_616c_686f_6f6b;

/// The backends holding the advisory lock `key` on this database.
async fn lock_holders_of(session: &mut sea_orm::sqlx::PgConnection, key: i64) -> Vec<i32> {
    sea_orm::sqlx::query_scalar(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted \
         AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) \
         AND (classid::bigint << 32 | objid::bigint) = $1",
    )
    .bind(key)
    .fetch_all(session)
    .await
    .expect("pg_locks")
}

#[tokio::test]
async fn one_replica_sweeps_at_a_time_and_another_takes_over_when_it_stops() {
    use sea_orm::sqlx::Connection;
    let (_app, database_url) = TestApp::spawn_with_database().await;
    if !database_url.starts_with("postgres") {
        return;
    }
    let replica = || {
        let mut config = default_config();
        config.database_url = database_url.clone();
        config.addr = "127.0.0.1:0".parse().expect("addr");
        config.jwt_secret = Some(SECRET.into());
        config.demo = Some(false);
        config.db_max_connections = 2;
        config.risk_sweep_secs = 1;
        config
    };
    let mut session = sea_orm::sqlx::PgConnection::connect(&database_url)
        .await
        .expect("connect");
    let wait_for_one_holder = async |session: &mut sea_orm::sqlx::PgConnection, not: Option<i32>| {
        for _ in 0..50 {
            let holders = lock_holders_of(session, SWEEP_LOCK).await;
            if holders.len() == 1 && Some(holders[0]) != not {
                return holders[0];
            }
            assert!(holders.len() <= 1, "two replicas hold the lock: {holders:?}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no replica took the lock within 5 s");
    };
    let (stop_first, stopped) = tokio::sync::oneshot::channel::<()>();
    let first = dealgraph::startup::Server::build(&replica()).await.expect("first");
    let first = tokio::spawn(first.run(async move {
        let _ = stopped.await;
    }));
    let holder = wait_for_one_holder(&mut session, None).await;
    let second = dealgraph::startup::Server::build(&replica()).await.expect("second");
    tokio::spawn(second.run(std::future::pending()));
    // Both tick every second; the first keeps the lock, the second never gets it too.
    for _ in 0..15 {
        assert_eq!(lock_holders_of(&mut session, SWEEP_LOCK).await, vec![holder]);
        // Three servers on this database (the test app's too), one webhook sender.
        assert_eq!(lock_holders_of(&mut session, SENDER_LOCK).await.len(), 1);
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The first stops: the second takes over within an interval or so.
    let _ = stop_first.send(());
    first.await.expect("first stopped").expect("first served");
    let successor = wait_for_one_holder(&mut session, Some(holder)).await;
    assert_ne!(successor, holder);
}
