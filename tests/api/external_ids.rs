//! External IDs (SPEC §7): set on create, unique per tenant and type, found by look-ups and
//! the board's filter, invisible across tenants.

use serde_json::{Value, json};

use crate::helpers::*;

async fn create(app: &TestApp, token: &str, field: &str, mutation: &str, input: Value) -> Value {
    let body = app.gql(token, mutation, json!({ "i": input })).await;
    body.get("data").and_then(|d| d.get(field)).cloned().unwrap_or(body)
}

const ACCOUNT: &str = "mutation($i: CreateAccountInput!) { createAccount(input: $i) { id externalId } }";
const CONTACT: &str = "mutation($i: CreateContactInput!) { createContact(input: $i) { id externalId } }";
const DEAL: &str = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id externalId } }";
const MEMBER: &str = "mutation($i: AddBuyingGroupMemberInput!) { addBuyingGroupMember(input: $i) { id externalId } }";
const LOG: &str = "mutation($i: LogInteractionInput!) { logInteraction(input: $i) { id externalId } }";

#[tokio::test]
async fn external_ids_are_set_on_create_and_found_by_lookups_and_filter() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = create(
        &app,
        &token,
        "createAccount",
        ACCOUNT,
        json!({ "name": "Globex", "externalId": "001A" }),
    )
    .await;
    assert_eq!(account["externalId"], "001A", "{account}");
    let account_id = account["id"].as_str().expect("id").to_owned();
    let contact = create(
        &app,
        &token,
        "createContact",
        CONTACT,
        json!({ "accountId": account_id, "fullName": "Hank Scorpio", "externalId": "003A" }),
    )
    .await;
    let deal = create(
        &app,
        &token,
        "createOpportunity",
        DEAL,
        json!({ "accountId": account_id, "name": "Globex renewal", "amount": "100", "currency": "USD", "externalId": "006A" }),
    )
    .await;
    let deal_id = deal["id"].as_str().expect("id").to_owned();
    let member = create(
        &app,
        &token,
        "addBuyingGroupMember",
        MEMBER,
        json!({ "opportunityId": deal_id, "contactId": contact["id"], "role": "SPONSOR", "externalId": "00KA" }),
    )
    .await;
    assert_eq!(member["externalId"], "00KA", "{member}");
    let logged = create(
        &app,
        &token,
        "logInteraction",
        LOG,
        json!({ "opportunityId": deal_id, "kind": "CALL", "occurredAt": "2026-11-02T10:00:00Z", "participantIds": [member["id"]], "externalId": "00TA" }),
    )
    .await;
    assert_eq!(logged["externalId"], "00TA", "{logged}");
    // An account without one has none.
    let plain = create(&app, &token, "createAccount", ACCOUNT, json!({ "name": "Initech" })).await;
    assert_eq!(plain["externalId"], Value::Null);

    let data = app
        .ok(
            &token,
            "{ a: accountByExternalId(externalId: \"001A\") { name }
               c: contactByExternalId(externalId: \"003A\") { fullName externalId account { externalId } }
               o: opportunityByExternalId(externalId: \"006A\") { name externalId
                    buyingGroup { externalId contact { externalId } }
                    interactions { edges { node { externalId } } } }
               none: opportunityByExternalId(externalId: \"nope\") { name }
               board: opportunities(filter: {externalIds: [\"006A\", \"other\"]}) { totalCount edges { node { externalId } } } }",
            json!({}),
        )
        .await;
    assert_eq!(data["a"]["name"], "Globex");
    assert_eq!(
        data["c"],
        json!({ "fullName": "Hank Scorpio", "externalId": "003A", "account": { "externalId": "001A" } })
    );
    assert_eq!(data["o"]["externalId"], "006A");
    assert_eq!(
        data["o"]["buyingGroup"],
        json!([{ "externalId": "00KA", "contact": { "externalId": "003A" } }])
    );
    assert_eq!(
        data["o"]["interactions"]["edges"],
        json!([{ "node": { "externalId": "00TA" } }])
    );
    assert_eq!(data["none"], Value::Null);
    assert_eq!(data["board"]["totalCount"], 1);
    // The deal page path (history loaded for risk) carries the interaction's external ID too.
    let page = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { risk { score } interactions { edges { node { externalId } } } } }",
            json!({ "id": deal_id }),
        )
        .await;
    assert_eq!(
        page["opportunity"]["interactions"]["edges"],
        json!([{ "node": { "externalId": "00TA" } }])
    );
}

#[tokio::test]
async fn external_ids_are_unique_per_tenant_and_type_and_private_to_their_tenant() {
    let app = TestApp::spawn().await;
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    let first = create(
        &app,
        &a,
        "createAccount",
        ACCOUNT,
        json!({ "name": "One", "externalId": "X1" }),
    )
    .await;
    assert_eq!(first["externalId"], "X1");
    // Twice in one tenant and type: a clear error, nothing written.
    let again = app
        .gql(&a, ACCOUNT, json!({ "i": { "name": "Two", "externalId": "X1" } }))
        .await;
    assert_eq!(code(&again), "BAD_USER_INPUT", "{again}");
    assert_eq!(again["errors"][0]["extensions"]["field"], "input.externalId");
    let count = app.ok(&a, "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(count["accounts"]["totalCount"], 1);
    // The same value for another type, or in another tenant, is another record's own.
    let account_id = first["id"].as_str().expect("id");
    let contact = create(
        &app,
        &a,
        "createContact",
        CONTACT,
        json!({ "accountId": account_id, "fullName": "Same Id", "externalId": "X1" }),
    )
    .await;
    assert_eq!(contact["externalId"], "X1", "{contact}");
    let other = create(
        &app,
        &b,
        "createAccount",
        ACCOUNT,
        json!({ "name": "B's", "externalId": "X1" }),
    )
    .await;
    assert_eq!(other["externalId"], "X1", "{other}");
    // Each tenant finds only its own.
    let found = app
        .ok(&b, "{ accountByExternalId(externalId: \"X1\") { name } }", json!({}))
        .await;
    assert_eq!(found["accountByExternalId"]["name"], "B's");
    let none = app
        .ok(
            &b,
            "{ contactByExternalId(externalId: \"X1\") { fullName } }",
            json!({}),
        )
        .await;
    assert_eq!(none["contactByExternalId"], Value::Null);
    // Too long is refused, naming the field.
    let long = app
        .gql(
            &a,
            ACCOUNT,
            json!({ "i": { "name": "Long", "externalId": "x".repeat(256) } }),
        )
        .await;
    assert_eq!(
        (code(&long), long["errors"][0]["extensions"]["field"].clone()),
        ("BAD_USER_INPUT", json!("input.externalId"))
    );
}
