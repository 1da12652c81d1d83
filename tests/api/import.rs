//! Import (SPEC §7): an NDJSON record stream over `POST /import` and `dealgraph import`,
//! upserted by external ID, history replaced, bad records reported by line, `atomic`.

use serde_json::{Value, json};

use crate::helpers::*;

fn date_in(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// A small pipeline with months of history, and three bad lines (5, 13 and 17).
fn stream() -> String {
    let lines = [
        json!({ "type": "account", "externalId": "A1", "name": "Globex", "domain": "globex.com", "createdAt": days_ago(400) }),
        json!({ "type": "contact", "externalId": "C1", "account": "A1", "fullName": "Dana Ruiz", "title": "Controller" }),
        json!({ "type": "contact", "externalId": "C2", "account": "A1", "fullName": "Priya Shah", "title": "VP Operations" }),
        json!({ "type": "contact", "externalId": "C3", "account": "A1", "fullName": "Zoë Ångström", "title": "IT Lead" }),
        // 5: an unknown account.
        json!({ "type": "contact", "externalId": "C9", "account": "NOPE", "fullName": "Nobody" }),
        json!({ "type": "opportunity", "externalId": "O1", "account": "A1", "name": "Globex expansion", "amount": "125000.00",
                "currency": "USD", "stage": "NEGOTIATION", "createdAt": days_ago(200) }),
        json!({ "type": "member", "opportunity": "O1", "contact": "C1", "role": "ECONOMIC_BUYER", "canVeto": true, "stance": "OPPOSED" }),
        json!({ "type": "member", "opportunity": "O1", "contact": "C2", "role": "SPONSOR", "stance": "SUPPORTIVE" }),
        json!({ "type": "stage_change", "opportunity": "O1", "to": "DISCOVERY", "at": days_ago(200) }),
        json!({ "type": "stage_change", "opportunity": "O1", "to": "EVALUATION", "at": days_ago(180) }),
        json!({ "type": "stage_change", "opportunity": "O1", "to": "NEGOTIATION", "at": days_ago(120) }),
        json!({ "type": "close_date_change", "opportunity": "O1", "to": date_in(-100), "at": days_ago(200) }),
        // 13: an unknown stage.
        json!({ "type": "opportunity", "externalId": "O2", "account": "A1", "name": "Bad", "amount": "1", "currency": "USD", "stage": "WON" }),
        json!({ "type": "close_date_change", "opportunity": "O1", "to": date_in(-40), "at": days_ago(110) }),
        json!({ "type": "close_date_change", "opportunity": "O1", "to": date_in(20), "at": days_ago(45) }),
        json!({ "type": "interaction", "externalId": "I1", "opportunity": "O1", "kind": "MEETING", "occurredAt": days_ago(100),
                "participants": ["C2"], "summary": "Kick-off,\nwith a second line" }),
        // 17: depends on the rejected O2.
        json!({ "type": "interaction", "externalId": "I9", "opportunity": "O2", "kind": "CALL", "occurredAt": days_ago(90), "participants": ["C2"] }),
        json!({ "type": "interaction", "externalId": "I2", "opportunity": "O1", "kind": "CALL", "occurredAt": days_ago(60),
                "participants": ["C2"], "about": ["C1"] }),
        // C3 was never added: meeting them makes them a member, as OTHER.
        json!({ "type": "interaction", "externalId": "I3", "opportunity": "O1", "kind": "MEETING", "occurredAt": days_ago(40),
                "participants": ["C2", "C3"] }),
        // The amount moved twice; the newest entry is the deal's amount now.
        json!({ "type": "amount_change", "opportunity": "O1", "to": "100000", "at": days_ago(200) }),
        json!({ "type": "amount_change", "opportunity": "O1", "to": 110000.5, "at": days_ago(90) }),
    ];
    lines.iter().map(|l| format!("{l}\n")).collect()
}

pub(crate) async fn post_import(app: &TestApp, token: &str, body: String, query: &str) -> (u16, Value) {
    let response = app
        .client
        .post(format!("{}/import{query}", app.url))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .expect("sent");
    let status = response.status().as_u16();
    (status, response.json().await.expect("json summary"))
}

const SNAPSHOT: &str = "{ opportunityByExternalId(externalId: \"O1\") {
    name stage stageEnteredAt expectedCloseDate closedAt version amount riskScore riskFactorCodes
    riskHistory { at score level factorCodes }
    stageHistory { from to at }
    buyingGroup { externalId role stance canVeto contact { externalId fullName title } }
    interactions { totalCount edges { node { externalId kind occurredAt summary participants { contact { externalId } } about { contact { externalId } } } } } }
  accounts { totalCount edges { node { externalId name domain } } } }";

