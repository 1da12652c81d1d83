//! Relay pagination: every page both ways, no duplicates, no gaps, stable total order.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, uuid_of};

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

/// Every `OpportunityOrderField`.
const FIELDS: [&str; 6] = [
    "RISK_SCORE",
    "AMOUNT",
    "EXPECTED_CLOSE_DATE",
    "UPDATED_AT",
    "NAME",
    "DAYS_IN_STAGE",
];

#[tokio::test]
async fn every_ordering_pages_both_ways_without_duplicates_or_gaps() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let mut ids = seed(&app, &token, 23).await;
    ids.sort();
    let mut orders = vec![Value::Null];
    for field in FIELDS {
        for direction in ["ASC", "DESC"] {
            orders.push(json!({ "field": field, "direction": direction }));
        }
    }
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

/// A buying-group member of a seeded deal: role, stance, can veto.
type Seat = (&'static str, &'static str, bool);

/// A seeded deal: name, amount, expected close date, buying group, its stored risk score.
type Seeded = (&'static str, &'static str, Option<&'static str>, &'static [Seat], i64);

/// Seven deals, in creation order (so in id order), with keys chosen to tie: risk score 45
/// three times and 55 twice, amount 1500 twice, close date 2027-03-01 twice and null twice,
/// the name "Deal Alpha" twice. The group fixes the stored score (SPEC §4 default
/// points, no interactions, nothing stalled or dark, close dates ahead):
/// - no members: SINGLE_THREADED 20 + NO_MOBILIZER 15 + BUYING_GROUP_GAPS 10 = 45;
/// - members, none engaged, no supportive mobilizer: 45 + LOW_COVERAGE 10 = 55;
/// - a supportive mobilizer alone: 20 + 10 + 10 = 40 (NO_MOBILIZER does not fire);
/// - a veto holder alone: 55 + VETO_HOLDER_UNENGAGED 15 = 70.
const SORTED: [Seeded; 7] = [
    ("Deal Echo", "500", Some("2027-03-01"), &[], 45),
    ("Deal Alpha", "1500", None, &[("OTHER", "UNKNOWN", false)], 55),
    (
        "Deal Delta (draft)",
        "250",
        Some("2027-01-15"),
        &[("MOBILIZER", "SUPPORTIVE", false)],
        40,
    ),
    (
        "Deal Bravo",
        "1500",
        Some("2027-03-01"),
        &[("OTHER", "UNKNOWN", true)],
        70,
    ),
    ("Deal Charlie", "9000", None, &[], 45),
    ("Deal Alpha", "0", Some("2027-06-30"), &[], 45),
    (
        "Deal Foxtrot",
        "750",
        Some("2027-02-10"),
        &[("OTHER", "UNKNOWN", false), ("INFLUENCER", "UNKNOWN", false)],
        55,
    ),
];

/// Seeds [`SORTED`], then renames deal 2 (a later `updatedAt`, same stage entry) and moves
/// deal 0 to DISCOVERY (the latest `updatedAt` and the latest `stageEnteredAt`).
async fn seed_sorted(app: &TestApp, token: &str) -> Vec<String> {
    let account = app.create_account(token, "Sorted").await;
    let contacts = [
        app.create_contact(token, &account, "Pat One", "CFO").await,
        app.create_contact(token, &account, "Kim Two", "CTO").await,
    ];
    let mut ids = Vec::new();
    for (name, amount, close, seats, _) in SORTED {
        let id = app
            .create_deal(
                token,
                json!({ "accountId": account, "name": name, "amount": amount, "currency": "USD", "expectedCloseDate": close }),
            )
            .await;
        for ((role, stance, veto), contact) in seats.iter().zip(&contacts) {
            app.add_member_as(token, &id, contact, role, stance, *veto).await;
        }
        ids.push(id);
    }
    let update = "mutation($i: UpdateOpportunityInput!) { updateOpportunity(input: $i) { version } }";
    app.ok(
        token,
        update,
        json!({ "i": { "id": ids[2], "expectedVersion": 1, "name": "Deal Delta" } }),
    )
    .await;
    app.ok(
        token,
        update,
        json!({ "i": { "id": ids[0], "expectedVersion": 1, "stage": "DISCOVERY" } }),
    )
    .await;
    ids
}

