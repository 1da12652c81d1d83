//! Risk through the API: the field story is flagged with named, explained factors; working
//! the whole buying group clears them; `asOf` replays and projects; the policy steers the
//! stored assessments that boards filter and sort by.

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, token_for};

fn days_ago(days: i64) -> String {
    (Utc::now() - Duration::days(days)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

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
}

/// The field story: the seller meets only the overloaded mobilizer and asks him to handle
/// the opposed controller, who holds a veto.
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
    for days in [20, 12, 5] {
        app.ok(
            token,
            log,
            json!({ "o": deal, "at": days_ago(days), "p": [members[0]], "a": [members[1]] }),
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
    }
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
    let live: Vec<String> = risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f["code"].as_str().expect("code").to_owned())
        .collect();
    for expected in [
        "SINGLE_THREADED",
        "VETO_HOLDER_OPPOSED",
        "VETO_HOLDER_UNENGAGED",
        "DELEGATED_ENGAGEMENT",
        "MOBILIZER_OVERLOADED",
        "LOW_COVERAGE",
    ] {
        assert!(live.iter().any(|c| c == expected), "{expected} missing from {live:?}");
    }
    for absent in [
        "NO_MOBILIZER",
        "BUYING_GROUP_GAPS",
        "STALLED",
        "GOING_DARK",
        "PAST_CLOSE_DATE",
        "CLOSE_DATE_PUSHED",
    ] {
        assert!(!live.iter().any(|c| c == absent), "{absent} should not fire: {live:?}");
    }
    let points: i64 = risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f["points"].as_i64().expect("points"))
        .sum();
    assert_eq!(risk["score"].as_i64(), Some(points.min(100)));
    assert_eq!(risk["level"], "CRITICAL");
    let first = &risk["factors"][0];
    assert_eq!(first["code"], "VETO_HOLDER_OPPOSED", "highest points first");
    assert_eq!(first["severity"], "CRITICAL");
    assert_eq!(
        first["members"],
        json!([{ "id": story.dana, "contact": { "fullName": "Dana Ruiz" } }])
    );

    let delegated = risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .find(|f| f["code"] == "DELEGATED_ENGAGEMENT")
        .expect("factor");
    let message = delegated["message"].as_str().expect("message");
    assert!(
        message.contains("Dana Ruiz") && message.contains("Sam Patel"),
        "{message}"
    );
    let next = delegated["recommendation"].as_str().expect("recommendation");
    assert!(next.contains("Dana Ruiz"), "{next}");

    // The stored assessment equals the live one at (about) the same time.
    assert_eq!(opp["riskScore"], risk["score"]);
    assert_eq!(opp["riskLevel"], risk["level"]);
    let mut stored = codes(&opp["riskFactorCodes"]);
    let mut live_sorted = live.clone();
    stored.sort();
    live_sorted.sort();
    assert_eq!(stored, live_sorted);

    let engagement: Vec<(&str, &str)> = opp["buyingGroup"]
        .as_array()
        .expect("group")
        .iter()
        .map(|m| {
            (
                m["id"].as_str().expect("id"),
                m["engagement"].as_str().expect("engagement"),
            )
        })
        .collect();
    assert!(engagement.contains(&(story.sam.as_str(), "DIRECT")));
    assert!(engagement.contains(&(story.dana.as_str(), "PROXY_ONLY")));
    for other in &story.others {
        assert!(engagement.contains(&(other.as_str(), "NONE")));
    }
    let sam = opp["buyingGroup"]
        .as_array()
        .expect("group")
        .iter()
        .find(|m| m["id"] == story.sam.as_str())
        .expect("sam");
    assert!(sam["lastDirectInteractionAt"].is_string());
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
    let live: Vec<&str> = risk["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f["code"].as_str().expect("code"))
        .collect();
    assert!(live.contains(&"STALLED") && live.contains(&"GOING_DARK"), "{live:?}");
    assert_eq!(risk["score"], 100, "capped");
    assert_eq!(
        risk["asOf"],
        in_90_days.as_str(),
        "the assessment says which instant it is for"
    );
    // Today the deal has not been in its stage long enough to stall.
    let data = app
        .ok(&token, RISK, json!({ "id": story.deal, "asOf": days_ago(0) }))
        .await;
    assert!(
        data["opportunity"]["risk"]["factors"]
            .as_array()
            .expect("factors")
            .iter()
            .all(|f| f["code"] != "STALLED")
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
    let live: Vec<&str> = data["opportunity"]["risk"]["factors"]
        .as_array()
        .expect("factors")
        .iter()
        .map(|f| f["code"].as_str().expect("code"))
        .collect();
    for cleared in [
        "SINGLE_THREADED",
        "VETO_HOLDER_OPPOSED",
        "VETO_HOLDER_UNENGAGED",
        "DELEGATED_ENGAGEMENT",
        "LOW_COVERAGE",
    ] {
        assert!(!live.contains(&cleared), "{cleared} still fires: {live:?}");
    }
    assert_eq!(live, ["MOBILIZER_OVERLOADED"], "only Sam's workload remains");

    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { riskScore riskHistory { at score level factorCodes } } }",
            json!({ "id": story.deal }),
        )
        .await;
    let history = data["opportunity"]["riskHistory"].as_array().expect("history");
    assert!(history.len() >= 3, "history grows with each change: {history:?}");
    let scores: Vec<i64> = history.iter().map(|h| h["score"].as_i64().expect("score")).collect();
    let peak = scores.iter().copied().max().expect("some");
    assert!(peak >= 75 && *scores.last().expect("last") == 10, "{scores:?}");
    assert_eq!(data["opportunity"]["riskScore"], 10);
    let ats: Vec<&str> = history.iter().map(|h| h["at"].as_str().expect("at")).collect();
    let mut sorted = ats.clone();
    sorted.sort();
    assert_eq!(ats, sorted, "oldest first");
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
    let calm = app.create_opportunity(&token, &account, "Calm deal", "10").await;

    let board = "query($f: OpportunityFilter) { opportunities(filter: $f, orderBy: {field: RISK_SCORE, direction: DESC}) { totalCount edges { node { id riskScore riskLevel } } } }";
    let data = app
        .ok(&token, board, json!({ "f": { "riskFactor": "VETO_HOLDER_OPPOSED" } }))
        .await;
    assert_eq!(data["opportunities"]["totalCount"], 1);
    let data = app.ok(&token, board, json!({})).await;
    assert_eq!(
        data["opportunities"]["edges"][0]["node"]["id"],
        story.deal.as_str(),
        "riskiest first"
    );
    let data = app
        .ok(&token, board, json!({ "f": { "riskLevels": ["CRITICAL"] } }))
        .await;
    assert_eq!(data["opportunities"]["totalCount"], 1);

    let policy = app.ok(&token, "{ riskPolicy { engagementWindowDays minEngagedMembers singleThreadShare minGroupSize requiredRoles coverageThreshold stallDays darkDays maxCloseDatePushes weights { code points } } }", json!({})).await;
    let p = &policy["riskPolicy"];
    assert_eq!(
        (
            p["engagementWindowDays"].clone(),
            p["minEngagedMembers"].clone(),
            p["singleThreadShare"].clone(),
            p["minGroupSize"].clone()
        ),
        (json!(30), json!(3), json!(0.8), json!(6))
    );
    assert_eq!(p["requiredRoles"], json!(["ECONOMIC_BUYER"]));
    assert_eq!(
        (
            p["stallDays"].clone(),
            p["darkDays"].clone(),
            p["maxCloseDatePushes"].clone()
        ),
        (json!(60), json!(14), json!(2))
    );
    assert_eq!(p["weights"][2], json!({ "code": "VETO_HOLDER_OPPOSED", "points": 25 }));

    let update =
        "mutation($i: RiskPolicyInput!) { updateRiskPolicy(input: $i) { weights { code points } singleThreadShare } }";
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

    let data = app
        .ok(&token, update, json!({ "i": { "weights": [{ "code": "VETO_HOLDER_OPPOSED", "points": 0 }, { "code": "BUYING_GROUP_GAPS", "points": 40 }] } }))
        .await;
    assert_eq!(
        data["updateRiskPolicy"]["weights"][2],
        json!({ "code": "VETO_HOLDER_OPPOSED", "points": 0 })
    );
    assert_eq!(
        data["updateRiskPolicy"]["singleThreadShare"], 0.8,
        "untouched fields keep their value"
    );
    let data = app
        .ok(&token, board, json!({ "f": { "riskFactor": "VETO_HOLDER_OPPOSED" } }))
        .await;
    assert_eq!(
        data["opportunities"]["totalCount"], 0,
        "a disabled factor leaves the stored assessments"
    );
    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { riskScore riskFactorCodes } }",
            json!({ "id": calm }),
        )
        .await;
    assert_eq!(
        data["opportunity"]["riskScore"], 75,
        "the calm deal (empty group) now carries the heavier gap weight: 20 + 15 + 40"
    );
    assert!(codes(&data["opportunity"]["riskFactorCodes"]).contains(&"BUYING_GROUP_GAPS".to_owned()));
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
    let stored = "query($id: ID!) { opportunity(id: $id) { riskFactorCodes riskHistory { score } } }";
    let before = app.ok(&a, stored, json!({ "id": story.deal })).await;
    assert!(!codes(&before["opportunity"]["riskFactorCodes"]).contains(&"STALLED".to_owned()));

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
    let after = app.ok(&a, stored, json!({ "id": story.deal })).await;
    let codes_after = codes(&after["opportunity"]["riskFactorCodes"]);
    assert!(
        codes_after.contains(&"STALLED".to_owned()) && codes_after.contains(&"GOING_DARK".to_owned()),
        "{codes_after:?}"
    );
    let history = |v: &Value| v["opportunity"]["riskHistory"].as_array().expect("history").len();
    assert_eq!(
        history(&after),
        history(&before) + 1,
        "the sweep appends one history point"
    );
    let quiet_after = app.ok(&b, stored, json!({ "id": quiet })).await;
    assert!(codes(&quiet_after["opportunity"]["riskFactorCodes"]).contains(&"GOING_DARK".to_owned()));
}
