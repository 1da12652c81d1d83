//! The HTTP surface: GraphQL over HTTP (POST and GET), GraphiQL, health, readiness, metrics.

pub mod metrics;
pub mod share;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::http::GraphiQLSource;
use async_graphql::parser::types::OperationType;
use async_graphql::{BatchRequest, BatchResponse};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Verifier;
use crate::domain::AppError;
use crate::graphql::{AppSchema, RequestScope, limits};
use crate::service::Services;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    pub schema: AppSchema,
    /// Most aliases one document may hold (checked before execution).
    pub max_aliases: usize,
    /// The query cost budget of a request, or of a whole batch.
    pub max_complexity: usize,
    /// Prices a batch's operations before any of them runs.
    pub cost_probe: limits::CostProbe,
    pub services: Services,
    pub verifier: Arc<Verifier>,
    /// Each tenant's share of the server.
    pub shares: Arc<share::TenantShares>,
}

pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    pub cors_origins: Vec<String>,
}

pub fn router(state: AppState, limits: HttpLimits) -> Router {
    let request_id = header::HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http().make_span_with(|req: &Request| {
        let id = req
            .extensions()
            .get::<RequestId>()
            .and_then(|id| id.header_value().to_str().ok())
            .unwrap_or("-");
        tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
    });
    let mut app = Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .layer(middleware::from_fn(count_responses));
    if !limits.cors_origins.is_empty() {
        let origins: Vec<HeaderValue> = limits
            .cors_origins
            .iter()
            .filter_map(|o| o.trim().parse().ok())
            .collect();
        app = app.layer(
            CorsLayer::new()
                .allow_origin(AllowOrigin::list(origins))
                .allow_methods([Method::GET, Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, request_id.clone()])
                .expose_headers([request_id.clone()]),
        );
    }
    app.layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

async fn count_responses(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    let response = next.run(req).await;
    metrics::record_http(&path, response.status().as_u16());
    response
}

async fn readyz(State(state): State<AppState>) -> Response {
    if state.services.ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
    }
}

async fn metrics_text() -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics::render()).into_response()
}

/// Which media type the client asked for; GraphQL-over-HTTP's own type wins when listed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum MediaType {
    GraphqlResponse,
    Json,
}

impl MediaType {
    fn from_accept(headers: &HeaderMap) -> MediaType {
        let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
        if accept.contains("application/graphql-response+json") {
            MediaType::GraphqlResponse
        } else {
            MediaType::Json
        }
    }

    fn header(self) -> HeaderValue {
        match self {
            MediaType::GraphqlResponse => HeaderValue::from_static("application/graphql-response+json; charset=utf-8"),
            MediaType::Json => HeaderValue::from_static("application/json; charset=utf-8"),
        }
    }
}

/// A response carrying only errors (before execution: auth, bad HTTP request).
fn error_response(status: StatusCode, media: MediaType, err: &AppError) -> Response {
    let message = match err {
        AppError::Internal(detail) => {
            tracing::error!(error = %detail, "internal error");
            "internal error".to_owned()
        }
        other => other.to_string(),
    };
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": { "code": err.code() } }] });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, media.header());
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<crate::domain::TenantCtx, AppError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| AppError::Unauthenticated("missing bearer token".into()))?;
    let text = value
        .to_str()
        .map_err(|_| AppError::Unauthenticated("malformed authorization header".into()))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| AppError::Unauthenticated("expected `Authorization: Bearer <token>`".into()))?;
    state.verifier.verify(token)
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let media = MediaType::from_accept(&headers);
    let ctx = match authenticate(&state, &headers) {
        Ok(ctx) => ctx,
        Err(err) => return error_response(StatusCode::UNAUTHORIZED, media, &err),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json");
    if !content_type.starts_with("application/json") && !content_type.starts_with("application/graphql-response+json") {
        let err = AppError::bad_input("content-type", "send application/json");
        return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, media, &err);
    }
    let batch: BatchRequest = match serde_json::from_slice(&body) {
        Ok(batch) => batch,
        Err(err) => {
            let err = AppError::bad_input("body", format!("not a GraphQL request: {err}"));
            return error_response(StatusCode::BAD_REQUEST, media, &err);
        }
    };
    execute(state, ctx, batch, media, false).await
}

async fn graphql_get(State(state): State<AppState>, headers: HeaderMap, RawQuery(query): RawQuery) -> Response {
    let media = MediaType::from_accept(&headers);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let query = query.unwrap_or_default();
    if wants_html && !query.contains("query=") {
        return Html(GraphiQLSource::build().endpoint("/graphql").title("dealgraph").finish()).into_response();
    }
    let ctx = match authenticate(&state, &headers) {
        Ok(ctx) => ctx,
        Err(err) => return error_response(StatusCode::UNAUTHORIZED, media, &err),
    };
    let request = match async_graphql::http::parse_query_string(&query) {
        Ok(request) => request,
        Err(err) => {
            let err = AppError::bad_input("query", format!("not a GraphQL request: {err}"));
            return error_response(StatusCode::BAD_REQUEST, media, &err);
        }
    };
    execute(state, ctx, BatchRequest::Single(request), media, true).await
}

