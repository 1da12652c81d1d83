//! The demo tenant: loaded into a fresh database, it tells the field story at the top of a
//! board that shows every risk level, and it stays inside tenant `demo`.

use std::collections::{BTreeMap, BTreeSet};

use dealgraph::seed::demo::{self, STORY_DEAL};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, load_demo};

const BOARD: &str = "query($filter: OpportunityFilter) {
    opportunities(first: 100, filter: $filter, orderBy: {field: RISK_SCORE, direction: DESC}) {
        totalCount
        edges { node { id name stage ownerId currency riskScore riskLevel riskFactorCodes account { name } } }
    } }";

/// A server on a fresh database with the demo loaded.
async fn demo_app() -> TestApp {
    let (app, database_url) = TestApp::spawn_with_database().await;
    let report = load_demo(&database_url).await.expect("the demo loads");
    assert_eq!(report.opportunities, 21, "{report}");
    assert_eq!(report.accounts, 8, "{report}");
    app
}

async fn board(app: &TestApp, filter: Value) -> (u64, Vec<Value>) {
    let data = app.ok(&admin("demo"), BOARD, json!({ "filter": filter })).await;
    let connection = &data["opportunities"];
    let total = connection["totalCount"].as_u64().expect("totalCount");
    let nodes = connection["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    (total, nodes)
}

fn strings(list: &Value) -> BTreeSet<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|v| v.as_str().expect("string").to_owned())
        .collect()
}

fn names(nodes: &[Value]) -> Vec<&str> {
    nodes.iter().map(|n| n["name"].as_str().expect("name")).collect()
}

#[tokio::test]
async fn the_field_story_deal_tops_the_board_as_critical() {
    let app = demo_app().await;
    let (open, nodes) = board(&app, json!({ "open": true })).await;
    assert_eq!(open, 17);
    let top = &nodes[0];
    assert_eq!(top["name"], STORY_DEAL, "riskiest first: {:#?}", names(&nodes));
    assert_eq!(top["account"]["name"], "Northwind Health");
    assert_eq!(top["stage"], "NEGOTIATION");
    assert_eq!(top["riskLevel"], "CRITICAL");
    assert_eq!(top["riskScore"], 100);
    let expected: BTreeSet<String> = [
        "SINGLE_THREADED",
        "VETO_HOLDER_OPPOSED",
        "VETO_HOLDER_UNENGAGED",
        "DELEGATED_ENGAGEMENT",
        "MOBILIZER_OVERLOADED",
        "LOW_COVERAGE",
        "STALLED",
        "CLOSE_DATE_PUSHED",
    ]
    .into_iter()
    .map(String::from)
    .collect();
    assert_eq!(strings(&top["riskFactorCodes"]), expected);
    assert!(
        nodes[1]["riskScore"].as_i64() < top["riskScore"].as_i64(),
        "the story deal is alone at the top"
    );
}

#[tokio::test]
async fn every_demo_deal_carries_the_risk_its_story_promises() {
    let app = demo_app().await;
    let (total, nodes) = board(&app, json!(null)).await;
    assert_eq!(total, 21);
    let by_name: BTreeMap<&str, &Value> = nodes.iter().map(|n| (n["name"].as_str().expect("name"), n)).collect();
    let expected = demo::expected_risks();
    assert_eq!(expected.len(), 21);
    for promise in &expected {
        let node = by_name
            .get(promise.deal)
            .unwrap_or_else(|| panic!("{} is on the board", promise.deal));
        assert_eq!(node["stage"], promise.stage.as_str(), "{}", promise.deal);
        let codes: BTreeSet<String> = promise.factors.iter().map(|c| c.as_str().to_owned()).collect();
        assert_eq!(strings(&node["riskFactorCodes"]), codes, "{}", promise.deal);
    }

    let open: Vec<&Value> = nodes
        .iter()
        .filter(|n| !matches!(n["stage"].as_str(), Some("CLOSED_WON" | "CLOSED_LOST")))
        .collect();
    let levels: BTreeSet<&str> = open.iter().map(|n| n["riskLevel"].as_str().expect("level")).collect();
    assert_eq!(levels, BTreeSet::from(["LOW", "MEDIUM", "HIGH", "CRITICAL"]));
    let factors: BTreeSet<String> = open.iter().flat_map(|n| strings(&n["riskFactorCodes"])).collect();
    assert_eq!(factors.len(), 12, "every factor shows somewhere: {factors:?}");
    let stages: BTreeSet<&str> = nodes.iter().map(|n| n["stage"].as_str().expect("stage")).collect();
    assert!(
        stages.contains("CLOSED_WON") && stages.contains("CLOSED_LOST"),
        "{stages:?}"
    );
    let currencies: BTreeSet<&str> = nodes
        .iter()
        .map(|n| n["currency"].as_str().expect("currency"))
        .collect();
    assert_eq!(currencies, BTreeSet::from(["EUR", "GBP", "USD"]));
    let owners: BTreeSet<&str> = nodes.iter().map(|n| n["ownerId"].as_str().expect("owner")).collect();
    assert_eq!(owners.len(), 4, "{owners:?}");
}

