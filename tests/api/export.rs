//! SPEC §8's flat exports for BI tools: `GET /export/opportunities.csv` / `.ndjson` and
//! `/export/risk_history.csv`, read as a BI client reads them (the `csv` crate, line by line
//! JSON) and compared with what GraphQL answers for the same deals.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::{SubsecRound, Utc};
use dealgraph::seed::generate::{Plan, run};
use dealgraph::store::Store;
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, days_ago, token_for, uuid_of};

const OPPORTUNITY_COLUMNS: [&str; 19] = [
    "id",
    "externalId",
    "name",
    "accountId",
    "accountName",
    "ownerId",
    "stage",
    "amount",
    "currency",
    "expectedCloseDate",
    "createdAt",
    "stageEnteredAt",
    "daysInStage",
    "closedAt",
    "riskScore",
    "riskLevel",
    "riskFactorCodes",
    "buyingGroupSize",
    "directlyEngaged",
];

const RISK_HISTORY_COLUMNS: [&str; 6] = ["opportunityId", "externalId", "at", "score", "level", "riskFactorCodes"];

/// The `Opportunity` fields the export flattens, for the same deals.
const BOARD: &str = "query($f: OpportunityFilter) { opportunities(first: 10, filter: $f) { totalCount edges { node {
    id externalId name account { id name } ownerId stage amount currency expectedCloseDate createdAt
    stageEnteredAt daysInStage closedAt riskScore riskLevel riskFactorCodes buyingGroup { engagement }
    riskHistory(last: 50) { at score level factorCodes } } } } }";

/// The deals of one tenant, as the export tests need them: two accounts (one whose name needs
/// quoting), an open deal with an external ID, a close date, a group and an interaction, deals
/// in two currencies and stages, and a closed one.
struct Seeded {
    globex_expansion: String,
}

async fn seed(app: &TestApp, token: &str) -> Seeded {
    let globex = app.create_account(token, "Globex, Inc.").await;
    let initech = app.create_account(token, "Initech").await;
    let expansion = app
        .create_deal(
            token,
            json!({ "accountId": globex, "name": "Globex \"expansion\", phase 2", "amount": "125000.00",
                    "currency": "USD", "stage": "NEGOTIATION", "expectedCloseDate": "2027-03-31", "externalId": "006A" }),
        )
        .await;
    let controller = app.create_contact(token, &globex, "Dana Ruiz", "Controller").await;
    let sponsor = app.create_contact(token, &globex, "Sam Okafor", "VP Operations").await;
    let finance = app.create_contact(token, &globex, "Lee Park", "FP&A").await;
    let vetoer = app
        .add_member_as(token, &expansion, &controller, "ECONOMIC_BUYER", "OPPOSED", true)
        .await;
    let mobilizer = app
        .add_member_as(token, &expansion, &sponsor, "MOBILIZER", "SUPPORTIVE", false)
        .await;
    let other = app.add_member(token, &expansion, &finance, "FINANCE").await;
    // A member who left the group: not counted in its size.
    let intern = app.create_contact(token, &globex, "Kim Intern", "Intern").await;
    let left = app.add_member(token, &expansion, &intern, "END_USER").await;
    app.ok(
        token,
        "mutation($id: ID!) { removeBuyingGroupMember(id: $id) }",
        json!({ "id": left }),
    )
    .await;
    app.log_at(token, &expansion, &days_ago(2), &[&mobilizer, &other], &[&vetoer])
        .await;
    app.create_deal(
        token,
        json!({ "accountId": initech, "name": "Initech renewal", "amount": "9.5", "currency": "EUR" }),
    )
    .await;
    app.create_deal(
        token,
        json!({ "accountId": globex, "name": "Globex pilot", "amount": "5000", "currency": "USD",
                "stage": "DISCOVERY", "ownerId": "dana" }),
    )
    .await;
    let lost = app
        .create_deal(
            token,
            json!({ "accountId": initech, "name": "Initech upsell", "amount": "700.10", "currency": "EUR",
                    "stage": "PROPOSAL" }),
        )
        .await;
    app.ok(
        token,
        "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, stage: CLOSED_LOST}) { id } }",
        json!({ "id": lost }),
    )
    .await;
    Seeded {
        globex_expansion: expansion,
    }
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> reqwest::Response {
    let mut request = app.client.get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.expect("request sent")
}

/// GETs an export that must succeed; returns its body as text.
async fn export(app: &TestApp, path: &str, token: &str) -> String {
    let response = get(app, path, Some(token)).await;
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "{path}: {body}");
    body
}

