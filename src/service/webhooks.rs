//! Webhooks (SPEC §9): admins register receivers; every committed change becomes outbox
//! rows in its own transaction (`store::webhooks::enqueue`); one sender among the replicas
//! POSTs them, signed, and retries until they are delivered or a day has passed.
//!
//! SSRF: a receiver must be `https://` and public — its URL is checked when the webhook is
//! created and at every delivery, and the sender connects only to addresses it resolved and
//! checked itself ([`CheckedResolver`]), so a name cannot be re-pointed at a private address
//! between check and connect. `DEALGRAPH_WEBHOOK_ALLOW_PRIVATE=1` lifts this (tests and
//! single-host installs).

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use futures_util::FutureExt;
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use uuid::Uuid;

use super::{Services, counted, now};
use crate::domain::model::{RiskLevel, WebhookEvent};
use crate::domain::page::{Page, PageArgs};
use crate::domain::values;
use crate::domain::webhooks::{self, Delivery, Host, Outgoing, Webhook};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::leader::Leadership;
use crate::store::{Store, webhooks as store};

/// Webhooks one tenant may have.
pub const MAX_WEBHOOKS_PER_TENANT: usize = 20;
/// Deliveries the sender has in flight at once, over every tenant …
const IN_FLIGHT: usize = 64;
/// … to one tenant's webhooks …
const PER_TENANT: u32 = 8;
/// … and to one webhook: a slow or dead receiver holds at most these of the sender's slots (a
/// tenant's several at most [`PER_TENANT`]), so everyone else's deliveries go on beside it.
const PER_WEBHOOK: u32 = 4;
/// How long a claimed delivery is the sender's (longer than any attempt, 10 s): if the
/// sender dies mid-attempt, the delivery falls due again after this.
const LEASE: Duration = Duration::from_secs(20);
/// The shortest pause between two rounds of the sender.
const POLL: Duration = Duration::from_millis(200);
/// The longest: it looks even when nothing is pending and nobody woke it.
const IDLE: Duration = Duration::from_secs(60);
/// How long finished deliveries stay listed (`Webhook.deliveries`).
pub const KEEP_DELIVERIES: Duration = Duration::from_secs(30 * 24 * 3600);
/// How often the sender deletes older ones.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
/// How often a replica that does not send checks whether the sender is gone.
const TAKEOVER: Duration = Duration::from_secs(5);

/// What an admin asks for.
pub struct CreateWebhook {
    pub url: String,
    pub events: Vec<WebhookEvent>,
    pub min_level: Option<RiskLevel>,
    pub description: Option<String>,
}

/// Registers a webhook; its secret is in the answer (and shown this once).
pub async fn create(ctx: &TenantCtx, svc: &Services, input: CreateWebhook) -> AppResult<Webhook> {
    ctx.require_admin()?;
    let allow_private = svc.webhooks_allow_private;
    let (url, host) =
        webhooks::check_url(&input.url, allow_private).map_err(|m| AppError::bad_input("input.url", m))?;
    if let Host::Name(name) = &host
        && !allow_private
    {
        resolve_public(name, url.port_or_known_default().unwrap_or(443))
            .await
            .map_err(|m| AppError::bad_input("input.url", m))?;
    }
    let mut events = input.events;
    events.sort();
    events.dedup();
    if events.is_empty() {
        return Err(AppError::bad_input("input.events", "name at least one event"));
    }
    let hook = Webhook {
        id: Uuid::now_v7(),
        url: url.to_string(),
        events,
        min_level: input.min_level.unwrap_or(RiskLevel::Medium),
        description: values::optional_short("input.description", input.description.as_deref())?,
        secret: webhooks::new_secret(),
        created_at: now(),
        created_by: ctx.user_id().to_owned(),
    };
    svc.store
        .write(async |tx| {
            if store::list(ctx, tx).await?.len() >= MAX_WEBHOOKS_PER_TENANT {
                return Err(AppError::bad_input(
                    "input",
                    format!("a tenant may have at most {MAX_WEBHOOKS_PER_TENANT} webhooks"),
                ));
            }
            store::insert(ctx, tx, &hook).await
        })
        .await?;
    Ok(hook)
}

