//! `TestApp::spawn()`: a migrated database of its own, a server on a free port, a client.
//! The database is the test's own: a temp SQLite file, or a PostgreSQL database that the
//! test drops when its `TestApp` goes away (so concurrent runs never touch each other's).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use dealgraph::config::{Cli, Config};
use dealgraph::startup::Server;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

pub const SECRET: &str = "integration-test-secret-0123456789abcdef";

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
    /// The server's own store (shared pool), to count the SQL statements a request runs.
    pub store: dealgraph::store::Store,
    /// Last, so that it is dropped last.
    database: TestDatabase,
}

/// How long one request may take before the test fails: longer than the server's own
/// request timeout (30 s), so a hang fails its test instead of stalling the whole binary.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(40);

/// The HTTP client of the tests, with a timeout on every request.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .expect("http client")
}

/// The database a test owns, removed when the test's `TestApp` (its last field) is dropped.
pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    /// `admin_url` is the `DATABASE_URL` the test run was given; `name` the test's database.
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for TestDatabase {
    /// Drops the test's PostgreSQL database (the SQLite temp dir removes itself) when its
    /// `TestApp` goes away — or when the test panics before the app is built. `Drop` cannot
    /// await, and the test's runtime may be single-threaded, so the drop runs on a thread of
    /// its own with a small runtime, joined here. `WITH (FORCE)` ends the server's pooled
    /// connections. A failure is only a warning: the test's verdict stands.
    fn drop(&mut self) {
        let TestDatabase::Postgres { admin_url, name } = self else {
            return;
        };
        let (admin_url, name) = (admin_url.clone(), name.clone());
        let drop_sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
        let dropped = std::thread::spawn(move || -> Result<(), String> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            runtime.block_on(async {
                use sea_orm::ConnectionTrait;
                let admin = sea_orm::Database::connect(admin_url.as_str())
                    .await
                    .map_err(|e| e.to_string())?;
                let result = admin
                    .execute_unprepared(&drop_sql)
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                admin.close().await.ok();
                result
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(err)) => eprintln!("warning: could not drop test database {name}: {err}"),
            Err(_) => eprintln!("warning: dropping test database {name} panicked"),
        }
    }
}

/// A fresh database: a temp SQLite file, or a new PostgreSQL database when `DATABASE_URL`
/// points at a PostgreSQL server. Returns its URL.
pub async fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("dealgraph_test_{}", uuid::Uuid::now_v7().simple());
            let admin = sea_orm::Database::connect(url.as_str())
                .await
                .expect("connect to postgres");
            use sea_orm::ConnectionTrait;
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .expect("create test database");
            admin.close().await.ok();
            let (base, _) = url.rsplit_once('/').expect("postgres url has a database");
            let test_url = format!("{base}/{name}");
            (test_url, TestDatabase::Postgres { admin_url: url, name })
        }
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}?mode=rwc", dir.path().join("test.db").display());
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    /// Spawns with configuration adjusted by `tweak` (limits, keys, …).
    pub async fn spawn_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
        let (database_url, database) = fresh_database().await;
        let mut config = default_config();
        config.database_url = database_url;
        config.addr = "127.0.0.1:0".parse().expect("addr");
        config.jwt_secret = Some(SECRET.into());
        config.jwt_public_key = None;
        config.jwks_path = None;
        config.jwt_issuer = None;
        config.jwt_audience = None;
        config.demo = Some(false);
        config.db_max_connections = 5;
        tweak(&mut config);
        let server = Server::build(&config).await.expect("server starts");
        let url = format!("http://{}", server.local_addr());
        let store = server.store().clone();
        tokio::spawn(server.run(std::future::pending()));
        TestApp {
            url,
            client: http_client(CLIENT_TIMEOUT),
            store,
            database,
        }
    }

    /// The database this test owns.
    pub fn database(&self) -> &TestDatabase {
        &self.database
    }

    /// POSTs a GraphQL request and returns the JSON body (whatever the status).
    pub async fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        self.post(token, json!({ "query": query, "variables": variables }))
            .await
            .1
    }

    pub async fn post(&self, token: &str, body: Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .expect("request sent");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// Like `gql`, but the call must succeed; returns `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body:#}");
        body["data"].clone()
    }

    // ---- fixtures -------------------------------------------------------------------------

    /// Runs a mutation that must succeed and returns the `id` it answers under `field`.
    pub async fn created(&self, token: &str, field: &str, query: &str, variables: Value) -> String {
        let data = self.ok(token, query, variables).await;
        match data[field]["id"].as_str() {
            Some(id) => id.to_owned(),
            None => panic!("{field} answered no id: {data}"),
        }
    }

    pub async fn create_account(&self, token: &str, name: &str) -> String {
        self.created(
            token,
            "createAccount",
            "mutation($n: String!) { createAccount(input: {name: $n}) { id } }",
            json!({ "n": name }),
        )
        .await
    }

    pub async fn create_contact(&self, token: &str, account: &str, name: &str, title: &str) -> String {
        self.created(token, "createContact", "mutation($a: ID!, $n: String!, $t: String) { createContact(input: {accountId: $a, fullName: $n, title: $t}) { id } }", json!({ "a": account, "n": name, "t": title }))
            .await
    }

    pub async fn create_opportunity(&self, token: &str, account: &str, name: &str, amount: &str) -> String {
        self.created(token, "createOpportunity", "mutation($a: ID!, $n: String!, $m: Decimal!) { createOpportunity(input: {accountId: $a, name: $n, amount: $m, currency: \"USD\"}) { id } }", json!({ "a": account, "n": name, "m": amount }))
            .await
    }

    pub async fn add_member(&self, token: &str, opportunity: &str, contact: &str, role: &str) -> String {
        self.created(token, "addBuyingGroupMember", "mutation($o: ID!, $c: ID!, $r: BuyingRole!) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: $r}) { id } }", json!({ "o": opportunity, "c": contact, "r": role }))
            .await
    }

    /// Creates an opportunity from a whole `CreateOpportunityInput` (any of its fields).
    pub async fn create_deal(&self, token: &str, input: Value) -> String {
        self.created(
            token,
            "createOpportunity",
            "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { id } }",
            json!({ "i": input }),
        )
        .await
    }

    /// Adds a member with the given `role`, `stance` and `canVeto` (the rest default).
    pub async fn add_member_as(
        &self,
        token: &str,
        opportunity: &str,
        contact: &str,
        role: &str,
        stance: &str,
        can_veto: bool,
    ) -> String {
        self.created(token, "addBuyingGroupMember", "mutation($o: ID!, $c: ID!, $r: BuyingRole!, $s: Stance, $v: Boolean) { addBuyingGroupMember(input: {opportunityId: $o, contactId: $c, role: $r, stance: $s, canVeto: $v}) { id } }", json!({ "o": opportunity, "c": contact, "r": role, "s": stance, "v": can_veto }))
            .await
    }

    /// Logs a meeting at `occurred_at` (RFC 3339) with these participants and absent members.
    pub async fn log_at(
        &self,
        token: &str,
        opportunity: &str,
        occurred_at: &str,
        participants: &[&str],
        about: &[&str],
    ) -> String {
        self.created(token, "logInteraction", "mutation($o: ID!, $t: DateTime!, $p: [ID!]!, $a: [ID!]) { logInteraction(input: {opportunityId: $o, kind: MEETING, occurredAt: $t, participantIds: $p, aboutIds: $a}) { id } }", json!({ "o": opportunity, "t": occurred_at, "p": participants, "a": about }))
            .await
    }

    pub async fn log_interaction(
        &self,
        token: &str,
        opportunity: &str,
        participants: &[&str],
        about: &[&str],
    ) -> String {
        self.created(token, "logInteraction", "mutation($o: ID!, $p: [ID!]!, $a: [ID!]) { logInteraction(input: {opportunityId: $o, kind: MEETING, occurredAt: \"2026-01-15T10:00:00Z\", participantIds: $p, aboutIds: $a}) { id } }", json!({ "o": opportunity, "p": participants, "a": about }))
            .await
    }
}

