//! The main path a client walks: account, contacts, a deal with its buying group,
//! interactions (some `about` absent members), and reading it all back.

use chrono::{DateTime, SubsecRound, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, admin, code, token_for};

#[tokio::test]
async fn a_seller_builds_a_deal_with_its_buying_group_and_reads_it_back() {
    let app = TestApp::spawn().await;
    let seller = token_for("acme", "sam.seller", &["seller"]);
    let account = app.create_account(&seller, "Globex").await;
    let names = [
        ("Sam Patel", "VP Operations"),
        ("Dana Ruiz", "Controller"),
        ("Lee Chen", "CIO"),
        ("Ana Gomez", "Procurement"),
    ];
    let mut contacts = Vec::new();
    for (name, title) in names {
        contacts.push(app.create_contact(&seller, &account, name, title).await);
    }
    let created = app
        .ok(
            &seller,
            r#"mutation($a: ID!) { createOpportunity(input: {accountId: $a, name: "Globex rollout", amount: "125000.00",
                currency: "USD", expectedCloseDate: "2027-03-31"}) { id stage ownerId version amount currency expectedCloseDate
                stageHistory { from to by } } }"#,
            json!({ "a": account }),
        )
        .await;
    let deal = &created["createOpportunity"];
    assert_eq!(deal["stage"], "PROSPECTING");
    assert_eq!(deal["ownerId"], "sam.seller");
    assert_eq!(deal["version"], 1);
    assert_eq!(deal["amount"], "125000.00");
    assert_eq!(deal["expectedCloseDate"], "2027-03-31");
    assert_eq!(
        deal["stageHistory"],
        json!([{ "from": null, "to": "PROSPECTING", "by": "sam.seller" }])
    );
    let deal_id = deal["id"].as_str().expect("id").to_owned();

    let roles = ["SPONSOR", "FINANCE", "ECONOMIC_BUYER", "PROCUREMENT"];
    let mut members = Vec::new();
    for (contact, role) in contacts.iter().zip(roles) {
        members.push(app.add_member(&seller, &deal_id, contact, role).await);
    }
    let dana = app
        .ok(
            &seller,
            "mutation($id: ID!) { updateBuyingGroupMember(input: {id: $id, stance: OPPOSED, canVeto: true, notes: \"wants a discount\"}) { stance canVeto notes influence bandwidth } }",
            json!({ "id": members[1] }),
        )
        .await;
    assert_eq!(
        dana["updateBuyingGroupMember"],
        json!({ "stance": "OPPOSED", "canVeto": true, "notes": "wants a discount", "influence": "MEDIUM", "bandwidth": "UNKNOWN" })
    );

    app.log_interaction(&seller, &deal_id, &[&members[0]], &[&members[1]])
        .await;
    let later = app
        .ok(
            &seller,
            r#"mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: "2026-02-01T09:30:00+01:00",
                summary: "pricing call", participantIds: $p}) { kind occurredAt summary loggedBy participants { id } about { id } } }"#,
            json!({ "o": deal_id, "p": [members[0], members[2]] }),
        )
        .await;
    let logged = &later["logInteraction"];
    assert_eq!(logged["occurredAt"], "2026-02-01T08:30:00Z", "answered in UTC");
    assert_eq!(logged["loggedBy"], "sam.seller");
    assert_eq!(
        logged["participants"],
        json!([{ "id": members[0] }, { "id": members[2] }])
    );
    assert_eq!(logged["about"], json!([]));

    let read = app
        .ok(
            &seller,
            r#"query($id: ID!) { opportunity(id: $id) { name account { name } buyingGroup { role stance canVeto contact { fullName title } }
                interactions(first: 10) { totalCount edges { node { kind participants { contact { fullName } } about { contact { fullName } } } } } } }"#,
            json!({ "id": deal_id }),
        )
        .await;
    let opp = &read["opportunity"];
    assert_eq!(opp["account"]["name"], "Globex");
    assert_eq!(opp["buyingGroup"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        opp["buyingGroup"][1],
        json!({ "role": "FINANCE", "stance": "OPPOSED", "canVeto": true, "contact": { "fullName": "Dana Ruiz", "title": "Controller" } })
    );
    assert_eq!(opp["interactions"]["totalCount"], 2);
    let newest = &opp["interactions"]["edges"][0]["node"];
    assert_eq!(newest["kind"], "CALL", "newest first");
    let oldest = &opp["interactions"]["edges"][1]["node"];
    assert_eq!(oldest["about"], json!([{ "contact": { "fullName": "Dana Ruiz" } }]));
    assert_eq!(
        oldest["participants"],
        json!([{ "contact": { "fullName": "Sam Patel" } }])
    );
}