/// Deletes a webhook and its deliveries (pending ones are not sent).
pub async fn delete(ctx: &TenantCtx, svc: &Services, id: Option<Uuid>) -> AppResult<Uuid> {
    ctx.require_admin()?;
    let id = id.ok_or(AppError::NotFound("webhook"))?;
    match svc.store.write(async |tx| store::delete(ctx, tx, id).await).await? {
        true => Ok(id),
        false => Err(AppError::NotFound("webhook")),
    }
}

/// The tenant's webhooks, oldest first (admins only).
pub async fn list(ctx: &TenantCtx, svc: &Services) -> AppResult<Vec<Webhook>> {
    ctx.require_admin()?;
    store::list(ctx, svc.store.reader()).await
}

/// The webhooks of `ids` in the caller's tenant (admins only).
pub async fn load_many(ctx: &TenantCtx, svc: &Services, ids: &[Uuid]) -> AppResult<Vec<Webhook>> {
    ctx.require_admin()?;
    store::get_many(ctx, svc.store.reader(), ids).await
}

/// A page of a webhook's deliveries, newest first (admins only).
pub async fn deliveries(
    ctx: &TenantCtx,
    svc: &Services,
    webhook: Uuid,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<Page<Delivery>> {
    ctx.require_admin()?;
    let window = args.window(store::DELIVERY_ORDER_TAG)?;
    let db = svc.store.reader();
    let page = store::deliveries(ctx, db, webhook, &window);
    counted(page, store::count_deliveries(ctx, db, webhook), with_total).await
}

/// The public addresses `name` resolves to; an error naming the problem when it resolves
/// to none (or to forbidden ones only).
async fn resolve_public(name: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let resolved: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| format!("cannot be resolved ({e})"))?
        .collect();
    let mut reasons = Vec::new();
    let public: Vec<SocketAddr> = resolved
        .into_iter()
        .filter(|addr| match webhooks::forbidden_address(addr.ip()) {
            Some(reason) => {
                reasons.push(reason);
                false
            }
            None => true,
        })
        .collect();
    match (public.is_empty(), reasons.first()) {
        (false, _) => Ok(public),
        (true, Some(reason)) => Err(format!("resolves to {reason}, which webhooks may not reach")),
        (true, None) => Err("resolves to no address".into()),
    }
}

/// reqwest's name resolution for deliveries: only addresses that pass the SSRF check, so
/// the connection goes to an address that was checked.
struct CheckedResolver;

impl reqwest::dns::Resolve for CheckedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let public = resolve_public(&name, 0)
                .await
                .map_err(|m| -> Box<dyn std::error::Error + Send + Sync> { format!("{name} {m}").into() })?;
            let addrs: reqwest::dns::Addrs = Box::new(public.into_iter());
            Ok(addrs)
        })
    }
}

/// The sender's HTTP client: a 10 s limit per attempt, no redirects (a redirect could point
/// anywhere), no proxy, and — unless private targets are allowed — the checked resolver.
fn client(allow_private: bool) -> AppResult<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .timeout(webhooks::TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(concat!("dealgraph-webhooks/", env!("CARGO_PKG_VERSION")));
    if !allow_private {
        builder = builder.dns_resolver(Arc::new(CheckedResolver));
    }
    builder
        .build()
        .map_err(|e| AppError::Internal(format!("cannot build the webhook client: {e}")))
}

