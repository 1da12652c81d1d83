//! `dealgraph generate`: a tiny benchmark data set, written in bulk, read back through the API.

use chrono::{DateTime, SubsecRound, Utc};
use dealgraph::domain::AppError;
use dealgraph::seed::generate::{Plan, RiskPath, run};
use dealgraph::store::Store;
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin};

/// Two tenants of 20 deals, 6 members and about 10 interactions each.
fn tiny(as_of: DateTime<Utc>, risk: RiskPath) -> Plan {
    Plan {
        deals: 20,
        other_tenants: 1,
        other_deals: 20,
        members: 6,
        interactions_per_deal: 10,
        seed: 7,
        risk,
        progress: false,
        ..Plan::bench(as_of)
    }
}

/// Spawns a server and generates `plan` into its database.
async fn generated(plan: &Plan) -> (TestApp, Store) {
    let (app, url) = TestApp::spawn_with_database().await;
    let store = Store::connect(&url, 2).await.expect("connect to the test database");
    run(&store, plan).await.expect("generated");
    (app, store)
}

const DEALS: &str = "query($t: DateTime) { opportunities(first: 20, orderBy: {field: NAME, direction: ASC}) {
    totalCount edges { node { id name amount currency stage ownerId expectedCloseDate stageEnteredAt
      riskScore riskLevel riskFactorCodes risk(asOf: $t) { score level }
      account { name } buyingGroup { role stance canVeto contact { fullName } }
      interactions(first: 1) { totalCount } } } } }";

