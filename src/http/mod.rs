//! The HTTP surface: GraphQL over HTTP (POST and GET), GraphiQL, imports, flat exports, health,
//! readiness, metrics.

pub mod documents;
pub mod export;
pub mod graphiql;
pub mod import;
pub mod live;
pub mod metrics;
pub mod share;

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::BatchRequest;
use async_graphql::parser::types::OperationType;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::Verifier;
use crate::domain::AppError;
use crate::graphql::{AppSchema, RequestScope, errors, limits};
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
    /// Automatic persisted queries, or the trusted documents.
    pub documents: Arc<documents::Documents>,
    /// Each tenant's share of the server.
    pub shares: Arc<share::TenantShares>,
    /// Largest accepted `POST /import` body, in bytes.
    pub max_import_bytes: u64,
}

pub struct HttpLimits {
    pub max_body_bytes: usize,
    pub request_timeout: Duration,
    /// `POST /import` has its own timeout (a large pipeline takes minutes).
    pub import_timeout: Duration,
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
    // Imports stream their bodies (no body limit of requests; their own, counted as read)
    // and take their own time.
    let import = Router::new()
        .route("/import", axum::routing::post(import::import))
        .with_state(state.clone())
        .layer(DefaultBodyLimit::disable())
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.import_timeout,
        ));
    // Exports stream their bodies: the request timeout covers the first page only (the
    // response has started by then), and a GET has no body for the body limit to cut.
    let mut app = Router::new()
        .route("/graphql", get(graphql_get_or_live).post(graphql_post))
        .route("/export/opportunities.csv", get(export::opportunities_csv))
        .route("/export/opportunities.ndjson", get(export::opportunities_ndjson))
        .route("/export/risk_history.csv", get(export::risk_history_csv))
        .route("/export/risk_outcomes.csv", get(export::risk_outcomes_csv))
        .route("/export/risk_history.ndjson", get(export::risk_history_ndjson))
        .route("/export/pipeline_trend.csv", get(export::pipeline_trend_csv))
        .route("/graphiql/{name}", get(graphiql::asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics_text))
        .with_state(state)
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            limits.request_timeout,
        ))
        .merge(import)
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
    let mut extensions = serde_json::json!({ "code": err.code() });
    if let AppError::BadInput { field, .. } = err {
        // Named as GraphQL names it, so clients branch on one shape.
        extensions["field"] = serde_json::Value::from(field.as_str());
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] });
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

/// GET `/graphql`: a query, GraphiQL for a browser, or the upgrade to a live connection.
async fn graphql_get_or_live(State(state): State<AppState>, request: Request) -> Response {
    if live::is_upgrade(&request) {
        return live::upgrade(state, request).await;
    }
    let (parts, _) = request.into_parts();
    graphql_get(state, parts.headers, parts.uri).await
}

async fn graphql_get(state: AppState, headers: HeaderMap, uri: Uri) -> Response {
    let media = MediaType::from_accept(&headers);
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let params = uri.query().unwrap_or_default();
    if wants_html && !params.contains("query=") && !params.contains("extensions=") {
        return Html(graphiql::page("/graphql")).into_response();
    }
    let ctx = match authenticate(&state, &headers) {
        Ok(ctx) => ctx,
        Err(err) => return error_response(StatusCode::UNAUTHORIZED, media, &err),
    };
    let request = match get_request(&uri) {
        Ok(request) => request,
        Err(err) => return error_response(StatusCode::BAD_REQUEST, media, &err),
    };
    execute(state, ctx, BatchRequest::Single(request), media, true).await
}

/// The parameters of a GraphQL request over GET (GraphQL over HTTP: `query`, `operationName`,
/// and `variables` and `extensions` as JSON text).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    #[serde(default)]
    query: String,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

fn get_request(uri: &Uri) -> Result<async_graphql::Request, AppError> {
    let Query(params) = Query::<GetParams>::try_from_uri(uri)
        .map_err(|err| AppError::bad_input("query", format!("not a GraphQL request: {}", err.body_text())))?;
    let mut request = async_graphql::Request::new(params.query);
    request.operation_name = params.operation_name.filter(|name| !name.is_empty());
    if let Some(variables) = params.variables.filter(|v| !v.is_empty()) {
        request.variables = serde_json::from_str(&variables)
            .map_err(|err| AppError::bad_input("variables", format!("not a JSON object: {err}")))?;
    }
    if let Some(extensions) = params.extensions.filter(|e| !e.is_empty()) {
        request.extensions = serde_json::from_str(&extensions)
            .map_err(|err| AppError::bad_input("extensions", format!("not a JSON object: {err}")))?;
    }
    Ok(request)
}

