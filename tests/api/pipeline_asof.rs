//! `pipelineHealth(asOf:)` (SPEC §8): the pipeline as it stood at three past instants,
//! rebuilt from imported stage, amount and close-date histories and compared with figures
//! worked out by hand from the records below; group outcomes (won, lost, win rate by owner);
//! the created and closed ranges of the filter; and another tenant that never counts.
//!
//! Every instant is a whole number of days before the moment the test starts, so the
//! figures do not depend on when it runs.

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code};

const HEALTH: &str = "query($f: OpportunityFilter, $g: PipelineGroupBy, $at: DateTime) {
  pipelineHealth(filter: $f, groupBy: $g, asOf: $at) {
    asOf openCount totals { currency count amount weightedAmount }
    byStage { stage count amount amounts { currency amount } averageDaysInStage }
    byRiskLevel { level count }
    groups { key count amount amounts { currency amount } weightedAmount won lost winRate }
    averageRiskScore averageBuyingGroupSize averageDirectlyEngaged winRate } }";

/// The moment the test started, to the second (what the stream's instants count back from).
struct Clock(DateTime<Utc>);

impl Clock {
    fn start() -> Clock {
        let now = Utc::now();
        Clock(now - Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos())))
    }

    fn ago(&self, days: i64) -> DateTime<Utc> {
        self.0 - Duration::days(days)
    }

    /// `days` days before the start, in RFC 3339.
    fn at(&self, days: i64) -> String {
        self.ago(days).to_rfc3339_opts(SecondsFormat::Secs, true)
    }

    /// The UTC date `days` days before (negative: after) the start.
    fn date(&self, days: i64) -> String {
        self.ago(days).format("%Y-%m-%d").to_string()
    }
}