fn nodes(data: &Value) -> Vec<Value> {
    data["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

#[tokio::test]
async fn a_generated_tenant_reads_back_with_its_shape_and_stored_risk() {
    let as_of = Utc::now().trunc_subsecs(0);
    let (app, store) = generated(&tiny(as_of, RiskPath::Inline)).await;
    let token = admin("bench");
    let data = app.ok(&token, DEALS, json!({ "t": as_of })).await;
    assert_eq!(data["opportunities"]["totalCount"], 20);
    let deals = nodes(&data);

    let mut interactions = 0;
    for deal in &deals {
        assert_eq!(deal["buyingGroup"].as_array().expect("group").len(), 6, "{deal}");
        interactions += deal["interactions"]["totalCount"].as_i64().expect("count");
        // The stored assessment is the live one at the instant it was generated for.
        assert_eq!(deal["riskScore"], deal["risk"]["score"], "{deal}");
        assert_eq!(deal["riskLevel"], deal["risk"]["level"], "{deal}");
    }
    assert!((100..=300).contains(&interactions), "about 10 per deal: {interactions}");

    let open: Vec<&Value> = deals
        .iter()
        .filter(|d| !d["stage"].as_str().is_some_and(|s| s.starts_with("CLOSED")))
        .collect();
    let mut levels: Vec<&str> = open.iter().filter_map(|d| d["riskLevel"].as_str()).collect();
    levels.sort_unstable();
    levels.dedup();
    assert!(levels.len() >= 3, "risk levels spread over the board: {levels:?}");

    let health = app
        .ok(
            &token,
            "{ pipelineHealth { openCount } opportunities(filter: {open: true}) { totalCount } accounts { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(health["pipelineHealth"]["openCount"], json!(open.len()));
    assert_eq!(health["opportunities"]["totalCount"], json!(open.len()));
    assert_eq!(health["accounts"]["totalCount"], 4, "one account per five deals");

    let other = app
        .ok(&admin("bench-2"), "{ opportunities { totalCount } }", json!({}))
        .await;
    assert_eq!(other["opportunities"]["totalCount"], 20);
    let none = app
        .ok(&admin("bench-3"), "{ opportunities { totalCount } }", json!({}))
        .await;
    assert_eq!(
        none["opportunities"]["totalCount"], 0,
        "only one other tenant was asked for"
    );

    let again = run(&store, &tiny(as_of, RiskPath::Inline)).await;
    assert!(
        matches!(again, Err(AppError::Conflict(_))),
        "a tenant with data is refused"
    );
    let replaced = Plan {
        replace: true,
        ..tiny(as_of, RiskPath::Inline)
    };
    run(&store, &replaced).await.expect("replaced");
    let after = app.ok(&token, DEALS, json!({ "t": as_of })).await;
    assert_eq!(after, data, "--replace writes the same tenant again, not twice");
    store.close().await;
}

#[tokio::test]
async fn the_same_seed_gives_the_same_deals_and_refresh_stores_the_same_risk() {
    let as_of = Utc::now().trunc_subsecs(0);
    let (inline_app, inline_store) = generated(&tiny(as_of, RiskPath::Inline)).await;
    let (refresh_app, refresh_store) = generated(&tiny(as_of, RiskPath::Refresh)).await;
    let token = admin("bench");

    let inline = inline_app.ok(&token, DEALS, json!({ "t": as_of })).await;
    let refreshed = refresh_app.ok(&token, DEALS, json!({ "t": as_of })).await;
    assert_eq!(nodes(&inline).len(), 20);
    for (a, b) in nodes(&inline).iter().zip(nodes(&refreshed).iter()) {
        assert_eq!(
            a, b,
            "same ids, names, amounts, groups and stored risk from the same seed, whichever path stored the risk"
        );
    }

    let averages = "{ pipelineHealth { openCount averageRiskScore averageBuyingGroupSize averageDirectlyEngaged byFactor { code count } } }";
    assert_eq!(
        inline_app.ok(&token, averages, json!({})).await,
        refresh_app.ok(&token, averages, json!({})).await
    );

    // Both paths write every deal's backfilled risk history; the refresh path's sweep then
    // appends each open deal's first stored assessment at `as_of`, where the inline path
    // appends it only when it differs from the replay's last point (at midnight).
    let histories = "{ opportunities(first: 20, orderBy: {field: NAME, direction: ASC}) { edges { node {
        stage createdAt closedAt riskScore riskLevel riskHistory(last: 100) { at score level factorCodes } } } } }";
    let inline = inline_app.ok(&token, histories, json!({})).await;
    let refreshed = refresh_app.ok(&token, histories, json!({})).await;
    let instant = |v: &Value| v.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let mut closed = 0;
    for (a, b) in nodes(&inline).iter().zip(nodes(&refreshed).iter()) {
        let (mine, swept) = (
            a["riskHistory"].as_array().expect("history"),
            b["riskHistory"].as_array().expect("history"),
        );
        assert!(swept.len() < 100, "whole histories (within the query's complexity)");
        assert_eq!(
            instant(&mine[0]["at"]),
            instant(&a["createdAt"]),
            "replayed from creation: {a}"
        );
        let last = &mine[mine.len() - 1];
        if a["closedAt"].is_null() {
            assert_eq!(
                (&last["score"], &last["level"]),
                (&a["riskScore"], &a["riskLevel"]),
                "{a}"
            );
            let appended = &swept[swept.len() - 1];
            assert_eq!(instant(&appended["at"]), Some(as_of.into()), "{b}");
            let replay = if instant(&last["at"]) == Some(as_of.into()) {
                &mine[..mine.len() - 1]
            } else {
                &mine[..]
            };
            assert_eq!(replay, &swept[..swept.len() - 1], "the same replay on both paths");
        } else {
            closed += 1;
            assert_eq!(mine, swept, "a closed deal's history does not depend on the path");
            assert!(instant(&last["at"]) <= instant(&a["closedAt"]), "{a}");
        }
    }
    assert!(closed > 0, "some deals are closed");

    // So the outcome report has a level at close − lookback for every closed deal.
    let outcomes = inline_app
        .ok(&token, "{ riskOutcomes { closedDeals byLevel { deals } } }", json!({}))
        .await;
    assert_eq!(outcomes["riskOutcomes"]["closedDeals"], json!(closed));
    let by_level: i64 = outcomes["riskOutcomes"]["byLevel"]
        .as_array()
        .expect("levels")
        .iter()
        .filter_map(|l| l["deals"].as_i64())
        .sum();
    assert_eq!(by_level, closed);
    inline_store.close().await;
    refresh_store.close().await;
}
