//! Relay pagination: every page both ways, no duplicates, no gaps, stable total order.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin};

const PAGE: &str = r#"query($first: Int, $after: String, $last: Int, $before: String, $order: OpportunityOrder) {
  opportunities(first: $first, after: $after, last: $last, before: $before, orderBy: $order) {
    totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { cursor node { id name } } } }"#;

async fn seed(app: &TestApp, token: &str, n: usize) -> Vec<String> {
    let account = app.create_account(token, "Pager").await;
    let mut ids = Vec::new();
    for i in 0..n {
        // Few distinct amounts and dates, so ties are broken by id; some dates are null.
        let amount = format!("{}", (i % 3) * 1000);
        let date = if i % 4 == 0 {
            Value::Null
        } else {
            json!(format!("2027-0{}-01", 1 + i % 3))
        };
        let data = app
            .ok(
                token,
                "mutation($a: ID!, $n: String!, $m: Decimal!, $d: Date) { createOpportunity(input: {accountId: $a, name: $n, amount: $m, currency: \"USD\", expectedCloseDate: $d}) { id } }",
                json!({ "a": account, "n": format!("Deal {:02}", i % 7), "m": amount, "d": date }),
            )
            .await;
        ids.push(data["createOpportunity"]["id"].as_str().expect("id").to_owned());
    }
    ids
}

async fn page_forward(app: &TestApp, token: &str, order: &Value, size: i64) -> Vec<String> {
    let (mut seen, mut after) = (Vec::new(), Value::Null);
    loop {
        let data = app
            .ok(token, PAGE, json!({ "first": size, "after": after, "order": order }))
            .await;
        let conn = &data["opportunities"];
        for edge in conn["edges"].as_array().expect("edges") {
            seen.push(edge["node"]["id"].as_str().expect("id").to_owned());
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().expect("flag") {
            return seen;
        }
        after = conn["pageInfo"]["endCursor"].clone();
        assert!(seen.len() <= 1000, "runaway pagination");
    }
}

async fn page_backward(app: &TestApp, token: &str, order: &Value, size: i64) -> Vec<String> {
    let (mut seen, mut before) = (Vec::new(), Value::Null);
    loop {
        let data = app
            .ok(token, PAGE, json!({ "last": size, "before": before, "order": order }))
            .await;
        let conn = &data["opportunities"];
        let mut page: Vec<String> = conn["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
            .collect();
        page.extend(seen);
        seen = page;
        if !conn["pageInfo"]["hasPreviousPage"].as_bool().expect("flag") {
            return seen;
        }
        before = conn["pageInfo"]["startCursor"].clone();
        assert!(seen.len() <= 1000, "runaway pagination");
    }
}

#[tokio::test]
async fn every_ordering_pages_both_ways_without_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let mut ids = seed(&app, &token, 23).await;
    ids.sort();
    let orders = [
        Value::Null,
        json!({ "field": "NAME", "direction": "ASC" }),
        json!({ "field": "AMOUNT", "direction": "DESC" }),
        json!({ "field": "EXPECTED_CLOSE_DATE", "direction": "ASC" }),
        json!({ "field": "EXPECTED_CLOSE_DATE", "direction": "DESC" }),
        json!({ "field": "RISK_SCORE", "direction": "DESC" }),
        json!({ "field": "DAYS_IN_STAGE", "direction": "DESC" }),
        json!({ "field": "UPDATED_AT", "direction": "ASC" }),
    ];
    for order in &orders {
        let forward = page_forward(&app, &token, order, 5).await;
        let backward = page_backward(&app, &token, order, 4).await;
        assert_eq!(forward, backward, "both directions agree for {order}");
        let mut sorted = forward.clone();
        sorted.sort();
        assert_eq!(sorted, ids, "every deal exactly once for {order}");
        let one_page = page_forward(&app, &token, order, 100).await;
        assert_eq!(one_page, forward, "page size does not change the order for {order}");
    }
}

#[tokio::test]
async fn names_sort_as_asked_and_nulls_come_last_ascending() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    seed(&app, &token, 8).await;
    let data = app
        .ok(&token, "{ opportunities(first: 100, orderBy: {field: EXPECTED_CLOSE_DATE, direction: ASC}) { edges { node { expectedCloseDate } } totalCount } }", json!({}))
        .await;
    let dates: Vec<Value> = data["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["expectedCloseDate"].clone())
        .collect();
    let first_null = dates.iter().position(Value::is_null).expect("some null");
    assert!(dates[first_null..].iter().all(Value::is_null), "nulls last: {dates:?}");
    let present: Vec<&str> = dates[..first_null].iter().map(|d| d.as_str().expect("date")).collect();
    let mut sorted = present.clone();
    sorted.sort();
    assert_eq!(present, sorted);
    assert_eq!(data["opportunities"]["totalCount"], 8);

    let data = app.ok(&token, "{ opportunities(first: 3, orderBy: {field: NAME, direction: DESC}) { edges { node { name } } pageInfo { hasNextPage hasPreviousPage } } }", json!({})).await;
    let names: Vec<&str> = data["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["Deal 06", "Deal 05", "Deal 04"]);
    assert_eq!(
        data["opportunities"]["pageInfo"],
        json!({ "hasNextPage": true, "hasPreviousPage": false })
    );
}

#[tokio::test]
async fn filters_narrow_the_board_and_the_count() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    seed(&app, &token, 12).await;
    let count = |filter: Value| {
        let app = &app;
        let token = &token;
        async move {
            let data = app
                .ok(
                    token,
                    "query($f: OpportunityFilter) { opportunities(filter: $f) { totalCount } }",
                    json!({ "f": filter }),
                )
                .await;
            data["opportunities"]["totalCount"].as_i64().expect("count")
        }
    };
    assert_eq!(count(json!({})).await, 12);
    assert_eq!(count(json!({ "minAmount": "1000" })).await, 8);
    assert_eq!(count(json!({ "minAmount": "1000", "maxAmount": "1000.00" })).await, 4);
    assert_eq!(
        count(json!({ "closeDateFrom": "2027-02-01", "closeDateTo": "2027-02-28" })).await,
        3
    );
    assert_eq!(count(json!({ "nameContains": "deal 0" })).await, 12);
    assert_eq!(count(json!({ "nameContains": "DEAL 03" })).await, 2);
    assert_eq!(count(json!({ "nameContains": "%" })).await, 0, "wildcards are literal");
    assert_eq!(
        count(json!({ "stages": ["PROSPECTING"], "open": true, "currency": "USD", "ownerId": "admin-user" })).await,
        12
    );
    assert_eq!(count(json!({ "open": false })).await, 0);
    assert_eq!(count(json!({ "currency": "EUR" })).await, 0);
    assert_eq!(count(json!({ "accountId": "bm9wZQ" })).await, 0);
}
