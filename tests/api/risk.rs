//! Risk through the API, against hand-computed scores: SPEC §4's table with its default
//! points decides every expected score, level, factor list and evidence below. The field
//! story is flagged with named, explained factors; working the whole buying group clears
//! them; `asOf` replays and projects; every write that changes a deal's inputs refreshes its
//! stored assessment; the policy steers the stored assessments that boards filter and sort by.

use chrono::{Duration, NaiveDate, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{POLICY, TestApp, admin, code, days_ago, default_policy, token_for};

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect()
}

struct Story {
    deal: String,
    sam: String,
    dana: String,
    others: Vec<String>,
    /// When Sam was last met (the newest of the three meetings, five days ago).
    last_meeting: String,
}

/// The field story: the seller meets only the overloaded mobilizer and asks him to handle
/// the opposed controller, who holds a veto.
///
/// Scored by hand (SPEC §4, default policy): six members with an ECONOMIC_BUYER, so no
/// BUYING_GROUP_GAPS; Sam is a supportive MOBILIZER, so no NO_MOBILIZER; three meetings in
/// the window, all with Sam alone, Dana discussed: SINGLE_THREADED 20 (one member direct),
/// VETO_HOLDER_OPPOSED 25 (Dana), VETO_HOLDER_UNENGAGED 15 (Lee: veto, never reached),
/// DELEGATED_ENGAGEMENT 15 (Dana reached by proxy only), MOBILIZER_OVERLOADED 10 (Sam, the
/// only champion, is overloaded), LOW_COVERAGE 10 (1 of 6 direct) = 95, CRITICAL.
async fn field_story(app: &TestApp, token: &str) -> Story {
    let account = app.create_account(token, "Northwind").await;
    let deal = app
        .create_opportunity(token, &account, "Northwind platform", "480000")
        .await;
    let mut ids = Vec::new();
    for (name, title) in [
        ("Sam Patel", "VP Operations"),
        ("Dana Ruiz", "Controller"),
        ("Lee Chen", "CIO"),
        ("Ana Gomez", "Head of Procurement"),
        ("Raj Iyer", "IT Architect"),
        ("Mia Wong", "Ops Manager"),
    ] {
        ids.push(app.create_contact(token, &account, name, title).await);
    }
    let add = "mutation($o: ID!, $c: ID!, $r: BuyingRole!, $s: Stance, $v: Boolean, $i: Influence, $b: Bandwidth) {
        addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: $r, stance: $s, canVeto: $v, influence: $i, bandwidth: $b}) { id } }";
    let mut members = Vec::new();
    for (contact, vars) in ids.iter().zip([
        json!({ "r": "MOBILIZER", "s": "SUPPORTIVE", "v": false, "i": "HIGH", "b": "OVERLOADED" }),
        json!({ "r": "FINANCE", "s": "OPPOSED", "v": true, "i": "HIGH", "b": "STRETCHED" }),
        json!({ "r": "ECONOMIC_BUYER", "s": "NEUTRAL", "v": true, "i": "HIGH", "b": "STRETCHED" }),
        json!({ "r": "PROCUREMENT", "s": "UNKNOWN", "v": false, "i": "MEDIUM", "b": "UNKNOWN" }),
        json!({ "r": "TECHNICAL_EVALUATOR", "s": "SUPPORTIVE", "v": false, "i": "MEDIUM", "b": "AVAILABLE" }),
        json!({ "r": "END_USER", "s": "SUPPORTIVE", "v": false, "i": "LOW", "b": "AVAILABLE" }),
    ]) {
        let mut vars = vars;
        vars["o"] = json!(deal);
        vars["c"] = json!(contact);
        let data = app.ok(token, add, vars).await;
        members.push(data["addBuyingGroupMember"]["id"].as_str().expect("member").to_owned());
    }
    let log = "mutation($o: ID!, $at: DateTime!, $p: [ID!]!, $a: [ID!]) { logInteraction(input: {opportunityId: $o, kind: MEETING,
        occurredAt: $at, summary: \"asked Sam to handle Dana\", participantIds: $p, aboutIds: $a}) { id } }";
    let mut last_meeting = String::new();
    for days in [20, 12, 5] {
        last_meeting = days_ago(days);
        app.ok(
            token,
            log,
            json!({ "o": deal, "at": last_meeting, "p": [members[0]], "a": [members[1]] }),
        )
        .await;
    }
    let sam = members.remove(0);
    let dana = members.remove(0);
    Story {
        deal,
        sam,
        dana,
        others: members,
        last_meeting,
    }
}

/// `(code, severity, points, evidence by name)` of each live factor, in list order.
fn factor_rows(risk: &Value) -> Vec<(String, String, i64, Vec<String>)> {
    risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_owned(),
                f["severity"].as_str().expect("severity").to_owned(),
                f["points"].as_i64().expect("points"),
                f["members"]
                    .as_array()
                    .expect("members")
                    .iter()
                    .map(|m| m["contact"]["fullName"].as_str().expect("name").to_owned())
                    .collect(),
            )
        })
        .collect()
}

