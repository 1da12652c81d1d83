//! `pipelineHealth` against hand-computed expectations: several currencies, closed deals,
//! groups, filters, an empty tenant, and another tenant.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, token_for};

const HEALTH: &str = "query($f: OpportunityFilter, $g: PipelineGroupBy) { pipelineHealth(filter: $f, groupBy: $g) {
    asOf openCount totals { currency count amount weightedAmount }
    byStage { stage count amount amounts { currency amount } averageDaysInStage }
    byRiskLevel { level count amount amounts { currency amount } }
    byFactor { code count }
    groups { key label count amount amounts { currency amount } averageRiskScore highOrCriticalCount }
    averageRiskScore averageBuyingGroupSize averageDirectlyEngaged winRate } }";

async fn deal(
    app: &TestApp,
    token: &str,
    account: &str,
    name: &str,
    amount: &str,
    currency: &str,
    stage: &str,
) -> String {
    let data = app
        .ok(
            token,
            "mutation($a: ID!, $n: String!, $m: Decimal!, $c: String!, $s: Stage) { createOpportunity(input: {accountId: $a, name: $n, amount: $m, currency: $c, stage: $s}) { id } }",
            json!({ "a": account, "n": name, "m": amount, "c": currency, "s": stage }),
        )
        .await;
    data["createOpportunity"]["id"].as_str().expect("id").to_owned()
}