#[tokio::test]
async fn an_ndjson_stream_comes_in_with_its_history_and_reimports_to_the_same_state() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    // One stream, imported twice (its instants are relative to now).
    let pipeline = stream();
    let (status, summary) = post_import(&app, &token, pipeline.clone(), "").await;
    assert_eq!(status, 207, "{summary}");
    assert_eq!(summary["accepted"], 18, "{summary:#}");
    assert_eq!(summary["rejected"], 3, "{summary:#}");
    let errors = summary["errors"].as_array().expect("errors");
    let at = |line: u64| {
        errors
            .iter()
            .find(|e| e["line"] == line)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        (at(5)["code"].clone(), at(5)["field"].clone()),
        (json!("UNKNOWN_REFERENCE"), json!("account"))
    );
    assert_eq!(at(5)["externalId"], "C9");
    assert_eq!(
        (at(13)["code"].clone(), at(13)["field"].clone()),
        (json!("BAD_USER_INPUT"), json!("stage"))
    );
    assert_eq!(
        (at(17)["code"].clone(), at(17)["field"].clone()),
        (json!("REFERENCE_REJECTED"), json!("opportunity"))
    );
    assert_eq!(summary["reassessed"], 1);

    let first = app.ok(&token, SNAPSHOT, json!({})).await;
    let deal = &first["opportunityByExternalId"];
    assert_eq!(deal["stage"], "NEGOTIATION");
    assert_eq!(deal["amount"], "110000.50", "the newest amount change");
    // It entered negotiation 120 days ago, not "now": the history decides.
    assert_eq!(
        deal["stageEnteredAt"].as_str().map(|s| &s[..10]),
        Some(&days_ago(120)[..10])
    );
    assert_eq!(deal["expectedCloseDate"], date_in(20));
    let stages: Vec<&str> = deal["stageHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["to"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(stages, ["DISCOVERY", "EVALUATION", "NEGOTIATION"]);
    let codes = deal["riskFactorCodes"].as_array().expect("codes");
    // Stalled (120 days in negotiation), pushed twice, gone dark (40 days): all from the imported past.
    for code in ["STALLED", "CLOSE_DATE_PUSHED", "GOING_DARK", "VETO_HOLDER_OPPOSED"] {
        assert!(codes.contains(&json!(code)), "{code} in {codes:?}");
    }
    // The risk history is backfilled from the imported past: it starts when the deal was
    // created, 200 days ago, and moves as the deal stalled and went quiet.
    let history = deal["riskHistory"].as_array().expect("risk history");
    assert_eq!(
        history[0]["at"].as_str().map(|s| &s[..10]),
        Some(&days_ago(200)[..10]),
        "{history:?}"
    );
    assert!(history.len() >= 3, "{history:?}");
    let last = history.last().expect("a point");
    assert_eq!(
        last["score"], deal["riskScore"],
        "the newest point is the stored assessment: {history:?}"
    );
    let group = deal["buyingGroup"].as_array().expect("group");
    assert_eq!(group.len(), 3, "{group:?}");
    assert_eq!(
        group[2],
        json!({ "externalId": "O1/C3", "role": "OTHER", "stance": "UNKNOWN", "canVeto": false,
                "contact": { "externalId": "C3", "fullName": "Zoë Ångström", "title": "IT Lead" } }),
        "met in a meeting, so in the group"
    );
    assert_eq!(deal["interactions"]["totalCount"], 3);
    let newest = &deal["interactions"]["edges"][0]["node"];
    assert_eq!(
        newest["participants"],
        json!([{ "contact": { "externalId": "C2" } }, { "contact": { "externalId": "C3" } }])
    );
    let oldest = &deal["interactions"]["edges"][2]["node"];
    assert_eq!(oldest["summary"], "Kick-off,\nwith a second line");

    // The same stream again: the same state, not one version more.
    let (status, again) = post_import(&app, &token, pipeline, "").await;
    assert_eq!(status, 207, "{again}");
    assert_eq!(again["accepted"], 18);
    let second = app.ok(&token, SNAPSHOT, json!({})).await;
    assert_eq!(first, second, "a re-import changes nothing");
}