/// A CSV body read as a client reads it: the header, and the records.
fn read_csv(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(body.as_bytes());
    let header = reader
        .headers()
        .expect("a header row")
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|r| r.expect("a CSV record").iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// The deals GraphQL answers for `filter`, by id.
async fn board(app: &TestApp, token: &str, filter: Value) -> BTreeMap<String, Value> {
    let data = app.ok(token, BOARD, json!({ "f": filter })).await;
    data["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| (e["node"]["id"].as_str().expect("id").to_owned(), e["node"].clone()))
        .collect()
}

/// A GraphQL value as a CSV field: null is empty, a list is `;`-joined, text is itself.
fn field(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(field).collect::<Vec<_>>().join(";"),
        other => other.to_string(),
    }
}

/// The row the export must hold for a deal, from GraphQL's answer. `buyingGroupSize` is the
/// group's length; `directlyEngaged` the stored assessment's: for an open deal its members
/// engaged directly now (the deals here were just assessed), for a closed one 0 (closed deals
/// are not assessed).
fn expected_row(deal: &Value) -> Vec<String> {
    let group = deal["buyingGroup"].as_array().expect("group");
    let closed = deal["stage"].as_str().is_some_and(|s| s.starts_with("CLOSED"));
    let direct = if closed {
        0
    } else {
        group.iter().filter(|m| m["engagement"] == "DIRECT").count()
    };
    vec![
        field(&deal["id"]),
        field(&deal["externalId"]),
        field(&deal["name"]),
        field(&deal["account"]["id"]),
        field(&deal["account"]["name"]),
        field(&deal["ownerId"]),
        field(&deal["stage"]),
        field(&deal["amount"]),
        field(&deal["currency"]),
        field(&deal["expectedCloseDate"]),
        field(&deal["createdAt"]),
        field(&deal["stageEnteredAt"]),
        field(&deal["daysInStage"]),
        field(&deal["closedAt"]),
        field(&deal["riskScore"]),
        field(&deal["riskLevel"]),
        field(&deal["riskFactorCodes"]),
        group.len().to_string(),
        direct.to_string(),
    ]
}

/// The ids of an opportunities export's rows.
fn ids(rows: &[Vec<String>]) -> BTreeSet<String> {
    rows.iter().map(|r| r[0].clone()).collect()
}

#[tokio::test]
async fn opportunities_csv_has_the_spec_columns_and_the_values_graphql_answers() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let seeded = seed(&app, &token).await;

    let response = get(&app, "/export/opportunities.csv", Some(&token)).await;
    assert_eq!(response.status().as_u16(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"opportunities.csv\""
    );
    let body = response.text().await.expect("body");

    // RFC 4180: CRLF after every record (the header too), no BOM.
    assert!(!body.starts_with('\u{feff}'), "no byte order mark");
    assert!(body.ends_with("\r\n"));
    assert_eq!(
        body.matches('\n').count(),
        body.matches("\r\n").count(),
        "only CRLF line ends"
    );
    assert_eq!(body.matches("\r\n").count(), 1 + 4, "a header and one line per deal");
    assert!(body.starts_with(&(OPPORTUNITY_COLUMNS.join(",") + "\r\n")), "{body}");

    let (header, rows) = read_csv(&body);
    assert_eq!(header, OPPORTUNITY_COLUMNS);
    let deals = board(&app, &token, json!({})).await;
    assert_eq!(rows.len(), deals.len(), "one row per deal");
    for row in &rows {
        let deal = deals
            .get(&row[0])
            .unwrap_or_else(|| panic!("a deal GraphQL knows: {row:?}"));
        assert_eq!(row, &expected_row(deal), "{deal:#}");
    }

    // The deal with everything: quoting survived, amounts and instants are GraphQL's text.
    let expansion = rows
        .iter()
        .find(|r| r[0] == seeded.globex_expansion)
        .expect("the expansion deal");
    assert_eq!(expansion[1], "006A");
    assert_eq!(expansion[2], "Globex \"expansion\", phase 2");
    assert_eq!(expansion[4], "Globex, Inc.");
    assert_eq!(expansion[7], "125000.00");
    assert_eq!(expansion[9], "2027-03-31");
    assert!(expansion[10].ends_with('Z'), "RFC 3339 UTC: {}", expansion[10]);
    assert_eq!(expansion[17], "3", "buyingGroupSize");
    assert_eq!(expansion[18], "2", "directlyEngaged");
    assert!(
        expansion[16].contains(';'),
        "several factors, `;`-joined: {}",
        expansion[16]
    );
    let renewal = rows.iter().find(|r| r[2] == "Initech renewal").expect("renewal");
    assert_eq!(renewal[7], "9.50");
    assert_eq!(renewal[8], "EUR");
    let lost = rows.iter().find(|r| r[2] == "Initech upsell").expect("lost deal");
    assert_eq!(lost[6], "CLOSED_LOST");
    assert!(!lost[13].is_empty(), "closedAt of a closed deal");
    assert_eq!(
        (lost[14].as_str(), lost[15].as_str(), lost[16].as_str()),
        ("0", "LOW", "")
    );
}

#[tokio::test]
async fn opportunities_ndjson_has_the_same_keys_with_amounts_as_strings() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let seeded = seed(&app, &token).await;

    let response = get(&app, "/export/opportunities.ndjson", Some(&token)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "application/x-ndjson");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"opportunities.ndjson\""
    );
    let body = response.text().await.expect("body");
    let csv = export(&app, "/export/opportunities.csv", &token).await;
    let (_, csv_rows) = read_csv(&csv);

    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines.len(), 4, "one line per deal");
    for (line, csv_row) in lines.iter().zip(&csv_rows) {
        // The keys in the CSV's column order.
        let positions: Vec<usize> = OPPORTUNITY_COLUMNS
            .iter()
            .map(|c| {
                line.find(&format!("\"{c}\":"))
                    .unwrap_or_else(|| panic!("{c} in {line}"))
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
        let row: Value = serde_json::from_str(line).expect("a JSON object per line");
        assert_eq!(row.as_object().expect("object").len(), OPPORTUNITY_COLUMNS.len());
        assert!(row["amount"].is_string(), "amounts are strings: {row}");
        assert!(row["riskFactorCodes"].is_array(), "{row}");
        for number in ["daysInStage", "riskScore", "buyingGroupSize", "directlyEngaged"] {
            assert!(row[number].is_u64(), "{number}: {row}");
        }
        // The same values as the CSV's, in the same order.
        let as_fields: Vec<String> = OPPORTUNITY_COLUMNS.iter().map(|c| field(&row[*c])).collect();
        assert_eq!(&as_fields, csv_row);
    }
    let expansion: Value = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|r| r["id"] == seeded.globex_expansion.as_str())
        .expect("expansion");
    assert_eq!(expansion["amount"], "125000.00");
    assert_eq!(expansion["externalId"], "006A");
    let renewal: Value = lines
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .find(|r| r["name"] == "Initech renewal")
        .expect("renewal");
    assert_eq!(renewal["externalId"], Value::Null);
    assert_eq!(renewal["expectedCloseDate"], Value::Null);
    assert_eq!(renewal["closedAt"], Value::Null);
}