fn close_to(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

#[tokio::test]
async fn pipeline_health_matches_hand_computed_figures() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let alpha = app.create_account(&token, "Alpha").await;
    let beta = app.create_account(&token, "Beta").await;
    let a1 = deal(&app, &token, &alpha, "A1", "100000.00", "USD", "PROPOSAL").await;
    deal(&app, &token, &alpha, "A2", "50000", "USD", "NEGOTIATION").await;
    deal(&app, &token, &beta, "B1", "20000.50", "EUR", "DISCOVERY").await;
    deal(&app, &token, &beta, "B2", "10000", "USD", "CLOSED_WON").await;
    deal(&app, &token, &beta, "B3", "5000", "USD", "CLOSED_LOST").await;
    // Two members on A1: 20 + 15 + 10 + 10 (LOW_COVERAGE) = 55, HIGH. The others: 45, MEDIUM.
    for name in ["Pat One", "Kim Two"] {
        let contact = app.create_contact(&token, &alpha, name, "Engineer").await;
        app.add_member(&token, &a1, &contact, "OTHER").await;
    }

    let data = app.ok(&token, HEALTH, json!({ "g": "ACCOUNT" })).await;
    let h = &data["pipelineHealth"];
    assert_eq!(h["openCount"], 3);
    assert_eq!(
        h["totals"],
        json!([
            { "currency": "EUR", "count": 1, "amount": "20000.50", "weightedAmount": "4000.10" },
            { "currency": "USD", "count": 2, "amount": "150000.00", "weightedAmount": "100000.00" }
        ])
    );
    let stages: Vec<(&str, i64, Value)> = h["byStage"]
        .as_array()
        .expect("stages")
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().expect("stage"),
                s["count"].as_i64().expect("count"),
                s["amount"].clone(),
            )
        })
        .collect();
    assert_eq!(
        stages,
        vec![
            ("DISCOVERY", 1, json!("20000.50")),
            ("PROPOSAL", 1, json!("100000.00")),
            ("NEGOTIATION", 1, json!("50000.00")),
            ("CLOSED_WON", 1, json!("10000.00")),
            ("CLOSED_LOST", 1, json!("5000.00")),
        ]
    );
    assert!(h["byStage"].as_array().expect("stages").iter().all(|s| {
        s["averageDaysInStage"]
            .as_f64()
            .is_some_and(|d| (0.0..1.0).contains(&d))
    }));
    assert_eq!(
        h["byRiskLevel"],
        json!([
            { "level": "LOW", "count": 0, "amount": "0.00", "amounts": [] },
            { "level": "MEDIUM", "count": 2, "amount": null, "amounts": [{ "currency": "EUR", "amount": "20000.50" }, { "currency": "USD", "amount": "50000.00" }] },
            { "level": "HIGH", "count": 1, "amount": "100000.00", "amounts": [{ "currency": "USD", "amount": "100000.00" }] },
            { "level": "CRITICAL", "count": 0, "amount": "0.00", "amounts": [] }
        ])
    );
    let factors: Vec<(String, i64)> = h["byFactor"]
        .as_array()
        .expect("factors")
        .iter()
        .filter(|f| f["count"].as_i64() != Some(0))
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_owned(),
                f["count"].as_i64().expect("count"),
            )
        })
        .collect();
    assert_eq!(
        factors,
        vec![
            ("SINGLE_THREADED".into(), 3),
            ("NO_MOBILIZER".into(), 3),
            ("BUYING_GROUP_GAPS".into(), 3),
            ("LOW_COVERAGE".into(), 1)
        ]
    );
    assert_eq!(h["byFactor"].as_array().map(Vec::len), Some(12));
    assert!(
        close_to(&h["averageRiskScore"], 145.0 / 3.0),
        "{}",
        h["averageRiskScore"]
    );
    assert!(close_to(&h["averageBuyingGroupSize"], 2.0 / 3.0));
    assert!(close_to(&h["averageDirectlyEngaged"], 0.0));
    assert!(close_to(&h["winRate"], 0.5));
    assert_eq!(
        h["groups"],
        json!([
            { "key": alpha, "label": "Alpha", "count": 2, "amount": "150000.00", "amounts": [{ "currency": "USD", "amount": "150000.00" }], "averageRiskScore": 50.0, "highOrCriticalCount": 1 },
            { "key": beta, "label": "Beta", "count": 1, "amount": "20000.50", "amounts": [{ "currency": "EUR", "amount": "20000.50" }], "averageRiskScore": 45.0, "highOrCriticalCount": 0 }
        ])
    );

    let data = app
        .ok(&token, HEALTH, json!({ "g": "STAGE", "f": { "currency": "USD" } }))
        .await;
    let h = &data["pipelineHealth"];
    assert_eq!(h["openCount"], 2);
    assert!(close_to(&h["winRate"], 0.5));
    let groups: Vec<(&str, &str, i64)> = h["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["key"].as_str().expect("key"),
                g["label"].as_str().expect("label"),
                g["count"].as_i64().expect("count"),
            )
        })
        .collect();
    // A row for every key with matching deals: the closed stages count no open deal.
    assert_eq!(
        groups,
        vec![
            ("PROPOSAL", "Proposal", 1),
            ("NEGOTIATION", "Negotiation", 1),
            ("CLOSED_WON", "Closed won", 0),
            ("CLOSED_LOST", "Closed lost", 0)
        ]
    );

    let data = app.ok(&token, HEALTH, json!({ "g": "RISK_LEVEL" })).await;
    let levels: Vec<(&str, i64, i64)> = data["pipelineHealth"]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| {
            (
                g["key"].as_str().expect("key"),
                g["count"].as_i64().expect("count"),
                g["highOrCriticalCount"].as_i64().expect("n"),
            )
        })
        .collect();
    // B2 and B3 are closed, so stored as LOW: their level has a row without open deals.
    assert_eq!(levels, vec![("LOW", 0, 0), ("MEDIUM", 2, 0), ("HIGH", 1, 1)]);

    let data = app
        .ok(&token, HEALTH, json!({ "g": "OWNER", "f": { "open": false } }))
        .await;
    let h = &data["pipelineHealth"];
    assert_eq!(h["openCount"], 0);
    let owners: Vec<(&str, i64)> = h["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .map(|g| (g["key"].as_str().expect("key"), g["count"].as_i64().expect("count")))
        .collect();
    assert_eq!(
        owners,
        vec![("admin-user", 0)],
        "the owner of B2 and B3, without open deals"
    );
    assert!(close_to(&h["winRate"], 0.5));
}

#[tokio::test]
async fn an_empty_tenant_and_another_tenant_see_an_empty_pipeline() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Alpha").await;
    deal(&app, &token, &account, "A1", "1", "USD", "PROPOSAL").await;
    for tenant in ["empty-tenant", "other"] {
        let data = app.ok(&admin(tenant), HEALTH, json!({ "g": "OWNER" })).await;
        let h = &data["pipelineHealth"];
        assert_eq!(h["openCount"], 0);
        assert_eq!(
            (h["totals"].clone(), h["byStage"].clone(), h["groups"].clone()),
            (json!([]), json!([]), json!([]))
        );
        assert_eq!(
            (h["averageRiskScore"].clone(), h["winRate"].clone()),
            (Value::Null, Value::Null)
        );
        assert!(
            h["byFactor"]
                .as_array()
                .expect("factors")
                .iter()
                .all(|f| f["count"] == 0)
        );
    }
}

