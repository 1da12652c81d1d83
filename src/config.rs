//! Configuration: environment variables (12-factor), also accepted as flags. Validated once.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// dealgraph: a multi-tenant GraphQL API for B2B deals, buying groups and explained risk.
#[derive(Debug, Parser)]
#[command(name = "dealgraph", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (the default).
    Serve,
    /// Run pending database migrations and exit.
    Migrate,
    /// Mint a JWT with the configured HS256 secret (or the development secret).
    Token(TokenArgs),
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Load the demo tenant `demo` (into any database; it refuses if `demo` already has data).
    Demo,
    /// Import an NDJSON record stream into a tenant (SPEC §7): every record upserted by its
    /// external ID, history replaced, touched deals re-assessed. Prints the summary as JSON;
    /// exits non-zero when a record was rejected.
    Import(ImportArgs),
    /// Generate the benchmark data set (SPEC §6) into the configured database: seeded and
    /// reproducible, written in bulk, with stored risk for every deal. With `--ndjson`, write
    /// it as an NDJSON record stream (SPEC §7) instead, for `dealgraph import`.
    Generate(GenerateArgs),
}

/// Sizes of the generated data set; the defaults are SPEC §6's.
#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// The main tenant; the others are named `<tenant>-2`, `<tenant>-3`, ….
    #[arg(long, default_value = "bench")]
    pub tenant: String,
    /// Opportunities in the main tenant.
    #[arg(long, default_value_t = 10_000)]
    pub deals: usize,
    /// How many other tenants to fill beside it.
    #[arg(long, default_value_t = 4)]
    pub other_tenants: usize,
    /// Opportunities in each other tenant.
    #[arg(long, default_value_t = 2_000)]
    pub other_deals: usize,
    /// Buying-group members per opportunity.
    #[arg(long, default_value_t = 12)]
    pub members: usize,
    /// Mean interactions per opportunity (each gets between half and 1.5 times as many).
    #[arg(long, default_value_t = 100)]
    pub interactions_per_deal: usize,
    /// How many days back opportunities are created.
    #[arg(long, default_value_t = 180)]
    pub days: u32,
    /// Seed of the generator: the same seed and `--as-of` give the same rows.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The instant the data is relative to (RFC 3339); default: now.
    #[arg(long, value_parser = parse_instant)]
    pub as_of: Option<chrono::DateTime<chrono::Utc>>,
    /// Delete the tenants' existing data first (otherwise a tenant with data is refused).
    #[arg(long)]
    pub replace: bool,
    /// How stored risk is computed: `inline` (in process, as rows are generated) or `refresh`
    /// (the periodic sweep's code path, over the written rows; slower).
    #[arg(long, value_enum, default_value = "inline")]
    pub risk: crate::seed::generate::RiskPath,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// Write the data set as an NDJSON record stream (SPEC §7) to FILE (`-`: standard output)
    /// instead of into the database, to benchmark `dealgraph import` with. All tenants go into
    /// the one stream, their external IDs prefixed with the tenant's name (`bench/opp-00001`).
    #[arg(long, value_name = "FILE", conflicts_with_all = ["replace", "risk"])]
    pub ndjson: Option<PathBuf>,
}

/// What `dealgraph import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    /// One JSON record per line (SPEC §7).
    Ndjson,
    /// A Salesforce weekly data-export folder (CSV files named by object).
    Salesforce,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The tenant to import into.
    #[arg(long)]
    pub tenant: String,
    /// What PATH holds: an NDJSON record stream, or a Salesforce data-export folder.
    #[arg(long, value_enum, default_value = "ndjson")]
    pub format: ImportFormat,
    /// Salesforce: a TOML file of `[stages]` and `[roles]` tables ("Salesforce value" =
    /// "ENUM_NAME") merged over the default mappings.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Salesforce: the currency of opportunities without `CurrencyIsoCode`.
    #[arg(long, default_value = "USD")]
    pub currency: String,
    /// The whole stream is one unit: nothing is written if any record is rejected.
    #[arg(long)]
    pub atomic: bool,
    /// Do not draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
    /// The NDJSON file (`-` for standard input), or the export folder.
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct TokenArgs {
    /// Tenant id (`tid` claim).
    #[arg(long)]
    pub tenant: String,
    /// User id (`sub` claim).
    #[arg(long, default_value = "admin")]
    pub sub: String,
    /// Role: admin, seller or analyst (repeat for several).
    #[arg(long = "role", default_value = "admin")]
    pub roles: Vec<String>,
    /// Lifetime: seconds, or a number with s, m, h or d (e.g. `12h`).
    #[arg(long, default_value = "12h", value_parser = parse_ttl)]
    pub ttl: u64,
}