#[tokio::test]
async fn filters_narrow_the_export_as_they_narrow_the_board() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    seed(&app, &token).await;
    let expansion_level = board(&app, &token, json!({ "externalIds": ["006A"] }))
        .await
        .into_values()
        .next()
        .expect("the expansion deal")["riskLevel"]
        .as_str()
        .expect("level")
        .to_owned();

    for (query, filter, expected) in [
        (
            "stage=PROSPECTING&stage=NEGOTIATION".to_owned(),
            json!({ "stages": ["PROSPECTING", "NEGOTIATION"] }),
            2,
        ),
        (
            "stage=DISCOVERY,CLOSED_LOST".to_owned(),
            json!({ "stages": ["DISCOVERY", "CLOSED_LOST"] }),
            2,
        ),
        ("open=false".to_owned(), json!({ "open": false }), 1),
        ("open=true".to_owned(), json!({ "open": true }), 3),
        ("currency=EUR".to_owned(), json!({ "currency": "EUR" }), 2),
        ("ownerId=dana".to_owned(), json!({ "ownerId": "dana" }), 1),
        ("externalId=006A".to_owned(), json!({ "externalIds": ["006A"] }), 1),
        (
            "closeDateFrom=2027-01-01&closeDateTo=2027-12-31".to_owned(),
            json!({ "closeDateFrom": "2027-01-01", "closeDateTo": "2027-12-31" }),
            1,
        ),
        (
            format!("riskLevel={expansion_level}&open=true"),
            json!({ "riskLevels": [expansion_level], "open": true }),
            0,
        ),
        (
            "currency=EUR&open=true".to_owned(),
            json!({ "currency": "EUR", "open": true }),
            1,
        ),
    ] {
        let body = export(&app, &format!("/export/opportunities.csv?{query}"), &token).await;
        let (_, rows) = read_csv(&body);
        let wanted = board(&app, &token, filter).await;
        assert_eq!(ids(&rows), wanted.keys().cloned().collect(), "{query}");
        if expected > 0 {
            assert_eq!(rows.len(), expected, "{query}");
        } else {
            assert!(!rows.is_empty(), "{query}: the expansion deal at least");
        }
    }
}

