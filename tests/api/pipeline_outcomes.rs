//! `riskOutcomes` (SPEC §8): closed deals imported with a history that makes them stall (more
//! than 60 days in one stage) before closing or not, so that whether `STALLED` was in force in
//! the lookback window is known by hand; win rates with and without, lift, levels, the
//! closed range, bad lookbacks, roles and tenants.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, token_for};

const OUTCOMES: &str = "query($f: OpportunityFilter, $from: Date, $to: Date, $days: Int) {
  riskOutcomes(filter: $f, closedFrom: $from, closedTo: $to, lookbackDays: $days) {
    closedDeals won lost winRate
    byFactor { code withFactor wonWithFactor winRateWith withoutFactor wonWithoutFactor winRateWithout lift }
    byLevel { level deals won lost winRate } } }";

/// Closed deals of 2025 (no buying group, no interactions), all created at 09:00 and closed
/// at 12:00; a deal stalls once it has been more than 60 days in its stage (replayed at each
/// day's start, so from 3 March for a deal created on 1 January):
///
/// | deal | created | stages | closed | stalled in force |
/// |---|---|---|---|---|
/// | S1 | 1 Jan | PROSPECTING | lost 1 Apr | 3 Mar → close |
/// | S2 | 1 Jan | PROSPECTING, DISCOVERY 20 Mar 12:00 | won 1 Apr | 3 Mar → 21 Mar |
/// | S3 | 15 Feb | PROSPECTING | won 1 Apr | never (45 days) |
/// | S4 | 1 Mar | PROSPECTING | lost 25 Mar | never |
/// | S5 | 1 Jan | PROSPECTING | lost 1 Apr | 3 Mar → close |
/// | O1 | 1 Jan | PROSPECTING | open | (not closed: not counted) |
/// A deal's stage changes after creation: (stage, day).
type Changes = &'static [(&'static str, &'static str)];

fn acme_stream() -> String {
    let mut lines =
        vec![json!({ "type": "account", "externalId": "A1", "name": "Initech", "createdAt": "2024-12-01T00:00:00Z" })];
    // (deal, created on, [(stage, entered on)]), all of 2025.
    let deals: [(&str, &str, Changes); 6] = [
        ("S1", "01-01", &[("CLOSED_LOST", "04-01")]),
        ("S2", "01-01", &[("DISCOVERY", "03-20"), ("CLOSED_WON", "04-01")]),
        ("S3", "02-15", &[("CLOSED_WON", "04-01")]),
        ("S4", "03-01", &[("CLOSED_LOST", "03-25")]),
        ("S5", "01-01", &[("CLOSED_LOST", "04-01")]),
        ("O1", "01-01", &[]),
    ];
    for (id, created, changes) in deals {
        let stage = changes.last().map_or("PROSPECTING", |(s, _)| *s);
        lines.push(
            json!({ "type": "opportunity", "externalId": id, "account": "A1", "name": format!("Deal {id}"),
                           "ownerId": "olga", "amount": "1000", "currency": "USD", "stage": stage,
                           "createdAt": format!("2025-{created}T09:00:00Z") }),
        );
        lines.push(json!({ "type": "stage_change", "opportunity": id, "to": "PROSPECTING", "at": format!("2025-{created}T09:00:00Z") }));
        for (to, day) in changes {
            lines.push(
                json!({ "type": "stage_change", "opportunity": id, "to": to, "at": format!("2025-{day}T12:00:00Z") }),
            );
        }
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

async fn outcomes(app: &TestApp, token: &str, vars: Value) -> Value {
    app.ok(token, OUTCOMES, vars).await["riskOutcomes"].clone()
}

fn factor<'a>(report: &'a Value, code: &str) -> &'a Value {
    report["byFactor"]
        .as_array()
        .expect("byFactor")
        .iter()
        .find(|f| f["code"] == code)
        .expect("a row per factor")
}

/// (with, won with, without, won without) of a factor.
fn counts(f: &Value) -> (i64, i64, i64, i64) {
    let n = |k: &str| f[k].as_i64().expect(k);
    (
        n("withFactor"),
        n("wonWithFactor"),
        n("withoutFactor"),
        n("wonWithoutFactor"),
    )
}

fn close_to(value: &Value, expected: f64) -> bool {
    value.as_f64().is_some_and(|v| (v - expected).abs() < 1e-9)
}