/// Everything the server reads from its environment.
#[derive(Clone, Args)]
pub struct Config {
    /// SQLite or PostgreSQL URL.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://dealgraph.db?mode=rwc")]
    pub database_url: String,
    /// Listen address.
    #[arg(long, env = "DEALGRAPH_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// HS256 secret for verifying tokens.
    #[arg(long, env = "DEALGRAPH_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Path to a PEM public key (RS256 or ES256).
    #[arg(long, env = "DEALGRAPH_JWT_PUBLIC_KEY")]
    pub jwt_public_key: Option<PathBuf>,
    /// Path to a JWKS file (RS256 / ES256 keys, selected by `kid`).
    #[arg(long, env = "DEALGRAPH_JWKS_PATH")]
    pub jwks_path: Option<PathBuf>,
    /// When set, tokens must carry this `iss`.
    #[arg(long, env = "DEALGRAPH_JWT_ISSUER")]
    pub jwt_issuer: Option<String>,
    /// When set, tokens must carry this `aud`.
    #[arg(long, env = "DEALGRAPH_JWT_AUDIENCE")]
    pub jwt_audience: Option<String>,
    /// Load the demo tenant into an empty database (1 or 0). Default: 1 in development mode
    /// (no key configured), 0 with a key.
    #[arg(long, env = "DEALGRAPH_DEMO", value_parser = parse_flag)]
    pub demo: Option<bool>,
    /// Allow development mode (no key configured) on PostgreSQL or on a non-loopback address
    /// (1 or 0). It changes nothing when a key is configured.
    #[arg(long, env = "DEALGRAPH_DEV", default_value = "0", value_parser = parse_flag)]
    pub dev: bool,
    /// A JSON file of SHA-256 hash → GraphQL document: when set, only these documents run.
    #[arg(long, env = "DEALGRAPH_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<PathBuf>,
    /// Comma-separated origins allowed to call from browsers.
    #[arg(long, env = "DEALGRAPH_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Largest database connection pool.
    #[arg(long, env = "DEALGRAPH_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Most requests one tenant runs at a time (its share of the server and of the pool).
    #[arg(long, env = "DEALGRAPH_TENANT_MAX_IN_FLIGHT", default_value_t = 4)]
    pub tenant_max_in_flight: usize,
    /// Most requests of one tenant waiting for a turn; past it they are refused at once.
    #[arg(long, env = "DEALGRAPH_TENANT_MAX_QUEUED", default_value_t = 64)]
    pub tenant_max_queued: usize,
    /// Milliseconds a waiting request of a tenant over its share waits before HTTP 429.
    #[arg(long, env = "DEALGRAPH_TENANT_QUEUE_WAIT_MS", default_value_t = 1000)]
    pub tenant_queue_wait_ms: u64,
    /// Deepest accepted query.
    #[arg(long, env = "DEALGRAPH_MAX_DEPTH", default_value_t = 16)]
    pub max_depth: usize,
    /// Highest accepted query cost (each field costs 1; list fields multiply by page size).
    #[arg(long, env = "DEALGRAPH_MAX_COMPLEXITY", default_value_t = 20_000)]
    pub max_complexity: usize,
    /// Most aliases in one query.
    #[arg(long, env = "DEALGRAPH_MAX_ALIASES", default_value_t = 30)]
    pub max_aliases: usize,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "DEALGRAPH_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
    pub max_body_bytes: usize,
    /// Largest accepted `POST /import` body, in bytes (read as a stream, never held whole).
    #[arg(long, env = "DEALGRAPH_MAX_IMPORT_BYTES", default_value_t = 1 << 30)]
    pub max_import_bytes: u64,
    /// Seconds before a `POST /import` is abandoned.
    #[arg(long, env = "DEALGRAPH_IMPORT_TIMEOUT_SECS", default_value_t = 3600)]
    pub import_timeout_secs: u64,
    /// Seconds before a request is abandoned.
    #[arg(long, env = "DEALGRAPH_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    pub request_timeout_secs: u64,
    /// Seconds between sweeps that re-assess every open deal (time alone stalls deals); 0 disables.
    #[arg(long, env = "DEALGRAPH_RISK_SWEEP_SECS", default_value_t = 900)]
    pub risk_sweep_secs: u64,
    /// `1`: webhooks may be sent to loopback and private addresses, and over plain `http://`
    /// (tests and single-host installs). Off: only public `https://` receivers.
    #[arg(long, env = "DEALGRAPH_WEBHOOK_ALLOW_PRIVATE", default_value = "0", value_parser = parse_flag)]
    pub webhook_allow_private: bool,
    /// Log format: `text` or `json`.
    #[arg(long, env = "DEALGRAPH_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl std::fmt::Debug for Config {
    /// Never prints the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<redacted>"))
            .field("jwt_public_key", &self.jwt_public_key)
            .field("jwks_path", &self.jwks_path)
            .field("jwt_issuer", &self.jwt_issuer)
            .field("jwt_audience", &self.jwt_audience)
            .field("demo", &self.demo)
            .field("dev", &self.dev)
            .field("cors_origins", &self.cors_origins)
            .finish_non_exhaustive()
    }
}

