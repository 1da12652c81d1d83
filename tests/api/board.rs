//! The deal board runs a fixed number of SQL statements, whatever the page size: related
//! rows (accounts, buying groups, contacts) are loaded for the whole page at once.

use serde_json::json;

use crate::helpers::{TestApp, admin};

const BOARD: &str =
    "query($n: Int!) { opportunities(first: $n, filter: {open: true}, orderBy: {field: RISK_SCORE, direction: DESC}) {
    totalCount edges { cursor node { id name riskScore riskLevel riskFactorCodes account { name }
    buyingGroup { role stance canVeto contact { fullName } } } } } }";

#[tokio::test]
async fn the_board_costs_the_same_statements_for_10_and_50_deals() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let mut accounts = Vec::new();
    for i in 0..5 {
        accounts.push(app.create_account(&token, &format!("Account {i}")).await);
    }
    let mut contacts = Vec::new();
    for (i, account) in accounts.iter().enumerate() {
        for j in 0..2 {
            contacts.push((
                account.clone(),
                app.create_contact(&token, account, &format!("Person {i}-{j}"), "Buyer")
                    .await,
            ));
        }
    }
    for i in 0..55 {
        let (account, _) = &contacts[(i * 2) % contacts.len()];
        let deal = app
            .create_opportunity(&token, account, &format!("Deal {i:02}"), "1000")
            .await;
        for (_, contact) in contacts.iter().filter(|(a, _)| a == account) {
            app.add_member(&token, &deal, contact, "INFLUENCER").await;
        }
    }

    let mut costs = Vec::new();
    for size in [10, 50] {
        let before = app.store.statements_executed();
        let data = app.ok(&token, BOARD, json!({ "n": size })).await;
        costs.push(app.store.statements_executed() - before);
        let edges = data["opportunities"]["edges"].as_array().expect("edges");
        assert_eq!(edges.len(), size);
        assert_eq!(data["opportunities"]["totalCount"], 55);
        // Every deal scores the same (two influencers, never met: SINGLE_THREADED 20 +
        // NO_MOBILIZER 15 + BUYING_GROUP_GAPS 10 + LOW_COVERAGE 10 = 55), so the tie is broken
        // by id, descending: the newest deal first. Deal i belongs to account i % 5.
        for (k, edge) in edges.iter().enumerate() {
            let i = 54 - k;
            let a = i % 5;
            let person = |j: usize| json!({ "role": "INFLUENCER", "stance": "UNKNOWN", "canVeto": false, "contact": { "fullName": format!("Person {a}-{j}") } });
            let node = &edge["node"];
            assert_eq!(node["name"], format!("Deal {i:02}"), "edge {k}");
            assert_eq!(
                (&node["riskScore"], &node["riskLevel"], &node["riskFactorCodes"]),
                (
                    &json!(55),
                    &json!("HIGH"),
                    &json!(["SINGLE_THREADED", "NO_MOBILIZER", "BUYING_GROUP_GAPS", "LOW_COVERAGE"])
                ),
                "edge {k}"
            );
            assert_eq!(node["account"]["name"], format!("Account {a}"), "edge {k}");
            assert_eq!(node["buyingGroup"], json!([person(0), person(1)]), "edge {k}");
        }
    }
    assert_eq!(costs[0], costs[1], "statements at page sizes 10 and 50: {costs:?}");
    // The page with its accounts (one joined query), its count, and its buying groups.
    assert_eq!(costs[0], 3, "the board ran {} statements", costs[0]);

    // The accounts joined into the page do not confuse a filter or an ordering on a column
    // both tables have (`name`): deals named like "Deal 1…", ordered by the deal's name.
    let named = app
        .ok(
            &token,
            "{ opportunities(first: 3, filter: {nameContains: \"deal 1\"}, orderBy: {field: NAME, direction: DESC}) { totalCount edges { node { name account { name } } } } }",
            json!({}),
        )
        .await;
    let names: Vec<(&str, &str)> = named["opportunities"]["edges"]
        .as_array()
        .expect("edges")
        .iter()
        .map(|e| {
            (
                e["node"]["name"].as_str().expect("name"),
                e["node"]["account"]["name"].as_str().expect("account"),
            )
        })
        .collect();
    assert_eq!(named["opportunities"]["totalCount"], 10, "Deal 10 … Deal 19");
    assert_eq!(
        names,
        [
            ("Deal 19", "Account 4"),
            ("Deal 18", "Account 3"),
            ("Deal 17", "Account 2")
        ]
    );

    // Without contacts, the group is still one query for the page, and no contact is read.
    let lean = "query($n: Int!) { opportunities(first: $n) { edges { node { id buyingGroup { role } } } } }";
    let mut lean_costs = Vec::new();
    for size in [10, 50] {
        let before = app.store.statements_executed();
        app.ok(&token, lean, json!({ "n": size })).await;
        lean_costs.push(app.store.statements_executed() - before);
    }
    assert_eq!(lean_costs, vec![2, 2], "the page and the groups");

    // Members carry their contact's name; asking for more of the contact loads the page's
    // contacts with the groups, still in one query.
    let emails = "query($n: Int!) { opportunities(first: $n) { edges { node { buyingGroup { contact { fullName email } } } } } }";
    let mut email_costs = Vec::new();
    for size in [10, 50] {
        let before = app.store.statements_executed();
        let data = app.ok(&token, emails, json!({ "n": size })).await;
        email_costs.push(app.store.statements_executed() - before);
        // Most recently changed first: deal 54, of account 4.
        let contact = &data["opportunities"]["edges"][0]["node"]["buyingGroup"][0]["contact"];
        assert_eq!(contact, &json!({ "fullName": "Person 4-0", "email": null }));
    }
    assert_eq!(email_costs, vec![2, 2], "the page and the groups with their contacts");
}