/// `QUERY_TOO_COMPLEX` when a batch's operations cost more than the budget together.
async fn batch_cost_refusal(
    state: &AppState,
    requests: &mut [async_graphql::Request],
) -> Option<async_graphql::ServerError> {
    let mut costs = Vec::with_capacity(requests.len());
    for request in requests.iter_mut() {
        let doc = match request.parsed_query() {
            Ok(doc) => doc.clone(),
            Err(_) => continue,
        };
        costs.push(state.cost_probe.cost(request, &doc).await);
    }
    limits::check_batch_cost(&costs, state.max_complexity).err()
}

/// The name of the first named operation in a document (`query Board { … }` → `Board`),
/// for metrics; a cheap scan, not a parse.
fn document_operation_name(query: &str) -> Option<String> {
    let rest = query.trim_start();
    let rest = ["query", "mutation", "subscription"]
        .iter()
        .find_map(|kw| rest.strip_prefix(kw))?;
    if !rest.starts_with(char::is_whitespace) {
        return None;
    }
    let name: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!name.is_empty()).then_some(name)
}

/// True if the request would run a mutation (refused over GET).
/// Parses the document once; execution reuses the parse.
fn is_mutation(request: &mut async_graphql::Request) -> bool {
    let wanted = request.operation_name.clone();
    let Ok(doc) = request.parsed_query() else {
        return false;
    };
    doc.operations.iter().any(|(name, op)| {
        let selected = match (&wanted, name) {
            (Some(wanted), Some(name)) => wanted.as_str() == name.as_str(),
            (None, _) => true,
            (Some(_), None) => false,
        };
        selected && op.node.ty == OperationType::Mutation
    })
}

async fn execute(
    state: AppState,
    ctx: crate::domain::TenantCtx,
    batch: BatchRequest,
    media: MediaType,
    via_get: bool,
) -> Response {
    let mut requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    if requests.is_empty() || requests.len() > 10 {
        let err = AppError::bad_input("body", "send one request, or a batch of at most 10");
        return error_response(StatusCode::BAD_REQUEST, media, &err);
    }
    if via_get && requests.iter_mut().any(is_mutation) {
        let err = AppError::bad_input("query", "mutations must be sent with POST");
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, media, &err);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    // The tenant's turn, held until the response is written (SPEC §5: a bounded share).
    let _turn = match state.shares.enter(ctx.tenant().as_str()).await {
        Ok(turn) => turn,
        Err(over) => {
            metrics::record_rate_limited();
            let err = AppError::RateLimited(format!(
                "tenant {} is over its share of the server; retry after {} s",
                ctx.tenant().as_str(),
                over.retry_after.as_secs()
            ));
            let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, media, &err);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(over.retry_after.as_secs()));
            return response;
        }
    };
    let single = requests.len() == 1;
    // Parsed once here (execution reuses the parsed documents) and measured as one batch:
    // over a limit, no operation of it runs. A syntax error is left for execution to report.
    let refused = {
        let mut docs = Vec::with_capacity(requests.len());
        for request in requests.iter_mut() {
            if let Ok(doc) = request.parsed_query() {
                docs.push(doc);
            }
        }
        limits::check_documents(docs, state.max_aliases).err()
    };
    // A batch is priced as a whole: its operations' costs add up against one budget.
    let refused = match refused {
        None if !single => batch_cost_refusal(&state, &mut requests).await,
        refused => refused,
    };
    let mut responses = Vec::with_capacity(requests.len());
    for request in requests {
        let started = Instant::now();
        let operation = request
            .operation_name
            .clone()
            .or_else(|| document_operation_name(&request.query));
        let mut response = match &refused {
            Some(err) => async_graphql::Response::from_errors(vec![err.clone()]),
            None => {
                let request = request.data(RequestScope::new(ctx.clone(), state.services.clone()));
                state.schema.execute(request).await
            }
        };
        for err in &mut response.errors {
            limits::classify(err);
        }
        metrics::record_graphql(operation.as_deref(), response.errors.is_empty(), started.elapsed());
        responses.push(response);
    }
    // GraphQL-over-HTTP: a request error (nothing executed) is a 400 under its own media type.
    let request_error = responses
        .iter()
        .any(|r| !r.errors.is_empty() && r.data == async_graphql::Value::Null);
    let status = if media == MediaType::GraphqlResponse && single && request_error {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if single {
        serde_json::to_string(&BatchResponse::Single(responses.remove(0)))
    } else {
        serde_json::to_string(&BatchResponse::Batch(responses))
    };
    match body {
        Ok(body) => {
            let mut response = (status, body).into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, media.header());
            response
        }
        Err(err) => error_response(
            StatusCode::INTERNAL_SERVER_ERROR,
            media,
            &AppError::Internal(format!("could not serialize a response: {err}")),
        ),
    }
}