fn row(code: &str, severity: &str, points: i64, members: &[&str]) -> (String, String, i64, Vec<String>) {
    (
        code.to_owned(),
        severity.to_owned(),
        points,
        members.iter().map(|m| (*m).to_owned()).collect(),
    )
}

/// `(code, points)` of each live factor, in list order.
fn code_points(risk: &Value) -> Vec<(String, i64)> {
    risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().expect("code").to_owned(),
                f["points"].as_i64().expect("points"),
            )
        })
        .collect()
}

fn pairs(list: &[(&str, i64)]) -> Vec<(String, i64)> {
    list.iter().map(|(c, p)| ((*c).to_owned(), *p)).collect()
}

const RISK: &str = "query($id: ID!, $asOf: DateTime) { opportunity(id: $id) { riskScore riskLevel riskFactorCodes
    risk(asOf: $asOf) { asOf score level factors { code severity points message recommendation members { id contact { fullName } } } }
    buyingGroup { id engagement lastDirectInteractionAt } } }";

#[tokio::test]
async fn the_field_story_is_flagged_with_named_explained_factors() {
    let app = TestApp::spawn().await;
    let token = token_for("acme", "sam.seller", &["seller"]);
    let story = field_story(&app, &token).await;
    let data = app.ok(&token, RISK, json!({ "id": story.deal })).await;
    let opp = &data["opportunity"];
    let risk = &opp["risk"];
    assert_eq!((&risk["score"], &risk["level"]), (&json!(95), &json!("CRITICAL")));
    // Highest points first, ties in the enum's order; each with its evidence, in group order.
    assert_eq!(
        factor_rows(risk),
        vec![
            row("VETO_HOLDER_OPPOSED", "CRITICAL", 25, &["Dana Ruiz"]),
            row("SINGLE_THREADED", "HIGH", 20, &["Sam Patel"]),
            row("VETO_HOLDER_UNENGAGED", "HIGH", 15, &["Lee Chen"]),
            row("DELEGATED_ENGAGEMENT", "HIGH", 15, &["Dana Ruiz"]),
            row("MOBILIZER_OVERLOADED", "MEDIUM", 10, &["Sam Patel"]),
            row(
                "LOW_COVERAGE",
                "MEDIUM",
                10,
                &["Dana Ruiz", "Lee Chen", "Ana Gomez", "Raj Iyer", "Mia Wong"]
            ),
        ]
    );
    assert_eq!(
        risk["factors"][0]["members"],
        json!([{ "id": story.dana, "contact": { "fullName": "Dana Ruiz" } }])
    );

    let delegated = &risk["factors"][3];
    let message = delegated["message"].as_str().expect("message");
    assert!(
        message.contains("Dana Ruiz") && message.contains("Sam Patel"),
        "{message}"
    );
    let next = delegated["recommendation"].as_str().expect("recommendation");
    assert!(next.contains("Dana Ruiz"), "{next}");

    // The stored assessment: the same score and level; its codes in the enum's order.
    assert_eq!(opp["riskScore"], 95);
    assert_eq!(opp["riskLevel"], "CRITICAL");
    assert_eq!(
        codes(&opp["riskFactorCodes"]),
        [
            "SINGLE_THREADED",
            "VETO_HOLDER_OPPOSED",
            "VETO_HOLDER_UNENGAGED",
            "DELEGATED_ENGAGEMENT",
            "MOBILIZER_OVERLOADED",
            "LOW_COVERAGE"
        ]
    );

    let mut expected = vec![
        json!({ "id": story.sam, "engagement": "DIRECT", "lastDirectInteractionAt": story.last_meeting }),
        json!({ "id": story.dana, "engagement": "PROXY_ONLY", "lastDirectInteractionAt": null }),
    ];
    for other in &story.others {
        expected.push(json!({ "id": other, "engagement": "NONE", "lastDirectInteractionAt": null }));
    }
    assert_eq!(opp["buyingGroup"], json!(expected));
}