/// Sends one delivery; returns what to record.
async fn attempt(client: &reqwest::Client, allow_private: bool, out: &Outgoing) -> store::Attempt {
    let failed = |status: Option<u16>, error: String| {
        let at = now();
        store::Attempt {
            at,
            status_code: status,
            error: Some(error.chars().take(500).collect()),
            delivered: false,
            next_retry_at: webhooks::next_attempt(out.enqueued_at, at, out.attempts + 1),
        }
    };
    // The URL is checked again at every delivery (the rules may have been tightened since).
    if let Err(reason) = webhooks::check_url(&out.url, allow_private) {
        return failed(None, format!("the URL {reason}"));
    }
    let sent = client
        .post(&out.url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(
            "X-Dealgraph-Signature",
            webhooks::signature(&out.secret, out.body.as_bytes()),
        )
        .header("X-Dealgraph-Delivery", out.id.to_string())
        .body(out.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) if response.status().is_success() => store::Attempt {
            at: now(),
            status_code: Some(response.status().as_u16()),
            error: None,
            delivered: true,
            next_retry_at: None,
        },
        Ok(response) => {
            let status = response.status();
            failed(Some(status.as_u16()), format!("the receiver answered {status}"))
        }
        Err(err) => failed(None, error_chain(&err)),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(inner) = source {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        source = inner.source();
    }
    text
}

/// An attempt under way.
type Attempting = Pin<Box<dyn Future<Output = (Outgoing, store::Attempt)> + Send>>;

/// The deliveries the sender has in flight: each is sent on its own and recorded when it
/// lands, so a slow receiver delays nobody else's (at most [`IN_FLIGHT`] at once,
/// [`PER_TENANT`] to one tenant's webhooks and [`PER_WEBHOOK`] to one webhook).
struct Flights {
    client: reqwest::Client,
    allow_private: bool,
    running: FuturesUnordered<Attempting>,
    per_webhook: HashMap<(String, Uuid), u32>,
}

impl Flights {
    fn free(&self) -> usize {
        IN_FLIGHT.saturating_sub(self.running.len())
    }

    fn launch(&mut self, out: Outgoing) {
        *self.per_webhook.entry((out.tenant.clone(), out.webhook)).or_default() += 1;
        let (client, allow_private) = (self.client.clone(), self.allow_private);
        self.running.push(Box::pin(async move {
            let outcome = attempt(&client, allow_private, &out).await;
            (out, outcome)
        }));
    }

    /// Records an attempt that landed.
    async fn landed(&mut self, store: &Store, out: Outgoing, outcome: store::Attempt) -> AppResult<()> {
        let key = (out.tenant.clone(), out.webhook);
        if let Some(n) = self.per_webhook.get_mut(&key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.per_webhook.remove(&key);
            }
        }
        let label = match (outcome.delivered, outcome.next_retry_at) {
            (true, _) => "delivered",
            (false, Some(_)) => "retrying",
            (false, None) => "given_up",
        };
        metrics::counter!("dealgraph_webhook_deliveries_total", "outcome" => label).increment(1);
        if !outcome.delivered {
            tracing::info!(delivery = %out.id, url = %out.url, error = ?outcome.error, retry_at = ?outcome.next_retry_at, "webhook delivery failed");
        }
        store
            .write(async |tx| store::record_attempt(tx, &out.tenant, out.id, &outcome).await)
            .await
    }

    /// Records every attempt that has landed, without waiting for more.
    async fn land_ready(&mut self, store: &Store) -> AppResult<()> {
        while let Some(Some((out, outcome))) = self.running.next().now_or_never() {
            self.landed(store, out, outcome).await?;
        }
        Ok(())
    }

    /// Claims due deliveries for the free slots and sends them; returns when to look again
    /// (the earliest pending delivery; `None`: when an attempt lands or a commit wakes it).
    /// It writes (claims) only when something is due: an idle sender only reads, so it never
    /// holds SQLite's write lock for nothing.
    async fn fill(&mut self, store: &Store) -> AppResult<Option<DateTime<Utc>>> {
        loop {
            let free = self.free();
            if free == 0 {
                return Ok(None);
            }
            let due = store::earliest_due(store.reader()).await?;
            match due {
                Some(at) if at <= now() => {
                    let in_flight: Vec<(String, Uuid, u32)> = self
                        .per_webhook
                        .iter()
                        .map(|((tenant, webhook), n)| (tenant.clone(), *webhook, *n))
                        .collect();
                    let at = now();
                    let claim = store::Claim {
                        now: at,
                        lease_until: at + chrono::Duration::from_std(LEASE).unwrap_or_default(),
                        limit: u32::try_from(free).unwrap_or(u32::MAX),
                        per_webhook: PER_WEBHOOK,
                        per_tenant: PER_TENANT,
                        in_flight: &in_flight,
                    };
                    let claimed = store.write(async |tx| store::claim(tx, &claim).await).await?;
                    let all_it_could = claimed.len() < free;
                    for out in claimed {
                        self.launch(out);
                    }
                    if all_it_could {
                        // What is still due waits: for an earlier delivery of its deal, or for
                        // its webhook's or tenant's attempts in flight. Look again shortly (or
                        // when one lands) rather than claim again for nothing.
                        return Ok(Some(now() + chrono::Duration::seconds(1)));
                    }
                }
                later => return Ok(later),
            }
        }
    }
}