/// Five deals, two owners, two currencies (days are days before the start):
///
/// | deal | owner | created | stages | amounts | close dates |
/// |---|---|---|---|---|---|
/// | D1 | olga | 100 | PROSPECTING 100, DISCOVERY 80, PROPOSAL 50, CLOSED_WON 20 | USD 10000 at 100, 12000 at 60 | +30 days at 100, +10 days at 40 |
/// | D2 | olga | 90 | DISCOVERY 90, NEGOTIATION 30, CLOSED_LOST 10 | EUR 5000 at 90, 8000 at 25 | +20 days at 90 |
/// | D3 | omar | 60 | PROSPECTING 60, EVALUATION 30 | USD 20000 at 60, 25000 at 15 | — |
/// | D4 | omar | 80 | PROPOSAL 80, CLOSED_WON 40 | EUR 3000, no changes | — |
/// | D5 | omar | 120 | NEGOTIATION 50 (history starts after creation) | USD 7000 at 50 | — |
///
/// D3 has one member, added 40 days before.
fn acme_stream(c: &Clock) -> String {
    let deal = |id: &str, owner: &str, created: i64, stage: &str, amount: &str, currency: &str| {
        json!({ "type": "opportunity", "externalId": id, "account": "A1", "name": format!("Deal {id}"), "ownerId": owner,
                "amount": amount, "currency": currency, "stage": stage, "createdAt": c.at(created) })
    };
    let stage = |id: &str, to: &str, days: i64| json!({ "type": "stage_change", "opportunity": id, "to": to, "at": c.at(days) });
    let amount = |id: &str, to: &str, days: i64| json!({ "type": "amount_change", "opportunity": id, "to": to, "at": c.at(days) });
    let close = |id: &str, to: String, days: i64| json!({ "type": "close_date_change", "opportunity": id, "to": to, "at": c.at(days) });
    let lines = [
        json!({ "type": "account", "externalId": "A1", "name": "Initech", "createdAt": c.at(200) }),
        json!({ "type": "contact", "externalId": "C1", "account": "A1", "fullName": "Dana Ruiz", "title": "CFO" }),
        deal("D1", "olga", 100, "CLOSED_WON", "12000", "USD"),
        stage("D1", "PROSPECTING", 100),
        stage("D1", "DISCOVERY", 80),
        stage("D1", "PROPOSAL", 50),
        stage("D1", "CLOSED_WON", 20),
        amount("D1", "10000", 100),
        amount("D1", "12000", 60),
        close("D1", c.date(-30), 100),
        close("D1", c.date(-10), 40),
        deal("D2", "olga", 90, "CLOSED_LOST", "8000", "EUR"),
        stage("D2", "DISCOVERY", 90),
        stage("D2", "NEGOTIATION", 30),
        stage("D2", "CLOSED_LOST", 10),
        amount("D2", "5000", 90),
        amount("D2", "8000", 25),
        close("D2", c.date(-20), 90),
        deal("D3", "omar", 60, "EVALUATION", "25000", "USD"),
        stage("D3", "PROSPECTING", 60),
        stage("D3", "EVALUATION", 30),
        amount("D3", "20000", 60),
        amount("D3", "25000", 15),
        json!({ "type": "member", "opportunity": "D3", "contact": "C1", "role": "ECONOMIC_BUYER", "addedAt": c.at(40) }),
        deal("D4", "omar", 80, "CLOSED_WON", "3000", "EUR"),
        stage("D4", "PROPOSAL", 80),
        stage("D4", "CLOSED_WON", 40),
        deal("D5", "omar", 120, "NEGOTIATION", "7000", "USD"),
        stage("D5", "NEGOTIATION", 50),
        amount("D5", "7000", 50),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Another tenant's deal, with the same external IDs and a large amount, open all along.
fn other_stream(c: &Clock) -> String {
    let lines = [
        json!({ "type": "account", "externalId": "A1", "name": "Elsewhere", "createdAt": c.at(200) }),
        json!({ "type": "opportunity", "externalId": "D1", "account": "A1", "name": "Theirs", "ownerId": "olga",
                "amount": "999999", "currency": "USD", "stage": "PROPOSAL", "createdAt": c.at(150) }),
        json!({ "type": "stage_change", "opportunity": "D1", "to": "DISCOVERY", "at": c.at(150) }),
        json!({ "type": "stage_change", "opportunity": "D1", "to": "PROPOSAL", "at": c.at(45) }),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

async fn import(app: &TestApp, token: &str, body: String) {
    let (status, summary) = crate::import::post_import(app, token, body, "").await;
    assert_eq!(status, 200, "{summary}");
}

async fn health(app: &TestApp, token: &str, at: Option<DateTime<Utc>>, group_by: Option<&str>, filter: Value) -> Value {
    let at = at.map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let data = app
        .ok(token, HEALTH, json!({ "f": filter, "g": group_by, "at": at }))
        .await;
    data["pipelineHealth"].clone()
}

/// (stage, count, amount) of `byStage`.
fn stages(h: &Value) -> Vec<(String, i64, Value)> {
    h["byStage"]
        .as_array()
        .expect("byStage")
        .iter()
        .map(|s| {
            (
                s["stage"].as_str().expect("stage").to_owned(),
                s["count"].as_i64().expect("count"),
                s["amount"].clone(),
            )
        })
        .collect()
}

fn days_in(h: &Value, stage: &str) -> f64 {
    h["byStage"]
        .as_array()
        .expect("byStage")
        .iter()
        .find(|s| s["stage"] == stage)
        .and_then(|s| s["averageDaysInStage"].as_f64())
        .expect("a row for the stage")
}

fn close_to(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-6)
}

fn total(currency: &str, count: i64, amount: &str, weighted: &str) -> Value {
    json!({ "currency": currency, "count": count, "amount": amount, "weightedAmount": weighted })
}

/// The level (and score) of a deal's `riskHistory` point in force at `at` (none: LOW, 0).
async fn stored_risk_at(app: &TestApp, token: &str, deal: &str, at: DateTime<Utc>) -> (String, i64) {
    let data = app
        .ok(
            token,
            "query($x: String!) { opportunityByExternalId(externalId: $x) { riskHistory { at score level } } }",
            json!({ "x": deal }),
        )
        .await;
    let points = data["opportunityByExternalId"]["riskHistory"]
        .as_array()
        .expect("riskHistory")
        .clone();
    let mut in_force = ("LOW".to_owned(), 0);
    for p in points {
        let stamped: DateTime<Utc> = p["at"].as_str().and_then(|t| t.parse().ok()).expect("instant");
        if stamped <= at {
            in_force = (
                p["level"].as_str().expect("level").to_owned(),
                p["score"].as_i64().expect("score"),
            );
        }
    }
    in_force
}

#[tokio::test]
async fn pipeline_health_as_of_three_past_instants_follows_the_histories() {
    let app = TestApp::spawn().await;
    let c = Clock::start();
    let token = admin("acme");
    let theirs = admin("other");
    import(&app, &theirs, other_stream(&c)).await;
    import(&app, &token, acme_stream(&c)).await;

    // 70 days before: D3 does not exist yet. D1 DISCOVERY (since 80) USD 10000; D2 DISCOVERY
    // (since 90) EUR 5000; D4 PROPOSAL (since 80) EUR 3000; D5 NEGOTIATION, its first recorded
    // stage, since its creation (120) USD 7000. Nothing closed.
    let t1 = c.ago(70);
    let h = health(&app, &token, Some(t1), Some("OWNER"), Value::Null).await;
    assert_eq!(h["asOf"], json!(c.at(70)));
    assert_eq!(h["openCount"], 4);
    assert_eq!(
        h["totals"],
        json!([
            // 5000 × 20 % + 3000 × 60 %; 10000 × 20 % + 7000 × 80 %.
            total("EUR", 2, "8000.00", "2800.00"),
            total("USD", 2, "17000.00", "7600.00")
        ])
    );
    assert_eq!(
        stages(&h),
        vec![
            ("DISCOVERY".into(), 2, Value::Null),
            ("PROPOSAL".into(), 1, json!("3000.00")),
            ("NEGOTIATION".into(), 1, json!("7000.00")),
        ]
    );
    assert!(close_to(&json!(days_in(&h, "DISCOVERY")), 15.0), "{h}");
    assert!(close_to(&json!(days_in(&h, "PROPOSAL")), 10.0), "{h}");
    assert!(close_to(&json!(days_in(&h, "NEGOTIATION")), 50.0), "{h}");
    assert_eq!(h["winRate"], Value::Null);
    assert_eq!(h["averageDirectlyEngaged"], Value::Null, "not stored over time");
    assert!(close_to(&h["averageBuyingGroupSize"], 0.0));
    assert_eq!(
        h["groups"],
        json!([
            { "key": "olga", "count": 2, "amount": null, "amounts": [{ "currency": "EUR", "amount": "5000.00" }, { "currency": "USD", "amount": "10000.00" }],
              "weightedAmount": null, "won": 0, "lost": 0, "winRate": null },
            { "key": "omar", "count": 2, "amount": null, "amounts": [{ "currency": "EUR", "amount": "3000.00" }, { "currency": "USD", "amount": "7000.00" }],
              "weightedAmount": null, "won": 0, "lost": 0, "winRate": null }
        ])
    );
    // The close dates then: D1's was 30 days after the start; D2's 20; the rest have none.
    let h = health(&app, &token, Some(t1), None, json!({ "closeDateFrom": c.date(-25) })).await;
    assert_eq!(
        (h["openCount"].clone(), stages(&h)),
        (json!(1), vec![("DISCOVERY".into(), 1, json!("10000.00"))])
    );

    // 35 days before: D1 PROPOSAL (since 50) USD 12000; D2 still DISCOVERY EUR 5000; D3
    // PROSPECTING (since 60) USD 20000, its one member already added; D4 CLOSED_WON (at 40);
    // D5 NEGOTIATION (since 50) USD 7000.
    let t2 = c.ago(35);
    let h = health(&app, &token, Some(t2), Some("OWNER"), Value::Null).await;
    assert_eq!(h["openCount"], 4);
    assert_eq!(
        h["totals"],
        json!([
            total("EUR", 1, "5000.00", "1000.00"),
            // 12000 × 60 % + 20000 × 10 % + 7000 × 80 %.
            total("USD", 3, "39000.00", "14800.00")
        ])
    );
    assert_eq!(
        stages(&h),
        vec![
            ("PROSPECTING".into(), 1, json!("20000.00")),
            ("DISCOVERY".into(), 1, json!("5000.00")),
            ("PROPOSAL".into(), 1, json!("12000.00")),
            ("NEGOTIATION".into(), 1, json!("7000.00")),
            ("CLOSED_WON".into(), 1, json!("3000.00")),
        ]
    );
    assert!(close_to(&json!(days_in(&h, "DISCOVERY")), 55.0), "{h}");
    assert!(close_to(&h["winRate"], 1.0));
    assert!(close_to(&h["averageBuyingGroupSize"], 0.25), "{h}");
    assert_eq!(
        h["groups"],
        json!([
            { "key": "olga", "count": 2, "amount": null, "amounts": [{ "currency": "EUR", "amount": "5000.00" }, { "currency": "USD", "amount": "12000.00" }],
              "weightedAmount": null, "won": 0, "lost": 0, "winRate": null },
            // 20000 × 10 % + 7000 × 80 %.
            { "key": "omar", "count": 2, "amount": "27000.00", "amounts": [{ "currency": "USD", "amount": "27000.00" }],
              "weightedAmount": "7600.00", "won": 1, "lost": 0, "winRate": 1.0 }
        ])
    );
    // The stored risk in force then: each open deal's riskHistory point at or before t2.
    let mut levels = std::collections::BTreeMap::<String, i64>::new();
    let mut score_sum = 0;
    for deal in ["D1", "D2", "D3", "D5"] {
        let (level, score) = stored_risk_at(&app, &token, deal, t2).await;
        *levels.entry(level).or_default() += 1;
        score_sum += score;
    }
    for level in h["byRiskLevel"].as_array().expect("levels") {
        let name = level["level"].as_str().expect("level");
        assert_eq!(
            level["count"],
            json!(levels.get(name).copied().unwrap_or(0)),
            "{name}: {h}"
        );
    }
    assert!(close_to(&h["averageRiskScore"], score_sum as f64 / 4.0), "{h}");
    // D1's close date then was 10 days after the start (changed at 40); D2's 20 days after.
    let h = health(&app, &token, Some(t2), None, json!({ "closeDateTo": c.date(-15) })).await;
    assert_eq!(stages(&h), vec![("PROPOSAL".into(), 1, json!("12000.00"))]);
    // Created 85 days before or later: D3 (open) and D4 (won).
    let h = health(&app, &token, Some(t2), None, json!({ "createdFrom": c.at(85) })).await;
    assert_eq!((h["openCount"].clone(), h["winRate"].clone()), (json!(1), json!(1.0)));
    assert_eq!(
        stages(&h),
        vec![
            ("PROSPECTING".into(), 1, json!("20000.00")),
            ("CLOSED_WON".into(), 1, json!("3000.00"))
        ]
    );
    // Created 85 days before or earlier: D1, D2, D5, all open then.
    let h = health(&app, &token, Some(t2), None, json!({ "createdTo": c.at(85) })).await;
    assert_eq!((h["openCount"].clone(), h["winRate"].clone()), (json!(3), Value::Null));

    // 5 days before: D1 CLOSED_WON (at 20) USD 12000; D2 CLOSED_LOST (at 10) EUR 8000; D3
    // EVALUATION (since 30) USD 25000; D4 CLOSED_WON EUR 3000; D5 NEGOTIATION USD 7000.
    let t3 = c.ago(5);
    let h = health(&app, &token, Some(t3), Some("OWNER"), Value::Null).await;
    let expected_totals = json!([total("USD", 2, "32000.00", "15600.00")]); // 25000 × 40 % + 7000 × 80 %
    let expected_stages: Vec<(String, i64, Value)> = vec![
        ("EVALUATION".into(), 1, json!("25000.00")),
        ("NEGOTIATION".into(), 1, json!("7000.00")),
        ("CLOSED_WON".into(), 2, Value::Null),
        ("CLOSED_LOST".into(), 1, json!("8000.00")),
    ];
    let expected_groups = json!([
        { "key": "olga", "count": 0, "amount": "0.00", "amounts": [], "weightedAmount": "0.00", "won": 1, "lost": 1, "winRate": 0.5 },
        { "key": "omar", "count": 2, "amount": "32000.00", "amounts": [{ "currency": "USD", "amount": "32000.00" }],
          "weightedAmount": "15600.00", "won": 1, "lost": 0, "winRate": 1.0 }
    ]);
    assert_eq!(h["openCount"], 2);
    assert_eq!(h["totals"], expected_totals);
    assert_eq!(stages(&h), expected_stages);
    assert!(close_to(&h["winRate"], 2.0 / 3.0));
    assert_eq!(h["groups"], expected_groups);
    // Closed on D1's closing day (20 days before): D1 only, as of t3.
    let day = json!({ "closedFrom": c.date(20), "closedTo": c.date(20) });
    let h = health(&app, &token, Some(t3), None, day.clone()).await;
    assert_eq!(stages(&h), vec![("CLOSED_WON".into(), 1, json!("12000.00"))]);

    // Nothing has changed since t3: the current answer (no asOf) has the same figures.
    let now = health(&app, &token, None, Some("OWNER"), Value::Null).await;
    assert_eq!(now["openCount"], 2);
    assert_eq!(now["totals"], expected_totals);
    assert_eq!(stages(&now), expected_stages);
    assert_eq!(now["groups"], expected_groups);
    assert!(close_to(&now["winRate"], 2.0 / 3.0));
    assert!(close_to(&now["averageBuyingGroupSize"], 0.5), "{now}");
    assert_ne!(now["averageDirectlyEngaged"], Value::Null);
    // An instant ahead is answered from the deals as they are, days in stage counted to it.
    let ahead = health(&app, &token, Some(c.ago(-10)), Some("OWNER"), Value::Null).await;
    assert_eq!(
        (ahead["totals"].clone(), ahead["groups"].clone()),
        (expected_totals.clone(), expected_groups.clone())
    );
    assert!(close_to(&json!(days_in(&ahead, "EVALUATION")), 40.0), "{ahead}");

    // The other tenant, 70 days before: its own deal only, in DISCOVERY until 45 days before.
    let h = health(&app, &theirs, Some(t1), Some("OWNER"), Value::Null).await;
    assert_eq!(h["totals"], json!([total("USD", 1, "999999.00", "199999.80")]));
    assert_eq!(stages(&h), vec![("DISCOVERY".into(), 1, json!("999999.00"))]);
}

#[tokio::test]
async fn created_and_closed_ranges_filter_the_current_pipeline() {
    let app = TestApp::spawn().await;
    let c = Clock::start();
    let token = admin("acme");
    import(&app, &token, acme_stream(&c)).await;

    // Closed now: D1 won 20 days before, D2 lost 10 days before, D4 won 40 days before.
    let h = health(
        &app,
        &token,
        None,
        Some("OWNER"),
        json!({ "closedFrom": c.date(25), "closedTo": c.date(15) }),
    )
    .await;
    assert_eq!(stages(&h), vec![("CLOSED_WON".into(), 1, json!("12000.00"))]);
    assert_eq!(
        h["groups"],
        json!([{ "key": "olga", "count": 0, "amount": "0.00", "amounts": [], "weightedAmount": "0.00", "won": 1, "lost": 0, "winRate": 1.0 }])
    );
    // Both ends are inclusive.
    let h = health(
        &app,
        &token,
        None,
        None,
        json!({ "closedFrom": c.date(10), "closedTo": c.date(10) }),
    )
    .await;
    assert_eq!((h["openCount"].clone(), h["winRate"].clone()), (json!(0), json!(0.0)));
    let h = health(&app, &token, None, None, json!({ "closedTo": c.date(15) })).await;
    assert_eq!(stages(&h), vec![("CLOSED_WON".into(), 2, Value::Null)]);
    // Created at or after 90 days before: D2, D3, D4 (D2 exactly at the bound).
    let h = health(&app, &token, None, None, json!({ "createdFrom": c.at(90) })).await;
    assert_eq!(
        stages(&h),
        vec![
            ("EVALUATION".into(), 1, json!("25000.00")),
            ("CLOSED_WON".into(), 1, json!("3000.00")),
            ("CLOSED_LOST".into(), 1, json!("8000.00")),
        ]
    );
    let h = health(
        &app,
        &token,
        None,
        None,
        json!({ "createdFrom": c.at(100), "createdTo": c.at(100) }),
    )
    .await;
    assert_eq!(stages(&h), vec![("CLOSED_WON".into(), 1, json!("12000.00"))]);

    // A range whose start lies after its end is bad input, naming the field.
    for (filter, field) in [
        (
            json!({ "createdFrom": c.at(1), "createdTo": c.at(2) }),
            "filter.createdFrom",
        ),
        (
            json!({ "closedFrom": c.date(1), "closedTo": c.date(2) }),
            "filter.closedFrom",
        ),
    ] {
        let body = app.gql(&token, HEALTH, json!({ "f": filter })).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
}