/// The level of a deal's `riskHistory` point in force at `at` (none: LOW).
async fn level_at(app: &TestApp, token: &str, deal: &str, at: DateTime<Utc>) -> String {
    let data = app
        .ok(
            token,
            "query($x: String!) { opportunityByExternalId(externalId: $x) { riskHistory { at level } } }",
            json!({ "x": deal }),
        )
        .await;
    let mut level = "LOW".to_owned();
    for p in data["opportunityByExternalId"]["riskHistory"]
        .as_array()
        .expect("riskHistory")
    {
        let stamped: DateTime<Utc> = p["at"].as_str().and_then(|t| t.parse().ok()).expect("instant");
        if stamped <= at {
            level = p["level"].as_str().expect("level").to_owned();
        }
    }
    level
}

#[tokio::test]
async fn stalling_before_closing_is_counted_in_the_lookback_window() {
    let app = TestApp::spawn().await;
    import(&app, &admin("acme"), acme_stream()).await;
    let analyst = token_for("acme", "ann", &["analyst"]);

    // 30 days back: S1, S2 and S5 carried STALLED (S2 until 21 March), S3 and S4 did not.
    let r = outcomes(&app, &analyst, json!({})).await;
    assert_eq!(
        (r["closedDeals"].clone(), r["won"].clone(), r["lost"].clone()),
        (json!(5), json!(2), json!(3))
    );
    assert!(close_to(&r["winRate"], 0.4), "{r}");
    assert_eq!(r["byFactor"].as_array().map(Vec::len), Some(12));
    let stalled = factor(&r, "STALLED");
    assert_eq!(counts(stalled), (3, 1, 2, 1), "{stalled}");
    assert!(
        close_to(&stalled["winRateWith"], 1.0 / 3.0) && close_to(&stalled["winRateWithout"], 0.5),
        "{stalled}"
    );
    // Deals without it were won 1.5 times as often.
    assert!(close_to(&stalled["lift"], 1.5), "{stalled}");
    // No buying group: every deal was single-threaded while open, so no rate without it.
    let single = factor(&r, "SINGLE_THREADED");
    assert_eq!(counts(single), (5, 2, 0, 0), "{single}");
    assert_eq!(
        (single["winRateWithout"].clone(), single["lift"].clone()),
        (Value::Null, Value::Null)
    );
    // The level in force 30 days before each close (S4: at its creation, which is later).
    let mut expected = std::collections::BTreeMap::<String, (i64, i64)>::new();
    for (deal, start, won) in [
        ("S1", "2025-03-02T12:00:00Z", false),
        ("S2", "2025-03-02T12:00:00Z", true),
        ("S3", "2025-03-02T12:00:00Z", true),
        ("S4", "2025-03-01T09:00:00Z", false),
        ("S5", "2025-03-02T12:00:00Z", false),
    ] {
        let at: DateTime<Utc> = start.parse().expect("instant");
        let entry = expected.entry(level_at(&app, &analyst, deal, at).await).or_default();
        entry.0 += 1;
        entry.1 += i64::from(won);
    }
    for level in r["byLevel"].as_array().expect("byLevel") {
        let (deals, won) = expected
            .get(level["level"].as_str().expect("level"))
            .copied()
            .unwrap_or((0, 0));
        assert_eq!(
            (level["deals"].clone(), level["won"].clone(), level["lost"].clone()),
            (json!(deals), json!(won), json!(deals - won)),
            "{level}"
        );
    }
    assert_eq!(r["byLevel"].as_array().map(Vec::len), Some(4));

    // 10 days back: S2 had moved on by then; the stalled deals were all lost (a win rate of
    // 0 with it: no lift).
    let r = outcomes(&app, &analyst, json!({ "days": 10 })).await;
    let stalled = factor(&r, "STALLED");
    assert_eq!(counts(stalled), (2, 0, 3, 2), "{stalled}");
    assert_eq!(stalled["lift"], Value::Null);
    assert!(close_to(&stalled["winRateWith"], 0.0), "{stalled}");

    // No lookback: an empty window carries nothing, and the level at the close is the
    // closed deal's (LOW).
    let r = outcomes(&app, &analyst, json!({ "days": 0 })).await;
    assert!(
        r["byFactor"]
            .as_array()
            .expect("byFactor")
            .iter()
            .all(|f| f["withFactor"] == 0),
        "{r}"
    );
    assert_eq!(
        r["byLevel"][0],
        json!({ "level": "LOW", "deals": 5, "won": 2, "lost": 3, "winRate": 0.4 })
    );

    // Closed on or before 31 March: S4 only (lost); the filter narrows too.
    let r = outcomes(&app, &analyst, json!({ "to": "2025-03-31" })).await;
    assert_eq!((r["closedDeals"].clone(), r["lost"].clone()), (json!(1), json!(1)));
    let r = outcomes(
        &app,
        &analyst,
        json!({ "from": "2025-04-01", "f": { "externalIds": ["S2", "S4", "O1"] } }),
    )
    .await;
    assert_eq!((r["closedDeals"].clone(), r["won"].clone()), (json!(1), json!(1)));

    // Bad lookbacks and ranges.
    for (vars, field) in [
        (json!({ "days": -1 }), "lookbackDays"),
        (json!({ "days": 3651 }), "lookbackDays"),
        (json!({ "from": "2025-04-02", "to": "2025-04-01" }), "closedFrom"),
    ] {
        let body = app.gql(&analyst, OUTCOMES, vars.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{vars}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }

    // Another tenant has none of these deals.
    let r = outcomes(&app, &token_for("other", "ann", &["analyst"]), json!({})).await;
    assert_eq!(
        (r["closedDeals"].clone(), r["winRate"].clone()),
        (json!(0), Value::Null)
    );
    assert_eq!(counts(factor(&r, "STALLED")), (0, 0, 0, 0));
}

async fn import(app: &TestApp, token: &str, body: String) {
    let (status, summary) = crate::import::post_import(app, token, body, "").await;
    assert_eq!(status, 200, "{summary}");
}

#[tokio::test]
async fn the_outcomes_csv_has_a_row_per_factor_equal_to_the_graphql_answer() {
    let app = TestApp::spawn().await;
    import(&app, &admin("acme"), acme_stream()).await;
    let analyst = token_for("acme", "ann", &["analyst"]);
    let csv_of = async |path: &str| {
        let response = app
            .client
            .get(format!("{}{path}", app.url))
            .bearer_auth(&analyst)
            .send()
            .await
            .expect("sent");
        let status = response.status().as_u16();
        let disposition = response
            .headers()
            .get("content-disposition")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        (status, disposition, response.text().await.expect("body"))
    };
    for (path, vars) in [
        ("/export/risk_outcomes.csv", json!({})),
        (
            "/export/risk_outcomes.csv?lookbackDays=10&closedFrom=2025-04-01",
            json!({ "days": 10, "from": "2025-04-01" }),
        ),
    ] {
        let (status, disposition, body) = csv_of(path).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            disposition.as_deref(),
            Some("attachment; filename=\"risk_outcomes.csv\"")
        );
        let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
        let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
        assert_eq!(
            header,
            [
                "code",
                "withFactor",
                "wonWithFactor",
                "winRateWith",
                "withoutFactor",
                "wonWithoutFactor",
                "winRateWithout",
                "lift"
            ]
        );
        let rows: Vec<Vec<String>> = reader
            .records()
            .map(|r| r.expect("record").iter().map(str::to_owned).collect())
            .collect();
        let report = outcomes(&app, &analyst, vars).await;
        let by_factor = report["byFactor"].as_array().expect("byFactor");
        assert_eq!(rows.len(), 12, "a row per factor code");
        // The same figures: codes and counts as written, rates as numbers (empty for null).
        let same = |csv: &str, json: &Value| match json {
            Value::Null => csv.is_empty(),
            Value::String(s) => csv == s,
            v => csv.parse::<f64>().ok() == v.as_f64(),
        };
        for (row, f) in rows.iter().zip(by_factor) {
            let fields = [
                "code",
                "withFactor",
                "wonWithFactor",
                "winRateWith",
                "withoutFactor",
                "wonWithoutFactor",
                "winRateWithout",
                "lift",
            ];
            for (value, field) in row.iter().zip(fields) {
                assert!(same(value, &f[field]), "{path}: {field} {value:?} vs {}", f[field]);
            }
        }
    }
    // By hand (see `acme_stream`), 30 days back: STALLED on 3 deals, 1 won; 2 without, 1 won.
    let (_, _, body) = csv_of("/export/risk_outcomes.csv").await;
    let stalled = body.lines().find(|l| l.starts_with("STALLED,")).expect("a STALLED row");
    assert!(stalled.starts_with("STALLED,3,1,0.333"), "{stalled}");
    assert!(stalled.trim_end().ends_with(",2,1,0.5,1.5"), "{stalled}");
    // Bad parameters are refused, naming them; no token, no file.
    for (path, field) in [
        ("/export/risk_outcomes.csv?lookbackDays=-1", "lookbackDays"),
        ("/export/risk_outcomes.csv?lookbackDays=soon", "lookbackDays"),
        (
            "/export/risk_outcomes.csv?lookbackDays=1&lookbackDays=2",
            "lookbackDays",
        ),
        (
            "/export/risk_outcomes.csv?closedFrom=2025-04-02&closedTo=2025-04-01",
            "closedFrom",
        ),
    ] {
        let (status, _, body) = csv_of(path).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert!(body.contains(field), "{path}: {body}");
    }
    let anonymous = app
        .client
        .get(format!("{}/export/risk_outcomes.csv", app.url))
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status().as_u16(), 401);
}
