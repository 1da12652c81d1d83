//! Webhooks (SPEC §9) against a receiver of the test's own on 127.0.0.1 (the server runs with
//! `DEALGRAPH_WEBHOOK_ALLOW_PRIVATE=1`): signed bodies, retries after a 500 in order per
//! deal, the outbox surviving a killed server, admin-only management per tenant, and the
//! SSRF refusals of a server that does not allow private receivers.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::faults::Process;
use crate::helpers::*;

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    signature: String,
    delivery: String,
    body: Vec<u8>,
    /// What the receiver answered.
    status: u16,
}

impl Received {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

/// A webhook receiver on 127.0.0.1: records every request and answers the next status of
/// `script` (then 200 for ever).
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<Vec<u16>>>,
}

impl Receiver {
    async fn start(script: &[u16]) -> Receiver {
        let got = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(script.iter().rev().copied().collect::<Vec<u16>>()));
        let (g, s) = (Arc::clone(&got), Arc::clone(&script));
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (got, script) = (Arc::clone(&g), Arc::clone(&s));
                async move {
                    let status = script.lock().expect("script").pop().unwrap_or(200);
                    let header = |name: &str| {
                        headers
                            .get(name)
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    got.lock().expect("got").push(Received {
                        signature: header("x-dealgraph-signature"),
                        delivery: header("x-dealgraph-delivery"),
                        body: body.to_vec(),
                        status,
                    });
                    StatusCode::from_u16(status).expect("status")
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { url, got, script }
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().expect("got").clone()
    }

    /// Everything received by a moment after the first request came (what came, and
    /// nothing more soon after).
    async fn all_after_the_first(&self) -> Vec<Received> {
        self.until(Duration::from_secs(10), |got| !got.is_empty()).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        self.got()
    }

    fn answer_from_now_on(&self, statuses: &[u16]) {
        *self.script.lock().expect("script") = statuses.iter().rev().copied().collect();
    }

    /// Waits until `done` holds for what was received (at most `wait`).
    async fn until(&self, wait: Duration, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
        let deadline = Instant::now() + wait;
        loop {
            let got = self.got();
            if done(&got) {
                return got;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was expected: {got:#?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn hmac_hex(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(body);
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

const DELETE_HOOK: &str = "mutation($id: ID!) { deleteWebhook(id: $id) }";
const CREATE_HOOK: &str = "mutation($i: CreateWebhookInput!) { createWebhook(input: $i) { secret webhook { id url events minLevel description createdAt } } }";

async fn create_hook(app: &TestApp, token: &str, url: &str, events: Value, min_level: &str) -> (String, String) {
    let data = app
        .ok(
            token,
            CREATE_HOOK,
            json!({ "i": { "url": url, "events": events, "minLevel": min_level, "description": "alerts" } }),
        )
        .await;
    let created = &data["createWebhook"];
    (
        created["webhook"]["id"].as_str().expect("id").to_owned(),
        created["secret"].as_str().expect("secret").to_owned(),
    )
}

async fn private_app() -> TestApp {
    TestApp::spawn_with(|config| config.webhook_allow_private = true).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_gets_signed_deliveries_retried_after_a_500_in_order_per_deal() {
    let app = private_app().await;
    // The first attempt fails; the retry (1 s later) and everything after succeed.
    let receiver = Receiver::start(&[500]).await;
    let token = admin("acme");
    let (hook, secret) = create_hook(
        &app,
        &token,
        &receiver.url,
        json!(["RISK_CHANGED", "OPPORTUNITY_CHANGED"]),
        "LOW",
    )
    .await;
    assert!(secret.len() >= 32, "a real secret: {secret}");
    let account = app.create_account(&token, "Globex").await;
    let deal = app.create_opportunity(&token, &account, "Renewal", "125000.50").await;
    app.ok(
        &token,
        "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, name: \"Renewal 2027\"}) { id } }",
        json!({ "id": deal }),
    )
    .await;

    // CREATED (opportunity and risk), then UPDATED: three deliveries, each once with 200.
    let got = receiver
        .until(Duration::from_secs(20), |got| {
            got.iter().filter(|r| r.status == 200).count() >= 3
        })
        .await;
    for r in &got {
        assert_eq!(
            r.signature,
            format!("sha256={}", hmac_hex(&secret, &r.body)),
            "signed with the secret"
        );
        let body = r.json();
        assert_eq!(body["id"], r.delivery.as_str(), "the body's id is the delivery header");
        assert_eq!(body["tenantId"], "acme");
        assert_eq!(body["data"]["opportunity"]["id"], deal.as_str());
        assert_eq!(body["data"]["opportunity"]["amount"], "125000.50");
        assert_eq!(body["data"]["opportunity"]["currency"], "USD");
        assert_eq!(body["data"]["opportunity"]["stage"], "PROSPECTING");
    }
    // The failed delivery came again, byte for byte, and succeeded.
    let failed = got.iter().find(|r| r.status == 500).expect("one 500");
    let again: Vec<&Received> = got.iter().filter(|r| r.delivery == failed.delivery).collect();
    assert_eq!(again.len(), 2, "{again:#?}");
    assert_eq!(again[0].body, again[1].body);
    assert_eq!(again[1].status, 200);
    // In commit order per deal: nothing of the update went out before the creation's were in.
    let delivered: Vec<Value> = got.iter().filter(|r| r.status == 200).map(Received::json).collect();
    let names: Vec<&str> = delivered
        .iter()
        .map(|b| b["data"]["opportunity"]["name"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(names, ["Renewal", "Renewal", "Renewal 2027"], "{delivered:#?}");
    let risk = delivered
        .iter()
        .find(|b| b["event"] == "RISK_CHANGED")
        .expect("a risk event");
    assert_eq!(
        risk["data"]["previous"],
        Value::Null,
        "a new deal had no assessment before"
    );
    assert!(risk["data"]["current"]["score"].is_number());
    assert!(risk["data"]["newFactors"].is_array());
    let kinds: Vec<&str> = delivered
        .iter()
        .filter(|b| b["event"] == "OPPORTUNITY_CHANGED")
        .map(|b| b["data"]["kind"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(kinds, ["CREATED", "UPDATED"]);

    // The deliveries as the API tells them, newest first.
    let data = app
        .ok(
            &token,
            "query($id: ID!) { node(id: $id) { ... on Webhook { deliveries(first: 10) { totalCount edges { node { id event attempts statusCode deliveredAt nextRetryAt } } } } } }",
            json!({ "id": hook }),
        )
        .await;
    let edges = data["node"]["deliveries"]["edges"].as_array().expect("edges").clone();
    assert_eq!(data["node"]["deliveries"]["totalCount"], 3);
    let retried = edges
        .iter()
        .map(|e| &e["node"])
        .find(|n| n["id"] == failed.delivery.as_str())
        .expect("the retried delivery is listed");
    assert_eq!(retried["attempts"], 2);
    assert_eq!(retried["statusCode"], 200);
    assert!(retried["deliveredAt"].is_string());
    assert_eq!(retried["nextRetryAt"], Value::Null);
    assert_eq!(
        edges[0]["node"]["event"], "OPPORTUNITY_CHANGED",
        "newest first: the update"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn risk_changed_only_reaches_webhooks_at_their_level_and_deleted_webhooks_get_nothing() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    let token = admin("acme");
    // At its level only: a webhook for risk changes from a level above the new deal's
    // assessment gets nothing of it; one for every change does.
    let account = app.create_account(&token, "Initech").await;
    let probe = app.create_opportunity(&token, &account, "Probe", "1000").await;
    let level = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { riskLevel } }",
            json!({ "id": probe }),
        )
        .await["opportunity"]["riskLevel"]
        .as_str()
        .expect("a level")
        .to_owned();
    let above = match level.as_str() {
        "LOW" => "MEDIUM",
        "MEDIUM" => "HIGH",
        _ => "CRITICAL",
    };
    assert_ne!(level, "CRITICAL", "a new deal without a group is not critical");
    let (hook, _) = create_hook(&app, &token, &receiver.url, json!(["RISK_CHANGED"]), above).await;
    let (_, _) = create_hook(&app, &token, &receiver.url, json!(["OPPORTUNITY_CHANGED"]), "LOW").await;
    app.create_opportunity(&token, &account, "Loud deal", "1000").await;
    let got = receiver.all_after_the_first().await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].json()["event"], "OPPORTUNITY_CHANGED");
    assert_eq!(got[0].json()["data"]["opportunity"]["name"], "Loud deal");
    // At the level: the same change is sent as RISK_CHANGED too.
    let (_, _) = create_hook(&app, &token, &receiver.url, json!(["RISK_CHANGED"]), &level).await;
    app.create_opportunity(&token, &account, "Risky deal", "1000").await;
    let got = receiver
        .until(Duration::from_secs(10), |got| {
            got.iter().any(|r| r.json()["event"] == "RISK_CHANGED")
        })
        .await;
    let risk = got
        .iter()
        .find(|r| r.json()["event"] == "RISK_CHANGED")
        .expect("risk")
        .json();
    assert_eq!(risk["data"]["opportunity"]["name"], "Risky deal");
    assert_eq!(risk["data"]["current"]["level"], level.as_str());

    // Deleted: its id is answered, it is gone from the list, and a second delete is NOT_FOUND.
    let data = app.ok(&token, DELETE_HOOK, json!({ "id": hook })).await;
    assert_eq!(data["deleteWebhook"], hook.as_str());
    let again = app.gql(&token, DELETE_HOOK, json!({ "id": hook })).await;
    assert_eq!(code(&again), "NOT_FOUND");
    let list = app.ok(&token, "{ webhooks { id events } }", json!({})).await;
    assert_eq!(list["webhooks"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn webhooks_are_for_admins_of_their_own_tenant() {
    let app = private_app().await;
    let receiver = Receiver::start(&[]).await;
    let (hook, _) = create_hook(
        &app,
        &admin("acme"),
        &receiver.url,
        json!(["OPPORTUNITY_CHANGED"]),
        "LOW",
    )
    .await;
    let seller = token_for("acme", "sam", &["seller"]);
    let analyst = token_for("acme", "ann", &["analyst"]);
    for token in [&seller, &analyst] {
        let body = app
            .gql(
                token,
                CREATE_HOOK,
                json!({ "i": { "url": receiver.url, "events": ["RISK_CHANGED"] } }),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN", "{body}");
        assert_eq!(
            code(&app.gql(token, "{ webhooks { id } }", json!({})).await),
            "FORBIDDEN"
        );
        let delete = app.gql(token, DELETE_HOOK, json!({ "id": hook })).await;
        assert_eq!(code(&delete), "FORBIDDEN");
    }
    // Another tenant's admin sees none of it and cannot delete it; its changes are not sent.
    let other = admin("globex");
    let list = app.ok(&other, "{ webhooks { id } }", json!({})).await;
    assert_eq!(list["webhooks"], json!([]));
    let node = app
        .ok(
            &other,
            "query($id: ID!) { node(id: $id) { id } }",
            json!({ "id": hook }),
        )
        .await;
    assert_eq!(node["node"], Value::Null);
    let delete = app.gql(&other, DELETE_HOOK, json!({ "id": hook })).await;
    assert_eq!(code(&delete), "NOT_FOUND");
    let theirs = app.create_account(&other, "Globex").await;
    app.create_opportunity(&other, &theirs, "Not acme's", "10").await;
    let ours = app.create_account(&admin("acme"), "Acme").await;
    app.create_opportunity(&admin("acme"), &ours, "Acme's", "10").await;
    let got = receiver.all_after_the_first().await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].json()["tenantId"], "acme");
    assert_eq!(got[0].json()["data"]["opportunity"]["name"], "Acme's");
    let list = app
        .ok(&admin("acme"), "{ webhooks { id url minLevel } }", json!({}))
        .await;
    assert_eq!(
        list["webhooks"],
        json!([{ "id": hook, "url": receiver.url, "minLevel": "LOW" }])
    );
    // Defaults: minLevel MEDIUM; events listed once each, in the enum's order.
    let data = app
        .ok(
            &admin("acme"),
            CREATE_HOOK,
            json!({ "i": { "url": receiver.url, "events": ["OPPORTUNITY_CHANGED", "RISK_CHANGED", "RISK_CHANGED"] } }),
        )
        .await;
    let webhook = &data["createWebhook"]["webhook"];
    assert_eq!(webhook["minLevel"], "MEDIUM");
    assert_eq!(webhook["events"], json!(["RISK_CHANGED", "OPPORTUNITY_CHANGED"]));
    assert_eq!(webhook["description"], Value::Null);
}

#[tokio::test]
async fn receivers_on_private_addresses_or_without_https_are_refused_and_nothing_is_created() {
    // The default: no private receivers.
    let app = TestApp::spawn().await;
    let token = admin("acme");
    for url in [
        "http://hooks.example.com/x",
        "https://127.0.0.1/hook",
        "https://2130706433/hook",
        "https://0x7f.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:127.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data/",
        "https://10.0.0.8/hook",
        "https://192.168.1.20/hook",
        "https://[fd00:ec2::254]/",
        "https://localhost/hook",
        "https://user:secret@hooks.example.com/",
        "not a url",
    ] {
        let body = app
            .gql(
                &token,
                CREATE_HOOK,
                json!({ "i": { "url": url, "events": ["RISK_CHANGED"] } }),
            )
            .await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{url}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], "input.url", "{url}: {body}");
    }
    let body = app
        .gql(
            &token,
            CREATE_HOOK,
            json!({ "i": { "url": "https://127.0.0.1/hook", "events": [] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let list = app.ok(&token, "{ webhooks { id } }", json!({})).await;
    assert_eq!(list["webhooks"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_committed_just_before_the_server_is_killed_is_sent_by_the_next_one() {
    let (database_url, _database) = fresh_database().await;
    let allow = [("DEALGRAPH_WEBHOOK_ALLOW_PRIVATE", "1")];
    let receiver = Receiver::start(&[503, 503, 503, 503, 503, 503, 503, 503]).await;
    let client = http_client(Duration::from_secs(10));
    let token = admin("acme");
    let gql = async |base: &str, query: &str, variables: Value| -> Value {
        let response = client
            .post(format!("{base}/graphql"))
            .bearer_auth(&token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("sent");
        let body: Value = response.json().await.expect("json");
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    };
    let mut first = Process::start_with(&database_url, &allow).await;
    gql(
        &first.url,
        CREATE_HOOK,
        json!({ "i": { "url": receiver.url, "events": ["OPPORTUNITY_CHANGED"] } }),
    )
    .await;
    let created = gql(
        &first.url,
        "mutation { createAccount(input: {name: \"Umbrella\"}) { id } }",
        json!({}),
    )
    .await;
    let account = created["createAccount"]["id"].as_str().expect("id").to_owned();
    gql(
        &first.url,
        "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"Outbox\", amount: \"5\", currency: \"EUR\"}) { id } }",
        json!({ "a": account }),
    )
    .await;
    // The commit was acknowledged; the server dies before it can have delivered (the
    // receiver refuses everything until told otherwise).
    first.kill();
    receiver.answer_from_now_on(&[]);
    let _second = Process::start_with(&database_url, &allow).await;
    // A receiver that failed before may still be inside the dead sender's lease (20 s).
    let got = receiver
        .until(Duration::from_secs(40), |got| got.iter().any(|r| r.status == 200))
        .await;
    let delivered = got.iter().find(|r| r.status == 200).expect("delivered");
    assert_eq!(delivered.json()["data"]["opportunity"]["name"], "Outbox");
    assert_eq!(delivered.json()["data"]["kind"], "CREATED");
}

/// Receivers that never answer (each attempt waits for the sender's 10 s timeout) hold at
/// most four of the sender's slots each, and one tenant's at most eight together: another
/// tenant's delivery, committed while they hang, is sent at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receivers_that_hang_delay_no_other_tenant() {
    let app = private_app().await;
    // Three hanging receivers (one per path): the requests each holds, and the most held.
    let holding: Arc<Mutex<std::collections::BTreeMap<String, usize>>> = Arc::default();
    let most = Arc::new(Mutex::new(0usize));
    let (held, top) = (Arc::clone(&holding), Arc::clone(&most));
    let hang = axum::Router::new().route(
        "/hook/{name}",
        axum::routing::post(move |axum::extract::Path(name): axum::extract::Path<String>| {
            let (held, top) = (Arc::clone(&held), Arc::clone(&top));
            async move {
                {
                    let mut h = held.lock().expect("held");
                    *h.entry(name).or_default() += 1;
                    let all = h.values().sum::<usize>();
                    let mut top = top.lock().expect("most");
                    *top = (*top).max(all);
                }
                tokio::time::sleep(Duration::from_secs(60)).await;
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}/hook", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, hang).await });

    let slow = admin("slowpoke");
    for name in ["a", "b", "c"] {
        create_hook(
            &app,
            &slow,
            &format!("{base}/{name}"),
            json!(["OPPORTUNITY_CHANGED"]),
            "LOW",
        )
        .await;
    }
    let account = app.create_account(&slow, "Massive Dynamic").await;
    for n in 0..12 {
        app.create_opportunity(&slow, &account, &format!("Deal {n}"), "1").await;
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while holding.lock().expect("held").values().sum::<usize>() < 8 {
        assert!(
            Instant::now() < deadline,
            "the hanging receivers never got their first requests"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let receiver = Receiver::start(&[]).await;
    let token = admin("acme");
    create_hook(&app, &token, &receiver.url, json!(["OPPORTUNITY_CHANGED"]), "LOW").await;
    let other = app.create_account(&token, "Initech").await;
    let committed = Instant::now();
    app.create_opportunity(&token, &other, "On time", "1").await;
    let got = receiver.until(Duration::from_secs(10), |got| !got.is_empty()).await;
    let waited = committed.elapsed();
    assert_eq!(got[0].json()["data"]["opportunity"]["name"], "On time");
    assert!(
        waited < Duration::from_secs(3),
        "another tenant's delivery waited {waited:?} behind receivers that hang"
    );
    let held = holding.lock().expect("held").clone();
    assert_eq!(
        *most.lock().expect("most"),
        8,
        "one tenant holds eight of the sender's slots: {held:?}"
    );
    assert!(
        held.values().all(|n| *n <= 4),
        "one webhook holds four at most: {held:?}"
    );
}

/// PostgreSQL: senders on two connections claiming at once never take the same delivery
/// (`FOR UPDATE SKIP LOCKED`), and together they take every due one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_senders_claiming_at_once_never_take_the_same_delivery() {
    use sea_orm::ConnectionTrait;
    let (database_url, _database) = fresh_database().await;
    if !database_url.starts_with("postgres") {
        return;
    }
    let a = dealgraph::store::Store::connect(&database_url, 2)
        .await
        .expect("connect");
    a.migrate().await.expect("migrate");
    let b = dealgraph::store::Store::connect(&database_url, 2)
        .await
        .expect("connect");
    let hook = uuid::Uuid::now_v7();
    a.reader()
        .execute_unprepared(&format!(
            "INSERT INTO webhooks (tenant_id, id, url, events, min_level, secret, created_at, created_by) \
             VALUES ('acme', '{hook}', 'https://example.com/', 'OPPORTUNITY_CHANGED', 'LOW', 's', now(), 'u'); \
             INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, opportunity_id, event, at, enqueued_at, body, attempts, next_retry_at) \
             SELECT 'acme', gen_random_uuid(), '{hook}', gen_random_uuid(), 'OPPORTUNITY_CHANGED', now(), now(), '{{}}', 0, now() - interval '1 second' \
             FROM generate_series(1, 600)"
        ))
        .await
        .expect("seed deliveries");
    let claim_all = async |store: &dealgraph::store::Store| {
        let mut mine = Vec::new();
        loop {
            let now = chrono::Utc::now();
            let claim = dealgraph::store::webhooks::Claim {
                now,
                lease_until: now + chrono::Duration::seconds(60),
                limit: 7,
                // No caps here (one webhook; the caps are each sender's own).
                per_webhook: 600,
                per_tenant: 600,
                in_flight: &[],
            };
            let batch = dealgraph::store::webhooks::claim(store.reader(), &claim)
                .await
                .expect("claim");
            if batch.is_empty() {
                return mine;
            }
            mine.extend(batch.into_iter().map(|d| d.id));
        }
    };
    let (mine, theirs) = tokio::join!(claim_all(&a), claim_all(&b));
    let mut all: Vec<uuid::Uuid> = mine.iter().chain(&theirs).copied().collect();
    all.sort();
    let claimed = all.len();
    all.dedup();
    assert_eq!(all.len(), claimed, "a delivery was claimed twice");
    assert_eq!(claimed, 600, "every due delivery was claimed");
    assert!(
        !mine.is_empty() && !theirs.is_empty(),
        "both claimed: {} and {}",
        mine.len(),
        theirs.len()
    );
}

/// Finished deliveries are deleted once old enough; pending ones never are.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn housekeeping_deletes_old_finished_deliveries_and_keeps_pending_ones() {
    let app = private_app().await;
    let ok = Receiver::start(&[]).await;
    let failing = Receiver::start(&[503; 64]).await;
    let token = admin("acme");
    let (done_hook, _) = create_hook(&app, &token, &ok.url, json!(["OPPORTUNITY_CHANGED"]), "LOW").await;
    let (pending_hook, _) = create_hook(&app, &token, &failing.url, json!(["OPPORTUNITY_CHANGED"]), "LOW").await;
    let account = app.create_account(&token, "Hooli").await;
    app.create_opportunity(&token, &account, "Kept?", "1").await;
    ok.until(Duration::from_secs(10), |got| !got.is_empty()).await;
    failing.until(Duration::from_secs(10), |got| !got.is_empty()).await;
    let count = async |hook: &str| {
        app.ok(
            &token,
            "query($id: ID!) { node(id: $id) { ... on Webhook { deliveries { totalCount } } } }",
            json!({ "id": hook }),
        )
        .await["node"]["deliveries"]["totalCount"]
            .as_i64()
            .unwrap_or(-1)
    };
    // Recorded as delivered (the receiver answers before the sender writes that down).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let data = app
            .ok(
                &token,
                "query($id: ID!) { node(id: $id) { ... on Webhook { deliveries { edges { node { deliveredAt } } } } } }",
                json!({ "id": done_hook }),
            )
            .await;
        if data["node"]["deliveries"]["edges"][0]["node"]["deliveredAt"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "never recorded as delivered: {data}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let store = &app.store;
    let day = chrono::Duration::days(1);
    // Finished a moment ago: kept by a cut-off a day back.
    let deleted = dealgraph::store::webhooks::prune(store.reader(), chrono::Utc::now() - day)
        .await
        .expect("prune");
    assert_eq!(deleted, 0);
    assert_eq!((count(&done_hook).await, count(&pending_hook).await), (1, 1));
    // A cut-off in the future: the delivered one goes, the one still being retried stays.
    let deleted = dealgraph::store::webhooks::prune(store.reader(), chrono::Utc::now() + day)
        .await
        .expect("prune");
    assert_eq!(deleted, 1);
    assert_eq!((count(&done_hook).await, count(&pending_hook).await), (0, 1));
    // Deleting a webhook deletes its deliveries, pending ones too (the foreign key cascades).
    app.ok(&token, DELETE_HOOK, json!({ "id": pending_hook })).await;
    use sea_orm::ConnectionTrait;
    let rows = store
        .reader()
        .query_one_raw(sea_orm::Statement::from_string(
            store.reader().get_database_backend(),
            "SELECT COUNT(*) AS n FROM webhook_deliveries",
        ))
        .await
        .expect("count")
        .expect("a row");
    assert_eq!(rows.try_get::<i64>("", "n").expect("n"), 0);
}
