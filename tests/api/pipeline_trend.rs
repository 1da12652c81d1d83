//! `pipelineTrend` and `/export/pipeline_trend.csv` (SPEC §8): points at Monday weeks and
//! month starts, each equal to `pipelineHealth(asOf:)` at its instant, with the deals
//! created, won and lost during its interval worked out by hand from the records imported
//! below; the CSV equal to the GraphQL answer; bad ranges refused; roles and tenants.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, token_for};

const TREND: &str = "query($f: OpportunityFilter, $from: Date!, $to: Date!, $i: TrendInterval!) {
  pipelineTrend(filter: $f, from: $from, to: $to, interval: $i) {
    at openCount totals { currency count amount weightedAmount }
    byStage { stage count amount amounts { currency amount } averageDaysInStage }
    byRiskLevel { level count amount amounts { currency amount } }
    averageRiskScore created won lost
    wonAmounts { currency amount } lostAmounts { currency amount } } }";

const HEALTH: &str = "query($f: OpportunityFilter, $at: DateTime) {
  pipelineHealth(filter: $f, asOf: $at) {
    openCount totals { currency count amount weightedAmount }
    byStage { stage count amount amounts { currency amount } averageDaysInStage }
    byRiskLevel { level count amount amounts { currency amount } }
    averageRiskScore } }";