#[tokio::test]
async fn stage_moves_and_close_dates_are_recorded_with_who_and_when() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Initech").await;
    let deal = app
        .create_opportunity(&token, &account, "Initech expansion", "5000")
        .await;
    let instant = |v: &Value| DateTime::parse_from_rfc3339(v.as_str().expect("an instant")).expect("RFC 3339");
    let before = Utc::now().trunc_subsecs(6);
    let moved = app
        .ok(
            &token,
            "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 1, stage: DISCOVERY, expectedCloseDate: \"2027-01-15\"}) { version stage stageEnteredAt updatedAt closedAt expectedCloseDate stageHistory { from to by at } daysInStage } }",
            json!({ "id": deal }),
        )
        .await;
    let after = Utc::now();
    let opp = &moved["updateOpportunity"];
    assert_eq!(opp["version"], 2);
    assert_eq!(opp["daysInStage"], 0);
    assert_eq!(opp["closedAt"], Value::Null, "an open stage");
    assert_eq!(opp["expectedCloseDate"], "2027-01-15");
    let history = opp["stageHistory"].as_array().expect("history");
    assert_eq!(history.len(), 2);
    assert_eq!(
        (&history[0]["from"], &history[0]["to"]),
        (&Value::Null, &json!("PROSPECTING"))
    );
    assert_eq!(history[1]["from"], "PROSPECTING");
    assert_eq!(history[1]["to"], "DISCOVERY");
    assert_eq!(history[1]["by"], "admin-user");
    // The move, the stage entry and the update are one instant, during the request.
    assert_eq!(history[1]["at"], opp["stageEnteredAt"]);
    assert_eq!(opp["updatedAt"], opp["stageEnteredAt"]);
    let entered = instant(&opp["stageEnteredAt"]);
    assert!(
        before <= entered && entered <= after,
        "{before} <= {entered} <= {after}"
    );

    let before = Utc::now().trunc_subsecs(6);
    let won = app
        .ok(&token, "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 2, stage: CLOSED_WON}) { stage closedAt stageEnteredAt updatedAt } }", json!({ "id": deal }))
        .await;
    let after = Utc::now();
    let won = &won["updateOpportunity"];
    assert_eq!(won["stage"], "CLOSED_WON");
    assert_eq!(
        won["closedAt"], won["stageEnteredAt"],
        "closed when it entered CLOSED_WON"
    );
    assert_eq!(won["updatedAt"], won["stageEnteredAt"]);
    let closed = instant(&won["closedAt"]);
    assert!(before <= closed && closed <= after, "{before} <= {closed} <= {after}");

    let reopen = app
        .gql(&token, "mutation($id: ID!) { updateOpportunity(input: {id: $id, expectedVersion: 3, stage: NEGOTIATION}) { stage } }", json!({ "id": deal }))
        .await;
    assert_eq!(code(&reopen), "BAD_USER_INPUT");
    assert_eq!(reopen["errors"][0]["extensions"]["field"], "input.stage");
}

#[tokio::test]
async fn removing_members_and_deleting_interactions_leave_the_rest_intact() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Umbrella").await;
    let a = app.create_contact(&token, &account, "A One", "CFO").await;
    let b = app.create_contact(&token, &account, "B Two", "CTO").await;
    let deal = app.create_opportunity(&token, &account, "Umbrella", "10").await;
    let ma = app.add_member(&token, &deal, &a, "ECONOMIC_BUYER").await;
    let mb = app.add_member(&token, &deal, &b, "TECHNICAL_EVALUATOR").await;
    let kept = app.log_interaction(&token, &deal, &[&ma, &mb], &[]).await;
    let gone = app.log_interaction(&token, &deal, &[&ma], &[]).await;

    let removed = app
        .ok(
            &token,
            "mutation($id: ID!) { removeBuyingGroupMember(id: $id) }",
            json!({ "id": mb }),
        )
        .await;
    assert_eq!(removed["removeBuyingGroupMember"], mb);
    let deleted = app
        .ok(
            &token,
            "mutation($id: ID!) { deleteInteraction(id: $id) }",
            json!({ "id": gone }),
        )
        .await;
    assert_eq!(deleted["deleteInteraction"], gone);

    let read = app
        .ok(&token, "query($id: ID!) { opportunity(id: $id) { buyingGroup { id } interactions { totalCount edges { node { id participants { id } } } } } }", json!({ "id": deal }))
        .await;
    assert_eq!(read["opportunity"]["buyingGroup"], json!([{ "id": ma }]));
    assert_eq!(read["opportunity"]["interactions"]["totalCount"], 1);
    // Which participants the kept interaction still lists is SPEC §5's "nothing a user did is
    // destroyed" (see the ignored test below); here, only that the right interaction is left.
    assert_eq!(read["opportunity"]["interactions"]["edges"][0]["node"]["id"], kept);

    let again = app
        .gql(
            &token,
            "mutation($id: ID!) { deleteInteraction(id: $id) }",
            json!({ "id": gone }),
        )
        .await;
    assert_eq!(code(&again), "NOT_FOUND");
}

