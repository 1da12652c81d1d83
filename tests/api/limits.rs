//! Abuse limits: depth, complexity, aliases, and body size.

use serde_json::json;

use crate::helpers::{TestApp, admin, code};

#[tokio::test]
async fn deep_costly_and_alias_heavy_queries_are_rejected_cheaply() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    // 20 levels: deeper than the default limit of 16.
    let deep = format!(
        "{{ {}id{} }}",
        "opportunities { edges { node { account { ".repeat(5),
        " } } } }".repeat(5)
    );
    let costly = "{ opportunities(first: 100) { edges { node { interactions(first: 100) { edges { node { participants { contact { fullName } } about { id } } } } } } } }";
    let aliases: String = (0..31).map(|i| format!("a{i}: viewer {{ userId }} ")).collect();
    for query in [deep.as_str(), costly, &format!("{{ {aliases} }}")] {
        let body = app.gql(&token, query, json!({})).await;
        assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{query}: {body}");
    }
    // Spreading one fragment repeats its aliases: three spreads of ten, plus three, are 33.
    let ten: String = (0..10).map(|i| format!("f{i}: userId ")).collect();
    let spread = format!(
        "{{ a: viewer {{ ...F }} b: viewer {{ ...F }} c: viewer {{ ...F }} }} fragment F on Viewer {{ {ten} }}"
    );
    let body = app.gql(&token, &spread, json!({})).await;
    assert_eq!(code(&body), "QUERY_TOO_COMPLEX", "{body}");
    let thirty: String = (0..30).map(|i| format!("a{i}: viewer {{ userId }} ")).collect();
    app.ok(&token, &format!("{{ {thirty} }}"), json!({})).await;
    app.ok(&token, "{ opportunities(first: 50) { edges { node { name account { name } buyingGroup { role contact { fullName } } } } } }", json!({})).await;
}

#[tokio::test]
async fn bodies_over_one_mebibyte_get_413() {
    let app = TestApp::spawn().await;
    let filler = "x".repeat(1024 * 1024 + 10);
    let response = app
        .client
        .post(format!("{}/graphql", app.url))
        .bearer_auth(admin("acme"))
        .header("content-type", "application/json")
        .body(format!(
            "{{\"query\":\"{{ viewer {{ userId }} }}\",\"variables\":{{\"pad\":\"{filler}\"}}}}"
        ))
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 413);
}
