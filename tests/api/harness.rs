//! The harness itself: a test's configuration ignores the shell's environment, its client
//! gives up on a server that never answers, and its database goes away with it.

use std::time::{Duration, Instant};

use dealgraph::config::Cli;
use serde_json::json;

use crate::helpers::{CLIENT_TIMEOUT, TestApp, TestDatabase, admin, cli_without_env, default_config, http_client};

fn env_names(command: &clap::Command) -> Vec<String> {
    command
        .get_arguments()
        .filter_map(|arg| arg.get_env())
        .map(|name| name.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_test_command_line_reads_no_environment_variable() {
    use clap::CommandFactory;
    // The server's own command line reads these variables...
    let server = env_names(&Cli::command());
    for name in [
        "DATABASE_URL",
        "DEALGRAPH_ADDR",
        "DEALGRAPH_JWT_SECRET",
        "DEALGRAPH_JWT_AUDIENCE",
        "DEALGRAPH_DEMO",
        "DEALGRAPH_MAX_ALIASES",
        "DEALGRAPH_REQUEST_TIMEOUT_SECS",
    ] {
        assert!(server.iter().any(|n| n == name), "{name} not among {server:?}");
    }
    // ...the copy the tests parse reads none of them.
    assert_eq!(env_names(&cli_without_env()), Vec::<String>::new());
}

/// Also run by the next test in a child process whose environment sets every variable below
/// to something else: the configuration a test starts from is the documented defaults.
#[test]
fn the_test_config_starts_from_the_documented_defaults() {
    let config = default_config();
    assert_eq!(config.database_url, "sqlite://dealgraph.db?mode=rwc");
    assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
    assert_eq!(config.jwt_secret, None);
    assert_eq!(config.jwt_audience, None);
    assert_eq!(config.demo, None, "the demo loads by default only in development mode");
    assert!(!config.dev);
    assert_eq!(config.cors_origins, Vec::<String>::new());
    assert_eq!(config.max_aliases, 30);
    assert_eq!(config.max_depth, 16);
    assert_eq!(config.max_body_bytes, 1024 * 1024);
    assert_eq!(config.request_timeout_secs, 30);
    assert_eq!(config.risk_sweep_secs, 900);
}

#[test]
fn the_test_config_ignores_dealgraph_variables_set_in_the_shell() {
    // Setting variables inside this multi-threaded binary is unsound, so the check above runs
    // again in a child process of the same test binary, with a hostile environment.
    let exe = std::env::current_exe().expect("the test binary");
    let output = std::process::Command::new(exe)
        .args([
            "harness::the_test_config_starts_from_the_documented_defaults",
            "--exact",
            "--test-threads=1",
        ])
        .env("DATABASE_URL", "postgres://nobody@192.0.2.1:1/nowhere")
        .env("DEALGRAPH_ADDR", "0.0.0.0:9")
        .env("DEALGRAPH_JWT_SECRET", "from-the-shell")
        .env("DEALGRAPH_JWT_AUDIENCE", "someone-else")
        .env("DEALGRAPH_DEMO", "0")
        .env("DEALGRAPH_CORS_ORIGINS", "https://evil.example")
        .env("DEALGRAPH_MAX_ALIASES", "3")
        .env("DEALGRAPH_MAX_DEPTH", "2")
        .env("DEALGRAPH_MAX_BODY_BYTES", "10")
        .env("DEALGRAPH_REQUEST_TIMEOUT_SECS", "1")
        .env("DEALGRAPH_RISK_SWEEP_SECS", "1")
        .output()
        .expect("the child runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "the child run failed or ran no test:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
async fn the_client_gives_up_on_a_server_that_never_answers() {
    // Longer than the server's own request timeout, so the server's answer comes first.
    assert!(CLIENT_TIMEOUT > Duration::from_secs(default_config().request_timeout_secs));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket); // accepted, never read or answered
        }
    });
    let started = Instant::now();
    let err = http_client(Duration::from_millis(300))
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .expect_err("no answer comes");
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    silent.abort();
}

#[tokio::test]
async fn a_test_database_goes_away_with_its_test() {
    let app = TestApp::spawn().await;
    app.create_account(&admin("acme"), "Something to drop").await;
    match app.database() {
        TestDatabase::Postgres { admin_url, name } => {
            use sea_orm::{ConnectionTrait, DbBackend, Statement};
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let exists = || {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                async move {
                    let admin = sea_orm::Database::connect(admin_url.as_str()).await.expect("connect");
                    let row = admin
                        .query_one_raw(Statement::from_sql_and_values(
                            DbBackend::Postgres,
                            "SELECT COUNT(*) AS n FROM pg_database WHERE datname = $1",
                            [name.into()],
                        ))
                        .await
                        .expect("query")
                        .expect("a row");
                    admin.close().await.ok();
                    row.try_get::<i64>("", "n").expect("count")
                }
            };
            assert_eq!(exists().await, 1, "the test's database exists while the test runs");
            drop(app);
            assert_eq!(exists().await, 0, "the test's database is dropped with its TestApp");
        }
        TestDatabase::Sqlite(dir) => {
            let dir = dir.path().to_owned();
            assert!(dir.join("test.db").exists());
            drop(app);
            assert!(!dir.exists(), "the SQLite temp dir is removed with its TestApp");
        }
    }
    // A fresh app still works after another one's database went away.
    let again = TestApp::spawn().await;
    let data = again.ok(&admin("acme"), "{ accounts { totalCount } }", json!({})).await;
    assert_eq!(data["accounts"]["totalCount"], 0);
}