#[tokio::test]
async fn every_role_reads_and_a_missing_or_bad_token_is_401() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    seed(&app, &token).await;
    let full = export(&app, "/export/opportunities.csv", &token).await;
    for roles in [&["analyst"][..], &["seller"], &[]] {
        let reader = token_for("acme", "bi-robot", roles);
        for path in ["/export/opportunities.csv", "/export/risk_history.csv"] {
            let body = export(&app, path, &reader).await;
            if path == "/export/opportunities.csv" {
                assert_eq!(body, full, "{roles:?} reads the same file");
            }
        }
    }
    for path in [
        "/export/opportunities.csv",
        "/export/opportunities.ndjson",
        "/export/risk_history.csv",
    ] {
        for token in [None, Some("not-a-jwt")] {
            let response = get(&app, path, token).await;
            assert_eq!(response.status().as_u16(), 401, "{path}");
            assert_eq!(response.headers()["www-authenticate"], "Bearer");
            let body: Value = response.json().await.expect("the GraphQL error shape");
            assert_eq!(code(&body), "UNAUTHENTICATED", "{body}");
            assert!(body["errors"][0]["message"].is_string(), "{body}");
        }
    }
}

#[tokio::test]
async fn another_tenants_deals_never_appear() {
    let app = TestApp::spawn().await;
    let acme = admin("acme");
    seed(&app, &acme).await;
    let rival = admin("rival");
    let account = app.create_account(&rival, "Rival Corp").await;
    let secret = app.create_opportunity(&rival, &account, "Rival secret", "1").await;

    let acme_csv = export(&app, "/export/opportunities.csv", &acme).await;
    assert!(!acme_csv.contains("Rival"), "{acme_csv}");
    let (_, rows) = read_csv(&acme_csv);
    assert_eq!(rows.len(), 4);
    assert!(!ids(&rows).contains(&secret));
    let acme_history = export(&app, "/export/risk_history.csv", &acme).await;
    assert!(!acme_history.contains(&secret));
    let acme_ndjson = export(&app, "/export/opportunities.ndjson", &acme).await;
    assert!(!acme_ndjson.contains("Rival"));

    let rival_csv = export(&app, "/export/opportunities.csv", &rival).await;
    let (_, rows) = read_csv(&rival_csv);
    assert_eq!(ids(&rows), BTreeSet::from([secret.clone()]));
    assert!(!rival_csv.contains("Globex") && !rival_csv.contains("Initech"));
    let (_, points) = read_csv(&export(&app, "/export/risk_history.csv", &rival).await);
    assert!(points.iter().all(|p| p[0] == secret), "{points:?}");
    // A filter cannot reach across either: the other tenant's external ID names nothing here.
    let (_, rows) = read_csv(&export(&app, "/export/opportunities.csv?externalId=006A", &rival).await);
    assert!(rows.is_empty());
}

