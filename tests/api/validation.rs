//! Bad input gets `BAD_USER_INPUT` naming the field, stale versions get `CONFLICT`, and a
//! failed mutation writes nothing.

use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code};

fn field(body: &Value) -> &str {
    body["errors"][0]["extensions"]["field"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn bad_input_names_the_field_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Real").await;
    let long = "x".repeat(201);
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "mutation { createAccount(input: {name: \"  \"}) { id } }",
            json!({}),
            "input.name",
        ),
        (
            "mutation($n: String!) { createAccount(input: {name: $n}) { id } }",
            json!({ "n": long }),
            "input.name",
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"D\", amount: \"-5\", currency: \"USD\"}) { id } }",
            json!({ "a": account }),
            "input.amount",
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"D\", amount: \"1.001\", currency: \"USD\"}) { id } }",
            json!({ "a": account }),
            "input.amount",
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"D\", amount: \"5\", currency: \"usd\"}) { id } }",
            json!({ "a": account }),
            "input.currency",
        ),
        (
            "mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: \"D\", amount: \"5\", currency: \"EURO\"}) { id } }",
            json!({ "a": account }),
            "input.currency",
        ),
        (
            "mutation($a: ID!) { createContact(input: {accountId: $a, fullName: \"P\", email: \"not-an-email\"}) { id } }",
            json!({ "a": account }),
            "input.email",
        ),
        ("{ opportunities(first: 101) { totalCount } }", json!({}), "first"),
        ("{ accounts(first: -1) { totalCount } }", json!({}), "first"),
        ("{ opportunities(after: \"bogus\") { totalCount } }", json!({}), "after"),
        (
            "{ opportunities(filter: {currency: \"dollars\"}) { totalCount } }",
            json!({}),
            "filter.currency",
        ),
    ];
    for (query, vars, expected_field) in cases {
        let body = app.gql(&token, query, vars).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
        assert_eq!(field(&body), expected_field, "{query}");
    }
    let data = app
        .ok(
            &token,
            "{ accounts { totalCount } opportunities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "accounts": { "totalCount": 1 }, "opportunities": { "totalCount": 0 } })
    );
}

#[tokio::test]
async fn unknown_enum_values_and_malformed_scalars_are_bad_user_input() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    for (query, vars) in [
        ("{ opportunities(filter: {stages: [WON]}) { totalCount } }", json!({})),
        (
            "query($s: [Stage!]) { opportunities(filter: {stages: $s}) { totalCount } }",
            json!({ "s": ["WON"] }),
        ),
        (
            "{ opportunities(filter: {closeDateFrom: \"31/12/2026\"}) { totalCount } }",
            json!({}),
        ),
        (
            "{ opportunities(filter: {minAmount: \"lots\"}) { totalCount } }",
            json!({}),
        ),
    ] {
        let body = app.gql(&token, query, vars).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
    }
}

#[tokio::test]
async fn interactions_only_involve_members_of_their_own_deal() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Acme").await;
    let contact = app.create_contact(&token, &account, "Pat", "CFO").await;
    let first = app.create_opportunity(&token, &account, "First", "1").await;
    let second = app.create_opportunity(&token, &account, "Second", "1").await;
    let on_first = app.add_member(&token, &first, &contact, "FINANCE").await;
    let on_second = app.add_member(&token, &second, &contact, "FINANCE").await;
    let log = "mutation($o: ID!, $p: [ID!]!, $a: [ID!]) { logInteraction(input: {opportunityId: $o, kind: EMAIL, occurredAt: \"2026-01-01T00:00:00Z\", participantIds: $p, aboutIds: $a}) { id } }";
    let body = app
        .gql(&token, log, json!({ "o": first, "p": [on_second], "a": [] }))
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "input.participantIds"));
    let body = app
        .gql(&token, log, json!({ "o": first, "p": [on_first], "a": [on_second] }))
        .await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "input.aboutIds"));
    let body = app.gql(&token, log, json!({ "o": first, "p": [], "a": [] })).await;
    assert_eq!((code(&body), field(&body)), ("BAD_USER_INPUT", "input.participantIds"));
    let body = app
        .gql(&token, log, json!({ "o": first, "p": [on_first], "a": [on_first] }))
        .await;
    assert_eq!(code(&body), "BAD_USER_INPUT");
    let body = app
        .gql(&token, "mutation($o: ID!, $c: ID!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: OTHER}) { id } }", json!({ "o": first, "c": contact }))
        .await;
    assert_eq!(
        (code(&body), field(&body)),
        ("BAD_USER_INPUT", "input.contactId"),
        "a contact joins a group once"
    );
    let data = app
        .ok(
            &token,
            "query($o: ID!) { opportunity(id: $o) { interactions { totalCount } buyingGroup { id } } }",
            json!({ "o": first }),
        )
        .await;
    assert_eq!(
        data["opportunity"],
        json!({ "interactions": { "totalCount": 0 }, "buyingGroup": [{ "id": on_first }] })
    );
}

#[tokio::test]
async fn a_stale_expected_version_is_a_conflict_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Acme").await;
    let deal = app.create_opportunity(&token, &account, "Deal", "1").await;
    let update = "mutation($id: ID!, $v: Int!, $n: String!) { updateOpportunity(input: {id: $id, expectedVersion: $v, name: $n}) { name version } }";
    let data = app
        .ok(&token, update, json!({ "id": deal, "v": 1, "n": "Renamed" }))
        .await;
    assert_eq!(data["updateOpportunity"], json!({ "name": "Renamed", "version": 2 }));
    let body = app
        .gql(&token, update, json!({ "id": deal, "v": 1, "n": "Lost update" }))
        .await;
    assert_eq!(code(&body), "CONFLICT");
    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { name version } }",
            json!({ "id": deal }),
        )
        .await;
    assert_eq!(data["opportunity"], json!({ "name": "Renamed", "version": 2 }));
}