/// `QUERY_TOO_COMPLEX` when a batch's operations cost more than the budget together.
async fn batch_cost_refusal(state: &AppState, ops: &mut [Prepared]) -> Option<async_graphql::ServerError> {
    let mut costs = Vec::with_capacity(ops.len());
    for op in ops.iter_mut() {
        let Prepared::Run(request) = op else {
            continue;
        };
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

/// The code of an error that means "the database is away, try again".
const UNAVAILABLE: &str = "SERVICE_UNAVAILABLE";

/// One operation of a request (or batch), on its way to execution or already refused.
enum Prepared {
    Run(Box<async_graphql::Request>),
    Refused(async_graphql::ServerError),
}

async fn execute(
    state: AppState,
    ctx: crate::domain::TenantCtx,
    batch: BatchRequest,
    media: MediaType,
    via_get: bool,
) -> Response {
    let requests = match batch {
        BatchRequest::Single(r) => vec![r],
        BatchRequest::Batch(rs) => rs,
    };
    if requests.is_empty() || requests.len() > 10 {
        let err = AppError::bad_input("body", "send one request, or a batch of at most 10");
        return error_response(StatusCode::BAD_REQUEST, media, &err);
    }
    let single = requests.len() == 1;
    // Persisted documents first: a hash becomes its document (or a refusal).
    let mut always_400 = false;
    let mut prepared: Vec<Prepared> = requests
        .into_iter()
        .map(|mut request| match state.documents.resolve(&mut request) {
            Ok(()) => Prepared::Run(Box::new(request)),
            Err(refused) => {
                always_400 |= refused.always_400;
                Prepared::Refused(*refused.error)
            }
        })
        .collect();
    if via_get
        && prepared.iter_mut().any(|p| match p {
            Prepared::Run(request) => is_mutation(request),
            Prepared::Refused(_) => false,
        })
    {
        let err = AppError::bad_input("query", "mutations must be sent with POST");
        let mut response = error_response(StatusCode::METHOD_NOT_ALLOWED, media, &err);
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    // The tenant's turn, held until the response is written (SPEC §5: a bounded share).
    let _turn = match take_turn(&state, &ctx, media).await {
        Ok(turn) => turn,
        Err(refused) => return refused,
    };
    // Parsed once here (execution reuses the parsed documents); a syntax error is told as a
    // person reads it.
    for op in prepared.iter_mut() {
        if let Prepared::Run(request) = op
            && let Err(err) = request.parsed_query()
        {
            *op = Prepared::Refused(errors::parse_failure(&request.query, &err));
        }
    }
    // Measured as one batch: over a limit, no operation of it runs.
    let refused = {
        let docs = prepared.iter_mut().filter_map(|op| match op {
            Prepared::Run(request) => request.parsed_query().ok(),
            Prepared::Refused(_) => None,
        });
        limits::check_documents(docs, state.max_aliases).err()
    };
    // A batch is priced as a whole: its operations' costs add up against one budget.
    let refused = match refused {
        None if !single => batch_cost_refusal(&state, &mut prepared).await,
        refused => refused,
    };
    let mut responses = Vec::with_capacity(prepared.len());
    for op in prepared {
        let started = Instant::now();
        let (operation, mut response) = match (op, &refused) {
            (Prepared::Refused(err), _) => (None, async_graphql::Response::from_errors(vec![err])),
            (Prepared::Run(request), Some(err)) => (
                operation_name(&request),
                async_graphql::Response::from_errors(vec![err.clone()]),
            ),
            (Prepared::Run(request), None) => {
                let operation = operation_name(&request);
                let request = (*request).data(RequestScope::new(ctx.clone(), state.services.clone()));
                (operation, state.schema.execute(request).await)
            }
        };
        errors::classify(&mut response);
        metrics::record_graphql(operation.as_deref(), response.errors.is_empty(), started.elapsed());
        responses.push(response);
    }
    // GraphQL over HTTP: a request error (nothing executed) has no `data`, and is a 400 under
    // its own media type (and always, for a document the trusted list does not hold).
    let request_error = single && errors::is_request_error(&responses[0]);
    // A database that is away is a 503 under either media type: the client retries later.
    let unavailable = responses
        .iter()
        .flat_map(|r| &r.errors)
        .any(|e| e.extensions.as_ref().and_then(|x| x.get("code")) == Some(&async_graphql::Value::from(UNAVAILABLE)));
    let status = if unavailable {
        StatusCode::SERVICE_UNAVAILABLE
    } else if request_error && (media == MediaType::GraphqlResponse || always_400) {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let body = if single {
        response_json(&responses[0])
    } else {
        let parts: Result<Vec<String>, _> = responses.iter().map(response_json).collect();
        parts.map(|parts| format!("[{}]", parts.join(",")))
    };
    json_response(status, media, body)
}

/// A JSON body already serialized, with its status and media type (or `INTERNAL` if it
/// could not be serialized).
fn json_response(status: StatusCode, media: MediaType, body: serde_json::Result<String>) -> Response {
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

fn operation_name(request: &async_graphql::Request) -> Option<String> {
    request
        .operation_name
        .clone()
        .or_else(|| document_operation_name(&request.query))
}

/// One response as JSON; a request error leaves `data` out (GraphQL over HTTP).
fn response_json(response: &async_graphql::Response) -> serde_json::Result<String> {
    if !errors::is_request_error(response) {
        return serde_json::to_string(response);
    }
    let mut value = serde_json::to_value(response)?;
    if let Some(fields) = value.as_object_mut() {
        fields.remove("data");
    }
    serde_json::to_string(&value)
}

/// Waits for a turn of the caller's tenant's share (SPEC §5), held until the response is
/// written; over the share, the 429 `RATE_LIMITED` answer with `Retry-After`. Every route
/// that does work for a tenant (GraphQL, import, exports) takes its turn here.
async fn take_turn(
    state: &AppState,
    ctx: &crate::domain::TenantCtx,
    media: MediaType,
) -> Result<share::Turn, Response> {
    state.shares.enter(ctx.tenant().as_str()).await.map_err(|over| {
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
        response
    })
}
