//! Tenant isolation: another tenant's IDs behave exactly like IDs that do not exist, and
//! nothing of one tenant is visible, countable or changeable from another — not through
//! filters, aggregates, cursors or the risk policy.

use serde_json::{Value, json};

use crate::helpers::{POLICY, TestApp, admin, code, default_policy, random_id};

struct World {
    account: String,
    contact: String,
    deal: String,
    member: String,
    interaction: String,
}

/// Tenant A: one account, contact, deal, member and interaction.
async fn tenant_a_world(app: &TestApp) -> World {
    let a = admin("tenant-a");
    let account = app.create_account(&a, "Secret Corp").await;
    let contact = app.create_contact(&a, &account, "Hidden Person", "CFO").await;
    let deal = app.create_opportunity(&a, &account, "Secret deal", "999").await;
    let member = app.add_member(&a, &deal, &contact, "FINANCE").await;
    let interaction = app.log_interaction(&a, &deal, &[&member], &[]).await;
    World {
        account,
        contact,
        deal,
        member,
        interaction,
    }
}

/// Tenant B: an account, a contact, a deal and a member of its own, so that mixing in A's IDs
/// is the only fault. Its deal (one SPONSOR, never met, dated interaction-free) scores
/// SINGLE_THREADED 20 + NO_MOBILIZER 15 + BUYING_GROUP_GAPS 10 + LOW_COVERAGE 10 = 55, HIGH.
struct BWorld {
    account: String,
    contact: String,
    deal: String,
    member: String,
}

async fn tenant_b_world(app: &TestApp) -> BWorld {
    let b = admin("tenant-b");
    let account = app.create_account(&b, "B Corp").await;
    let contact = app.create_contact(&b, &account, "B Person", "CEO").await;
    let deal = app.create_opportunity(&b, &account, "B deal", "1").await;
    let member = app.add_member(&b, &deal, &contact, "SPONSOR").await;
    BWorld {
        account,
        contact,
        deal,
        member,
    }
}

/// Everything tenant A has, read by A: the after-check of every test below.
async fn assert_a_world_intact(app: &TestApp, w: &World) {
    let a = admin("tenant-a");
    let data = app
        .ok(
            &a,
            "query($o: ID!, $a: ID!, $i: ID!) {
               opportunity(id: $o) { name version amount ownerId buyingGroup { id stance role canVeto }
                 interactions { totalCount edges { node { id participants { id } about { id } } } } }
               account(id: $a) { name contacts { totalCount edges { node { id fullName } } } }
               accounts { totalCount } opportunities { totalCount }
               interaction: node(id: $i) { id } }",
            json!({ "o": w.deal, "a": w.account, "i": w.interaction }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "opportunity": {
                "name": "Secret deal", "version": 1, "amount": "999.00", "ownerId": "admin-user",
                "buyingGroup": [{ "id": w.member, "stance": "UNKNOWN", "role": "FINANCE", "canVeto": false }],
                "interactions": { "totalCount": 1, "edges": [{ "node": { "id": w.interaction, "participants": [{ "id": w.member }], "about": [] } }] }
            },
            "account": { "name": "Secret Corp", "contacts": { "totalCount": 1, "edges": [{ "node": { "id": w.contact, "fullName": "Hidden Person" } }] } },
            "accounts": { "totalCount": 1 },
            "opportunities": { "totalCount": 1 },
            "interaction": { "id": w.interaction }
        })
    );
}

/// Everything tenant B has, read by B.
async fn assert_b_world_intact(app: &TestApp, w: &BWorld) {
    let b = admin("tenant-b");
    let data = app
        .ok(
            &b,
            "query($o: ID!, $a: ID!) {
               opportunity(id: $o) { name version buyingGroup { id stance role } interactions { totalCount }
                 riskScore riskLevel riskFactorCodes }
               account(id: $a) { contacts { totalCount edges { node { id } } } }
               accounts { totalCount } opportunities { totalCount } }",
            json!({ "o": w.deal, "a": w.account }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "opportunity": {
                "name": "B deal", "version": 1,
                "buyingGroup": [{ "id": w.member, "stance": "UNKNOWN", "role": "SPONSOR" }],
                "interactions": { "totalCount": 0 },
                "riskScore": 55, "riskLevel": "HIGH",
                "riskFactorCodes": ["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS", "LOW_COVERAGE"]
            },
            "account": { "contacts": { "totalCount": 1, "edges": [{ "node": { "id": w.contact } }] } },
            "accounts": { "totalCount": 1 },
            "opportunities": { "totalCount": 1 }
        })
    );
}

