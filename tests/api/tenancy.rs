//! Tenant isolation: another tenant's IDs behave exactly like IDs that do not exist, and
//! nothing of one tenant is visible, countable or changeable from another.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code};

struct World {
    account: String,
    contact: String,
    deal: String,
    member: String,
    interaction: String,
}

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

#[tokio::test]
async fn another_tenant_sees_and_counts_nothing() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
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
               filtered: opportunities(filter: {accountId: $a}) { totalCount } }",
            json!({ "a": w.account, "o": w.deal }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "account": null, "opportunity": null,
            "accounts": { "totalCount": 0, "edges": [] },
            "opportunities": { "totalCount": 0, "edges": [] },
            "filtered": { "totalCount": 0 }
        })
    );
}

#[tokio::test]
async fn another_tenant_changes_nothing_and_gets_not_found() {
    let app = TestApp::spawn().await;
    let w = tenant_a_world(&app).await;
    let b = admin("tenant-b");
    // B has its own account and deal, so that mixing in A's IDs is the only fault.
    let b_account = app.create_account(&b, "B Corp").await;
    let b_contact = app.create_contact(&b, &b_account, "B Person", "CEO").await;
    let b_deal = app.create_opportunity(&b, &b_account, "B deal", "1").await;
    let b_member = app.add_member(&b, &b_deal, &b_contact, "SPONSOR").await;

    let attempts: Vec<(&str, Value)> = vec![
        (
            "mutation($a: ID!) { createContact(input: {accountId: $a, fullName: \"X\"}) { id } }",
            json!({ "a": w.account }),
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"X\", amount: \"1\", currency: \"USD\"}) { id } }",
            json!({ "a": w.account }),
        ),
        (
            "mutation($o: ID!) { updateOpportunity(input: {id: $o, expectedVersion: 1, name: \"pwned\"}) { id } }",
            json!({ "o": w.deal }),
        ),
        (
            "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }",
            json!({ "o": w.deal, "c": b_contact }),
        ),
        (
            "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }",
            json!({ "o": b_deal, "c": w.contact }),
        ),
        (
            "mutation($m: ID!) { updateBuyingGroupMember(input: {id: $m, stance: SUPPORTIVE}) { id } }",
            json!({ "m": w.member }),
        ),
        (
            "mutation($m: ID!) { removeBuyingGroupMember(id: $m) }",
            json!({ "m": w.member }),
        ),
        (
            "mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-01-01T00:00:00Z\", participantIds: $p}) { id } }",
            json!({ "o": w.deal, "p": [b_member] }),
        ),
        (
            "mutation($i: ID!) { deleteInteraction(id: $i) }",
            json!({ "i": w.interaction }),
        ),
    ];
    for (query, vars) in attempts {
        let body = app.gql(&b, query, vars).await;
        assert_eq!(code(&body), "NOT_FOUND", "{query}: {body}");
        assert_eq!(body["data"], Value::Null, "{query} returned data");
    }
    // A member of A's deal named as a participant of B's deal is not a member of B's group.
    let body = app
        .gql(
            &b,
            "mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-01-01T00:00:00Z\", participantIds: $p}) { id } }",
            json!({ "o": b_deal, "p": [w.member] }),
        )
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");

    // A's world is exactly as it was.
    let a = admin("tenant-a");
    let data = app
        .ok(
            &a,
            "query($o: ID!) { opportunity(id: $o) { name version buyingGroup { id stance } interactions { totalCount } } accounts { totalCount } }",
            json!({ "o": w.deal }),
        )
        .await;
    assert_eq!(
        data,
        json!({
            "opportunity": { "name": "Secret deal", "version": 1, "buyingGroup": [{ "id": w.member, "stance": "UNKNOWN" }], "interactions": { "totalCount": 1 } },
            "accounts": { "totalCount": 1 }
        })
    );
}