impl Config {
    /// The defaults, as if no variable were set (used by tests, then adjusted).
    pub fn defaults() -> Config {
        Cli::parse_from(["dealgraph"]).config
    }

    /// True when a key to verify tokens is configured (a secret, a public key or a JWKS);
    /// without one the server runs in development mode.
    pub fn key_configured(&self) -> bool {
        self.jwt_secret.is_some() || self.jwt_public_key.is_some() || self.jwks_path.is_some()
    }

    /// Whether `serve` loads the demo tenant into an empty database: `DEALGRAPH_DEMO` when
    /// set, else only in development mode.
    pub fn loads_demo(&self) -> bool {
        self.demo.unwrap_or(!self.key_configured())
    }

    /// Development mode is for a laptop: refused (naming the setting that fixes it) on
    /// PostgreSQL or on an address other machines can reach, unless `DEALGRAPH_DEV=1`.
    pub fn check_development_mode(&self) -> Result<(), String> {
        if self.key_configured() || self.dev {
            return Ok(());
        }
        let postgres = self.database_url.starts_with("postgres");
        let exposed = !self.addr.ip().is_loopback();
        if !postgres && !exposed {
            return Ok(());
        }
        let why = match (postgres, exposed) {
            (true, true) => format!("the database is PostgreSQL and {} is not a loopback address", self.addr),
            (true, false) => "the database is PostgreSQL".to_owned(),
            _ => format!("{} is not a loopback address", self.addr),
        };
        Err(format!(
            "no key is configured, and development mode (a local random secret, a printed admin token) \
             is only for a laptop: {why}. Set DEALGRAPH_JWT_SECRET (or DEALGRAPH_JWT_PUBLIC_KEY or \
             DEALGRAPH_JWKS_PATH, with DEALGRAPH_JWT_AUDIENCE), or DEALGRAPH_DEV=1 to run in development \
             mode anyway"
        ))
    }

    /// The SQLite file behind `database_url`, if it names one.
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        let rest = self.database_url.strip_prefix("sqlite:")?;
        let rest = rest.trim_start_matches("//");
        let path = rest.split('?').next().unwrap_or_default();
        (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
    }
}