#[tokio::test]
async fn another_tenant_sees_and_counts_nothing() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
    let bw = tenant_b_world(&app).await;
    let b = admin("tenant-b");
    for id in [&w.account, &w.contact, &w.deal, &w.member, &w.interaction] {
        let data = app
            .ok(&b, "query($id: ID!) { node(id: $id) { id } }", json!({ "id": id }))
            .await;
        assert_eq!(data["node"], Value::Null, "node({id}) leaked");
    }
    let data = app
        .ok(
            &b,
            "query($a: ID!, $o: ID!) { account(id: $a) { id } opportunity(id: $o) { id } accounts { totalCount edges { node { id } } }
               opportunities { totalCount edges { node { id } } }
               filtered: opportunities(filter: {accountId: $a}) { totalCount edges { node { id } } } }",
            json!({ "a": w.account, "o": w.deal }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "account": null, "opportunity": null,
            "accounts": { "totalCount": 1, "edges": [{ "node": { "id": bw.account } }] },
            "opportunities": { "totalCount": 1, "edges": [{ "node": { "id": bw.deal } }] },
            "filtered": { "totalCount": 0, "edges": [] }
        }),
        "B sees its own deal and, filtered by A's account, nothing"
    );
}

const HEALTH: &str = "query($f: OpportunityFilter, $g: PipelineGroupBy) { pipelineHealth(filter: $f, groupBy: $g) {
    openCount totals { currency count amount weightedAmount } byStage { stage count }
    byFactor { code count } groups { key label count amount averageRiskScore highOrCriticalCount }
    averageRiskScore winRate } }";

#[tokio::test]
async fn pipeline_health_shows_another_tenant_nothing_even_filtered_by_its_account() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
    let bw = tenant_b_world(&app).await;
    let b = admin("tenant-b");
    let no_factors: Vec<Value> = crate::helpers::DEFAULT_WEIGHTS
        .iter()
        .map(|(code, _)| json!({ "code": code, "count": 0 }))
        .collect();
    for group_by in ["ACCOUNT", "OWNER", "STAGE"] {
        let data = app
            .ok(&b, HEALTH, json!({ "f": { "accountId": w.account }, "g": group_by }))
            .await;
        assert_eq!(
            data["pipelineHealth"],
            json!({
                "openCount": 0, "totals": [], "byStage": [], "byFactor": no_factors, "groups": [],
                "averageRiskScore": null, "winRate": null
            }),
            "B filtered by A's account, grouped by {group_by}"
        );
    }
    // Unfiltered, B's groups are B's deal alone: A's deal has the same owner and stage.
    let b_deal = |key: &str, label: &str| json!([{ "key": key, "label": label, "count": 1, "amount": "1.00", "averageRiskScore": 55.0, "highOrCriticalCount": 1 }]);
    for (group_by, groups) in [
        ("ACCOUNT", b_deal(&bw.account, "B Corp")),
        ("OWNER", b_deal("admin-user", "admin-user")),
        ("STAGE", b_deal("PROSPECTING", "Prospecting")),
        ("RISK_LEVEL", b_deal("HIGH", "High")),
    ] {
        let data = app.ok(&b, HEALTH, json!({ "g": group_by })).await;
        let h = &data["pipelineHealth"];
        assert_eq!(h["groups"], groups, "{group_by}");
        assert_eq!(h["openCount"], 1);
        assert_eq!(
            h["totals"],
            json!([{ "currency": "USD", "count": 1, "amount": "1.00", "weightedAmount": "0.10" }])
        );
        assert_eq!(h["byStage"], json!([{ "stage": "PROSPECTING", "count": 1 }]));
    }
}

