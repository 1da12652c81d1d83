//! Concurrency: sixteen clients writing at once all succeed; racing updates of one version
//! let exactly one win.

use serde_json::json;

use crate::helpers::{TestApp, admin, code};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixteen_concurrent_writers_all_succeed() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let token = admin("acme");
    let account = app.create_account(&token, "Busy").await;
    let contact = app.create_contact(&token, &account, "Pat", "CFO").await;
    let deal = app.create_opportunity(&token, &account, "Busy deal", "1").await;
    let member = app.add_member(&token, &deal, &contact, "FINANCE").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (app, token, deal, member, account) = (
            app.clone(),
            token.clone(),
            deal.clone(),
            member.clone(),
            account.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for j in 0..5 {
                let body = if (i + j) % 2 == 0 {
                    app.gql(&token, "mutation($n: String!) { createAccount(input: {name: $n}) { id } }", json!({ "n": format!("A{i}-{j}") })).await
                } else {
                    app.gql(
                        &token,
                        "mutation($o: ID!, $p: [ID!]!) { logInteraction(input: {opportunityId: $o, kind: CALL, occurredAt: \"2026-01-01T00:00:00Z\", participantIds: $p}) { id } }",
                        json!({ "o": deal, "p": [member] }),
                    )
                    .await
                };
                assert!(body.get("errors").is_none(), "writer {i}/{j} failed: {body}");
                let _ = &account;
            }
        }));
    }
    for task in tasks {
        task.await.expect("writer task");
    }
    let data = app
        .ok(
            &token,
            "query($o: ID!) { accounts { totalCount } opportunity(id: $o) { interactions { totalCount } } }",
            json!({ "o": deal }),
        )
        .await;
    assert_eq!(data["accounts"]["totalCount"], 41);
    assert_eq!(data["opportunity"]["interactions"]["totalCount"], 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_updates_with_one_version_let_exactly_one_win() {
    let app = std::sync::Arc::new(TestApp::spawn().await);
    let token = admin("acme");
    let account = app.create_account(&token, "Race").await;
    let deal = app.create_opportunity(&token, &account, "Race deal", "1").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let (app, token, deal) = (app.clone(), token.clone(), deal.clone());
        tasks.push(tokio::spawn(async move {
            app.gql(
                &token,
                "mutation($id: ID!, $n: String!) { updateOpportunity(input: {id: $id, expectedVersion: 1, name: $n}) { version } }",
                json!({ "id": deal, "n": format!("writer {i}") }),
            )
            .await
        }));
    }
    let mut wins = 0;
    for task in tasks {
        let body = task.await.expect("task");
        match body.get("errors") {
            None => wins += 1,
            Some(_) => assert_eq!(code(&body), "CONFLICT", "{body}"),
        }
    }
    assert_eq!(wins, 1);
    let data = app
        .ok(
            &token,
            "query($id: ID!) { opportunity(id: $id) { version } }",
            json!({ "id": deal }),
        )
        .await;
    assert_eq!(data["opportunity"]["version"], 2);
}
