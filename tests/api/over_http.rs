//! GraphQL over HTTP, to the letter (SPEC §5), as front-end tooling (relay-compiler, codegen,
//! urql, Apollo's persisted-query link) relies on it.

use serde_json::{Value, json};

use crate::helpers::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post_as(app: &TestApp, accept: &str, body: Value) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth(admin("acme"))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json body"))
}

#[tokio::test]
async fn request_errors_have_no_data_and_readable_messages() {
    let app = TestApp::spawn().await;
    // Unknown field: a validation failure naming the name, line and column.
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        let (status, body) = post_as(&app, accept, json!({ "query": "{\n  viewer { nope }\n}" })).await;
        assert_eq!(status, if accept == GRAPHQL_RESPONSE { 400 } else { 200 }, "{accept}");
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{body}");
        assert!(body.get("data").is_none(), "a request error has no data key: {body}");
        let error = &body["errors"][0];
        assert!(error["message"].as_str().is_some_and(|m| m.contains("nope")), "{body}");
        assert_eq!(error["locations"][0], json!({ "line": 2, "column": 12 }), "{body}");
    }
    // A syntax error: where, and what — not the parser's dump.
    let (status, body) = post_as(&app, GRAPHQL_RESPONSE, json!({ "query": "{ viewer { userId }" })).await;
    assert_eq!(status, 400);
    assert_eq!(code(&body), "GRAPHQL_PARSE_FAILED", "{body}");
    assert!(body.get("data").is_none(), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("Syntax error at line 1, column 20"), "{message}");
    assert!(
        !message.contains("-->") && !message.contains('\n'),
        "no parser dump: {message}"
    );
    // An unknown argument and an unknown type are validation failures too.
    for query in [
        "{ opportunities(colour: RED) { totalCount } }",
        "query($f: NoSuchFilter) { opportunities(filter: $f) { totalCount } }",
    ] {
        let (_, body) = post_as(&app, GRAPHQL_RESPONSE, json!({ "query": query })).await;
        assert_eq!(code(&body), "GRAPHQL_VALIDATION_FAILED", "{query}: {body}");
    }
}

#[tokio::test]
async fn once_execution_starts_the_answer_is_200_with_data() {
    let app = TestApp::spawn().await;
    // A non-null root field fails: `data` is null, but present, and the status is 200.
    let create = "mutation { createOpportunity(input: {accountId: \"QWNjb3VudDow\", name: \"x\", amount: \"1\", currency: \"USD\"}) { id } }";
    for accept in [GRAPHQL_RESPONSE, "application/json"] {
        let (status, body) = post_as(&app, accept, json!({ "query": create })).await;
        assert_eq!(status, 200, "{accept}: {body}");
        assert!(
            body.get("data").is_some(),
            "data is present once execution started: {body}"
        );
        assert_ne!(code(&body), "<none>");
    }
    // A nullable field's error leaves the rest of the data.
    let (status, body) = post_as(
        &app,
        GRAPHQL_RESPONSE,
        json!({ "query": "{ viewer { userId } opportunity(id: \"nonsense\") { id } }" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["viewer"]["userId"], "admin-user", "{body}");
}

#[tokio::test]
async fn decimals_are_exact_json_numbers_or_strings() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Initech").await;
    let create = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { amount } }";
    let input =
        |amount: Value| json!({ "i": { "accountId": account, "name": "Deal", "amount": amount, "currency": "USD" } });
    let data = app.ok(&token, create, input(json!(125000.5))).await;
    assert_eq!(data["createOpportunity"]["amount"], "125000.50");
    let data = app.ok(&token, create, input(json!("99.99"))).await;
    assert_eq!(data["createOpportunity"]["amount"], "99.99");
    let body = app.gql(&token, create, input(json!(10.125))).await;
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.amount", "{body}");
    // In the document itself too.
    let literal = format!(
        "mutation {{ createOpportunity(input: {{accountId: \"{account}\", name: \"Lit\", amount: 7.5, currency: \"EUR\"}}) {{ amount }} }}"
    );
    let data = app.ok(&token, &literal, json!({})).await;
    assert_eq!(data["createOpportunity"]["amount"], "7.50");
}