#[tokio::test]
async fn filtering_by_level_and_factor_finds_the_story_deal() {
    let app = demo_app().await;
    let (_, critical) = board(&app, json!({ "riskLevels": ["CRITICAL"] })).await;
    assert_eq!(names(&critical), [STORY_DEAL, "Tailspin — Fuel analytics"]);
    let (_, delegated) = board(
        &app,
        json!({ "riskLevels": ["CRITICAL"], "riskFactor": "DELEGATED_ENGAGEMENT" }),
    )
    .await;
    assert_eq!(names(&delegated), [STORY_DEAL]);
}

#[tokio::test]
async fn the_story_deal_explains_itself_by_name() {
    let app = demo_app().await;
    let (_, nodes) = board(&app, json!({ "nameContains": "Northwind — Finance" })).await;
    let id = nodes[0]["id"].clone();
    let data = app
        .ok(
            &admin("demo"),
            "query($id: ID!) { opportunity(id: $id) {
                riskScore daysInStage stageHistory { to by }
                interactions(first: 1) { totalCount edges { node { loggedBy participants { contact { fullName } } about { contact { fullName } } } } }
                riskHistory { at level }
                risk { score level factors { code message recommendation members { contact { fullName } } } }
            } }",
            json!({ "id": id }),
        )
        .await;
    let deal = &data["opportunity"];
    assert!(deal["daysInStage"].as_i64() >= Some(123), "{}", deal["daysInStage"]);
    assert!(
        deal["stageHistory"]
            .as_array()
            .expect("history")
            .iter()
            .all(|c| c["by"] == "alex.morgan")
    );
    let latest = &deal["interactions"]["edges"][0]["node"];
    assert_eq!(deal["interactions"]["totalCount"], 11);
    assert_eq!(latest["loggedBy"], "alex.morgan");
    assert_eq!(
        latest["participants"],
        json!([{ "contact": { "fullName": "Sam Patel" } }])
    );
    assert_eq!(latest["about"], json!([{ "contact": { "fullName": "Dana Ruiz" } }]));

    let risk = &deal["risk"];
    assert_eq!(risk["level"], "CRITICAL");
    assert_eq!(risk["score"], deal["riskScore"], "live and stored agree");
    let factors = risk["factors"].as_array().expect("factors");
    let factor = |code: &str| {
        factors
            .iter()
            .find(|f| f["code"] == code)
            .unwrap_or_else(|| panic!("{code} fired: {risk:#}"))
    };
    let evidence = |code: &str| -> Vec<String> {
        factor(code)["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| m["contact"]["fullName"].as_str().expect("name").to_owned())
            .collect()
    };
    assert_eq!(evidence("VETO_HOLDER_OPPOSED"), ["Dana Ruiz"]);
    assert_eq!(evidence("DELEGATED_ENGAGEMENT"), ["Dana Ruiz"]);
    assert_eq!(evidence("VETO_HOLDER_UNENGAGED"), ["Priya Shah"]);
    assert_eq!(evidence("MOBILIZER_OVERLOADED"), ["Sam Patel"]);
    let delegated = factor("DELEGATED_ENGAGEMENT");
    let message = delegated["message"].as_str().expect("message");
    assert!(
        message.contains("Dana Ruiz") && message.contains("Sam Patel"),
        "{message}"
    );
    let recommendation = delegated["recommendation"].as_str().expect("recommendation");
    assert!(recommendation.contains("Dana Ruiz"), "{recommendation}");
    assert!(
        factor("SINGLE_THREADED")["message"]
            .as_str()
            .is_some_and(|m| m.contains("Sam Patel")),
        "{risk:#}"
    );

    // The sweep's weekly replay left a history that ends where the deal is now.
    let history = deal["riskHistory"].as_array().expect("history");
    assert!(history.len() >= 2, "{history:#?}");
    assert_eq!(history.last().expect("a point")["level"], "CRITICAL");
    let times: Vec<&str> = history.iter().map(|p| p["at"].as_str().expect("at")).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "oldest first: {times:?}");
}

#[tokio::test]
async fn loading_the_demo_twice_is_refused() {
    let (app, database_url) = TestApp::spawn_with_database().await;
    load_demo(&database_url).await.expect("first load");
    let again = load_demo(&database_url).await.expect_err("second load is refused");
    assert_eq!(again.code(), "CONFLICT");
    assert!(again.to_string().contains("already has data"), "{again}");
    let (total, _) = board(&app, json!(null)).await;
    assert_eq!(total, 21, "nothing was added");
}

#[tokio::test]
async fn other_tenants_see_none_of_the_demo() {
    let app = demo_app().await;
    let (_, nodes) = board(&app, json!(null)).await;
    let story_id = nodes.iter().find(|n| n["name"] == STORY_DEAL).expect("story")["id"].clone();
    let other = admin("acme");
    let data = app
        .ok(
            &other,
            "query($id: ID!) { opportunities(first: 10) { totalCount } accounts(first: 10) { totalCount }
               node(id: $id) { id } opportunity(id: $id) { id }
               pipelineHealth { openCount } }",
            json!({ "id": story_id }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "opportunities": { "totalCount": 0 },
            "accounts": { "totalCount": 0 },
            "node": null,
            "opportunity": null,
            "pipelineHealth": { "openCount": 0 }
        })
    );
}