/// The server's command line with every `env = …` lookup removed: parsing it reads no
/// environment variable, so a developer's `DEALGRAPH_*` or `DATABASE_URL` cannot leak into
/// a test's configuration (the database is chosen by `fresh_database`).
pub fn cli_without_env() -> clap::Command {
    use clap::CommandFactory;
    Cli::command().mut_args(|arg| arg.env(None::<&str>))
}

/// The documented defaults, whatever the environment says (fields are then set explicitly).
pub fn default_config() -> Config {
    use clap::FromArgMatches;
    let matches = cli_without_env()
        .try_get_matches_from(["dealgraph"])
        .expect("no arguments parse");
    Cli::from_arg_matches(&matches).expect("the defaults are valid").config
}

pub fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock").as_secs()
}

/// A signed HS256 token with the given claims (any JSON), using the test secret.
pub fn sign(claims: Value) -> String {
    sign_with(claims, SECRET)
}

pub fn sign_with(claims: Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("sign token")
}

/// A valid token for `tenant` with `roles`, subject `sub`.
pub fn token_for(tenant: &str, sub: &str, roles: &[&str]) -> String {
    sign(json!({ "sub": sub, "tid": tenant, "roles": roles, "exp": now_secs() + 3600 }))
}

pub fn admin(tenant: &str) -> String {
    token_for(tenant, "admin-user", &["admin"])
}