#[tokio::test]
async fn a_policy_change_in_one_tenant_leaves_the_others_policy_and_scores_alone() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
    let bw = tenant_b_world(&app).await;
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    let changed = app
        .ok(
            &a,
            "mutation { updateRiskPolicy(input: {singleThreadShare: 0.9, minGroupSize: 4, weights: [{code: BUYING_GROUP_GAPS, points: 40}, {code: LOW_COVERAGE, points: 0}]}) { minGroupSize } }",
            json!({}),
        )
        .await;
    assert_eq!(changed["updateRiskPolicy"]["minGroupSize"], 4);
    let mut a_policy = default_policy();
    a_policy["singleThreadShare"] = json!(0.9);
    a_policy["minGroupSize"] = json!(4);
    a_policy["weights"][6]["points"] = json!(40);
    a_policy["weights"][7]["points"] = json!(0);
    assert_eq!(app.ok(&a, POLICY, json!({})).await["riskPolicy"], a_policy);
    assert_eq!(
        app.ok(&b, POLICY, json!({})).await["riskPolicy"],
        default_policy(),
        "B keeps the defaults"
    );
    // A's deal (one FINANCE member, met only long ago) under A's new policy:
    // SINGLE_THREADED 20 + NO_MOBILIZER 15 + BUYING_GROUP_GAPS 40 = 75, CRITICAL.
    let read = "query($id: ID!) { opportunity(id: $id) { riskScore riskLevel riskFactorCodes riskHistory { score } risk { score } } }";
    assert_eq!(
        app.ok(&a, read, json!({ "id": w.deal })).await["opportunity"],
        json!({
            "riskScore": 75, "riskLevel": "CRITICAL",
            "riskFactorCodes": ["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS"],
            "riskHistory": [{ "score": 45 }, { "score": 55 }, { "score": 75 }], "risk": { "score": 75 }
        })
    );
    // B's deal, stored and live, is still scored by the default policy (55), with no new point.
    assert_eq!(
        app.ok(&b, read, json!({ "id": bw.deal })).await["opportunity"],
        json!({
            "riskScore": 55, "riskLevel": "HIGH",
            "riskFactorCodes": ["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS", "LOW_COVERAGE"],
            "riskHistory": [{ "score": 45 }, { "score": 55 }], "risk": { "score": 55 }
        })
    );
}

#[tokio::test]
async fn a_cursor_from_another_tenant_reveals_nothing_of_it() {
    let app = TestApp::spawn().await;
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    let a_account = app.create_account(&a, "A fruit").await;
    for name in ["Apple", "Mango", "Zebra"] {
        app.create_opportunity(&a, &a_account, name, "1").await;
    }
    let b_account = app.create_account(&b, "B fruit").await;
    for name in ["Banana", "Peach", "Zucchini"] {
        app.create_opportunity(&b, &b_account, name, "1").await;
    }
    let page = "query($first: Int, $after: String, $last: Int, $before: String) {
        opportunities(first: $first, after: $after, last: $last, before: $before, orderBy: {field: NAME, direction: ASC}) {
          totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { name } } } }";
    let a_page = app
        .ok(
            &a,
            "{ opportunities(first: 2, orderBy: {field: NAME, direction: ASC}) { pageInfo { endCursor } edges { node { name } } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        a_page["opportunities"]["edges"],
        json!([{ "node": { "name": "Apple" } }, { "node": { "name": "Mango" } }])
    );
    let a_cursor = a_page["opportunities"]["pageInfo"]["endCursor"].clone();
    // The cursor is a position in the ordering ("after Mango"), nothing more: B gets its own
    // deals on either side of it, and its own count.
    let after = app.ok(&b, page, json!({ "first": 10, "after": a_cursor })).await;
    assert_eq!(
        after["opportunities"],
        json!({
            "totalCount": 3,
            "pageInfo": { "hasNextPage": false, "hasPreviousPage": true },
            "edges": [{ "node": { "name": "Peach" } }, { "node": { "name": "Zucchini" } }]
        })
    );
    let before = app.ok(&b, page, json!({ "last": 10, "before": a_cursor })).await;
    assert_eq!(
        before["opportunities"],
        json!({
            "totalCount": 3,
            "pageInfo": { "hasNextPage": true, "hasPreviousPage": false },
            "edges": [{ "node": { "name": "Banana" } }]
        })
    );
}