/// Six deals in January 2025 (Mondays: the 6th, 13th, 20th and 27th):
///
/// | deal | currency | created | stages | amounts |
/// |---|---|---|---|---|
/// | T1 | USD | Thu 2 10:00 | PROSPECTING, DISCOVERY Wed 8 09:00, CLOSED_WON Wed 22 12:00 | 10000, 15000 from Wed 15 |
/// | T2 | EUR | Tue 7 08:00 | PROPOSAL, CLOSED_LOST Mon 13 00:00 (on a week's first instant) | 5000 |
/// | T3 | USD | Mon 13 00:00 | NEGOTIATION | 20000 |
/// | T4 | USD | Mon 20 15:00 | EVALUATION, CLOSED_WON Sun 26 23:59:59 | 3000 |
/// | T5 | EUR | Mon 27 12:00 | PROSPECTING | 1000 |
/// | T6 | USD | Wed 29 09:00 | PROPOSAL, CLOSED_WON Thu 30 09:00 | 2000 |
fn acme_stream() -> String {
    let deal = |id: &str, created: &str, stage: &str, amount: &str, currency: &str| {
        json!({ "type": "opportunity", "externalId": id, "account": "A1", "name": format!("Deal {id}"), "ownerId": "olga",
                "amount": amount, "currency": currency, "stage": stage, "createdAt": created })
    };
    let stage = |id: &str, to: &str, at: &str| json!({ "type": "stage_change", "opportunity": id, "to": to, "at": at });
    let amount =
        |id: &str, to: &str, at: &str| json!({ "type": "amount_change", "opportunity": id, "to": to, "at": at });
    let lines = [
        json!({ "type": "account", "externalId": "A1", "name": "Initech", "createdAt": "2024-12-01T00:00:00Z" }),
        deal("T1", "2025-01-02T10:00:00Z", "CLOSED_WON", "15000", "USD"),
        stage("T1", "PROSPECTING", "2025-01-02T10:00:00Z"),
        stage("T1", "DISCOVERY", "2025-01-08T09:00:00Z"),
        stage("T1", "CLOSED_WON", "2025-01-22T12:00:00Z"),
        amount("T1", "10000", "2025-01-02T10:00:00Z"),
        amount("T1", "15000", "2025-01-15T00:00:00Z"),
        deal("T2", "2025-01-07T08:00:00Z", "CLOSED_LOST", "5000", "EUR"),
        stage("T2", "PROPOSAL", "2025-01-07T08:00:00Z"),
        stage("T2", "CLOSED_LOST", "2025-01-13T00:00:00Z"),
        deal("T3", "2025-01-13T00:00:00Z", "NEGOTIATION", "20000", "USD"),
        stage("T3", "NEGOTIATION", "2025-01-13T00:00:00Z"),
        deal("T4", "2025-01-20T15:00:00Z", "CLOSED_WON", "3000", "USD"),
        stage("T4", "EVALUATION", "2025-01-20T15:00:00Z"),
        stage("T4", "CLOSED_WON", "2025-01-26T23:59:59Z"),
        deal("T5", "2025-01-27T12:00:00Z", "PROSPECTING", "1000", "EUR"),
        deal("T6", "2025-01-29T09:00:00Z", "CLOSED_WON", "2000", "USD"),
        stage("T6", "PROPOSAL", "2025-01-29T09:00:00Z"),
        stage("T6", "CLOSED_WON", "2025-01-30T09:00:00Z"),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Another tenant's deal created in the first week: never part of acme's figures.
fn other_stream() -> String {
    let lines = [
        json!({ "type": "account", "externalId": "A1", "name": "Elsewhere", "createdAt": "2024-12-01T00:00:00Z" }),
        json!({ "type": "opportunity", "externalId": "T1", "account": "A1", "name": "Theirs", "ownerId": "olga",
                "amount": "99999", "currency": "USD", "stage": "CLOSED_WON", "createdAt": "2025-01-09T00:00:00Z" }),
        json!({ "type": "stage_change", "opportunity": "T1", "to": "DISCOVERY", "at": "2025-01-09T00:00:00Z" }),
        json!({ "type": "stage_change", "opportunity": "T1", "to": "CLOSED_WON", "at": "2025-01-10T00:00:00Z" }),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

async fn import(app: &TestApp, token: &str, body: String) {
    let (status, summary) = crate::import::post_import(app, token, body, "").await;
    assert_eq!(status, 200, "{summary}");
}

async fn trend(app: &TestApp, token: &str, from: &str, to: &str, interval: &str, filter: Value) -> Vec<Value> {
    let data = app
        .ok(
            token,
            TREND,
            json!({ "f": filter, "from": from, "to": to, "i": interval }),
        )
        .await;
    data["pipelineTrend"].as_array().expect("points").clone()
}

/// (at, openCount, created, won, lost) of each point.
fn flows(points: &[Value]) -> Vec<(String, i64, i64, i64, i64)> {
    points
        .iter()
        .map(|p| {
            let n = |k: &str| p[k].as_i64().expect(k);
            (
                p["at"].as_str().expect("at").to_owned(),
                n("openCount"),
                n("created"),
                n("won"),
                n("lost"),
            )
        })
        .collect()
}

fn total(currency: &str, count: i64, amount: &str, weighted: &str) -> Value {
    json!({ "currency": currency, "count": count, "amount": amount, "weightedAmount": weighted })
}

fn money(currency: &str, amount: &str) -> Value {
    json!({ "currency": currency, "amount": amount })
}

#[tokio::test]
async fn trend_points_are_the_pipeline_as_of_each_interval_start_with_its_flows() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    import(&app, &admin("other"), other_stream()).await;
    import(&app, &token, acme_stream()).await;

    // From Wednesday 1 to Monday 27: the four Mondays.
    let weeks = trend(&app, &token, "2025-01-01", "2025-01-27", "WEEK", Value::Null).await;
    assert_eq!(
        flows(&weeks),
        vec![
            // Jan 6: T1 open. During the week: T2 created (T3's creation and T2's loss fall on
            // the 13th's first instant: the next week).
            ("2025-01-06T00:00:00Z".into(), 1, 1, 0, 0),
            // Jan 13: T1 and T3 open (T3 created, T2 lost at this very instant). During: T3
            // created, T2 lost.
            ("2025-01-13T00:00:00Z".into(), 2, 1, 0, 1),
            // Jan 20: T1 and T3. During: T4 created; T1 and T4 won.
            ("2025-01-20T00:00:00Z".into(), 2, 1, 2, 0),
            // Jan 27: T3. During, up to the end of the 27th (`to`): T5 created; T6 (the 29th)
            // comes after `to` and does not appear.
            ("2025-01-27T00:00:00Z".into(), 1, 1, 0, 0),
        ]
    );
    assert_eq!(
        weeks.iter().map(|p| p["totals"].clone()).collect::<Vec<_>>(),
        vec![
            json!([total("USD", 1, "10000.00", "1000.00")]),
            // 10000 × 20 % + 20000 × 80 %.
            json!([total("USD", 2, "30000.00", "18000.00")]),
            // T1's amount is 15000 from the 15th: 15000 × 20 % + 20000 × 80 %.
            json!([total("USD", 2, "35000.00", "19000.00")]),
            json!([total("USD", 1, "20000.00", "16000.00")]),
        ]
    );
    // Open stages only: the closed deals are flows.
    let stages: Vec<Vec<(String, i64)>> = weeks
        .iter()
        .map(|p| {
            p["byStage"]
                .as_array()
                .expect("byStage")
                .iter()
                .map(|s| {
                    (
                        s["stage"].as_str().expect("stage").to_owned(),
                        s["count"].as_i64().expect("count"),
                    )
                })
                .collect()
        })
        .collect();
    let row = |stage: &str| (stage.to_owned(), 1);
    assert_eq!(
        stages,
        vec![
            vec![row("PROSPECTING")],
            vec![row("DISCOVERY"), row("NEGOTIATION")],
            vec![row("DISCOVERY"), row("NEGOTIATION")],
            vec![row("NEGOTIATION")],
        ]
    );
    assert_eq!(weeks[1]["lostAmounts"], json!([money("EUR", "5000.00")]));
    assert_eq!(weeks[1]["wonAmounts"], json!([]));
    // T1 won at 15000 and T4 at 3000.
    assert_eq!(weeks[2]["wonAmounts"], json!([money("USD", "18000.00")]));

    // Every point is pipelineHealth(asOf:) at its instant, field for field.
    for point in &weeks {
        let at = point["at"].as_str().expect("at");
        let health = app.ok(&token, HEALTH, json!({ "at": at })).await["pipelineHealth"].clone();
        for field in ["openCount", "totals", "byRiskLevel", "averageRiskScore"] {
            assert_eq!(point[field], health[field], "{field} at {at}");
        }
        let open_stages: Vec<Value> = health["byStage"]
            .as_array()
            .expect("byStage")
            .iter()
            .filter(|s| !s["stage"].as_str().is_some_and(|s| s.starts_with("CLOSED")))
            .cloned()
            .collect();
        let point_stages = point["byStage"].as_array().expect("byStage");
        assert_eq!(point_stages.len(), open_stages.len(), "byStage at {at}");
        for (ours, theirs) in point_stages.iter().zip(&open_stages) {
            let (mut ours, mut theirs) = (ours.clone(), theirs.clone());
            // Days in stage: the same figure; SQLite's pipelineHealth sums instants as
            // floating-point Julian days (milliseconds), so the last digits may differ there.
            let days = |v: &mut Value| {
                v.as_object_mut()
                    .and_then(|o| o.remove("averageDaysInStage"))
                    .and_then(|d| d.as_f64())
            };
            let (a, b) = (days(&mut ours).expect("days"), days(&mut theirs).expect("days"));
            assert!((a - b).abs() < 1e-6, "averageDaysInStage at {at}: {a} and {b}");
            assert_eq!(ours, theirs, "byStage at {at}");
        }
    }
    // 3 days and 14 hours in PROSPECTING on the 6th (T1 since the 2nd, 10:00).
    let days = weeks[0]["byStage"][0]["averageDaysInStage"].as_f64().expect("days");
    assert!((days - (3.0 + 14.0 / 24.0)).abs() < 1e-9, "{days}");

    // Months: 1 January (nothing yet) and 1 February; January's flows are all six deals'
    // creations, three wins (T1 15000, T4 3000, T6 2000) and T2's loss.
    let months = trend(&app, &token, "2024-12-15", "2025-02-10", "MONTH", Value::Null).await;
    assert_eq!(
        flows(&months),
        vec![
            ("2025-01-01T00:00:00Z".into(), 0, 6, 3, 1),
            ("2025-02-01T00:00:00Z".into(), 2, 0, 0, 0),
        ]
    );
    assert_eq!(months[0]["wonAmounts"], json!([money("USD", "20000.00")]));
    assert_eq!(months[0]["totals"], json!([]));
    assert_eq!(
        months[1]["totals"],
        json!([
            total("EUR", 1, "1000.00", "100.00"),
            total("USD", 1, "20000.00", "16000.00")
        ])
    );

    // The filter applies to each point and flow: EUR deals only (T2 and T5).
    let eur = trend(
        &app,
        &token,
        "2025-01-06",
        "2025-01-31",
        "WEEK",
        json!({ "currency": "EUR" }),
    )
    .await;
    assert_eq!(
        flows(&eur),
        vec![
            ("2025-01-06T00:00:00Z".into(), 0, 1, 0, 0),
            ("2025-01-13T00:00:00Z".into(), 0, 0, 0, 1),
            ("2025-01-20T00:00:00Z".into(), 0, 0, 0, 0),
            ("2025-01-27T00:00:00Z".into(), 0, 1, 0, 0),
        ]
    );
}

#[tokio::test]
async fn trend_ranges_are_checked_and_every_role_reads_its_own_tenant_only() {
    let app = TestApp::spawn().await;
    import(&app, &admin("acme"), acme_stream()).await;
    let analyst = token_for("acme", "ann", &["analyst"]);

    // 2024-01-01 to 2025-02-04 is 401 days; the day before is 400, the most allowed.
    let vars = |from: &str, to: &str, i: &str| json!({ "from": from, "to": to, "i": i });
    for (variables, field) in [
        (vars("2024-01-01", "2025-02-04", "DAY"), "interval"),
        (vars("2025-01-02", "2025-01-01", "WEEK"), "from"),
    ] {
        let body = app.gql(&analyst, TREND, variables.clone()).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{variables}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{body}");
    }
    let days = app.ok(&analyst, TREND, vars("2024-01-01", "2025-02-03", "DAY")).await;
    let days = days["pipelineTrend"].as_array().expect("points");
    assert_eq!(days.len(), 400);
    // Day points: T1 is open from the 2nd's 10:00, so the 3rd is its first day.
    let open: Vec<i64> = days
        .iter()
        .filter(|p| p["at"].as_str().is_some_and(|a| a.starts_with("2025-01-0")))
        .map(|p| p["openCount"].as_i64().expect("openCount"))
        .collect();
    assert_eq!(open, [0, 0, 1, 1, 1, 1, 1, 2, 2]);

    // Another tenant sees none of acme's deals, at any point, in GraphQL or CSV.
    let stranger = token_for("other", "ann", &["analyst"]);
    let theirs = app.ok(&stranger, TREND, vars("2025-01-01", "2025-01-31", "WEEK")).await;
    for point in theirs["pipelineTrend"].as_array().expect("points") {
        assert_eq!(
            (point["openCount"].clone(), point["created"].clone()),
            (json!(0), json!(0)),
            "{point}"
        );
    }
    let (status, _, body) = get(
        &app,
        "/export/pipeline_trend.csv?from=2025-01-01&to=2025-01-31&interval=WEEK",
        Some(&stranger),
    )
    .await;
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "at,currency,openCount,amount,weightedAmount,created,won,lost,averageRiskScore,\
             prospectingCount,prospectingAmount,discoveryCount,discoveryAmount,evaluationCount,evaluationAmount,\
             proposalCount,proposalAmount,negotiationCount,negotiationAmount,\
             lowRiskCount,mediumRiskCount,highRiskCount,criticalRiskCount\r\n"
        )
    );
}

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Option<String>, String) {
    let mut request = app.client.get(format!("{}{path}", app.url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let disposition = response
        .headers()
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        response.status().as_u16(),
        disposition,
        response.text().await.expect("body"),
    )
}

#[tokio::test]
async fn the_trend_csv_has_a_row_per_point_and_currency_equal_to_the_graphql_answer() {
    let app = TestApp::spawn().await;
    import(&app, &admin("acme"), acme_stream()).await;
    let analyst = token_for("acme", "ann", &["analyst"]);
    let filter = "&ownerId=olga";
    let path = format!("/export/pipeline_trend.csv?from=2025-01-01&to=2025-01-27&interval=WEEK{filter}");

    let (status, disposition, body) = get(&app, &path, Some(&analyst)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        disposition.as_deref(),
        Some("attachment; filename=\"pipeline_trend.csv\"")
    );
    assert!(
        body.ends_with("\r\n") && !body.replace("\r\n", "").contains('\n'),
        "CRLF: {body:?}"
    );
    let mut reader = csv::ReaderBuilder::new().from_reader(body.as_bytes());
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    // SPEC §8's columns first, in order; then the open deals by stage and by risk level.
    assert_eq!(
        header[..9],
        [
            "at",
            "currency",
            "openCount",
            "amount",
            "weightedAmount",
            "created",
            "won",
            "lost",
            "averageRiskScore"
        ]
    );
    assert_eq!(
        header[9..],
        [
            "prospectingCount",
            "prospectingAmount",
            "discoveryCount",
            "discoveryAmount",
            "evaluationCount",
            "evaluationAmount",
            "proposalCount",
            "proposalAmount",
            "negotiationCount",
            "negotiationAmount",
            "lowRiskCount",
            "mediumRiskCount",
            "highRiskCount",
            "criticalRiskCount"
        ]
    );
    let rows: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    // Week by week (see `acme_stream`): USD open on every Monday; EUR only where it flowed —
    // T2 created in the first week and lost in the second, T5 created in the last.
    let keys: Vec<(&str, &str)> = rows.iter().map(|r| (r[0].as_str(), r[1].as_str())).collect();
    assert_eq!(
        keys,
        [
            ("2025-01-06T00:00:00Z", "EUR"),
            ("2025-01-06T00:00:00Z", "USD"),
            ("2025-01-13T00:00:00Z", "EUR"),
            ("2025-01-13T00:00:00Z", "USD"),
            ("2025-01-20T00:00:00Z", "USD"),
            ("2025-01-27T00:00:00Z", "EUR"),
            ("2025-01-27T00:00:00Z", "USD"),
        ]
    );
    // 20 January, USD: T1 (15000, DISCOVERY) and T3 (20000, NEGOTIATION) open; T4 created,
    // T1 and T4 won during the week.
    assert_eq!(rows[4][2..8], ["2", "35000.00", "19000.00", "1", "2", "0"]);
    assert_eq!(
        rows[4][9..19],
        ["0", "0.00", "1", "15000.00", "0", "0.00", "0", "0.00", "1", "20000.00"],
        "by stage"
    );
    // Every row's open deals, by stage and by level, add up to its open count.
    for row in &rows {
        let n = |i: usize| row[i].parse::<i64>().expect("a count");
        let open = n(2);
        assert_eq!((9..19).step_by(2).map(n).sum::<i64>(), open, "{row:?}");
        assert_eq!((19..23).map(n).sum::<i64>(), open, "{row:?}");
    }
    // 13 January, EUR: nothing open, T2 lost.
    assert_eq!(
        (rows[2][2].as_str(), rows[2][7].as_str(), rows[2][8].as_str()),
        ("0", "1", "")
    );

    // Every row is the GraphQL answer's figure for its point and currency.
    let points = trend(
        &app,
        &analyst,
        "2025-01-01",
        "2025-01-27",
        "WEEK",
        json!({ "ownerId": "olga" }),
    )
    .await;
    for row in &rows {
        let point = points
            .iter()
            .find(|p| p["at"] == row[0].as_str())
            .expect("a point per row");
        let total = point["totals"]
            .as_array()
            .expect("totals")
            .iter()
            .find(|t| t["currency"] == row[1].as_str());
        let open = total.map_or(0, |t| t["count"].as_i64().expect("count"));
        assert_eq!(row[2], open.to_string(), "{row:?}");
        assert_eq!(
            row[3],
            total.map_or("0.00", |t| t["amount"].as_str().expect("amount")),
            "{row:?}"
        );
        assert_eq!(
            row[4],
            total.map_or("0.00", |t| t["weightedAmount"].as_str().expect("weighted")),
            "{row:?}"
        );
        let counted = |key: &str| point[key].as_i64().expect(key);
        let in_currency = |key: &str| {
            point[key]
                .as_array()
                .expect(key)
                .iter()
                .any(|a| a["currency"] == row[1].as_str())
        };
        // One currency flowed per week here, so the point's counts are the row's.
        let single = point["wonAmounts"].as_array().map_or(0, Vec::len) <= 1;
        assert!(single, "{point}");
        assert_eq!(row[6] != "0", in_currency("wonAmounts"), "{row:?}");
        assert_eq!(row[7] != "0", in_currency("lostAmounts"), "{row:?}");
        if in_currency("wonAmounts") {
            assert_eq!(row[6], counted("won").to_string());
        }
        if open > 0 && point["totals"].as_array().map_or(0, Vec::len) == 1 {
            let average: f64 = row[8].parse().expect("average risk score");
            assert_eq!(Some(average), point["averageRiskScore"].as_f64(), "{row:?}");
        }
    }
    let created: i64 = rows.iter().map(|r| r[5].parse::<i64>().expect("created")).sum();
    let graphql_created: i64 = points.iter().map(|p| p["created"].as_i64().expect("created")).sum();
    assert_eq!((created, graphql_created), (4, 4));

    // Missing or bad parameters are 400 with the parameter named; no token is 401.
    for (query, field) in [
        ("to=2025-01-27&interval=WEEK", "from"),
        ("from=2025-01-01&to=2025-01-27", "interval"),
        ("from=2025-01-01&to=2025-01-27&interval=YEAR", "interval"),
        ("from=2025-01-01&to=27.1.2025&interval=WEEK", "to"),
        ("from=2024-01-01&to=2025-02-04&interval=DAY", "interval"),
        ("from=2025-01-01&to=2025-01-27&interval=WEEK&limit=3", "limit"),
    ] {
        let (status, _, body) = get(&app, &format!("/export/pipeline_trend.csv?{query}"), Some(&analyst)).await;
        let body: Value = serde_json::from_str(&body).expect("a JSON error");
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["errors"][0]["extensions"]["field"], field, "{query}: {body}");
    }
    let (status, _, _) = get(&app, &path, None).await;
    assert_eq!(status, 401);
}