/// An instant `days` days before now, in RFC 3339 (whole seconds, UTC).
pub fn days_ago(days: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// The uuid behind an opaque ID (`base64url("Kind:uuid")`). Clients must not do this; tests
/// use it to know how the server breaks ties between equal sort keys (by id).
pub fn uuid_of(id: &str) -> uuid::Uuid {
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(id)
        .expect("an ID is base64url");
    let text = String::from_utf8(bytes).expect("an ID is text");
    let (_, raw) = text.split_once(':').expect("Kind:uuid");
    uuid::Uuid::try_parse(raw).expect("a uuid")
}

/// A well-formed ID of `kind` (e.g. `Opportunity`) that names nothing anywhere.
pub fn random_id(kind: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{}", uuid::Uuid::now_v7().simple()))
}

/// SPEC §4's default points, in the order of the `RiskFactorCode` enum.
pub const DEFAULT_WEIGHTS: [(&str, i64); 12] = [
    ("SINGLE_THREADED", 20),
    ("NO_MOBILIZER", 15),
    ("VETO_HOLDER_OPPOSED", 25),
    ("VETO_HOLDER_UNENGAGED", 15),
    ("DELEGATED_ENGAGEMENT", 15),
    ("MOBILIZER_OVERLOADED", 10),
    ("BUYING_GROUP_GAPS", 10),
    ("LOW_COVERAGE", 10),
    ("STALLED", 15),
    ("GOING_DARK", 15),
    ("PAST_CLOSE_DATE", 10),
    ("CLOSE_DATE_PUSHED", 10),
];

pub fn default_weights() -> Value {
    DEFAULT_WEIGHTS
        .iter()
        .map(|(code, points)| json!({ "code": code, "points": points }))
        .collect()
}

pub const POLICY: &str =
    "{ riskPolicy { engagementWindowDays minEngagedMembers singleThreadShare minGroupSize requiredRoles
    coverageThreshold stallDays darkDays maxCloseDatePushes weights { code points } } }";

/// SPEC §4's default policy, as `riskPolicy` answers it.
pub fn default_policy() -> Value {
    json!({
        "engagementWindowDays": 30, "minEngagedMembers": 3, "singleThreadShare": 0.8, "minGroupSize": 6,
        "requiredRoles": ["ECONOMIC_BUYER"], "coverageThreshold": 0.5, "stallDays": 60, "darkDays": 14,
        "maxCloseDatePushes": 2, "weights": default_weights()
    })
}

/// The `extensions.code` of the first error.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"].as_str().unwrap_or("<none>")
}

// ---- the demo tenant ----------------------------------------------------------------------

impl TestApp {
    /// Spawns a server and also returns its database URL, for tests that seed data the API
    /// does not write (the demo tenant).
    pub async fn spawn_with_database() -> (TestApp, String) {
        let mut database_url = String::new();
        let app = Self::spawn_with(|config| database_url = config.database_url.clone()).await;
        (app, database_url)
    }
}

/// Loads the demo tenant into the database at `database_url`, as `dealgraph demo` does.
pub async fn load_demo(database_url: &str) -> Result<dealgraph::seed::demo::DemoReport, dealgraph::domain::AppError> {
    let store = dealgraph::store::Store::connect(database_url, 2)
        .await
        .expect("connect to the test database");
    let loaded = dealgraph::seed::demo::load(&store).await;
    store.close().await;
    loaded
}
