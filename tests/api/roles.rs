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

#[tokio::test]
async fn sellers_change_only_their_own_deals() {
    let app = TestApp::spawn().await;
    let owner = token_for("acme", "olive", &["seller"]);
    let other = token_for("acme", "oscar", &["seller"]);
    let account = app.create_account(&owner, "Acme Customer").await;
    let contact = app.create_contact(&other, &account, "Pat", "CFO").await;
    let deal = app.create_opportunity(&owner, &account, "Olive's deal", "100").await;

    let body = app
        .gql(
            &other,
            "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, name: \"mine now\"}) { id } }",
            json!({ "id": deal }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(&other, "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }", json!({ "o": deal, "c": contact }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let body = app
        .gql(&other, "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"for olive\", amount: \"1\", currency: \"USD\", ownerId: \"olive\"}) { id } }", json!({ "a": account }))
        .await;
    assert_eq!(code(&body), "FORBIDDEN", "sellers cannot assign deals to others");

    let member = app.add_member(&owner, &deal, &contact, "FINANCE").await;
    let body = app
        .gql(
            &other,
            "mutation($m: ID!) { removeBuyingGroupMember(id: $m) }",
            json!({ "m": member }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");
    let interaction = app.log_interaction(&owner, &deal, &[&member], &[]).await;
    let body = app
        .gql(
            &other,
            "mutation($i: ID!) { deleteInteraction(id: $i) }",
            json!({ "i": interaction }),
        )
        .await;
    assert_eq!(code(&body), "FORBIDDEN");

    // Oscar can still read everything.
    let data = app
        .ok(
            &other,
            "query($id: ID!) { opportunity(id: $id) { name ownerId } }",
            json!({ "id": deal }),
        )
        .await;
    assert_eq!(
        data["opportunity"],
        json!({ "name": "Olive's deal", "ownerId": "olive" })
    );
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
}