#[tokio::test]
async fn another_tenant_changes_nothing_and_gets_what_a_missing_id_gets() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
    let bw = tenant_b_world(&app).await;
    let b = admin("tenant-b");

    // (mutation, variables with A's ID, the same with a well-formed ID that exists nowhere,
    // the expected code).
    let log = "mutation($o: ID!, $p: [ID!]!, $a: [ID!]) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-01-01T00:00:00Z\", participantIds: $p, aboutIds: $a}) { id } }";
    let add = "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }";
    let attempts: Vec<(&str, Value, Value, &str)> = vec![
        (
            "mutation($a: ID!) { createContact(input: {accountId: $a, fullName: \"X\"}) { id } }",
            json!({ "a": w.account }),
            json!({ "a": random_id("Account") }),
            "NOT_FOUND",
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"X\", amount: \"1\", currency: \"USD\"}) { id } }",
            json!({ "a": w.account }),
            json!({ "a": random_id("Account") }),
            "NOT_FOUND",
        ),
        (
            "mutation($o: ID!) { updateOpportunity(input: {id: $o, expectedVersion: 1, name: \"pwned\"}) { id } }",
            json!({ "o": w.deal }),
            json!({ "o": random_id("Opportunity") }),
            "NOT_FOUND",
        ),
        (
            add,
            json!({ "o": w.deal, "c": bw.contact }),
            json!({ "o": random_id("Opportunity"), "c": bw.contact }),
            "NOT_FOUND",
        ),
        (
            add,
            json!({ "o": bw.deal, "c": w.contact }),
            json!({ "o": bw.deal, "c": random_id("Contact") }),
            "NOT_FOUND",
        ),
        (
            "mutation($m: ID!) { updateBuyingGroupMember(input: {id: $m, stance: SUPPORTIVE}) { id } }",
            json!({ "m": w.member }),
            json!({ "m": random_id("BuyingGroupMember") }),
            "NOT_FOUND",
        ),
        (
            "mutation($m: ID!) { removeBuyingGroupMember(id: $m) }",
            json!({ "m": w.member }),
            json!({ "m": random_id("BuyingGroupMember") }),
            "NOT_FOUND",
        ),
        (
            log,
            json!({ "o": w.deal, "p": [bw.member] }),
            json!({ "o": random_id("Opportunity"), "p": [bw.member] }),
            "NOT_FOUND",
        ),
        (
            "mutation($i: ID!) { deleteInteraction(id: $i) }",
            json!({ "i": w.interaction }),
            json!({ "i": random_id("Interaction") }),
            "NOT_FOUND",
        ),
        // A member of A's deal, named on B's deal, is not a member of B's group: as a
        // participant, or discussed in absence.
        (
            log,
            json!({ "o": bw.deal, "p": [w.member] }),
            json!({ "o": bw.deal, "p": [random_id("BuyingGroupMember")] }),
            "BAD_USER_INPUT",
        ),
        (
            log,
            json!({ "o": bw.deal, "p": [bw.member], "a": [w.member] }),
            json!({ "o": bw.deal, "p": [bw.member], "a": [random_id("BuyingGroupMember")] }),
            "BAD_USER_INPUT",
        ),
    ];
    for (query, foreign, missing, expected_code) in attempts {
        let body = app.gql(&b, query, foreign.clone()).await;
        assert_eq!(code(&body), expected_code, "{query} {foreign}: {body}");
        assert_eq!(body["data"], Value::Null, "{query} returned data");
        let nowhere = app.gql(&b, query, missing).await;
        assert_eq!(
            body, nowhere,
            "{query}: A's ID and an ID that exists nowhere get the same answer (message, code, path)"
        );
    }
    let body = app
        .gql(&b, log, json!({ "o": bw.deal, "p": [bw.member], "a": [w.member] }))
        .await;
    assert_eq!(body["errors"][0]["extensions"]["field"], "input.aboutIds");

    // Neither world changed: A's is exactly as it was, and so is B's (its group, no interaction).
    assert_a_world_intact(&app, &w).await;
    assert_b_world_intact(&app, &bw).await;
}