#[tokio::test]

async fn a_removed_member_stays_in_past_interactions_and_still_resolves() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Umbrella").await;
    let a = app.create_contact(&token, &account, "A One", "CFO").await;
    let b = app.create_contact(&token, &account, "B Two", "CTO").await;
    let deal = app.create_opportunity(&token, &account, "Umbrella", "10").await;
    let ma = app.add_member(&token, &deal, &a, "ECONOMIC_BUYER").await;
    let mb = app.add_member(&token, &deal, &b, "TECHNICAL_EVALUATOR").await;
    let together = app.log_interaction(&token, &deal, &[&ma, &mb], &[]).await;
    app.ok(
        &token,
        "mutation($id: ID!) { removeBuyingGroupMember(id: $id) }",
        json!({ "id": mb }),
    )
    .await;
    let read = app
        .ok(
            &token,
            "query($o: ID!, $m: ID!) { opportunity(id: $o) { buyingGroup { id } interactions { edges { node { id participants { id } } } } }
               member: node(id: $m) { __typename id ... on BuyingGroupMember { removedAt contact { fullName } } } }",
            json!({ "o": deal, "m": mb }),
        )
        .await;
    assert_eq!(
        read["opportunity"]["buyingGroup"],
        json!([{ "id": ma }]),
        "the membership ended"
    );
    assert_eq!(
        read["opportunity"]["interactions"]["edges"],
        json!([{ "node": { "id": together, "participants": [{ "id": ma }, { "id": mb }] } }]),
        "the past meeting still shows who took part"
    );
    assert_eq!(
        read["member"]["id"],
        json!(mb),
        "node(id:) still resolves the removed member"
    );
    assert_eq!(read["member"]["contact"]["fullName"], "B Two");
    assert!(read["member"]["removedAt"].is_string(), "removedAt says when: {read}");
    // The removal changed the deal's risk inputs: one member counts now.
    let risk = app
        .ok(
            &token,
            "query($o: ID!) { opportunity(id: $o) { risk { factors { code } } buyingGroup { removedAt } } }",
            json!({ "o": deal }),
        )
        .await;
    assert_eq!(risk["opportunity"]["buyingGroup"], json!([{ "removedAt": null }]));
    // A removed member cannot be changed, removed again, or named in a new interaction.
    for (query, vars) in [
        (
            "mutation($id: ID!) { removeBuyingGroupMember(id: $id) }",
            json!({ "id": mb }),
        ),
        (
            "mutation($id: ID!) { updateBuyingGroupMember(input: {id: $id, stance: CHAMPION}) { id } }",
            json!({ "id": mb }),
        ),
        (
            "mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-01-20T10:00:00Z\", participantIds: $p}) { id } }",
            json!({ "o": deal, "p": [mb] }),
        ),
    ] {
        let body = app.gql(&token, query, vars).await;
        assert_eq!(code(&body), "BAD_USER_INPUT", "{query}: {body}");
    }
    // Adding the same contact again starts a new membership.
    let again = app.add_member(&token, &deal, &b, "TECHNICAL_EVALUATOR").await;
    assert_ne!(again, mb);
}

#[tokio::test]
async fn node_resolves_every_kind_and_viewer_reports_the_token() {
    let app = TestApp::spawn().await;
    let token = token_for("acme", "u-1", &["seller", "analyst"]);
    let account = app.create_account(&token, "Hooli").await;
    let contact = app.create_contact(&token, &account, "Gavin B", "CEO").await;
    let deal = app.create_opportunity(&token, &account, "Hooli", "1").await;
    let member = app.add_member(&token, &deal, &contact, "DECISION_MAKER").await;
    let interaction = app.log_interaction(&token, &deal, &[&member], &[]).await;
    for (id, typename) in [
        (&account, "Account"),
        (&contact, "Contact"),
        (&deal, "Opportunity"),
        (&member, "BuyingGroupMember"),
        (&interaction, "Interaction"),
    ] {
        let data = app
            .ok(
                &token,
                "query($id: ID!) { node(id: $id) { __typename id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(data["node"], json!({ "__typename": typename, "id": id }));
    }
    let data = app
        .ok(
            &token,
            "{ node(id: \"bm9wZQ\") { id } viewer { userId tenantId roles } }",
            json!({}),
        )
        .await;
    assert_eq!(data["node"], json!(null));
    assert_eq!(
        data["viewer"],
        json!({ "userId": "u-1", "tenantId": "acme", "roles": ["SELLER", "ANALYST"] })
    );
}