#[tokio::test]
async fn scalars_say_which_standard_they_follow() {
    let app = TestApp::spawn().await;
    let data = app
        .ok(
            &admin("acme"),
            "{ d: __type(name: \"DateTime\") { specifiedByURL } day: __type(name: \"Date\") { specifiedByURL } }",
            json!({}),
        )
        .await;
    assert!(
        data["d"]["specifiedByURL"]
            .as_str()
            .is_some_and(|u| u.contains("rfc3339")),
        "{data}"
    );
    assert!(
        data["day"]["specifiedByURL"]
            .as_str()
            .is_some_and(|u| u.contains("8601")),
        "{data}"
    );
}

fn persisted(hash: &str) -> Value {
    json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } })
}

#[tokio::test]
async fn automatic_persisted_queries_work_over_post_and_get() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let query = "query Who { viewer { userId tenantId } }";
    let hash = dealgraph::http::documents::sha256_hex(query);
    // Apollo's link sends the hash alone first; a miss tells it to send the document.
    let (_, miss) = app.post(&token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(code(&miss), "PERSISTED_QUERY_NOT_FOUND", "{miss}");
    assert_eq!(miss["errors"][0]["message"], "PersistedQueryNotFound");
    assert!(miss.get("data").is_none(), "{miss}");
    let (_, registered) = app
        .post(&token, json!({ "query": query, "extensions": persisted(&hash) }))
        .await;
    assert_eq!(registered["data"]["viewer"]["tenantId"], "acme", "{registered}");
    // Now the hash alone runs it, by POST or by GET (a CDN-cacheable URL).
    let (_, by_hash) = app.post(&token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash["data"]["viewer"]["userId"], "admin-user", "{by_hash}");
    let response = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[
            ("extensions", persisted(&hash).to_string().as_str()),
            ("operationName", "Who"),
        ])
        .bearer_auth(&token)
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"]["viewer"]["tenantId"], "acme", "{body}");
    // A hash that is not the document's is refused.
    let (_, wrong) = app
        .post(
            &token,
            json!({ "query": "{ __typename }", "extensions": persisted(&hash) }),
        )
        .await;
    assert_eq!(code(&wrong), "BAD_USER_INPUT", "{wrong}");
}

#[tokio::test]
async fn get_requests_honour_operation_name() {
    let app = TestApp::spawn().await;
    let response = app
        .client
        .get(format!("{}/graphql", app.url))
        .query(&[
            ("query", "query A { viewer { userId } } query B { viewer { tenantId } }"),
            ("operationName", "B"),
        ])
        .bearer_auth(admin("acme"))
        .send()
        .await
        .expect("sent");
    let body: Value = response.json().await.expect("json");
    assert_eq!(body["data"], json!({ "viewer": { "tenantId": "acme" } }), "{body}");
}

#[tokio::test]
async fn with_trusted_documents_only_those_run() {
    let dir = tempfile::tempdir().expect("dir");
    let query = "query Who { viewer { userId } }";
    let hash = dealgraph::http::documents::sha256_hex(query);
    let file = dir.path().join("trusted.json");
    std::fs::write(&file, json!({ hash.clone(): query }).to_string()).expect("write");
    let app = TestApp::spawn_with(|config| config.trusted_documents = Some(file.clone())).await;
    let token = admin("acme");
    let (_, by_hash) = app.post(&token, json!({ "extensions": persisted(&hash) })).await;
    assert_eq!(by_hash["data"]["viewer"]["userId"], "admin-user", "{by_hash}");
    let (_, in_full) = app.post(&token, json!({ "query": query })).await;
    assert_eq!(in_full["data"]["viewer"]["userId"], "admin-user", "{in_full}");
    for body in [
        json!({ "query": "{ accounts { totalCount } }" }),
        json!({ "query": "{ __typename }", "extensions": persisted(&dealgraph::http::documents::sha256_hex("{ __typename }")) }),
    ] {
        let (status, answer) = app.post(&token, body).await;
        assert_eq!(status, 400, "{answer}");
        assert_eq!(code(&answer), "PERSISTED_QUERY_NOT_FOUND", "{answer}");
        assert!(answer.get("data").is_none(), "{answer}");
    }
}
