//! Roles: analysts read, sellers change what they own, admins change everything.

use serde_json::json;

use crate::helpers::{TestApp, admin, code, token_for};

#[tokio::test]
async fn analysts_read_but_cannot_write() {
    let app = TestApp::spawn().await;
    let analyst = token_for("acme", "ann", &["analyst"]);
    let no_roles = token_for("acme", "nobody", &[]);
    for token in [&analyst, &no_roles] {
        let body = app
            .gql(
                token,
                "mutation { createAccount(input: {name: \"X\"}) { id } }",
                json!({}),
            )
            .await;
        assert_eq!(code(&body), "FORBIDDEN");
        let data = app.ok(token, "{ accounts { totalCount } }", json!({})).await;
        assert_eq!(data["accounts"]["totalCount"], 0, "the failed write wrote nothing");
    }
}

/// Olive's deal as anyone reads it: what a refused write must leave exactly as it was.
const DEAL: &str = "query($id: ID!) { opportunity(id: $id) { name ownerId version
    buyingGroup { id role stance canVeto notes } interactions { totalCount edges { node { id } } } }
    opportunities { totalCount } }";

#[tokio::test]
async fn sellers_change_only_their_own_deals() {
    let app = TestApp::spawn().await;
    let owner = token_for("acme", "olive", &["seller"]);
    let other = token_for("acme", "oscar", &["seller"]);
    let account = app.create_account(&owner, "Acme Customer").await;
    let contact = app.create_contact(&other, &account, "Pat", "CFO").await;
    let second = app.create_contact(&other, &account, "Kim", "CTO").await;
    let deal = app.create_opportunity(&owner, &account, "Olive's deal", "100").await;
    let member = app.add_member(&owner, &deal, &contact, "FINANCE").await;
    let interaction = app.log_interaction(&owner, &deal, &[&member], &[]).await;
    let untouched = json!({
        "opportunity": {
            "name": "Olive's deal", "ownerId": "olive", "version": 1,
            "buyingGroup": [{ "id": member, "role": "FINANCE", "stance": "UNKNOWN", "canVeto": false, "notes": null }],
            "interactions": { "totalCount": 1, "edges": [{ "node": { "id": interaction } }] }
        },
        "opportunities": { "totalCount": 1 }
    });
    assert_eq!(app.ok(&owner, DEAL, json!({ "id": deal })).await, untouched);

    let attempts: Vec<(&str, &str, serde_json::Value)> = vec![
        (
            "rename",
            "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, name: \"mine now\"}) { id } }",
            json!({ "id": deal }),
        ),
        (
            "take over",
            "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, ownerId: \"oscar\"}) { id } }",
            json!({ "id": deal }),
        ),
        (
            "hand to a third seller",
            "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, ownerId: \"otto\"}) { id } }",
            json!({ "id": deal }),
        ),
        (
            "add a member",
            "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }",
            json!({ "o": deal, "c": second }),
        ),
        (
            "change a member",
            "mutation($m: ID!) { updateBuyingGroupMember(input: {id: $m, stance: OPPOSED, canVeto: true, notes: \"mine\"}) { id } }",
            json!({ "m": member }),
        ),
        (
            "remove a member",
            "mutation($m: ID!) { removeBuyingGroupMember(id: $m) }",
            json!({ "m": member }),
        ),
        (
            "log an interaction",
            "mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-02-01T00:00:00Z\", participantIds: $p}) { id } }",
            json!({ "o": deal, "p": [member] }),
        ),
        (
            "delete an interaction",
            "mutation($i: ID!) { deleteInteraction(id: $i) }",
            json!({ "i": interaction }),
        ),
        (
            "create a deal for another seller",
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"for olive\", amount: \"1\", currency: \"USD\", ownerId: \"olive\"}) { id } }",
            json!({ "a": account }),
        ),
    ];
    for (what, query, vars) in attempts {
        let body = app.gql(&other, query, vars).await;
        assert_eq!(code(&body), "FORBIDDEN", "{what}: {body}");
        assert_eq!(body["data"], serde_json::Value::Null, "{what}");
        // Nothing was written: Oscar can still read everything, and it is all as it was.
        assert_eq!(
            app.ok(&other, DEAL, json!({ "id": deal })).await,
            untouched,
            "{what} wrote something"
        );
    }
}

#[tokio::test]
async fn admins_change_any_deal_and_reassign_it() {
    let app = TestApp::spawn().await;
    let seller = token_for("acme", "olive", &["seller"]);
    let account = app.create_account(&seller, "Acme Customer").await;
    let deal = app.create_opportunity(&seller, &account, "Olive's deal", "100").await;
    let data = app
        .ok(&admin("acme"), "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, ownerId: \"oscar\"}) { ownerId } }", json!({ "id": deal }))
        .await;
    assert_eq!(data["updateOpportunity"]["ownerId"], "oscar");
    let body = app
        .gql(&seller, "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 2, name: \"still mine?\"}) { id } }", json!({ "id": deal }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "the deal now belongs to oscar");
    let data = app
        .ok(
            &seller,
            "query($id: ID!) { opportunity(id: $id) { name ownerId version } }",
            json!({ "id": deal }),
        )
        .await;
    assert_eq!(
        data["opportunity"],
        json!({ "name": "Olive's deal", "ownerId": "oscar", "version": 2 })
    );
}