#[tokio::test]
async fn an_atomic_import_with_a_bad_record_writes_nothing() {
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let (status, summary) = post_import(&app, &token, stream(), "?atomic=true").await;
    assert_eq!(status, 422, "{summary}");
    assert_eq!(summary["accepted"], 0);
    assert_eq!(summary["rejected"], 3);
    let data = app
        .ok(
            &token,
            "{ accounts { totalCount } opportunities { totalCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data,
        json!({ "accounts": { "totalCount": 0 }, "opportunities": { "totalCount": 0 } })
    );
    // Without its bad lines, the same stream goes in whole.
    let good: String = stream()
        .lines()
        .enumerate()
        .filter(|(i, _)| ![4, 12, 16].contains(i))
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let (status, summary) = post_import(&app, &token, good, "?atomic=true").await;
    assert_eq!(status, 200, "{summary}");
    assert_eq!(summary["accepted"], 18);
}

#[tokio::test]
async fn imports_are_for_admins_and_stay_in_their_tenant() {
    let app = TestApp::spawn().await;
    let seller = token_for("acme", "s", &["seller"]);
    let response = app
        .client
        .post(format!("{}/import", app.url))
        .bearer_auth(&seller)
        .header("content-type", "application/x-ndjson")
        .body(stream())
        .send()
        .await
        .expect("sent");
    assert_eq!(response.status().as_u16(), 403);
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "FORBIDDEN");
    let anonymous = app
        .client
        .post(format!("{}/import", app.url))
        .header("content-type", "application/x-ndjson")
        .body(stream())
        .send()
        .await
        .expect("sent");
    assert_eq!(anonymous.status().as_u16(), 401);
    // Nothing readable is a 400.
    let (status, _) = post_import(&app, &admin("acme"), "not json\n\n".into(), "").await;
    assert_eq!(status, 400);

    // Two tenants import the same stream: each gets its own records under the same external IDs.
    let (a, b) = (admin("tenant-a"), admin("tenant-b"));
    post_import(&app, &a, stream(), "").await;
    post_import(&app, &b, stream(), "").await;
    let rename = json!({ "type": "account", "externalId": "A1", "name": "Globex (B)" }).to_string();
    let (status, _) = post_import(&app, &b, format!("{rename}\n"), "").await;
    assert_eq!(status, 200);
    let name = |data: Value| data["accountByExternalId"]["name"].clone();
    let query = "{ accountByExternalId(externalId: \"A1\") { name } opportunities { totalCount } }";
    assert_eq!(name(app.ok(&a, query, json!({})).await), "Globex");
    assert_eq!(name(app.ok(&b, query, json!({})).await), "Globex (B)");
    assert_eq!(app.ok(&a, query, json!({})).await["opportunities"]["totalCount"], 1);
}