const SORTED_PAGE: &str = "query($order: OpportunityOrder) { opportunities(first: 100, orderBy: $order) {
    edges { node { id name amount expectedCloseDate riskScore stage stageEnteredAt updatedAt } } } }";

fn instant(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(value.as_str().expect("an instant")).expect("RFC 3339")
}

#[tokio::test]
async fn every_ordering_sorts_by_its_field_both_ways_with_ties_broken_by_id() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let ids = seed_sorted(&app, &token).await;
    let uuids: Vec<uuid::Uuid> = ids.iter().map(|id| uuid_of(id)).collect();
    assert!(
        uuids.windows(2).all(|w| w[0] < w[1]),
        "ids grow in creation order, so ties below are listed in creation order: {uuids:?}"
    );
    let index_of = |id: &Value| ids.iter().position(|i| i == id).expect("a seeded deal");

    // The seeded keys are what the table above says.
    let data = app.ok(&token, SORTED_PAGE, json!({ "order": null })).await;
    let edges = data["opportunities"]["edges"].as_array().expect("edges").clone();
    let mut by_index: Vec<Value> = vec![Value::Null; ids.len()];
    for edge in &edges {
        by_index[index_of(&edge["node"]["id"])] = edge["node"].clone();
    }
    for (i, (name, amount, close, _, score)) in SORTED.iter().enumerate() {
        let node = &by_index[i];
        let name = if i == 2 { "Deal Delta" } else { name };
        let amount = format!("{amount}.00");
        assert_eq!(
            (
                &node["name"],
                &node["amount"],
                &node["expectedCloseDate"],
                &node["riskScore"]
            ),
            (&json!(name), &json!(amount), &json!(close), &json!(score)),
            "deal {i}"
        );
        let stage = if i == 0 { "DISCOVERY" } else { "PROSPECTING" };
        assert_eq!(node["stage"], stage, "deal {i}");
    }
    // Without orderBy: most recently changed first (UPDATED_AT DESC).
    let default_order: Vec<usize> = edges.iter().map(|e| index_of(&e["node"]["id"])).collect();
    assert_eq!(default_order, [0, 2, 6, 5, 4, 3, 1]);

    // Hand-computed from the table: ascending is (key, id) ascending with null close dates
    // last; descending is the exact reverse, (key, id) descending with null close dates first.
    // DAYS_IN_STAGE DESC lists the oldest stage entry first.
    let expected: [(&str, [usize; 7], [usize; 7]); 6] = [
        ("RISK_SCORE", [2, 0, 4, 5, 1, 6, 3], [3, 6, 1, 5, 4, 0, 2]),
        ("AMOUNT", [5, 2, 0, 6, 1, 3, 4], [4, 3, 1, 6, 0, 2, 5]),
        ("EXPECTED_CLOSE_DATE", [2, 6, 0, 3, 5, 1, 4], [4, 1, 5, 3, 0, 6, 2]),
        ("UPDATED_AT", [1, 3, 4, 5, 6, 2, 0], [0, 2, 6, 5, 4, 3, 1]),
        ("NAME", [1, 5, 3, 4, 2, 0, 6], [6, 0, 2, 4, 3, 5, 1]),
        ("DAYS_IN_STAGE", [0, 6, 5, 4, 3, 2, 1], [1, 2, 3, 4, 5, 6, 0]),
    ];
    assert_eq!(expected.map(|(field, _, _)| field), FIELDS, "every field is covered");
    let label = |i: usize| format!("{i}:{}", by_index[i]["name"].as_str().expect("name"));
    for (field, ascending, descending) in expected {
        for (direction, want) in [("ASC", ascending), ("DESC", descending)] {
            let order = json!({ "field": field, "direction": direction });
            let data = app.ok(&token, SORTED_PAGE, json!({ "order": order })).await;
            let nodes: Vec<Value> = data["opportunities"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"].clone())
                .collect();
            let got: Vec<String> = nodes.iter().map(|n| label(index_of(&n["id"]))).collect();
            let want_labels: Vec<String> = want.iter().map(|&i| label(i)).collect();
            assert_eq!(got, want_labels, "{field} {direction}");
            // Paging through in small pages, forward and backward, gives the same order.
            let want_ids: Vec<String> = want.iter().map(|&i| ids[i].clone()).collect();
            assert_eq!(
                page_forward(&app, &token, &order, 2).await,
                want_ids,
                "{field} {direction} forward"
            );
            assert_eq!(
                page_backward(&app, &token, &order, 3).await,
                want_ids,
                "{field} {direction} backward"
            );
            // The instants behind UPDATED_AT and DAYS_IN_STAGE run the right way: more days in
            // the stage means an earlier stageEnteredAt.
            let instants = match field {
                "UPDATED_AT" => Some(("updatedAt", direction == "ASC")),
                "DAYS_IN_STAGE" => Some(("stageEnteredAt", direction == "DESC")),
                _ => None,
            };
            if let Some((key, oldest_first)) = instants {
                let t: Vec<_> = nodes.iter().map(|n| instant(&n[key])).collect();
                assert!(
                    t.windows(2)
                        .all(|w| if oldest_first { w[0] < w[1] } else { w[0] > w[1] }),
                    "{field} {direction}: {t:?}"
                );
            }
        }
    }
}

