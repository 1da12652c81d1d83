//! The HTTP surface: GET and POST, media types, GraphiQL, health, readiness, metrics, ids.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin};

#[tokio::test]
async fn health_readiness_and_metrics_answer() {
    let app = TestApp::spawn().await;
    let get = |path: &str| app.client.get(format!("{}{path}", app.url)).send();
    assert_eq!(get("/healthz").await.expect("healthz").status().as_u16(), 200);
    assert_eq!(get("/readyz").await.expect("readyz").status().as_u16(), 200);
    app.ok(&admin("acme"), "query BoardProbe { viewer { userId } }", json!({}))
        .await;
    let metrics = get("/metrics").await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains("dealgraph_graphql_requests_total"), "{metrics}");
    assert!(metrics.contains("operation=\"BoardProbe\""), "{metrics}");
    assert!(
        metrics.contains("dealgraph_graphql_request_duration_seconds"),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/healthz", app.url))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .expect("sent");
    assert_eq!(
        response.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
        Some("abc-123")
    );
    // Without one, each response gets a new one.
    let mut generated = Vec::new();
    for _ in 0..2 {
        let response = app
            .client
            .get(format!("{}/healthz", app.url))
            .send()
            .await
            .expect("sent");
        let id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        assert!(!id.is_empty() && id != "abc-123", "{id:?}");
        generated.push(id);
    }
    assert_ne!(generated[0], generated[1], "a new id per request");
}

#[tokio::test]
async fn queries_work_over_get_but_mutations_do_not() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let response = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "{ viewer { tenantId } }")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["viewer"]["tenantId"], "acme");
    let response = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[("query", "mutation { createAccount(input: {name: \"x\"}) { id } }")])
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 405);
    let data = app.ok(&token, "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(data["accounts"]["totalCount"], 0);
}

#[tokio::test]
async fn graphql_response_json_is_served_when_asked_for() {
    let app = TestApp::spawn().await;
    let post = |query: &str| {
        app.client
            .post(format!("{}/graphql", app.url))
            .bearer_auth(admin("acme"))
            .header("accept", "application/graphql-response+json, application/json;q=0.9")
            .json(&json!({ "query": query }))
            .send()
    };
    let ok = post("{ viewer { userId } }").await.expect("sent");
    assert_eq!(ok.status().as_u16(), 200);
    assert!(
        ok.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/graphql-response+json")
    );
    let invalid = post("{ nope }").await.expect("sent");
    assert_eq!(
        invalid.status().as_u16(),
        400,
        "a request error is a 400 in this media type"
    );
    let plain = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth(admin("acme"))
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .expect("sent");
    assert_eq!(plain.status().as_u16(), 200, "application/json keeps 200");
    assert!(
        plain.headers()["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );
}

#[tokio::test]
async fn browsers_get_graphiql() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.url))
        .header("accept", "text/html")
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 200);
    let page = response.text().await.expect("html");
    assert!(page.to_lowercase().contains("graphiql"));
    // SPEC §2: it works with no internet access — everything it loads comes from the server.
    assert!(!page.contains("http://") && !page.contains("https://"), "{page}");
    assert!(page.contains("Headers"), "the page says where the token goes");
    for (asset, kind) in [
        ("graphiql.min.js", "text/javascript"),
        ("graphiql.min.css", "text/css"),
        ("react.production.min.js", "text/javascript"),
        ("react-dom.production.min.js", "text/javascript"),
    ] {
        let path = format!("/graphiql/{asset}");
        assert!(page.contains(&path), "the page loads {path}");
        let response = app.client.get(format!("{}{path}", app.url)).send().await.expect("sent");
        assert_eq!(response.status().as_u16(), 200, "{path}");
        let content_type = response.headers()["content-type"].to_str().expect("ct").to_owned();
        assert!(content_type.starts_with(kind), "{path}: {content_type}");
        assert!(
            response.bytes().await.expect("body").len() > 10_000,
            "{path} is the real bundle"
        );
    }
    let missing = app
        .client
        .get(format!("{}/graphiql/../Cargo.toml", app.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status().as_u16(), 404);
}

/// SPEC §5: database statements time out with the request. On PostgreSQL the database itself
/// cancels a statement of the server's pool after the request timeout (SQLite runs in the
/// process, where the request's future is dropped with it).
#[tokio::test]
async fn the_servers_statements_time_out_with_the_request() {
    use sea_orm::ConnectionTrait;
    let app = TestApp::spawn_with(|c| c.request_timeout_secs = 1).await;
    let db = app.store.reader();
    if db.get_database_backend() != sea_orm::DbBackend::Postgres {
        return;
    }
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            "SHOW statement_timeout",
        ))
        .await
        .expect("query")
        .expect("a row");
    let shown: String = row.try_get_by_index(0).expect("text");
    assert_eq!(shown, "1s");
    let started = std::time::Instant::now();
    let slow = db.execute_unprepared("SELECT pg_sleep(5)").await;
    assert!(
        slow.is_err(),
        "the database cancels a statement past the request timeout"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
}