/// Hides a password in a database URL.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn parse_flag(raw: &str) -> Result<bool, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" | "" => Ok(false),
        other => Err(format!("expected 1 or 0, got {other:?}")),
    }
}

fn parse_instant(raw: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(raw.trim())
        .map(|t| t.to_utc())
        .map_err(|err| format!("not an RFC 3339 instant ({err}): {raw:?}"))
}

fn parse_ttl(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let (digits, unit) = match raw.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, _)) => raw.split_at(i),
        None => (raw, "s"),
    };
    let n: u64 = digits.parse().map_err(|_| format!("not a duration: {raw:?}"))?;
    let factor = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit in {raw:?}; use s, m, h or d")),
    };
    match n.checked_mul(factor) {
        Some(0) | None => Err(format!("ttl must be positive and reasonable: {raw:?}")),
        Some(secs) => Ok(secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_accept_units() {
        assert_eq!(parse_ttl("90"), Ok(90));
        assert_eq!(parse_ttl("15m"), Ok(900));
        assert_eq!(parse_ttl("12h"), Ok(43_200));
        assert_eq!(parse_ttl("7d"), Ok(604_800));
        assert!(parse_ttl("0").is_err());
        assert!(parse_ttl("5w").is_err());
    }

    #[test]
    fn sqlite_paths_are_found_in_urls() {
        let mut c = Cli::parse_from(["dealgraph", "--database-url", "sqlite://dealgraph.db?mode=rwc"]).config;
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("dealgraph.db")));
        c.database_url = "postgres://u:p@localhost/db".into();
        assert_eq!(c.sqlite_path(), None);
        c.database_url = "sqlite:///tmp/x.db?mode=rwc".into();
        assert_eq!(c.sqlite_path(), Some(PathBuf::from("/tmp/x.db")));
    }

    #[test]
    fn development_mode_runs_on_a_laptop_only_unless_asked() {
        let with = |url: &str, addr: &str, dev: bool, secret: Option<&str>| {
            let mut c = Config::defaults();
            c.database_url = url.into();
            c.addr = addr.parse().expect("addr");
            c.dev = dev;
            c.jwt_secret = secret.map(str::to_owned);
            c
        };
        let sqlite = "sqlite://x.db?mode=rwc";
        let postgres = "postgres://u@db.example/x";
        assert!(
            with(sqlite, "127.0.0.1:8080", false, None)
                .check_development_mode()
                .is_ok()
        );
        assert!(with(sqlite, "[::1]:8080", false, None).check_development_mode().is_ok());
        for (url, addr) in [
            (sqlite, "0.0.0.0:8080"),
            (postgres, "127.0.0.1:8080"),
            (postgres, "10.0.0.5:80"),
        ] {
            let err = with(url, addr, false, None)
                .check_development_mode()
                .expect_err("refused");
            assert!(
                err.contains("DEALGRAPH_JWT_SECRET") && err.contains("DEALGRAPH_DEV"),
                "{err}"
            );
            assert!(
                with(url, addr, true, None).check_development_mode().is_ok(),
                "DEALGRAPH_DEV=1"
            );
            assert!(
                with(url, addr, false, Some("k")).check_development_mode().is_ok(),
                "a key"
            );
        }
    }

    #[test]
    fn the_demo_loads_by_default_only_in_development_mode() {
        let mut c = Config::defaults();
        assert_eq!(c.demo, None);
        assert!(c.loads_demo(), "no key: development mode");
        c.jwt_secret = Some("k".into());
        assert!(!c.loads_demo(), "a real key");
        c.demo = Some(true);
        assert!(c.loads_demo(), "asked for");
        c.jwt_secret = None;
        c.demo = Some(false);
        assert!(!c.loads_demo());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut c = Config::defaults();
        c.jwt_secret = Some("hunter2".into());
        c.database_url = "postgres://app:s3cret@db/x".into();
        let shown = format!("{c:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("s3cret"), "{shown}");
    }
}