/// The webhook sender. While this process leads (one replica at a time) it sends what is
/// due, then sleeps until the earliest pending delivery falls due or new deliveries are
/// committed (`Store::outbox`); a process that does not lead checks every few seconds
/// whether the leader is gone. It starts with a round: deliveries left by a process that
/// died are sent.
pub struct Sender {
    client: reqwest::Client,
    allow_private: bool,
}

impl Sender {
    pub fn new(allow_private: bool) -> AppResult<Sender> {
        Ok(Sender {
            client: client(allow_private)?,
            allow_private,
        })
    }

    pub fn spawn(self, store: Store, mut leadership: Leadership) -> tokio::task::JoinHandle<()> {
        let wake = Arc::clone(store.outbox());
        tokio::spawn(async move {
            let mut flights = Flights {
                client: self.client,
                allow_private: self.allow_private,
                running: FuturesUnordered::new(),
                per_webhook: HashMap::new(),
            };
            let mut alarm = tokio::time::Instant::now();
            let mut pruned_at: Option<tokio::time::Instant> = None;
            loop {
                let landed = tokio::select! {
                    () = wake.notified() => None,
                    () = tokio::time::sleep_until(alarm) => None,
                    Some(landed) = flights.running.next(), if !flights.running.is_empty() => Some(landed),
                };
                // Attempts land whether or not this process still leads (their leases are its).
                let recorded = match landed {
                    Some((out, outcome)) => match flights.landed(&store, out, outcome).await {
                        Ok(()) => flights.land_ready(&store).await,
                        Err(err) => Err(err),
                    },
                    None => Ok(()),
                };
                if let Err(err) = recorded {
                    // The delivery falls due again when its lease ends.
                    tracing::warn!(error = %err, "recording a webhook attempt failed");
                }
                if !leadership.leads().await {
                    alarm = tokio::time::Instant::now() + TAKEOVER;
                    continue;
                }
                if pruned_at.is_none_or(|at| at.elapsed() >= PRUNE_EVERY) {
                    pruned_at = Some(tokio::time::Instant::now());
                    prune(&store).await;
                }
                alarm = match flights.fill(&store).await {
                    Ok(Some(due)) => {
                        let wait = (due - now()).to_std().unwrap_or_default();
                        tokio::time::Instant::now() + wait.clamp(POLL, IDLE)
                    }
                    Ok(None) => tokio::time::Instant::now() + IDLE,
                    Err(err) => {
                        tracing::warn!(error = %err, "webhook sender failed; trying again");
                        tokio::time::Instant::now() + TAKEOVER
                    }
                };
            }
        })
    }
}

/// Deletes the deliveries finished more than [`KEEP_DELIVERIES`] ago.
async fn prune(store: &Store) {
    let before = now() - chrono::Duration::from_std(KEEP_DELIVERIES).unwrap_or_default();
    match store.write(async |tx| store::prune(tx, before).await).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "old webhook deliveries deleted"),
        Err(err) => tracing::warn!(error = %err, "deleting old webhook deliveries failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused() {
        // `localhost` resolves (from /etc/hosts) to loopback addresses only.
        let refused = resolve_public("localhost", 443).await.err().unwrap_or_default();
        assert!(refused.contains("loopback"), "{refused}");
        // What reqwest is given to connect to: nothing at all for such a name.
        let resolving =
            reqwest::dns::Resolve::resolve(&CheckedResolver, "localhost".parse().unwrap_or_else(|_| unreachable!()));
        assert!(resolving.await.is_err());
    }
}
