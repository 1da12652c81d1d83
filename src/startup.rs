//! Building the server from a [`Config`]: connect and migrate, set up auth, bind the listener
//! first (so tests can ask for port 0 and read the real port), then serve until shut down.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::auth::Verifier;
use crate::config::Config;
use crate::graphql::{self, Limits};
use crate::http::documents::Documents;
use crate::http::share::{ShareLimits, TenantShares};
use crate::http::{self, AppState, HttpLimits};
use crate::service::Services;
use crate::store::Store;
use crate::store::leader::{Leadership, Work};

pub struct Server {
    listener: TcpListener,
    sweep_every: Option<Duration>,
    router: axum::Router,
    store: Store,
    /// PostgreSQL: the task that hears change events from every replica.
    changes: Option<tokio::task::JoinHandle<()>>,
    /// Who runs the periodic work among the replicas.
    leadership: crate::store::leader::Leadership,
    /// Sends webhook deliveries (while this process leads that work).
    sender: crate::service::webhooks::Sender,
    sender_leadership: crate::store::leader::Leadership,
    pub verifier: Arc<Verifier>,
}

impl Server {
    /// Connects to the database (migrating it), loads keys, binds `config.addr`.
    pub async fn build(config: &Config) -> anyhow::Result<Server> {
        // Install the metrics recorder before anything is counted.
        crate::http::metrics::handle();
        config.check_development_mode().map_err(anyhow::Error::msg)?;
        let verifier = Arc::new(Verifier::from_config(config)?);
        let store = connect_for_serving(config).await?;
        if verifier.dev_mode {
            tracing::warn!(
                secret_file = %crate::auth::dev_secret_path(config).display(),
                "DEVELOPMENT MODE: no DEALGRAPH_JWT_SECRET, DEALGRAPH_JWT_PUBLIC_KEY or DEALGRAPH_JWKS_PATH is set; \
                 tokens are signed with a local random secret. Do not expose this server."
            );
        }
        let limits = Limits {
            max_depth: config.max_depth,
            max_complexity: config.max_complexity,
        };
        let schema = graphql::build_schema(limits);
        let state = AppState {
            schema,
            max_aliases: config.max_aliases,
            max_complexity: config.max_complexity,
            cost_probe: graphql::limits::CostProbe::new(),
            documents: Arc::new(match &config.trusted_documents {
                Some(path) => Documents::trusted_from_file(path)?,
                None => Documents::automatic(),
            }),
            services: Services::new(store.clone()).allowing_private_webhooks(config.webhook_allow_private),
            verifier: Arc::clone(&verifier),
            shares: Arc::new(TenantShares::new(ShareLimits {
                max_in_flight: config.tenant_max_in_flight,
                max_queued: config.tenant_max_queued,
                wait: Duration::from_millis(config.tenant_queue_wait_ms),
            })),
            max_import_bytes: config.max_import_bytes,
        };
        let router = http::router(
            state,
            HttpLimits {
                max_body_bytes: config.max_body_bytes,
                request_timeout: Duration::from_secs(config.request_timeout_secs),
                import_timeout: Duration::from_secs(config.import_timeout_secs),
                cors_origins: config.cors_origins.clone(),
            },
        );
        let listener = TcpListener::bind(config.addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.addr))?;
        let sweep_every = (config.risk_sweep_secs > 0).then(|| Duration::from_secs(config.risk_sweep_secs));
        // PostgreSQL: every server process hears every replica's commits (SPEC §9).
        let changes = if store.reader().get_database_backend() == sea_orm::DbBackend::Postgres {
            let outbox = Arc::clone(store.outbox());
            Some(crate::store::changes::start_listener(&config.database_url, store.bus().clone(), outbox).await?)
        } else {
            None
        };
        Ok(Server {
            changes,
            leadership: Leadership::new(&config.database_url, Work::Sweep),
            sender: crate::service::webhooks::Sender::new(config.webhook_allow_private)?,
            sender_leadership: Leadership::new(&config.database_url, Work::Webhooks),
            listener,
            sweep_every,
            router,
            store,
            verifier,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves (and re-assesses risk every `DEALGRAPH_RISK_SWEEP_SECS`) until `shutdown`
    /// completes, then drains in-flight requests and closes the pool.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> std::io::Result<()> {
        let Server {
            listener,
            sweep_every,
            router,
            store,
            changes,
            leadership,
            sender,
            sender_leadership,
            ..
        } = self;
        let sender = sender.spawn(store.clone(), sender_leadership);
        let sweeper = sweep_every.map(|every| crate::service::risk::spawn_sweeper(store.clone(), every, leadership));
        let served = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
        if let Some(sweeper) = sweeper {
            sweeper.abort();
        }
        sender.abort();
        if let Some(changes) = changes {
            changes.abort();
        }
        store.close().await;
        served
    }
}

/// Connects and runs pending migrations (tools and migrations: no statement timeout).
pub async fn connect(config: &Config) -> anyhow::Result<Store> {
    let store = Store::connect(&config.database_url, config.db_max_connections)
        .await
        .context("cannot connect to the database (check DATABASE_URL)")?;
    store.migrate().await.context("database migration failed")?;
    Ok(store)
}

/// The serving pool: pending migrations first, on connections of their own (they may run
/// long), then a pool whose statements time out with the request, so that the SQL of a
/// request given up on does not keep running.
async fn connect_for_serving(config: &Config) -> anyhow::Result<Store> {
    connect(config).await?.close().await;
    let timeout = Duration::from_secs(config.request_timeout_secs);
    Store::connect_with_timeout(&config.database_url, config.db_max_connections, Some(timeout))
        .await
        .context("cannot connect to the database (check DATABASE_URL)")
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