#[tokio::test]
async fn the_cli_imports_a_file_and_fails_when_records_are_rejected() {
    let (database_url, _database) = fresh_database().await;
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("pipeline.ndjson");
    std::fs::write(&file, stream()).expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_dealgraph"))
            .args(args)
            .env("DATABASE_URL", &database_url)
            .env("DEALGRAPH_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    };
    let path = file.to_string_lossy().into_owned();
    let output = run(&["import", "--tenant", "acme", "--no-progress", &path]);
    assert!(!output.status.success(), "rejected records fail the command");
    let summary: Value = serde_json::from_slice(&output.stdout).expect("the summary is JSON on stdout");
    assert_eq!(
        (summary["accepted"].clone(), summary["rejected"].clone()),
        (json!(18), json!(3))
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("3 of 21 records rejected"));
    // A clean file succeeds.
    let clean = dir.path().join("clean.ndjson");
    let account = json!({ "type": "account", "externalId": "A7", "name": "Initech" }).to_string();
    std::fs::write(&clean, format!("{account}\n")).expect("write");
    let output = run(&["import", "--tenant", "acme", "--no-progress", &clean.to_string_lossy()]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

/// The Salesforce-shaped export under `tests/fixtures/salesforce/` (CSV files as Salesforce
/// writes them: a BOM, quoted multi-line fields, deleted rows, history out of order).
#[tokio::test]
async fn a_salesforce_export_folder_comes_in_with_its_history() {
    let (app, database_url) = TestApp::spawn_with_database().await;
    let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/salesforce");
    let dir = tempfile::tempdir().expect("dir");
    let mapping = dir.path().join("mapping.toml");
    std::fs::write(&mapping, "[stages]\n\"Custom Stage\" = \"EVALUATION\"\n").expect("write");
    let run = |extra: &[&str]| {
        let mut args = vec!["import", "--tenant", "acme", "--format", "salesforce", "--no-progress"];
        args.extend_from_slice(extra);
        args.push(folder);
        std::process::Command::new(env!("CARGO_BIN_EXE_dealgraph"))
            .args(&args)
            .env("DATABASE_URL", &database_url)
            .env("DEALGRAPH_JWT_SECRET", SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .expect("the binary runs")
    };
    // The default mapping does not know the org's own stage: that deal is rejected, by name.
    let output = run(&[]);
    assert!(!output.status.success());
    let summary: Value = serde_json::from_slice(&output.stdout).expect("JSON summary");
    let errors = summary["errors"].as_array().expect("errors");
    let stage_error = errors
        .iter()
        .find(|e| e["field"] == "StageName")
        .unwrap_or_else(|| panic!("{summary:#}"));
    assert_eq!(stage_error["file"], "Opportunity.csv");
    assert!(
        stage_error["message"]
            .as_str()
            .is_some_and(|m| m.contains("Custom Stage")),
        "{stage_error}"
    );
    assert_eq!(summary["skipped"]["deleted"], 1, "{summary:#}");

    let token = admin("acme");
    let query = "{ normal: opportunityByExternalId(externalId: \"0065g00000Norm3AAB\") {
            stage stageEnteredAt amount currency version riskFactorCodes
            stageHistory { to } riskHistory { at } interactions { totalCount } }
        won: opportunityByExternalId(externalId: \"0065g00000Won01AAB\") { stage closedAt }
        custom: opportunityByExternalId(externalId: \"0065g00000Cust2AAB\") { stage amount currency } }";
    let first = app.ok(&token, query, json!({})).await;
    let normal = &first["normal"];
    assert_eq!(normal["stage"], "NEGOTIATION");
    assert_eq!(
        normal["stageEnteredAt"], "2026-03-03T10:00:00Z",
        "from OpportunityHistory"
    );
    let stages: Vec<&str> = normal["stageHistory"]
        .as_array()
        .expect("history")
        .iter()
        .map(|c| c["to"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(stages, ["PROSPECTING", "DISCOVERY", "PROPOSAL", "NEGOTIATION"]);
    assert_eq!(
        (normal["amount"].clone(), normal["currency"].clone()),
        (json!("95000.00"), json!("USD"))
    );
    let codes = normal["riskFactorCodes"].as_array().expect("codes");
    assert!(
        codes.contains(&json!("STALLED")) && codes.contains(&json!("PAST_CLOSE_DATE")),
        "{codes:?}"
    );
    assert_eq!(
        normal["riskHistory"][0]["at"], "2025-12-01T09:00:00Z",
        "backfilled from its creation"
    );
    assert!(
        normal["interactions"]["totalCount"].as_i64().is_some_and(|n| n > 0),
        "{normal}"
    );
    assert_eq!(
        first["won"],
        json!({ "stage": "CLOSED_WON", "closedAt": "2026-01-28T16:45:00Z" })
    );
    assert_eq!(first["custom"], Value::Null);

    // With the org's mapping, everything goes in, and the rest is unchanged.
    let mapping_arg = mapping.to_string_lossy().into_owned();
    let output = run(&["--mapping", &mapping_arg]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let second = app.ok(&token, query, json!({})).await;
    assert_eq!(second["custom"]["stage"], "EVALUATION");
    assert_eq!(second["normal"], first["normal"], "a re-import changes nothing");
}

/// The same export as one zip over HTTP, with the org's `mapping.toml` inside it.
#[tokio::test]
async fn a_salesforce_export_zip_comes_in_over_http() {
    use std::io::Write as _;
    let app = TestApp::spawn().await;
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/salesforce");
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for entry in std::fs::read_dir(&folder).expect("fixture folder") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).expect("a name").to_owned();
        // As Salesforce's download nests them, in a folder of the archive.
        zip.start_file(format!("WE_00D5g0000012345_1/{name}"), options)
            .expect("start");
        zip.write_all(&std::fs::read(&path).expect("read")).expect("write");
    }
    zip.start_file("mapping.toml", options).expect("start");
    zip.write_all(b"[stages]\n\"Custom Stage\" = \"EVALUATION\"\n")
        .expect("write");
    let bytes = zip.finish().expect("zip").into_inner();

    let post = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .post(format!("{}/import?format=salesforce&currency=EUR", app.url))
            .bearer_auth(admin("acme"))
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let response = post(bytes, "application/zip").await.expect("sent");
    let status = response.status().as_u16();
    let summary: Value = response.json().await.expect("json");
    assert_eq!(status, 200, "{summary:#}");
    assert_eq!(summary["rejected"], 0);
    assert_eq!(summary["skipped"]["deleted"], 1, "{summary:#}");
    let data = app
        .ok(
            &admin("acme"),
            "{ custom: opportunityByExternalId(externalId: \"0065g00000Cust2AAB\") { stage currency }
               normal: opportunityByExternalId(externalId: \"0065g00000Norm3AAB\") { stage currency } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["custom"],
        json!({ "stage": "EVALUATION", "currency": "EUR" }),
        "mapping.toml and the currency applied"
    );
    assert_eq!(
        data["normal"],
        json!({ "stage": "NEGOTIATION", "currency": "EUR" }),
        "no CurrencyIsoCode: the request's"
    );
    // Not a zip: a clear 400, nothing written.
    let response = post(b"not a zip".to_vec(), "application/zip").await.expect("sent");
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.expect("json");
    assert_eq!(code(&body), "BAD_USER_INPUT", "{body}");
}

/// Deals and contacts of the large streams below: 50 deals of one account, each with four of
/// 20 contacts in its group.
fn big_stream_head(out: &mut impl std::io::Write) -> std::io::Result<u64> {
    let mut lines = 0;
    writeln!(
        out,
        "{}",
        json!({ "type": "account", "externalId": "BIG", "name": "Big Co" })
    )?;
    lines += 1;
    for c in 0..20 {
        let contact = json!({ "type": "contact", "externalId": format!("P{c}"), "account": "BIG", "fullName": format!("Person {c}") });
        writeln!(out, "{contact}")?;
        lines += 1;
    }
    for d in 0..50 {
        let deal = json!({ "type": "opportunity", "externalId": format!("D{d}"), "account": "BIG", "name": format!("Deal {d}"),
                           "amount": "1000", "currency": "EUR", "stage": "EVALUATION", "createdAt": days_ago(30) });
        writeln!(out, "{deal}")?;
        lines += 1;
        for m in 0..4 {
            let member = json!({ "type": "member", "opportunity": format!("D{d}"), "contact": format!("P{}", (d + m * 5) % 20),
                                 "role": "INFLUENCER" });
            writeln!(out, "{member}")?;
            lines += 1;
        }
    }
    Ok(lines)
}

/// Peak resident memory (VmHWM, KiB) of a running process, or `None` once it has gone.
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Imports a generated stream of `interactions` interactions with 3 KB summaries (on the deals
/// of [`big_stream_head`]) into `tenant` through `dealgraph import -` (standard input): the
/// stream is produced while the importer reads it, never held whole. Returns the summary, the
/// stream's lines and bytes, and the importer's peak RSS in bytes.
async fn import_through_stdin(database_url: &str, tenant: &str, interactions: u64) -> (Value, u64, u64, u64) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_dealgraph"))
        .args(["import", "--tenant", tenant, "--no-progress", "-"])
        .env("DATABASE_URL", database_url)
        .env("DEALGRAPH_JWT_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the binary runs");
    let pid = child.id();
    let stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || -> std::io::Result<(u64, u64)> {
        let mut out = std::io::BufWriter::new(stdin);
        let mut lines = big_stream_head(&mut out)?;
        let mut bytes = 0u64;
        let filler = "Discussed rollout, pricing and the security review in detail. ".repeat(48);
        for i in 0..interactions {
            let line =
                json!({ "type": "interaction", "externalId": format!("I{i}"), "opportunity": format!("D{}", i % 50),
                               "kind": "CALL", "occurredAt": days_ago(i64::try_from(i % 28).unwrap_or(0)),
                               "participants": [format!("P{}", i % 50 % 5)], "summary": format!("{i}: {filler}") })
                .to_string();
            bytes += line.len() as u64 + 1;
            writeln!(out, "{line}")?;
            lines += 1;
        }
        out.flush()?;
        Ok((lines, bytes))
    });
    let watcher = std::thread::spawn(move || {
        let mut peak = 0;
        while let Some(kib) = peak_rss_kib(pid) {
            peak = peak.max(kib);
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        peak * 1024
    });
    let output = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .expect("joined")
        .expect("the import ran");
    let (lines, bytes) = writer.join().expect("writer").expect("the stream was written");
    let peak = watcher.join().expect("watcher");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary: Value = serde_json::from_slice(&output.stdout).expect("the summary is JSON on stdout");
    (summary, lines, bytes, peak)
}

/// SPEC §7: a stream goes in through standard input in bounded memory, read and written a
/// chunk at a time. A stream ten times larger (≈ 125 MB: 40,000 interactions with 3 KB
/// summaries, against 12 MB) leaves the importer's peak RSS where it was: it grows by less
/// than a third of the extra bytes.
#[tokio::test]
async fn a_large_stream_imports_through_standard_input_in_bounded_memory() {
    const INTERACTIONS: u64 = 40_000;
    let (app, database_url) = TestApp::spawn_with_database().await;
    let (_, _, small_bytes, small_peak) = import_through_stdin(&database_url, "small", INTERACTIONS / 10).await;
    let (summary, lines, bytes, peak) = import_through_stdin(&database_url, "acme", INTERACTIONS).await;
    assert_eq!(summary["accepted"], json!(lines), "{summary}");
    assert_eq!(summary["records"]["interaction"], json!(INTERACTIONS));
    assert!(bytes > 120_000_000, "the stream is {bytes} bytes");
    assert!(
        peak < small_peak + (bytes - small_bytes) / 3,
        "peak RSS {peak} bytes for {bytes} bytes of stream, against {small_peak} for {small_bytes}"
    );
    // Everything is there, on every deal.
    let data = app
        .ok(
            &admin("acme"),
            "{ opportunityByExternalId(externalId: \"D7\") { interactions { totalCount } } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data["opportunityByExternalId"]["interactions"]["totalCount"],
        json!(INTERACTIONS / 50)
    );
}

/// `POST /import` reads the body as it arrives: records at the start of a stream are written
/// while the client is still sending the rest (a client sends a chunked body by hand here).
#[tokio::test]
async fn an_http_import_writes_records_while_the_body_is_still_arriving() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let token = admin("acme");
    let addr = app.url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&addr).await.expect("connected");
    let head = format!(
        "POST /import HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await.expect("head");
    let first: String = (0..5_000)
        .map(|i| {
            format!(
                "{}\n",
                json!({ "type": "account", "externalId": format!("A{i}"), "name": format!("Account {i}") })
            )
        })
        .collect();
    socket
        .write_all(format!("{:x}\r\n{first}\r\n", first.len()).as_bytes())
        .await
        .expect("first part");
    // The first records are readable while the body is still open.
    let mut found = false;
    for _ in 0..200 {
        let data = app
            .ok(
                &token,
                "{ accountByExternalId(externalId: \"A0\") { name } }",
                json!({}),
            )
            .await;
        if data["accountByExternalId"]["name"] == json!("Account 0") {
            found = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(found, "records were not written before the body ended");
    let rest = format!(
        "{}\n",
        json!({ "type": "contact", "externalId": "C0", "account": "A4999", "fullName": "Last One" })
    );
    socket
        .write_all(format!("{:x}\r\n{rest}\r\n0\r\n\r\n", rest.len()).as_bytes())
        .await
        .expect("rest");
    let mut response = String::new();
    socket.read_to_string(&mut response).await.expect("response");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let body = &response[response.find("\r\n\r\n").expect("a body") + 4..];
    let summary: Value = serde_json::from_str(body).expect("the summary");
    assert_eq!(summary["accepted"], json!(5_001), "{summary}");
}
