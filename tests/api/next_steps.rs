//! `Opportunity.nextSteps` (SPEC §10) through the API: the plan for a deal built with
//! mutations, what logging its first step does, closed deals, the deal page's statements,
//! the query cost, and tenant scoping.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, days_ago};

const PLAN: &str = "query($id: ID!, $at: DateTime) { opportunity(id: $id) { risk(asOf: $at) { score }
    nextSteps(asOf: $at) { asOf current { at score level factorCodes }
      steps { meet { id contact { fullName } } scoreAfter levelAfter clears message }
      reachable { at score level factorCodes } } } }";

struct Deal {
    id: String,
    /// Sam, Dana, Lee, Ana, Raj, Mia.
    members: Vec<String>,
}

/// Six members; Sam, Raj, Ana and Mia met directly in the last ten days, Dana (can veto)
/// only discussed with Sam and Raj, Lee (CFO, can veto, high influence) never met.
///
/// By hand (SPEC §4, default policy): VETO_HOLDER_UNENGAGED 15 (Lee) and
/// DELEGATED_ENGAGEMENT 15 (Dana) = 30, MEDIUM. Candidates: Lee, then Dana (both can veto,
/// Lee's influence is higher), then Ana, Mia (by name; Raj is direct). Meeting Lee clears
/// his factor (15), meeting Dana as well clears hers (0).
async fn deal(app: &TestApp, token: &str, name: &str) -> Deal {
    let account = app.create_account(token, name).await;
    let id = app.create_opportunity(token, &account, name, "250000").await;
    let add = "mutation($o: ID!, $c: ID!, $r: BuyingRole!, $s: Stance, $v: Boolean, $i: Influence) {
        addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: $r, stance: $s, canVeto: $v, influence: $i}) { id } }";
    let mut members = Vec::new();
    for (person, title, role, stance, veto, influence) in [
        ("Sam Patel", "VP Operations", "MOBILIZER", "SUPPORTIVE", false, "HIGH"),
        ("Dana Ruiz", "Controller", "FINANCE", "NEUTRAL", true, "MEDIUM"),
        ("Lee Chen", "CFO", "ECONOMIC_BUYER", "NEUTRAL", true, "HIGH"),
        (
            "Ana Gomez",
            "Head of Procurement",
            "PROCUREMENT",
            "UNKNOWN",
            false,
            "MEDIUM",
        ),
        (
            "Raj Iyer",
            "IT Architect",
            "TECHNICAL_EVALUATOR",
            "SUPPORTIVE",
            false,
            "MEDIUM",
        ),
        ("Mia Wong", "Ops Manager", "END_USER", "SUPPORTIVE", false, "LOW"),
    ] {
        let contact = app.create_contact(token, &account, person, title).await;
        let vars = json!({ "o": id, "c": contact, "r": role, "s": stance, "v": veto, "i": influence });
        let data = app.ok(token, add, vars).await;
        members.push(data["addBuyingGroupMember"]["id"].as_str().expect("member").to_owned());
    }
    let m = |i: usize| members[i].as_str();
    app.log_at(token, &id, &days_ago(3), &[m(0), m(4)], &[m(1)]).await;
    app.log_at(token, &id, &days_ago(6), &[m(3)], &[]).await;
    app.log_at(token, &id, &days_ago(9), &[m(5), m(0)], &[]).await;
    Deal { id, members }
}

fn plan_of(data: &Value) -> &Value {
    &data["opportunity"]["nextSteps"]
}

fn snapshot(at: &Value, score: i64, level: &str, codes: &[&str]) -> Value {
    json!({ "at": at, "score": score, "level": level, "factorCodes": codes })
}

#[tokio::test]
async fn a_deal_built_through_the_api_gets_its_plan_with_numbers() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let deal = deal(&app, &token, "Northwind platform").await;
    let data = app.ok(&token, PLAN, json!({ "id": deal.id })).await;
    let plan = plan_of(&data);
    let at = &plan["asOf"];
    assert_eq!(data["opportunity"]["risk"]["score"], 30, "the same facts as `risk`");
    assert_eq!(
        plan["current"],
        snapshot(at, 30, "MEDIUM", &["VETO_HOLDER_UNENGAGED", "DELEGATED_ENGAGEMENT"])
    );
    assert_eq!(
        plan["steps"],
        json!([
            {
                "meet": { "id": deal.members[2], "contact": { "fullName": "Lee Chen" } },
                "scoreAfter": 15, "levelAfter": "LOW", "clears": ["VETO_HOLDER_UNENGAGED"],
                "message": "Meet Lee Chen (CFO) directly: risk 30 → 15, clears VETO_HOLDER_UNENGAGED."
            },
            {
                "meet": { "id": deal.members[1], "contact": { "fullName": "Dana Ruiz" } },
                "scoreAfter": 0, "levelAfter": "LOW", "clears": ["DELEGATED_ENGAGEMENT"],
                "message": "Meet Dana Ruiz (Controller) directly: risk 15 → 0, clears DELEGATED_ENGAGEMENT."
            }
        ])
    );
    assert_eq!(plan["reachable"], snapshot(at, 0, "LOW", &[]));

    // Planned for an instant before Dana was discussed: she was not reached at all then.
    let before = days_ago(4);
    let data = app.ok(&token, PLAN, json!({ "id": deal.id, "at": before })).await;
    let plan = plan_of(&data);
    let instant = |v: &str| chrono::DateTime::parse_from_rfc3339(v).expect("RFC 3339");
    assert_eq!(instant(plan["asOf"].as_str().expect("asOf")), instant(&before));
    assert_eq!(plan["current"]["score"], data["opportunity"]["risk"]["score"]);
    assert_eq!(plan["current"]["factorCodes"], json!(["VETO_HOLDER_UNENGAGED"]));
    assert_eq!(plan["current"]["at"], plan["asOf"]);

    // Doing the first step does what the plan said, and the plan moves on.
    app.log_at(&token, &deal.id, &days_ago(0), &[&deal.members[2]], &[])
        .await;
    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { riskScore } }",
            json!({ "id": deal.id }),
        )
        .await;
    assert_eq!(data["opportunity"]["riskScore"], 15);
    let data = app.ok(&token, PLAN, json!({ "id": deal.id })).await;
    let steps = &plan_of(&data)["steps"];
    assert_eq!(steps.as_array().map(Vec::len), Some(1));
    assert_eq!(steps[0]["meet"]["id"], json!(deal.members[1]));
}

