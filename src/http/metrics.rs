//! Prometheus metrics: request counts and latencies by GraphQL operation.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once (several servers in one test process share it).
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets(&[0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0])
                .ok()?;
            match builder.install_recorder() {
                Ok(handle) => Some(handle),
                Err(err) => {
                    tracing::warn!(error = %err, "metrics recorder not installed");
                    None
                }
            }
        })
        .as_ref()
}

/// The Prometheus text exposition.
pub fn render() -> String {
    match handle() {
        Some(handle) => {
            handle.run_upkeep();
            handle.render()
        }
        None => String::new(),
    }
}

/// Distinct operation names kept as labels; later ones are counted as `other`, so a client
/// cannot blow up the metric cardinality.
const MAX_OPERATION_LABELS: usize = 200;

fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| !n.is_empty()) else {
        return "anonymous".into();
    };
    let clean: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect();
    if clean.is_empty() {
        return "anonymous".into();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if seen.contains(&clean) || seen.len() < MAX_OPERATION_LABELS {
        seen.insert(clean.clone());
        clean
    } else {
        "other".into()
    }
}

/// Records one GraphQL request.
pub fn record_graphql(operation: Option<&str>, ok: bool, elapsed: Duration) {
    let op = operation_label(operation);
    let outcome = if ok { "ok" } else { "error" };
    metrics::counter!("dealgraph_graphql_requests_total", "operation" => op.clone(), "outcome" => outcome).increment(1);
    metrics::histogram!("dealgraph_graphql_request_duration_seconds", "operation" => op).record(elapsed.as_secs_f64());
}

/// Records one HTTP response.
/// A request turned away because its tenant was over its share (HTTP 429).
pub fn record_rate_limited() {
    metrics::counter!("dealgraph_rate_limited_total").increment(1);
}

pub fn record_http(path: &str, status: u16) {
    let path = match path {
        "/graphql" | "/import" | "/healthz" | "/readyz" | "/metrics" => path.to_owned(),
        _ => "other".to_owned(),
    };
    metrics::counter!("dealgraph_http_responses_total", "path" => path, "status" => status.to_string()).increment(1);
}