#[tokio::test]
async fn stage_owner_and_account_filters_keep_exactly_the_matching_deals() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let north = app.create_account(&token, "North").await;
    let south = app.create_account(&token, "South").await;
    let contact = app.create_contact(&token, &north, "Pat One", "CFO").await;
    for (account, name, owner, stage) in [
        (&north, "N1", "admin-user", "PROSPECTING"),
        (&north, "N2", "olive", "DISCOVERY"),
        (&north, "N3", "olive", "PROSPECTING"),
        (&south, "S1", "oscar", "NEGOTIATION"),
        (&south, "S2", "admin-user", "DISCOVERY"),
    ] {
        app.create_deal(
            &token,
            json!({ "accountId": account, "name": name, "amount": "1", "currency": "USD", "ownerId": owner, "stage": stage }),
        )
        .await;
    }
    let board = |filter: Value| {
        let (app, token) = (&app, &token);
        async move {
            let data = app
                .ok(
                    token,
                    "query($f: OpportunityFilter) { opportunities(first: 100, filter: $f, orderBy: {field: NAME, direction: ASC}) { totalCount edges { node { name } } } }",
                    json!({ "f": filter }),
                )
                .await;
            let names: Vec<String> = data["opportunities"]["edges"]
                .as_array()
                .expect("edges")
                .iter()
                .map(|e| e["node"]["name"].as_str().expect("name").to_owned())
                .collect();
            assert_eq!(
                data["opportunities"]["totalCount"].as_u64(),
                Some(names.len() as u64),
                "totalCount counts what the filter keeps: {filter}"
            );
            names
        }
    };
    let cases: Vec<(Value, &[&str])> = vec![
        (json!({}), &["N1", "N2", "N3", "S1", "S2"]),
        (json!({ "ownerId": "olive" }), &["N2", "N3"]),
        (json!({ "ownerId": "admin-user" }), &["N1", "S2"]),
        (json!({ "ownerId": "nobody" }), &[]),
        (json!({ "stages": ["DISCOVERY"] }), &["N2", "S2"]),
        (json!({ "stages": ["PROSPECTING", "NEGOTIATION"] }), &["N1", "N3", "S1"]),
        (json!({ "stages": ["PROPOSAL", "CLOSED_WON"] }), &[]),
        (json!({ "accountId": north }), &["N1", "N2", "N3"]),
        (json!({ "accountId": south }), &["S1", "S2"]),
        // A real ID of another kind names no account.
        (json!({ "accountId": contact }), &[]),
        (
            json!({ "accountId": north, "ownerId": "olive", "stages": ["DISCOVERY"] }),
            &["N2"],
        ),
        // Each condition matches some deals; together, none.
        (json!({ "accountId": south, "ownerId": "olive" }), &[]),
        (json!({ "stages": ["NEGOTIATION"], "ownerId": "admin-user" }), &[]),
    ];
    for (filter, want) in cases {
        assert_eq!(board(filter.clone()).await, want, "{filter}");
    }
}