#[tokio::test]
async fn risk_history_csv_holds_each_deals_risk_history() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let seeded = seed(&app, &token).await;

    let response = get(&app, "/export/risk_history.csv", Some(&token)).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        response.headers()["content-disposition"],
        "attachment; filename=\"risk_history.csv\""
    );
    let body = response.text().await.expect("body");
    assert!(body.starts_with(&(RISK_HISTORY_COLUMNS.join(",") + "\r\n")), "{body}");
    assert_eq!(body.matches('\n').count(), body.matches("\r\n").count());
    let (header, rows) = read_csv(&body);
    assert_eq!(header, RISK_HISTORY_COLUMNS);

    // Ordered by deal, then instant.
    let order: Vec<(uuid::Uuid, String)> = rows.iter().map(|r| (uuid_of(&r[0]), r[2].clone())).collect();
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "by opportunity, then at");

    let deals = board(&app, &token, json!({})).await;
    let mut by_deal: BTreeMap<String, Vec<Vec<String>>> = BTreeMap::new();
    for row in rows {
        by_deal.entry(row[0].clone()).or_default().push(row);
    }
    for (id, deal) in &deals {
        let expected: Vec<Vec<String>> = deal["riskHistory"]
            .as_array()
            .expect("history")
            .iter()
            .map(|p| {
                vec![
                    id.clone(),
                    field(&deal["externalId"]),
                    field(&p["at"]),
                    field(&p["score"]),
                    field(&p["level"]),
                    field(&p["factorCodes"]),
                ]
            })
            .collect();
        assert!(!expected.is_empty(), "every deal was assessed: {deal}");
        assert_eq!(by_deal.remove(id).unwrap_or_default(), expected, "{deal:#}");
    }
    assert!(by_deal.is_empty(), "points of no deal: {by_deal:?}");

    // Filtered like the deals: only the expansion deal's points, with its external ID.
    let (_, rows) = read_csv(&export(&app, "/export/risk_history.csv?externalId=006A", &token).await);
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r[0] == seeded.globex_expansion && r[1] == "006A"));
    // The NDJSON twin: the same points, factor codes as arrays.
    let ndjson = export(&app, "/export/risk_history.ndjson?externalId=006A", &token).await;
    let points: Vec<Value> = ndjson.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(points.len(), rows.len());
    for (point, row) in points.iter().zip(&rows) {
        assert!(
            point["riskFactorCodes"].is_array() && point["score"].is_u64(),
            "{point}"
        );
        let as_fields: Vec<String> = RISK_HISTORY_COLUMNS.iter().map(|c| field(&point[*c])).collect();
        assert_eq!(&as_fields, row);
    }
}

#[tokio::test]
async fn bad_or_unknown_parameters_are_400_naming_them() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    for (query, parameter) in [
        ("stage=WON", "stage"),
        ("stage=PROSPECTING&stage=nope", "stage"),
        ("open=yes", "open"),
        ("riskLevel=SEVERE", "riskLevel"),
        ("currency=usd", "currency"),
        ("closeDateFrom=2026-02-30", "closeDateFrom"),
        ("closeDateTo=tomorrow", "closeDateTo"),
        ("minAmount=1e3", "minAmount"),
        ("limit=10", "limit"),
        ("ownerId=a&ownerId=b", "ownerId"),
    ] {
        for path in [
            "/export/opportunities.csv",
            "/export/opportunities.ndjson",
            "/export/risk_history.csv",
        ] {
            let response = get(&app, &format!("{path}?{query}"), Some(&token)).await;
            assert_eq!(response.status().as_u16(), 400, "{path}?{query}");
            let body: Value = response.json().await.expect("the GraphQL error shape");
            assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
            assert_eq!(body["errors"][0]["extensions"]["field"], parameter, "{body}");
            let message = body["errors"][0]["message"].as_str().expect("message");
            assert!(message.contains(parameter), "{message}");
        }
    }
}

