//! `POST /import` (SPEC §7): an NDJSON record stream into the caller's tenant, admins only,
//! read as it arrives (constant memory, its own size limit and timeout), answered with the
//! import's summary.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use tokio::io::BufReader;
use tokio_util::io::StreamReader;

use super::{AppState, MediaType, authenticate, error_response, json_response, metrics};
use crate::domain::AppError;
use crate::ingest::{self, Options, record};

#[derive(serde::Deserialize, Default)]
pub struct ImportParams {
    #[serde(default)]
    atomic: bool,
    format: Option<String>,
}

pub async fn import(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<ImportParams>,
    body: Body,
) -> Response {
    let media = MediaType::Json;
    let ctx = match authenticate(&state, &headers) {
        Ok(ctx) => ctx,
        Err(err) => return error_response(StatusCode::UNAUTHORIZED, media, &err),
    };
    if let Err(err) = ctx.require_admin() {
        return error_response(StatusCode::FORBIDDEN, media, &err);
    }
    match params.format.as_deref() {
        None | Some("ndjson") => {}
        Some(other) => {
            let err = AppError::bad_input(
                "format",
                format!("{other:?} is not an import format this server reads (ndjson)"),
            );
            return error_response(StatusCode::BAD_REQUEST, media, &err);
        }
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !["application/x-ndjson", "application/jsonl", "application/json-seq"]
        .iter()
        .any(|t| content_type.starts_with(t))
    {
        let err = AppError::bad_input("content-type", "send the record stream as application/x-ndjson");
        return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, media, &err);
    }
    let _turn = match state.shares.enter(ctx.tenant().as_str()).await {
        Ok(turn) => turn,
        Err(over) => {
            metrics::record_rate_limited();
            let err = AppError::RateLimited("this tenant is over its share of the server".into());
            let mut response = error_response(StatusCode::TOO_MANY_REQUESTS, media, &err);
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(over.retry_after.as_secs()));
            return response;
        }
    };
    // The body, read as it arrives, cut off past the import's own limit.
    let limit = state.max_import_bytes;
    let (read, too_large) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
    let stream = {
        let (read, too_large) = (Arc::clone(&read), Arc::clone(&too_large));
        body.into_data_stream().map(move |chunk| {
            let chunk = chunk.map_err(io::Error::other)?;
            if read.fetch_add(chunk.len() as u64, Ordering::Relaxed) + chunk.len() as u64 > limit {
                too_large.store(true, Ordering::Relaxed);
                return Err(io::Error::other("the stream is larger than DEALGRAPH_MAX_IMPORT_BYTES"));
            }
            Ok(chunk)
        })
    };
    let input = BufReader::with_capacity(1 << 16, StreamReader::new(stream));
    let options = Options { atomic: params.atomic };
    let outcome = ingest::ndjson(&ctx, state.services.store(), input, options, &mut |_| {}).await;
    if too_large.load(Ordering::Relaxed) {
        let err = AppError::bad_input(
            "body",
            format!("the stream is larger than the import limit of {limit} bytes (DEALGRAPH_MAX_IMPORT_BYTES)"),
        );
        return error_response(StatusCode::PAYLOAD_TOO_LARGE, media, &err);
    }
    let summary = match outcome {
        Ok(summary) => summary,
        Err(err) => {
            let status = match &err {
                AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
                AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Forbidden(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            };
            return error_response(status, media, &err);
        }
    };
    let nothing_readable = summary.accepted == 0
        && !summary.rolled_back
        && (summary.rejected == 0 || summary.errors.iter().all(|e| e.code == record::MALFORMED));
    let status = if nothing_readable {
        StatusCode::BAD_REQUEST
    } else if summary.rolled_back {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if summary.rejected > 0 {
        StatusCode::MULTI_STATUS
    } else {
        StatusCode::OK
    };
    json_response(status, media, serde_json::to_string(&summary))
}