#[tokio::test]
async fn as_of_in_the_future_shows_the_deal_stalling_and_going_dark() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let story = field_story(&app, &token).await;
    let in_90_days = (Utc::now() + Duration::days(90)).to_rfc3339_opts(SecondsFormat::Secs, true);
    let data = app
        .ok(&token, RISK, json!({ "id": story.deal, "asOf": in_90_days }))
        .await;
    let risk = &data["opportunity"]["risk"];
    // Ninety days on, the window holds no meeting: nobody is engaged (Dana is no longer even
    // reached by proxy, so DELEGATED_ENGAGEMENT gives way to her being unengaged), the stage
    // is older than 60 days and nothing happened in 14: 25 + 20 + 15 + 15 + 15 + 10 + 10 = 110,
    // capped at 100.
    assert_eq!(
        factor_rows(risk),
        vec![
            row("VETO_HOLDER_OPPOSED", "CRITICAL", 25, &["Dana Ruiz"]),
            row("SINGLE_THREADED", "HIGH", 20, &[]),
            row("VETO_HOLDER_UNENGAGED", "HIGH", 15, &["Dana Ruiz", "Lee Chen"]),
            row("STALLED", "HIGH", 15, &[]),
            row("GOING_DARK", "HIGH", 15, &[]),
            row("MOBILIZER_OVERLOADED", "MEDIUM", 10, &["Sam Patel"]),
            row(
                "LOW_COVERAGE",
                "MEDIUM",
                10,
                &[
                    "Sam Patel",
                    "Dana Ruiz",
                    "Lee Chen",
                    "Ana Gomez",
                    "Raj Iyer",
                    "Mia Wong"
                ]
            ),
        ]
    );
    assert_eq!((&risk["score"], &risk["level"]), (&json!(100), &json!("CRITICAL")));
    assert_eq!(
        risk["asOf"],
        in_90_days.as_str(),
        "the assessment says which instant it is for"
    );
    // Today the deal is as the story says: not stalled, not dark.
    let data = app
        .ok(&token, RISK, json!({ "id": story.deal, "asOf": days_ago(0) }))
        .await;
    let today = &data["opportunity"]["risk"];
    assert_eq!(today["score"], 95);
    assert_eq!(
        code_points(today),
        pairs(&[
            ("VETO_HOLDER_OPPOSED", 25),
            ("SINGLE_THREADED", 20),
            ("VETO_HOLDER_UNENGAGED", 15),
            ("DELEGATED_ENGAGEMENT", 15),
            ("MOBILIZER_OVERLOADED", 10),
            ("LOW_COVERAGE", 10)
        ])
    );
}

#[tokio::test]
async fn working_the_whole_group_clears_the_engagement_factors_and_history_shows_it() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let story = field_story(&app, &token).await;
    let everyone: Vec<&str> = [&story.sam, &story.dana]
        .into_iter()
        .chain(story.others.iter())
        .map(String::as_str)
        .collect();
    let log = "mutation($o: ID!, $at: DateTime!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: MEETING, occurredAt: $at, participantIds: $p}) { id } }";
    for (i, member) in everyone.iter().enumerate() {
        app.ok(
            &token,
            log,
            json!({ "o": story.deal, "at": days_ago(4 - (i as i64 % 4)), "p": [member] }),
        )
        .await;
    }
    app.ok(
        &token,
        "mutation($id: ID!) { updateBuyingGroupMember(input: {id: $id, stance: NEUTRAL}) { id } }",
        json!({ "id": story.dana }),
    )
    .await;
    let data = app.ok(&token, RISK, json!({ "id": story.deal })).await;
    let risk = &data["opportunity"]["risk"];
    assert_eq!(
        code_points(risk),
        pairs(&[("MOBILIZER_OVERLOADED", 10)]),
        "only Sam's workload remains"
    );
    assert_eq!((&risk["score"], &risk["level"]), (&json!(10), &json!("LOW")));

    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { riskScore riskLevel riskFactorCodes riskHistory { at score level factorCodes } } }",
            json!({ "id": story.deal }),
        )
        .await;
    assert_eq!(
        (
            &data["opportunity"]["riskScore"],
            &data["opportunity"]["riskLevel"],
            &data["opportunity"]["riskFactorCodes"]
        ),
        (&json!(10), &json!("LOW"), &json!(["MOBILIZER_OVERLOADED"]))
    );
    let history = data["opportunity"]["riskHistory"].as_array().expect("history");
    let points: Vec<(i64, &str)> = history
        .iter()
        .map(|h| (h["score"].as_i64().expect("score"), h["level"].as_str().expect("level")))
        .collect();
    // A point per change of score, level or factor set, by hand: created with no group 45
    // (SINGLE_THREADED, NO_MOBILIZER, BUYING_GROUP_GAPS); Sam 50 (NO_MOBILIZER gone,
    // MOBILIZER_OVERLOADED and LOW_COVERAGE); Dana 90 (VETO_HOLDER_OPPOSED 25 and
    // VETO_HOLDER_UNENGAGED 15); Lee, Ana and Raj change no factor; Mia completes the group
    // with its economic buyer, 80; the first meeting reaches Dana by proxy, 95; the next two
    // change nothing. Working the group: Dana met, 80 (DELEGATED_ENGAGEMENT gone); Lee met,
    // 35 (three engaged: SINGLE_THREADED, VETO_HOLDER_UNENGAGED and LOW_COVERAGE gone, as 3/6
    // is not below 0.5); Dana neutral, 10.
    assert_eq!(
        points,
        [
            (45, "MEDIUM"),
            (50, "HIGH"),
            (90, "CRITICAL"),
            (80, "CRITICAL"),
            (95, "CRITICAL"),
            (80, "CRITICAL"),
            (35, "MEDIUM"),
            (10, "LOW")
        ]
    );
    assert_eq!(
        history.last().expect("a point")["factorCodes"],
        json!(["MOBILIZER_OVERLOADED"])
    );
    let ats: Vec<&str> = history.iter().map(|h| h["at"].as_str().expect("at")).collect();
    let instants: Vec<_> = ats
        .iter()
        .map(|a| chrono::DateTime::parse_from_rfc3339(a).expect("RFC 3339"))
        .collect();
    assert!(instants.windows(2).all(|w| w[0] < w[1]), "oldest first: {ats:?}");
    let since = app
        .ok(
            &token,
            "query($id: ID!, $s: DateTime) { opportunity(id: $id) { riskHistory(since: $s) { score } } }",
            json!({ "id": story.deal, "s": ats.last() }),
        )
        .await;
    assert_eq!(since["opportunity"]["riskHistory"], json!([{ "score": 10 }]));
}