#[tokio::test]
async fn a_closed_deal_has_an_empty_plan() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let deal = deal(&app, &token, "Closed one").await;
    app.ok(
        &token,
        "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, stage: CLOSED_WON}) { id } }",
        json!({ "id": deal.id }),
    )
    .await;
    let data = app.ok(&token, PLAN, json!({ "id": deal.id })).await;
    let plan = plan_of(&data);
    let at = &plan["asOf"];
    assert_eq!(plan["current"], snapshot(at, 0, "LOW", &[]));
    assert_eq!(plan["steps"], json!([]));
    assert_eq!(plan["reachable"], plan["current"]);
}

#[tokio::test]
async fn the_plan_reads_nothing_beyond_what_risk_reads_and_is_priced() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let deal = deal(&app, &token, "Deal page").await;
    let page = |extra: &str| {
        format!(
            "query($id: ID!) {{ opportunity(id: $id) {{ name buyingGroup {{ contact {{ fullName }} }} risk {{ score }} {extra} }} }}"
        )
    };
    let with_plan = page("nextSteps { steps { meet { contact { fullName } } message } }");
    let mut costs = Vec::new();
    // The first query warms the policy cache; then with and without the plan.
    for query in [page(""), page(""), with_plan] {
        let before = app.store.statements_executed();
        app.ok(&token, &query, json!({ "id": deal.id })).await;
        costs.push(app.store.statements_executed() - before);
    }
    assert_eq!(costs[1], costs[2], "statements without and with nextSteps: {costs:?}");

    // A plan costs about a thousand assessments: a board may plan a page, not a hundred deals.
    let board = |n: usize| {
        format!("{{ opportunities(first: {n}) {{ edges {{ node {{ nextSteps {{ steps {{ message }} }} }} }} }} }}")
    };
    let refused = app.gql(&token, &board(100), json!({})).await;
    assert_eq!(code(&refused), "QUERY_TOO_COMPLEX", "{refused}");
    app.ok(&token, &board(20), json!({})).await;
}

#[tokio::test]
async fn a_plan_names_only_the_tenants_own_members_and_is_invisible_to_others() {
    let app = TestApp::spawn().await;
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    let deal_a = deal(&app, &a, "A's deal").await;
    let deal_b = deal(&app, &b, "B's deal").await;
    for (token, own) in [(&a, &deal_a), (&b, &deal_b)] {
        let data = app.ok(token, PLAN, json!({ "id": own.id })).await;
        let met: Vec<&str> = plan_of(&data)["steps"]
            .as_array()
            .expect("steps")
            .iter()
            .filter_map(|s| s["meet"]["id"].as_str())
            .collect();
        assert_eq!(met, vec![own.members[2].as_str(), own.members[1].as_str()]);
    }
    // Another tenant's deal is no deal at all, by id or as a node.
    let data = app.ok(&b, PLAN, json!({ "id": deal_a.id })).await;
    assert_eq!(data["opportunity"], Value::Null);
    let data = app
        .ok(
            &b,
            "query($id: ID!) { node(id: $id) { ... on Opportunity { nextSteps { steps { message } } } } }",
            json!({ "id": deal_a.id }),
        )
        .await;
    assert_eq!(data["node"], Value::Null);
}

/// The demo's story deal, planned as the welcome text and the README show it.
#[tokio::test]
async fn the_demo_story_deal_gets_the_plan_the_readme_shows() {
    let (app, database_url) = TestApp::spawn_with_database().await;
    crate::helpers::load_demo(&database_url).await.expect("the demo loads");
    let query = "query($name: String!) { opportunities(first: 1, filter: {nameContains: $name}) { edges { node {
        nextSteps { current { score level } steps { scoreAfter levelAfter clears message } reachable { score level factorCodes } } } } } }";
    let data = app
        .ok(
            &admin("demo"),
            query,
            json!({ "name": dealgraph::seed::demo::STORY_DEAL }),
        )
        .await;
    let plan = &data["opportunities"]["edges"][0]["node"]["nextSteps"];
    assert_eq!(plan["current"], json!({ "score": 100, "level": "CRITICAL" }));
    let messages: Vec<&str> = plan["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .filter_map(|s| s["message"].as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "Meet Dana Ruiz (Controller) directly: risk stays at 100, clears DELEGATED_ENGAGEMENT; with the steps after it, it falls to 60.",
            "Meet Priya Shah (Chief Financial Officer) directly: risk 100 → 70, clears SINGLE_THREADED and VETO_HOLDER_UNENGAGED.",
            "Meet Grace Kim (Associate General Counsel) directly: risk 70 → 60, clears LOW_COVERAGE.",
        ]
    );
    assert_eq!(
        plan["reachable"],
        json!({ "score": 60, "level": "HIGH", "factorCodes": ["VETO_HOLDER_OPPOSED", "MOBILIZER_OVERLOADED", "STALLED", "CLOSE_DATE_PUSHED"] })
    );
}
