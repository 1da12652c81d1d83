//! `POST /import` (SPEC §7): an NDJSON record stream into the caller's tenant, admins only,
//! read as it arrives (constant memory, its own size limit and timeout), answered with the
//! import's summary.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt;
use tokio::io::BufReader;
use tokio_util::io::StreamReader;

use super::{AppState, MediaType, authenticate, error_response, json_response, take_turn};
use crate::domain::AppError;
use crate::domain::values;
use crate::ingest::{self, Options, record, salesforce};

#[derive(serde::Deserialize, Default)]
pub struct ImportParams {
    #[serde(default)]
    atomic: bool,
    format: Option<String>,
    /// Salesforce: the currency of opportunities without `CurrencyIsoCode`.
    currency: Option<String>,
}

/// What the body holds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Ndjson,
    /// A zip of a Salesforce data export (with an optional `mapping.toml`).
    Salesforce,
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
    let format = match params.format.as_deref() {
        None | Some("ndjson") => Format::Ndjson,
        Some("salesforce") => Format::Salesforce,
        Some(other) => {
            let err = AppError::bad_input(
                "format",
                format!("{other:?} is not an import format this server reads (ndjson, salesforce)"),
            );
            return error_response(StatusCode::BAD_REQUEST, media, &err);
        }
    };
    let currency = match params
        .currency
        .as_deref()
        .map(|c| values::currency("currency", c))
        .transpose()
    {
        Ok(currency) => currency.unwrap_or_else(|| "USD".to_owned()),
        Err(err) => return error_response(StatusCode::BAD_REQUEST, media, &err),
    };
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let accepted: &[&str] = match format {
        Format::Ndjson => &["application/x-ndjson", "application/jsonl", "application/json-seq"],
        Format::Salesforce => &[
            "application/zip",
            "application/x-zip-compressed",
            "application/octet-stream",
        ],
    };
    if !accepted.iter().any(|t| content_type.starts_with(t)) {
        let err = AppError::bad_input(
            "content-type",
            match format {
                Format::Ndjson => "send the record stream as application/x-ndjson",
                Format::Salesforce => "send the export as application/zip",
            },
        );
        return error_response(StatusCode::UNSUPPORTED_MEDIA_TYPE, media, &err);
    }
    let _turn = match take_turn(&state, &ctx, media).await {
        Ok(turn) => turn,
        Err(refused) => return refused,
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
    let mut input = BufReader::with_capacity(1 << 16, StreamReader::new(stream));
    let options = Options { atomic: params.atomic };
    let store = state.services.store();
    let outcome = match format {
        Format::Ndjson => ingest::ndjson(&ctx, store, input, options, &mut |_| {}).await,
        Format::Salesforce => match unpack(&mut input, &currency, limit).await {
            Ok(export) => {
                let records = export.items.into_iter().map(Into::into).collect();
                ingest::converted(&ctx, store, records, export.skipped, options, &mut |_| {}).await
            }
            Err(err) => Err(err),
        },
    };
    if too_large.load(Ordering::Relaxed) {
        let err = AppError::bad_input(
            "body",
            format!("the upload is larger than the import limit of {limit} bytes (DEALGRAPH_MAX_IMPORT_BYTES)"),
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

/// Saves an uploaded export zip to a scratch folder and reads it (off the async workers).
async fn unpack(
    input: &mut (impl tokio::io::AsyncRead + Unpin),
    currency: &str,
    limit: u64,
) -> Result<salesforce::Export, AppError> {
    let failed = |err: io::Error| AppError::bad_input("body", format!("cannot read the upload: {err}"));
    let scratch = salesforce::Scratch::new().map_err(|err| AppError::Internal(format!("scratch folder: {err}")))?;
    let path = scratch.0.join("export.zip");
    let mut file = tokio::fs::File::create(&path).await.map_err(failed)?;
    tokio::io::copy(input, &mut file).await.map_err(failed)?;
    drop(file);
    let currency = currency.to_owned();
    let read = tokio::task::spawn_blocking(move || {
        let export = salesforce::read_zip(&path, &salesforce::Mapping::defaults(), &currency, limit);
        drop(scratch);
        export
    })
    .await
    .map_err(|err| AppError::Internal(format!("reading the export: {err}")))?;
    read.map_err(|err| AppError::bad_input("body", err))
}
