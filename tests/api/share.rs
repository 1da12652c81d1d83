//! SPEC §5: one tenant cannot starve the others. A tenant past its share waits briefly, then
//! gets HTTP 429 `RATE_LIMITED` with `Retry-After`; other tenants are served as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

const BOARD: &str = "{ opportunities(first: 20) { edges { node { name riskScore \
    risk { score factors { code message } } buyingGroup { role contact { fullName } } \
    interactions(first: 10) { edges { node { kind participants { contact { fullName } } } } } } } } }";

/// A few deals with groups and interactions, so the board does real work.
async fn seed(app: &TestApp, token: &str) {
    let account = app.create_account(token, "Globex").await;
    for d in 0..3 {
        let deal = app
            .create_opportunity(token, &account, &format!("Deal {d}"), "50000")
            .await;
        let mut members = Vec::new();
        for m in 0..4 {
            let contact = app
                .create_contact(token, &account, &format!("Person {d}-{m}"), "VP")
                .await;
            members.push(app.add_member(token, &deal, &contact, "DECISION_MAKER").await);
        }
        for i in 0..6 {
            let who = [members[i % 4].as_str()];
            app.log_interaction(token, &deal, &who, &[]).await;
        }
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Times `n` board reads of `token`'s tenant, one after another; every one must succeed.
async fn time_board(app: &TestApp, token: &str, n: usize) -> Duration {
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let started = Instant::now();
        let (status, body) = app.post(token, json!({ "query": BOARD })).await;
        samples.push(started.elapsed());
        assert_eq!(status, 200, "{body}");
        assert!(body.get("errors").is_none(), "the quiet tenant is served: {body}");
    }
    median(samples)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_flooding_tenant_is_turned_away_while_another_is_served_as_usual() {
    let app = Arc::new(
        TestApp::spawn_with(|config| {
            config.tenant_max_in_flight = 2;
            config.tenant_max_queued = 4;
            config.tenant_queue_wait_ms = 200;
            config.db_max_connections = 16;
        })
        .await,
    );
    let quiet = admin("quiet");
    let flood = admin("flood");
    seed(&app, &quiet).await;
    seed(&app, &flood).await;
    time_board(&app, &quiet, 3).await; // warm up
    let alone = time_board(&app, &quiet, 15).await;

    // 24 clients of one tenant, each sending the next request as soon as the last answers.
    let stop = Arc::new(AtomicBool::new(false));
    let (served, limited) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut flooders = Vec::new();
    for _ in 0..24 {
        let (app, flood, stop) = (Arc::clone(&app), flood.clone(), Arc::clone(&stop));
        let (served, limited) = (Arc::clone(&served), Arc::clone(&limited));
        flooders.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let response = app
                    .client
                    .post(format!("{}/graphql", app.url))
                    .bearer_auth(&flood)
                    .json(&json!({ "query": BOARD }))
                    .send()
                    .await
                    .expect("flood request sent");
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let body = response.bytes().await.expect("body");
                match status {
                    // (Not parsed: the test's own client must not eat the cores it measures.)
                    200 => served.fetch_add(1, Ordering::Relaxed),
                    429 => {
                        let body: Value = serde_json::from_slice(&body).expect("json body");
                        assert_eq!(code(&body), "RATE_LIMITED", "{body}");
                        assert!(retry_after.is_some_and(|s| s >= 1), "Retry-After in seconds");
                        assert!(body.get("data").is_none(), "a request error has no data: {body}");
                        limited.fetch_add(1, Ordering::Relaxed)
                    }
                    other => panic!("flood answered {other}: {}", String::from_utf8_lossy(&body)),
                };
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let flooded = time_board(&app, &quiet, 15).await;
    stop.store(true, Ordering::Relaxed);
    for flooder in flooders {
        flooder.await.expect("flooder");
    }
    let ratio = flooded.as_secs_f64() / alone.as_secs_f64();
    eprintln!(
        "quiet tenant board p50: alone {alone:?}, during the flood {flooded:?} (x{ratio:.2}); \
         flood: {} served, {} turned away",
        served.load(Ordering::Relaxed),
        limited.load(Ordering::Relaxed)
    );
    assert!(served.load(Ordering::Relaxed) > 0, "the flood gets its share");
    assert!(limited.load(Ordering::Relaxed) > 0, "and no more");
    // The flood runs two requests at a time, on the same two cores as the quiet tenant (and
    // as this test's own clients): measured x4-6. Without a share the quiet tenant queues
    // behind all 24 (measured x37-48), so the bound fails without it, with room for noise.
    assert!(ratio < 12.0, "the quiet tenant slowed down x{ratio:.2}");
}