#[tokio::test]
async fn the_policy_steers_stored_assessments_filters_and_ordering() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let story = field_story(&app, &token).await;
    let account = app.create_account(&token, "Calm Co").await;
    // An empty group: SINGLE_THREADED 20 + NO_MOBILIZER 15 + BUYING_GROUP_GAPS 10 = 45.
    let calm = app.create_opportunity(&token, &account, "Calm deal", "10").await;

    let board = "query($f: OpportunityFilter) { opportunities(filter: $f, orderBy: {field: RISK_SCORE, direction: DESC}) { totalCount edges { node { id riskScore riskLevel riskFactorCodes } } } }";
    let rows = |data: &Value| -> Vec<(String, i64, String)> {
        data["opportunities"]["edges"]
            .as_array()
            .expect("edges")
            .iter()
            .map(|e| {
                let n = &e["node"];
                (
                    n["id"].as_str().expect("id").to_owned(),
                    n["riskScore"].as_i64().expect("score"),
                    n["riskLevel"].as_str().expect("level").to_owned(),
                )
            })
            .collect()
    };
    let story_row = |score: i64, level: &str| (story.deal.clone(), score, level.to_owned());
    let calm_row = |score: i64, level: &str| (calm.clone(), score, level.to_owned());
    let data = app.ok(&token, board, json!({})).await;
    assert_eq!(
        rows(&data),
        [story_row(95, "CRITICAL"), calm_row(45, "MEDIUM")],
        "riskiest first"
    );
    let data = app
        .ok(&token, board, json!({ "f": { "riskFactor": "VETO_HOLDER_OPPOSED" } }))
        .await;
    assert_eq!(rows(&data), [story_row(95, "CRITICAL")]);
    let data = app
        .ok(&token, board, json!({ "f": { "riskLevels": ["CRITICAL"] } }))
        .await;
    assert_eq!(rows(&data), [story_row(95, "CRITICAL")]);
    let data = app
        .ok(&token, board, json!({ "f": { "riskFactor": "NO_MOBILIZER" } }))
        .await;
    assert_eq!(rows(&data), [calm_row(45, "MEDIUM")]);

    let policy = app.ok(&token, POLICY, json!({})).await;
    assert_eq!(policy["riskPolicy"], default_policy());

    let update = "mutation($i: RiskPolicyInput!) { updateRiskPolicy(input: $i) { engagementWindowDays minEngagedMembers
        singleThreadShare minGroupSize requiredRoles coverageThreshold stallDays darkDays maxCloseDatePushes weights { code points } } }";
    let seller = token_for("acme", "sam.seller", &["seller"]);
    let body = app
        .gql(&seller, update, json!({ "i": { "singleThreadShare": 0.9 } }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(&token, update, json!({ "i": { "singleThreadShare": 1.5 } }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.singleThreadShare");
    let body = app
        .gql(
            &token,
            update,
            json!({ "i": { "weights": [{ "code": "STALLED", "points": 101 }] } }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let policy = app.ok(&token, POLICY, json!({})).await;
    assert_eq!(
        policy["riskPolicy"],
        default_policy(),
        "the refused changes changed nothing"
    );

    let data = app
        .ok(&token, update, json!({ "i": { "weights": [{ "code": "VETO_HOLDER_OPPOSED", "points": 0 }, { "code": "BUYING_GROUP_GAPS", "points": 40 }] } }))
        .await;
    let mut expected = default_policy();
    expected["weights"][2]["points"] = json!(0);
    expected["weights"][6]["points"] = json!(40);
    assert_eq!(
        data["updateRiskPolicy"], expected,
        "the two weights change; untouched fields keep their value"
    );
    assert_eq!(app.ok(&token, POLICY, json!({})).await["riskPolicy"], expected);

    // Stored assessments follow: the story loses VETO_HOLDER_OPPOSED (95 − 25 = 70, HIGH); the
    // calm deal's gap now weighs 40 (20 + 15 + 40 = 75, CRITICAL) and it tops the board.
    let data = app.ok(&token, board, json!({})).await;
    assert_eq!(rows(&data), [calm_row(75, "CRITICAL"), story_row(70, "HIGH")]);
    let stored = |data: &Value, i: usize| codes(&data["opportunities"]["edges"][i]["node"]["riskFactorCodes"]);
    assert_eq!(
        stored(&data, 0),
        ["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS"]
    );
    assert_eq!(
        stored(&data, 1),
        [
            "SINGLE_THREADED",
            "VETO_HOLDER_UNENGAGED",
            "DELEGATED_ENGAGEMENT",
            "MOBILIZER_OVERLOADED",
            "LOW_COVERAGE"
        ]
    );
    let data = app
        .ok(&token, board, json!({ "f": { "riskFactor": "VETO_HOLDER_OPPOSED" } }))
        .await;
    assert_eq!(
        data["opportunities"]["totalCount"], 0,
        "a disabled factor leaves the stored assessments"
    );
    let data = app
        .ok(&token, board, json!({ "f": { "riskLevels": ["CRITICAL"] } }))
        .await;
    assert_eq!(rows(&data), [calm_row(75, "CRITICAL")]);
    // The live assessment follows the same policy.
    let data = app.ok(&token, RISK, json!({ "id": story.deal })).await;
    assert_eq!(data["opportunity"]["risk"]["score"], 70);
    assert_eq!(
        code_points(&data["opportunity"]["risk"]),
        pairs(&[
            ("SINGLE_THREADED", 20),
            ("VETO_HOLDER_UNENGAGED", 15),
            ("DELEGATED_ENGAGEMENT", 15),
            ("MOBILIZER_OVERLOADED", 10),
            ("LOW_COVERAGE", 10)
        ])
    );
}

#[tokio::test]
async fn closed_deals_carry_no_risk() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let story = field_story(&app, &token).await;
    let data = app
        .ok(&token, "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, stage: CLOSED_LOST}) { riskScore riskLevel riskFactorCodes risk { score factors { code } } } }", json!({ "id": story.deal }))
        .await;
    assert_eq!(
        data["updateOpportunity"],
        json!({ "riskScore": 0, "riskLevel": "LOW", "riskFactorCodes": [], "risk": { "score": 0, "factors": [] } })
    );
}

#[tokio::test]
async fn the_periodic_sweep_stores_what_time_alone_changes() {
    let app = TestApp::spawn().await;
    let a = admin("acme");
    let b = admin("other");
    let story = field_story(&app, &a).await;
    let other_account = app.create_account(&b, "Quiet").await;
    let quiet = app.create_opportunity(&b, &other_account, "Quiet deal", "1").await;
    let stored =
        "query($id: ID!) { opportunity(id: $id) { riskScore riskLevel riskFactorCodes riskHistory { score } } }";
    let before = app.ok(&a, stored, json!({ "id": story.deal })).await;
    assert_eq!(before["opportunity"]["riskScore"], 95);

    // Nothing changed yet: a sweep now rewrites nothing.
    let changed = dealgraph::service::risk::sweep(&app.store, Utc::now())
        .await
        .expect("sweep");
    assert_eq!(changed, 0);

    // Ninety days on, with no new interaction, every tenant's deals have stalled and gone dark.
    let changed = dealgraph::service::risk::sweep(&app.store, Utc::now() + Duration::days(90))
        .await
        .expect("sweep");
    assert_eq!(changed, 2, "one deal per tenant");
    // Ninety days on (see `as_of_in_the_future_…`): the story scores 110, capped at 100;
    // the quiet deal (an empty group) 45 + STALLED 15 + GOING_DARK 15 = 75, CRITICAL.
    let after = app.ok(&a, stored, json!({ "id": story.deal })).await;
    assert_eq!(
        codes(&after["opportunity"]["riskFactorCodes"]),
        [
            "SINGLE_THREADED",
            "VETO_HOLDER_OPPOSED",
            "VETO_HOLDER_UNENGAGED",
            "MOBILIZER_OVERLOADED",
            "LOW_COVERAGE",
            "STALLED",
            "GOING_DARK"
        ]
    );
    assert_eq!(
        (&after["opportunity"]["riskScore"], &after["opportunity"]["riskLevel"]),
        (&json!(100), &json!("CRITICAL"))
    );
    let scores = |v: &Value| -> Vec<i64> {
        v["opportunity"]["riskHistory"]
            .as_array()
            .expect("history")
            .iter()
            .map(|p| p["score"].as_i64().expect("score"))
            .collect()
    };
    assert_eq!(scores(&before), [45, 50, 90, 80, 95]);
    assert_eq!(
        scores(&after),
        [45, 50, 90, 80, 95, 100],
        "the sweep appends one history point"
    );
    let quiet_after = app.ok(&b, stored, json!({ "id": quiet })).await;
    assert_eq!(
        codes(&quiet_after["opportunity"]["riskFactorCodes"]),
        [
            "SINGLE_THREADED",
            "NO_MOBILIZER",
            "BUYING_GROUP_GAPS",
            "STALLED",
            "GOING_DARK"
        ]
    );
    assert_eq!(
        (
            &quiet_after["opportunity"]["riskScore"],
            &quiet_after["opportunity"]["riskLevel"]
        ),
        (&json!(75), &json!("CRITICAL"))
    );
    assert_eq!(scores(&quiet_after), [45, 75]);
}

/// The stored assessment, read back: `{ riskScore riskLevel riskFactorCodes }`.
async fn stored(app: &TestApp, token: &str, deal: &str) -> Value {
    let data = app
        .ok(
            token,
            "query($id: ID!) { opportunity(id: $id) { riskScore riskLevel riskFactorCodes } }",
            json!({ "id": deal }),
        )
        .await;
    data["opportunity"].clone()
}

fn assessment(score: i64, level: &str, codes: &[&str]) -> Value {
    json!({ "riskScore": score, "riskLevel": level, "riskFactorCodes": codes })
}

async fn history_scores(app: &TestApp, token: &str, deal: &str) -> Vec<i64> {
    let data = app
        .ok(
            token,
            "query($id: ID!) { opportunity(id: $id) { riskHistory { score } } }",
            json!({ "id": deal }),
        )
        .await;
    data["opportunity"]["riskHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|p| p["score"].as_i64().expect("score"))
        .collect()
}

/// The live assessment at `as_of` (now when null): `(score, [(code, points)])`.
async fn live_at(app: &TestApp, token: &str, deal: &str, as_of: Value) -> (i64, Vec<(String, i64)>) {
    let data = app
        .ok(
            token,
            "query($id: ID!, $t: DateTime) { opportunity(id: $id) { risk(asOf: $t) { score factors { code points } } } }",
            json!({ "id": deal, "t": as_of }),
        )
        .await;
    let risk = &data["opportunity"]["risk"];
    (risk["score"].as_i64().expect("score"), code_points(risk))
}

/// The ids of the deals whose stored assessment carries `factor`, by name.
async fn carrying(app: &TestApp, token: &str, factor: &str) -> Vec<String> {
    let data = app
        .ok(
            token,
            "query($f: RiskFactorCode) { opportunities(filter: {riskFactor: $f}, orderBy: {field: NAME, direction: ASC}) { edges { node { id } } } }",
            json!({ "f": factor }),
        )
        .await;
    data["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| e["node"]["id"].as_str().expect("id").to_owned())
        .collect()
}

const UPDATE_DATE: &str = "mutation($id: ID!, $v: Int!, $d: Date) {
    updateOpportunity(input: {id: $id, expectedVersion: $v, expectedCloseDate: $d}) { version updatedAt } }";

/// The close dates below are relative to today (UTC); every deal has an empty group, so its
/// base is SINGLE_THREADED 20 + NO_MOBILIZER 15 + BUYING_GROUP_GAPS 10 = 45 (MEDIUM).
fn day(today: NaiveDate, offset: i64) -> String {
    (today + Duration::days(offset)).format("%Y-%m-%d").to_string()
}

const BASE: [&str; 3] = ["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS"];

#[tokio::test]
async fn a_close_date_before_today_is_past_and_the_stored_risk_follows_date_changes() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Dates").await;
    let today = Utc::now().date_naive();
    let deal = |name: &str, close: Option<String>| {
        let (app, token, account) = (&app, &token, &account);
        let input =
            json!({ "accountId": account, "name": name, "amount": "1", "currency": "USD", "expectedCloseDate": close });
        async move { app.create_deal(token, input).await }
    };
    let late = deal("Late", Some(day(today, -1))).await;
    let due = deal("Due today", Some(day(today, 0))).await;
    let soon = deal("Soon", Some(day(today, 3))).await;
    let past = [
        "SINGLE_THREADED",
        "NO_MOBILIZER",
        "BUYING_GROUP_GAPS",
        "PAST_CLOSE_DATE",
    ];

    // Yesterday's close date is past: 45 + 10 = 55, HIGH.
    assert_eq!(stored(&app, &token, &late).await, assessment(55, "HIGH", &past));
    assert_eq!(
        live_at(&app, &token, &late, Value::Null).await,
        (
            55,
            pairs(&[
                ("SINGLE_THREADED", 20),
                ("NO_MOBILIZER", 15),
                ("BUYING_GROUP_GAPS", 10),
                ("PAST_CLOSE_DATE", 10)
            ])
        )
    );
    // Today's is not (the rule is "before asOf's UTC date"), unless midnight just passed.
    let due_now = stored(&app, &token, &due).await;
    if Utc::now().date_naive() == today {
        assert_eq!(due_now, assessment(45, "MEDIUM", &BASE));
    }
    assert_eq!(stored(&app, &token, &soon).await, assessment(45, "MEDIUM", &BASE));
    // In three days the close date is still today's; in five it is past.
    let in_days = |n: i64| json!((Utc::now() + Duration::days(n)).to_rfc3339_opts(SecondsFormat::Secs, true));
    assert_eq!(live_at(&app, &token, &soon, in_days(2)).await.0, 45);
    let (score, factors) = live_at(&app, &token, &soon, in_days(5)).await;
    assert_eq!(score, 55);
    assert_eq!(factors.last(), Some(&("PAST_CLOSE_DATE".to_owned(), 10)), "{factors:?}");

    // Changing the close date refreshes the stored assessment in the same write.
    app.ok(&token, UPDATE_DATE, json!({ "id": soon, "v": 1, "d": day(today, -2) }))
        .await;
    assert_eq!(stored(&app, &token, &soon).await, assessment(55, "HIGH", &past));
    app.ok(&token, UPDATE_DATE, json!({ "id": late, "v": 1, "d": null }))
        .await;
    assert_eq!(stored(&app, &token, &late).await, assessment(45, "MEDIUM", &BASE));
    if Utc::now().date_naive() == today {
        assert_eq!(carrying(&app, &token, "PAST_CLOSE_DATE").await, [soon.as_str()]);
    }
    assert_eq!(history_scores(&app, &token, &late).await, [55, 45]);
    assert_eq!(history_scores(&app, &token, &soon).await, [45, 55]);
}

#[tokio::test]
async fn moving_the_close_date_later_twice_is_close_date_pushed() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Slips").await;
    let today = Utc::now().date_naive();
    let pushed_codes = [
        "SINGLE_THREADED",
        "NO_MOBILIZER",
        "BUYING_GROUP_GAPS",
        "CLOSE_DATE_PUSHED",
    ];
    // Setting the date at creation is no push (there was no date before).
    let pushed = app
        .create_deal(
            &token,
            json!({ "accountId": account, "name": "Pushed", "amount": "1", "currency": "USD", "expectedCloseDate": day(today, 30) }),
        )
        .await;
    let update = |v: i64, offset: i64| {
        let (app, token, id) = (&app, &token, &pushed);
        async move {
            let data = app
                .ok(token, UPDATE_DATE, json!({ "id": id, "v": v, "d": day(today, offset) }))
                .await;
            data["updateOpportunity"]["updatedAt"].clone()
        }
    };
    update(1, 40).await; // later: push 1
    assert_eq!(stored(&app, &token, &pushed).await, assessment(45, "MEDIUM", &BASE));
    let earlier_at = update(2, 35).await; // earlier: no push
    assert_eq!(stored(&app, &token, &pushed).await, assessment(45, "MEDIUM", &BASE));
    let second_push_at = update(3, 50).await; // later: push 2, the policy's maximum
    assert_eq!(
        stored(&app, &token, &pushed).await,
        assessment(55, "HIGH", &pushed_codes)
    );
    assert_eq!(
        live_at(&app, &token, &pushed, Value::Null).await,
        (
            55,
            pairs(&[
                ("SINGLE_THREADED", 20),
                ("NO_MOBILIZER", 15),
                ("BUYING_GROUP_GAPS", 10),
                ("CLOSE_DATE_PUSHED", 10)
            ])
        )
    );
    // Pushes count up to asOf: at the earlier move there had been one push; at the second
    // push, two.
    assert_eq!(live_at(&app, &token, &pushed, earlier_at).await.0, 45);
    assert_eq!(live_at(&app, &token, &pushed, second_push_at).await.0, 55);
    assert_eq!(history_scores(&app, &token, &pushed).await, [45, 55]);

    // Setting a date where there was none is no push either: set, then one push.
    let set_later = app
        .create_deal(
            &token,
            json!({ "accountId": account, "name": "Set later", "amount": "1", "currency": "USD" }),
        )
        .await;
    for (v, offset) in [(1, 30), (2, 40)] {
        app.ok(
            &token,
            UPDATE_DATE,
            json!({ "id": set_later, "v": v, "d": day(today, offset) }),
        )
        .await;
    }
    assert_eq!(stored(&app, &token, &set_later).await, assessment(45, "MEDIUM", &BASE));
    assert_eq!(carrying(&app, &token, "CLOSE_DATE_PUSHED").await, [pushed.as_str()]);
}

#[tokio::test]
async fn removing_a_member_and_deleting_an_interaction_refresh_the_stored_risk() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Refresh").await;
    let pat = app.create_contact(&token, &account, "Pat One", "CFO").await;
    let kim = app.create_contact(&token, &account, "Kim Two", "COO").await;

    // A supportive mobilizer and a veto holder, neither met: SINGLE_THREADED 20 +
    // VETO_HOLDER_UNENGAGED 15 + BUYING_GROUP_GAPS 10 + LOW_COVERAGE 10 = 55, HIGH.
    let removal = app.create_opportunity(&token, &account, "A removal", "1").await;
    app.add_member_as(&token, &removal, &pat, "MOBILIZER", "SUPPORTIVE", false)
        .await;
    let veto = app
        .add_member_as(&token, &removal, &kim, "OTHER", "UNKNOWN", true)
        .await;
    assert_eq!(
        stored(&app, &token, &removal).await,
        assessment(
            55,
            "HIGH",
            &[
                "SINGLE_THREADED",
                "VETO_HOLDER_UNENGAGED",
                "BUYING_GROUP_GAPS",
                "LOW_COVERAGE"
            ]
        )
    );
    // A veto holder met yesterday, alone: SINGLE_THREADED 20 + NO_MOBILIZER 15 +
    // BUYING_GROUP_GAPS 10 = 45, MEDIUM (engaged, so neither unengaged nor low coverage).
    let deletion = app.create_opportunity(&token, &account, "B deletion", "1").await;
    let holder = app
        .add_member_as(&token, &deletion, &pat, "OTHER", "UNKNOWN", true)
        .await;
    let meeting = app.log_at(&token, &deletion, &days_ago(1), &[&holder], &[]).await;
    assert_eq!(stored(&app, &token, &deletion).await, assessment(45, "MEDIUM", &BASE));
    assert_eq!(
        carrying(&app, &token, "VETO_HOLDER_UNENGAGED").await,
        [removal.as_str()]
    );

    // Without the veto holder: the mobilizer alone, 20 + 10 + 10 = 40, MEDIUM.
    app.ok(
        &token,
        "mutation($id: ID!) { removeBuyingGroupMember(id: $id) }",
        json!({ "id": veto }),
    )
    .await;
    assert_eq!(
        stored(&app, &token, &removal).await,
        assessment(40, "MEDIUM", &["SINGLE_THREADED", "BUYING_GROUP_GAPS", "LOW_COVERAGE"])
    );
    // Without the meeting, the veto holder was never met: 45 + 15 + 10 = 70, HIGH.
    app.ok(
        &token,
        "mutation($id: ID!) { deleteInteraction(id: $id) }",
        json!({ "id": meeting }),
    )
    .await;
    assert_eq!(
        stored(&app, &token, &deletion).await,
        assessment(
            70,
            "HIGH",
            &[
                "SINGLE_THREADED",
                "NO_MOBILIZER",
                "VETO_HOLDER_UNENGAGED",
                "BUYING_GROUP_GAPS",
                "LOW_COVERAGE"
            ]
        )
    );
    assert_eq!(
        carrying(&app, &token, "VETO_HOLDER_UNENGAGED").await,
        [deletion.as_str()]
    );
    // Created with no group 45; the mobilizer 40; the veto holder 55; removed 40.
    assert_eq!(history_scores(&app, &token, &removal).await, [45, 40, 55, 40]);
    // Created 45; the veto holder 70; met 45; the meeting deleted 70.
    assert_eq!(history_scores(&app, &token, &deletion).await, [45, 70, 45, 70]);
}

/// Breaks one deal's stored row the way only a bug or a hand edit could (a stage no version of
/// the service writes), so that re-assessing it fails.
async fn corrupt_stage(app: &TestApp, deal_name: &str) {
    use sea_orm::ConnectionTrait;
    let sql = format!("UPDATE opportunities SET stage = 'BOGUS' WHERE name = '{deal_name}'");
    let result = app.store.reader().execute_unprepared(&sql).await.expect("update");
    assert_eq!(result.rows_affected(), 1);
}

#[tokio::test]
async fn a_policy_change_that_fails_changes_neither_the_policy_nor_any_stored_assessment() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Calm Co").await;
    let calm = app.create_opportunity(&token, &account, "Calm deal", "10").await;
    app.create_opportunity(&token, &account, "Broken deal", "10").await;
    let before = stored(&app, &token, &calm).await;
    assert_eq!(before, assessment(45, "MEDIUM", &BASE));
    corrupt_stage(&app, "Broken deal").await;

    let body = app
        .gql(
            &token,
            "mutation { updateRiskPolicy(input: {weights: [{code: BUYING_GROUP_GAPS, points: 40}]}) { stallDays } }",
            json!({}),
        )
        .await;
    assert_eq!(code(&body), "INTERNAL", "{body}");
    assert_eq!(body["errors"][0]["message"], "internal error", "no detail leaks");

    let policy = app.ok(&token, POLICY, json!({})).await;
    assert_eq!(
        policy["riskPolicy"],
        default_policy(),
        "the old policy is still in force"
    );
    assert_eq!(
        stored(&app, &token, &calm).await,
        before,
        "no stored assessment changed (with the new weight the calm deal would score 75)"
    );
}

#[tokio::test]
async fn one_tenant_failing_does_not_stop_the_sweep_for_the_others() {
    let app = TestApp::spawn().await;
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    let a_account = app.create_account(&a, "A Co").await;
    app.create_opportunity(&a, &a_account, "Broken deal", "10").await;
    let b_account = app.create_account(&b, "B Co").await;
    let quiet = app.create_opportunity(&b, &b_account, "Quiet deal", "10").await;
    corrupt_stage(&app, "Broken deal").await;

    let changed = dealgraph::service::risk::sweep(&app.store, Utc::now() + Duration::days(90))
        .await
        .expect("the sweep goes on past a failing tenant");
    assert_eq!(changed, 1, "tenant B's deal, whatever order the tenants come in");
    let mut stalled: Vec<&str> = BASE.to_vec();
    stalled.extend(["STALLED", "GOING_DARK"]);
    assert_eq!(stored(&app, &b, &quiet).await, assessment(75, "CRITICAL", &stalled));
}

#[tokio::test]
async fn the_sweep_never_overwrites_a_newer_assessment_with_an_older_one() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Quiet Co").await;
    let quiet = app.create_opportunity(&token, &account, "Quiet deal", "10").await;
    let sweep = |days: i64| dealgraph::service::risk::sweep(&app.store, Utc::now() + Duration::days(days));

    assert_eq!(sweep(90).await.expect("sweep"), 1);
    let mut stalled: Vec<&str> = BASE.to_vec();
    stalled.extend(["STALLED", "GOING_DARK"]);
    assert_eq!(stored(&app, &token, &quiet).await, assessment(75, "CRITICAL", &stalled));

    // A pass that started earlier (as at 30 days from now) finishes later: it changes nothing.
    assert_eq!(sweep(30).await.expect("sweep"), 0);
    assert_eq!(stored(&app, &token, &quiet).await, assessment(75, "CRITICAL", &stalled));
    assert_eq!(history_scores(&app, &token, &quiet).await, [45, 75]);
}