const DEAL_PAGE: &str = "query($id: ID!) { opportunity(id: $id) { name account { name }
    buyingGroup { role stance canVeto engagement lastDirectInteractionAt contact { fullName title email } }
    interactions(first: 20) { edges { node { occurredAt participants { contact { fullName } } about { contact { fullName } } } } }
    risk { score level factors { code message recommendation members { contact { fullName } } } } } }";

#[tokio::test]
async fn a_deal_page_costs_the_same_statements_for_small_and_large_groups() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Account").await;
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for size in [2, 9] {
        let deal = app
            .create_opportunity(&token, &account, &format!("Deal of {size}"), "1000")
            .await;
        let mut members = Vec::new();
        for i in 0..size {
            let contact = app
                .create_contact(&token, &account, &format!("Person {size}-{i}"), "Buyer")
                .await;
            members.push(app.add_member(&token, &deal, &contact, "INFLUENCER").await);
        }
        for pair in members.chunks(2) {
            let about: Vec<&str> = members
                .iter()
                .take(1)
                .map(String::as_str)
                .filter(|m| !pair.iter().any(|p| p == m))
                .collect();
            let pair: Vec<&str> = pair.iter().map(String::as_str).collect();
            app.log_interaction(&token, &deal, &pair, &about).await;
        }
        // A policy change clears this server's policy cache: the next page reads it.
        app.ok(
            &token,
            "mutation { updateRiskPolicy(input: {stallDays: 60}) { stallDays } }",
            json!({}),
        )
        .await;
        for costs in [&mut cold, &mut warm] {
            let before = app.store.statements_executed();
            let data = app.ok(&token, DEAL_PAGE, json!({ "id": deal })).await;
            costs.push(app.store.statements_executed() - before);
            assert_eq!(data["opportunity"]["buyingGroup"].as_array().map(Vec::len), Some(size));
            let page = data["opportunity"]["interactions"]["edges"].as_array().map(Vec::len);
            assert_eq!(page, Some(size.div_ceil(2)), "the interactions page is complete");
        }
    }
    assert_eq!(cold[0], cold[1], "statements for groups of 2 and 9: {cold:?}");
    assert_eq!(warm[0], warm[1], "statements for groups of 2 and 9: {warm:?}");
    // The deal with its account; its group with contacts; its history (all interactions with
    // their participants, stage and close-date changes) in one read, which also serves the
    // interactions page; and the tenant's policy, read once and then cached for a few seconds.
    assert!(cold[0] <= 4, "the deal page ran {} statements", cold[0]);
    assert!(
        warm[0] <= 3,
        "the deal page ran {} statements with the policy cached",
        warm[0]
    );
}

#[tokio::test]
async fn logging_an_interaction_reads_the_group_once() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let account = app.create_account(&token, "Account").await;
    let deal = app.create_opportunity(&token, &account, "Deal", "1000").await;
    let mut members = Vec::new();
    for i in 0..3 {
        let contact = app
            .create_contact(&token, &account, &format!("Person {i}"), "Buyer")
            .await;
        members.push(app.add_member(&token, &deal, &contact, "INFLUENCER").await);
    }
    let before = app.store.statements_executed();
    app.log_interaction(&token, &deal, &[&members[0], &members[1]], &[&members[2]])
        .await;
    let statements = app.store.statements_executed() - before;
    // By the store's own count: 6 with the group read once for the participant check and the
    // re-assessment (7 when the re-assessment read it again, as it did before), and one read
    // of the tenant's webhooks (none: no outbox rows to write); on PostgreSQL one more, the
    // NOTIFY that announces the change to live subscribers at commit.
    let postgres = app.store.reader().get_database_backend() == sea_orm::DbBackend::Postgres;
    let expected = if postgres { 8 } else { 7 };
    assert_eq!(statements, expected, "logInteraction ran {statements} statements");
}