/// A tenant of `deals` generated deals (one member each), in bulk.
async fn generated(deals: usize, tweak: impl FnOnce(&mut dealgraph::config::Config)) -> TestApp {
    let mut database_url = String::new();
    let app = TestApp::spawn_with(|config| {
        database_url = config.database_url.clone();
        tweak(config);
    })
    .await;
    let store = Store::connect(&database_url, 2).await.expect("connect");
    let plan = Plan {
        tenant: "bulk".into(),
        deals,
        other_tenants: 0,
        other_deals: 0,
        members: 1,
        interactions_per_deal: 1,
        progress: false,
        ..Plan::bench(Utc::now().trunc_subsecs(0))
    };
    run(&store, &plan).await.expect("generated");
    store.close().await;
    app
}

#[tokio::test]
async fn a_large_export_streams_page_by_page_past_the_request_timeout() {
    const DEALS: usize = 2_500;
    const PAGE: usize = 1_000;
    // The request timeout is 1 s; the client takes longer than that to read the body.
    let app = generated(DEALS, |config| config.request_timeout_secs = 1).await;
    let token = admin("bulk");

    let before = app.store.statements_executed();
    let mut response = get(&app, "/export/opportunities.csv", Some(&token)).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut body = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = response.chunk().await.expect("the body streams to its end") {
        body.extend_from_slice(&chunk);
        chunks += 1;
        if chunks == 1 {
            tokio::time::sleep(Duration::from_millis(1_300)).await;
        }
    }
    let statements = app.store.statements_executed() - before;
    let body = String::from_utf8(body).expect("UTF-8");
    let (header, rows) = read_csv(&body);
    assert_eq!(header, OPPORTUNITY_COLUMNS);
    assert_eq!(rows.len(), DEALS, "complete");
    assert_eq!(ids(&rows).len(), DEALS, "no deal twice");
    let order: Vec<uuid::Uuid> = rows.iter().map(|r| uuid_of(&r[0])).collect();
    assert!(order.windows(2).all(|w| w[0] < w[1]), "by id");
    // Two statements per page of 1,000 (the deals with their accounts, then the group sizes);
    // the last page is short, so nothing more is asked.
    assert_eq!(statements, 2 * (DEALS / PAGE + 1) as u64, "statements per export");
    assert!(rows.iter().all(|r| r[17] == "1"), "every group size, page after page");
    let (_, closed) = read_csv(&export(&app, "/export/opportunities.csv?open=false", &token).await);
    assert!(
        !closed.is_empty() && closed.iter().all(|r| r[17] == "1"),
        "filtered too"
    );
    assert!(chunks >= DEALS / PAGE, "written a page at a time: {chunks} chunks");

    // The risk history pages by (deal, instant, point): nothing lost or repeated at the seams.
    let before = app.store.statements_executed();
    let (_, points) = read_csv(&export(&app, "/export/risk_history.csv", &token).await);
    let statements = app.store.statements_executed() - before;
    assert!(points.len() > PAGE, "more than a page: {}", points.len());
    // Every point the tenant has, by the database's own count (the generator backfills each
    // deal's history, open or closed).
    let stored = {
        use sea_orm::{ConnectionTrait, Statement};
        let db = app.store.reader();
        let count = Statement::from_string(
            db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM risk_history WHERE tenant_id = 'bulk'",
        );
        let row = db.query_one_raw(count).await.expect("count").expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    };
    assert_eq!(points.len() as i64, stored, "every stored point, once");
    let order: Vec<(uuid::Uuid, String)> = points.iter().map(|r| (uuid_of(&r[0]), r[2].clone())).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "by deal, then instant, no repeats"
    );
    assert_eq!(statements, (points.len() / PAGE + 1) as u64);
}