#[tokio::test]
async fn owner_groups_sum_each_owners_open_deals() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let olive = token_for("acme", "olive", &["seller"]);
    let oscar = token_for("acme", "oscar", &["seller"]);
    let account = app.create_account(&token, "Owners Inc").await;
    let pat = app.create_contact(&token, &account, "Pat One", "CFO").await;
    // Stored scores (SPEC §4 default points, no interactions): an empty group 45 (MEDIUM);
    // one member, none engaged: 55 (HIGH); a veto holder alone: 70 (HIGH); a supportive
    // mobilizer alone: 40 (MEDIUM).
    deal(&app, &olive, &account, "O1", "1000", "USD", "PROPOSAL").await;
    let o2 = deal(&app, &olive, &account, "O2", "3000", "USD", "DISCOVERY").await;
    app.add_member_as(&olive, &o2, &pat, "OTHER", "UNKNOWN", true).await;
    deal(&app, &oscar, &account, "P1", "500.50", "EUR", "NEGOTIATION").await;
    let p2 = deal(&app, &oscar, &account, "P2", "200", "USD", "PROSPECTING").await;
    app.add_member(&oscar, &p2, &pat, "OTHER").await;
    deal(&app, &oscar, &account, "P3", "999", "USD", "CLOSED_WON").await;
    let z1 = app
        .create_deal(
            &token,
            json!({ "accountId": account, "name": "Z1", "amount": "10", "currency": "GBP", "stage": "PROSPECTING", "ownerId": "zed" }),
        )
        .await;
    app.add_member_as(&token, &z1, &pat, "MOBILIZER", "SUPPORTIVE", false)
        .await;

    let olive_group = json!({ "key": "olive", "label": "olive", "count": 2, "amount": "4000.00",
        "amounts": [{ "currency": "USD", "amount": "4000.00" }], "averageRiskScore": 57.5, "highOrCriticalCount": 1 });
    let oscar_group = json!({ "key": "oscar", "label": "oscar", "count": 2, "amount": null,
        "amounts": [{ "currency": "EUR", "amount": "500.50" }, { "currency": "USD", "amount": "200.00" }],
        "averageRiskScore": 50.0, "highOrCriticalCount": 1 });
    let zed_group = json!({ "key": "zed", "label": "zed", "count": 1, "amount": "10.00",
        "amounts": [{ "currency": "GBP", "amount": "10.00" }], "averageRiskScore": 40.0, "highOrCriticalCount": 0 });

    let data = app.ok(&token, HEALTH, json!({ "g": "OWNER" })).await;
    let h = &data["pipelineHealth"];
    assert_eq!(h["openCount"], 5);
    assert_eq!(
        h["groups"],
        json!([olive_group, oscar_group, zed_group]),
        "one row per owner of open deals, by label; P3 is closed"
    );
    // Weighted by stage: PROPOSAL 60 %, DISCOVERY 20 %, PROSPECTING 10 %, NEGOTIATION 80 %.
    assert_eq!(
        h["totals"],
        json!([
            { "currency": "EUR", "count": 1, "amount": "500.50", "weightedAmount": "400.40" },
            { "currency": "GBP", "count": 1, "amount": "10.00", "weightedAmount": "1.00" },
            { "currency": "USD", "count": 3, "amount": "4200.00", "weightedAmount": "1220.00" }
        ])
    );
    assert!(
        close_to(&h["averageRiskScore"], 255.0 / 5.0),
        "{}",
        h["averageRiskScore"]
    );
    assert!(close_to(&h["winRate"], 1.0));

    let data = app
        .ok(&token, HEALTH, json!({ "g": "OWNER", "f": { "currency": "USD" } }))
        .await;
    assert_eq!(
        data["pipelineHealth"]["groups"],
        json!([
            { "key": "olive", "label": "olive", "count": 2, "amount": "4000.00",
              "amounts": [{ "currency": "USD", "amount": "4000.00" }], "averageRiskScore": 57.5, "highOrCriticalCount": 1 },
            { "key": "oscar", "label": "oscar", "count": 1, "amount": "200.00",
              "amounts": [{ "currency": "USD", "amount": "200.00" }], "averageRiskScore": 55.0, "highOrCriticalCount": 1 }
        ])
    );
    let data = app
        .ok(&token, HEALTH, json!({ "g": "OWNER", "f": { "ownerId": "oscar" } }))
        .await;
    assert_eq!(data["pipelineHealth"]["groups"], json!([oscar_group]));
    assert_eq!(data["pipelineHealth"]["openCount"], 2);
    let data = app
        .ok(&token, HEALTH, json!({ "g": "OWNER", "f": { "ownerId": "nobody" } }))
        .await;
    assert_eq!(data["pipelineHealth"]["groups"], json!([]));
    assert_eq!(data["pipelineHealth"]["openCount"], 0);
}
