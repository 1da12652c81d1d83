//! Flat exports for BI tools (SPEC §8): `GET /export/opportunities.csv`,
//! `/export/opportunities.ndjson`, `/export/risk_history.csv`, `/export/risk_history.ndjson`
//! and `/export/pipeline_trend.csv?from=&to=&interval=` (`pipelineTrend`, a row per point and
//! currency; at most 400 points, computed whole and written at once).
//!
//! What they promise:
//! - The same bearer auth as GraphQL; every role may read; only the caller's tenant is read.
//!   Query parameters filter like `OpportunityFilter`; a bad or unknown one is HTTP 400
//!   `BAD_USER_INPUT` naming it (the GraphQL error shape, like every error here).
//! - The values are the ones GraphQL answers for the same deals, written as its scalars are
//!   (global IDs, RFC 3339 UTC instants, `YYYY-MM-DD` dates, decimal strings such as
//!   `125000.00`, enum names, factor codes in GraphQL's order); CSV is RFC 4180 with CRLF line
//!   ends, a header row and no BOM; NDJSON has the same keys, amounts as strings and
//!   `riskFactorCodes` as an array.
//! - Streamed: read from the database a page at a time (keyset, two statements per page of
//!   deals and one per page of risk points, no transaction across pages) and written as each
//!   page is read, so memory holds one page whatever the size of the export. The request
//!   timeout covers the first page only (the response has started by then); the body streams
//!   for as long as the client reads it.
//! - An export holds one of its tenant's turns (SPEC §5's share) until its last byte is
//!   written, so an exporter takes one slot of its tenant's share, never more.
//! - A failure after the first page cuts the response off (the chunked body never ends
//!   cleanly), so a client never mistakes a partial file for a whole one.

use std::borrow::Cow;
use std::future::Future;
use std::io;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use futures_util::{StreamExt, stream};
use serde::Serialize;
use uuid::Uuid;

use super::share::Turn;
use super::{AppState, MediaType, authenticate, error_response, take_turn};
use crate::domain::model::{RiskFactorCode, RiskLevel, Stage};
use crate::domain::pipeline::money;
use crate::domain::query::DealFilter;
use crate::domain::records::RiskPoint;
use crate::domain::trend::{CurrencyPoint, Interval};
use crate::domain::values::{self, cents_to_decimal};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::graphql::deal::whole_days;
use crate::graphql::ids::{self, Kind};
use crate::graphql::scalars::{Day, Money, Timestamp};
use crate::service::export::ExportedDeal;
use crate::service::{self, Services};
use crate::store::export::PointKey;

/// The columns of `opportunities.csv` (and the keys of `opportunities.ndjson`), in order.
pub const OPPORTUNITY_COLUMNS: [&str; 19] = [
    "id",
    "externalId",
    "name",
    "accountId",
    "accountName",
    "ownerId",
    "stage",
    "amount",
    "currency",
    "expectedCloseDate",
    "createdAt",
    "stageEnteredAt",
    "daysInStage",
    "closedAt",
    "riskScore",
    "riskLevel",
    "riskFactorCodes",
    "buyingGroupSize",
    "directlyEngaged",
];

/// The columns of `risk_history.csv` (and the keys of `risk_history.ndjson`), in order.
pub const RISK_HISTORY_COLUMNS: [&str; 6] = ["opportunityId", "externalId", "at", "score", "level", "riskFactorCodes"];

/// The columns of `pipeline_trend.csv`, in order: SPEC §8's, then the open deals of the
/// row's currency by open stage (count and amount) and by stored risk level (count), so that
/// one file charts the pipeline by stage and by risk over time.
pub const TREND_COLUMNS: [&str; 23] = [
    "at",
    "currency",
    "openCount",
    "amount",
    "weightedAmount",
    "created",
    "won",
    "lost",
    "averageRiskScore",
    "prospectingCount",
    "prospectingAmount",
    "discoveryCount",
    "discoveryAmount",
    "evaluationCount",
    "evaluationAmount",
    "proposalCount",
    "proposalAmount",
    "negotiationCount",
    "negotiationAmount",
    "lowRiskCount",
    "mediumRiskCount",
    "highRiskCount",
    "criticalRiskCount",
];

/// The columns of `risk_outcomes.csv` (`riskOutcomes`' `byFactor`, a row per factor code).
pub const OUTCOME_COLUMNS: [&str; 8] = [
    "code",
    "withFactor",
    "wonWithFactor",
    "winRateWith",
    "withoutFactor",
    "wonWithoutFactor",
    "winRateWithout",
    "lift",
];

/// How rows are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Csv,
    Ndjson,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Ndjson => "application/x-ndjson",
        }
    }
}

pub async fn opportunities_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    opportunities(state, &headers, &uri, Format::Csv).await
}

pub async fn opportunities_ndjson(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    opportunities(state, &headers, &uri, Format::Ndjson).await
}

pub async fn risk_history_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    risk_history(state, &headers, &uri, Format::Csv).await
}

pub async fn risk_history_ndjson(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    risk_history(state, &headers, &uri, Format::Ndjson).await
}

pub async fn pipeline_trend_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (reader, _turn, own) = match begin(&state, &headers, &uri, Format::Csv, &TREND_PARAMETERS).await {
        Ok(begun) => begun,
        Err(refused) => return refused,
    };
    let rendered = async {
        let (from, to, interval) = trend_range(&own)?;
        let points =
            service::pipeline::trend(&reader.ctx, &reader.services, &reader.filter, from, to, interval).await?;
        let rows = points
            .iter()
            .flat_map(|p| p.by_currency.iter().map(move |c| TrendRow::new(p.summary.as_of, c)));
        let mut bytes = csv_head(&TREND_COLUMNS)?;
        bytes.extend(render(Format::Csv, rows, points.len() * 120)?);
        Ok::<_, AppError>(bytes)
    };
    // A few hundred rows at most: written whole, the turn given back when they are.
    match rendered.await {
        Ok(bytes) => attachment(Body::from(bytes), Format::Csv, "pipeline_trend"),
        Err(err) => failed(&err),
    }
}

/// `GET /export/risk_outcomes.csv?lookbackDays=` with the filter's parameters (`closedFrom`
/// and `closedTo` choose the closed deals, as `riskOutcomes`' arguments do): a row per factor.
pub async fn risk_outcomes_csv(State(state): State<AppState>, headers: HeaderMap, uri: Uri) -> Response {
    let (reader, _turn, own) = match begin(&state, &headers, &uri, Format::Csv, &OUTCOME_PARAMETERS).await {
        Ok(begun) => begun,
        Err(refused) => return refused,
    };
    let rendered = async {
        let lookback = lookback_days(&own)?;
        let outcomes =
            service::pipeline::outcomes(&reader.ctx, &reader.services, &reader.filter, None, None, lookback).await?;
        let mut bytes = csv_head(&OUTCOME_COLUMNS)?;
        bytes.extend(render(Format::Csv, outcomes.by_factor.iter().map(OutcomeRow), 1024)?);
        Ok::<_, AppError>(bytes)
    };
    match rendered.await {
        Ok(bytes) => attachment(Body::from(bytes), Format::Csv, "risk_outcomes"),
        Err(err) => failed(&err),
    }
}

/// One factor's row of `risk_outcomes.csv`.
struct OutcomeRow<'a>(&'a crate::domain::outcomes::FactorOutcome);

impl Serialize for OutcomeRow<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let o = self.0;
        let mut map = serializer.serialize_map(Some(OUTCOME_COLUMNS.len()))?;
        map.serialize_entry("code", o.code.as_str())?;
        map.serialize_entry("withFactor", &o.with_factor)?;
        map.serialize_entry("wonWithFactor", &o.won_with_factor)?;
        map.serialize_entry("winRateWith", &o.win_rate_with)?;
        map.serialize_entry("withoutFactor", &o.without_factor)?;
        map.serialize_entry("wonWithoutFactor", &o.won_without_factor)?;
        map.serialize_entry("winRateWithout", &o.win_rate_without)?;
        map.serialize_entry("lift", &o.lift)?;
        map.end()
    }
}

impl Record for OutcomeRow<'_> {
    fn fields(&self) -> Vec<Cow<'_, str>> {
        let o = self.0;
        let rate = |r: Option<f64>| Cow::Owned(r.map(|r| r.to_string()).unwrap_or_default());
        vec![
            Cow::Borrowed(o.code.as_str()),
            Cow::Owned(o.with_factor.to_string()),
            Cow::Owned(o.won_with_factor.to_string()),
            rate(o.win_rate_with),
            Cow::Owned(o.without_factor.to_string()),
            Cow::Owned(o.won_without_factor.to_string()),
            rate(o.win_rate_without),
            rate(o.lift),
        ]
    }
}

/// What every export reads with: who asks, which deals, and the instant `daysInStage` counts to.
struct Reader {
    ctx: TenantCtx,
    services: Services,
    filter: DealFilter,
    format: Format,
    now: DateTime<Utc>,
}

/// One page, written out: its bytes and where the next page starts (`None`: it was the last).
struct Rendered<C> {
    bytes: Vec<u8>,
    next: Option<C>,
}

/// Where the next page starts, given the last row of a page of `len` rows.
fn next_after<C>(len: usize, last: Option<C>) -> Option<C> {
    let full = u64::try_from(len).is_ok_and(|len| len >= service::export::PAGE_SIZE);
    full.then_some(last).flatten()
}

async fn opportunities(state: AppState, headers: &HeaderMap, uri: &Uri, format: Format) -> Response {
    let (reader, turn, _) = match begin(&state, headers, uri, format, &[]).await {
        Ok(begun) => begun,
        Err(refused) => return refused,
    };
    let first = match reader.deals(None).await {
        Ok(page) => page,
        Err(err) => return failed(&err),
    };
    let head = match format {
        Format::Csv => csv_head(&OPPORTUNITY_COLUMNS),
        Format::Ndjson => Ok(Vec::new()),
    };
    let head = match head {
        Ok(head) => head,
        Err(err) => return failed(&err),
    };
    let reader = Arc::new(reader);
    let body = streamed(head, first, turn, move |after| {
        let reader = Arc::clone(&reader);
        async move { reader.deals(Some(after)).await }
    });
    attachment(body, format, "opportunities")
}

async fn risk_history(state: AppState, headers: &HeaderMap, uri: &Uri, format: Format) -> Response {
    let (reader, turn, _) = match begin(&state, headers, uri, format, &[]).await {
        Ok(begun) => begun,
        Err(refused) => return refused,
    };
    let first = match reader.risk_points(None).await {
        Ok(page) => page,
        Err(err) => return failed(&err),
    };
    let head = match format {
        Format::Csv => csv_head(&RISK_HISTORY_COLUMNS),
        Format::Ndjson => Ok(Vec::new()),
    };
    let head = match head {
        Ok(head) => head,
        Err(err) => return failed(&err),
    };
    let reader = Arc::new(reader);
    let body = streamed(head, first, turn, move |after| {
        let reader = Arc::clone(&reader);
        async move { reader.risk_points(Some(after)).await }
    });
    attachment(body, format, "risk_history")
}

/// Authenticates, reads the filter (and the export's `own` parameters, returned as given),
/// and waits for the tenant's turn; or the error response.
async fn begin(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    format: Format,
    own: &[&'static str],
) -> Result<(Reader, Turn, OwnParameters), Response> {
    let media = MediaType::Json;
    let ctx = authenticate(state, headers).map_err(|err| error_response(StatusCode::UNAUTHORIZED, media, &err))?;
    // Every role reads (SPEC §8: `analyst` included); the tenant scopes every read below.
    let (filter, own) = parameters(uri, own).map_err(|err| error_response(StatusCode::BAD_REQUEST, media, &err))?;
    let turn = take_turn(state, &ctx, media).await?;
    let reader = Reader {
        ctx,
        services: state.services.clone(),
        filter,
        format,
        now: Utc::now(),
    };
    Ok((reader, turn, own))
}

/// The error response of an export whose first page could not be read.
fn failed(err: &AppError) -> Response {
    let status = match err {
        AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        AppError::BadInput { .. } => StatusCode::BAD_REQUEST,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    error_response(status, MediaType::Json, err)
}

/// `head` and the first page, then the pages after it, each read when the client has taken
/// the one before (the body is polled only as the connection drains). The tenant's turn is
/// held until the stream ends or the client goes away.
fn streamed<C, F, Fut>(head: Vec<u8>, first: Rendered<C>, turn: Turn, read: F) -> Body
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Send + 'static,
    Fut: Future<Output = AppResult<Rendered<C>>> + Send + 'static,
{
    let mut opening = head;
    opening.extend_from_slice(&first.bytes);
    let rest = stream::unfold((first.next, read, turn), |(next, read, turn)| async move {
        let after = next?;
        match read(after).await {
            Ok(page) => Some((Ok(Bytes::from(page.bytes)), (page.next, read, turn))),
            Err(err) => {
                match &err {
                    AppError::Internal(detail) => tracing::error!(error = %detail, "export cut off"),
                    other => tracing::warn!(error = %other, "export cut off"),
                }
                let cut = io::Error::other("the export could not be completed");
                Some((Err(cut), (None, read, turn)))
            }
        }
    });
    let opening = stream::once(async move { Ok::<_, io::Error>(Bytes::from(opening)) });
    Body::from_stream(opening.chain(rest))
}

/// A streamed file download.
fn attachment(body: Body, format: Format, name: &str) -> Response {
    let extension = match format {
        Format::Csv => "csv",
        Format::Ndjson => "ndjson",
    };
    let mut response = Response::new(body);
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(format.content_type()));
    if let Ok(disposition) = HeaderValue::from_str(&format!("attachment; filename=\"{name}.{extension}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, disposition);
    }
    // Tenant data: no shared cache keeps it.
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

// ---- reading and writing pages ----------------------------------------------------------------

impl Reader {
    async fn deals(&self, after: Option<Uuid>) -> AppResult<Rendered<Uuid>> {
        let rows = service::export::deals_page(&self.ctx, &self.services, &self.filter, after).await?;
        let records = rows.iter().map(|row| OpportunityRow::new(row, self.now));
        let bytes = render(self.format, records, rows.len() * 320)?;
        let last = rows.last().map(|row| row.deal.id);
        Ok(Rendered {
            bytes,
            next: next_after(rows.len(), last),
        })
    }

    async fn risk_points(&self, after: Option<PointKey>) -> AppResult<Rendered<PointKey>> {
        let rows = service::export::risk_points_page(&self.ctx, &self.services, &self.filter, after).await?;
        let records = rows
            .iter()
            .map(|(point, external_id)| RiskPointRow::new(point, external_id.as_deref()));
        let bytes = render(self.format, records, rows.len() * 160)?;
        let last = rows.last().map(|(point, _)| PointKey::of(point));
        Ok(Rendered {
            bytes,
            next: next_after(rows.len(), last),
        })
    }
}

/// A row of an export: written as a JSON object (serde, field order = column order) or as a
/// CSV record of the same fields.
trait Record: Serialize {
    fn fields(&self) -> Vec<Cow<'_, str>>;
}

/// `rows` as CSV records or NDJSON lines.
fn render<R: Record>(format: Format, rows: impl Iterator<Item = R>, capacity: usize) -> AppResult<Vec<u8>> {
    let mut out = Vec::with_capacity(capacity);
    match format {
        Format::Csv => {
            let mut csv = csv_writer(&mut out);
            for row in rows {
                csv.write_record(row.fields().iter().map(|f| f.as_bytes()))
                    .map_err(write_error)?;
            }
            csv.into_inner().map_err(|err| internal(err.error()))?;
        }
        Format::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut out, &row).map_err(|err| internal(&err))?;
                out.push(b'\n');
            }
        }
    }
    Ok(out)
}

/// RFC 4180: CRLF after every record, fields quoted only when they must be.
fn csv_writer(out: &mut Vec<u8>) -> csv::Writer<&mut Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

fn csv_head(columns: &[&str]) -> AppResult<Vec<u8>> {
    let mut out = Vec::new();
    let mut csv = csv_writer(&mut out);
    csv.write_record(columns).map_err(write_error)?;
    csv.into_inner().map_err(|err| internal(err.error()))?;
    Ok(out)
}

fn write_error(err: csv::Error) -> AppError {
    internal(&err)
}

fn internal(err: &dyn std::fmt::Display) -> AppError {
    AppError::Internal(format!("writing an export: {err}"))
}

fn global_id(kind: Kind, id: Uuid) -> String {
    ids::encode(kind, id).0
}

fn factor_codes(codes: impl Iterator<Item = RiskFactorCode>) -> Vec<&'static str> {
    codes.map(RiskFactorCode::as_str).collect()
}

/// One deal as `Opportunity` answers it; the fields in [`OPPORTUNITY_COLUMNS`] order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct OpportunityRow<'a> {
    id: String,
    external_id: Option<&'a str>,
    name: &'a str,
    account_id: String,
    account_name: &'a str,
    owner_id: &'a str,
    stage: &'static str,
    amount: String,
    currency: &'a str,
    expected_close_date: Option<String>,
    created_at: String,
    stage_entered_at: String,
    days_in_stage: i32,
    closed_at: Option<String>,
    /// The stored assessment (what boards and `pipelineHealth` use), not one computed now.
    risk_score: u32,
    risk_level: &'static str,
    risk_factor_codes: Vec<&'static str>,
    /// Members in the buying group now (the length of `buyingGroup`).
    buying_group_size: u32,
    /// Members engaged directly in the engagement window, as of the stored assessment (the
    /// figure its `LOW_COVERAGE` and `SINGLE_THREADED` were judged on); 0 for a closed deal,
    /// which is no longer assessed.
    directly_engaged: u32,
}

impl<'a> OpportunityRow<'a> {
    fn new(row: &'a ExportedDeal, now: DateTime<Utc>) -> OpportunityRow<'a> {
        let deal = &row.deal;
        OpportunityRow {
            id: global_id(Kind::Opportunity, deal.id),
            external_id: deal.external_id.as_deref(),
            name: &deal.name,
            account_id: global_id(Kind::Account, deal.account_id),
            account_name: &row.account_name,
            owner_id: &deal.owner_id,
            stage: Stage::as_str(deal.stage),
            amount: Money(cents_to_decimal(deal.amount_cents)).text(),
            currency: &deal.currency,
            expected_close_date: deal.expected_close_date.map(|d| Day(d).text()),
            created_at: Timestamp(deal.created_at).text(),
            stage_entered_at: Timestamp(deal.stage_entered_at).text(),
            days_in_stage: whole_days(deal.stage_entered_at, now),
            closed_at: deal.closed_at.map(|t| Timestamp(t).text()),
            risk_score: deal.risk.score,
            risk_level: RiskLevel::as_str(deal.risk.level),
            risk_factor_codes: factor_codes(deal.risk.factors.iter()),
            buying_group_size: row.group_size,
            directly_engaged: deal.risk.engaged,
        }
    }
}

impl Record for OpportunityRow<'_> {
    /// Nulls are empty fields, factor codes `;`-joined.
    fn fields(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(self.id.as_str()),
            Cow::Borrowed(self.external_id.unwrap_or_default()),
            Cow::Borrowed(self.name),
            Cow::Borrowed(self.account_id.as_str()),
            Cow::Borrowed(self.account_name),
            Cow::Borrowed(self.owner_id),
            Cow::Borrowed(self.stage),
            Cow::Borrowed(self.amount.as_str()),
            Cow::Borrowed(self.currency),
            Cow::Borrowed(self.expected_close_date.as_deref().unwrap_or_default()),
            Cow::Borrowed(self.created_at.as_str()),
            Cow::Borrowed(self.stage_entered_at.as_str()),
            Cow::Owned(self.days_in_stage.to_string()),
            Cow::Borrowed(self.closed_at.as_deref().unwrap_or_default()),
            Cow::Owned(self.risk_score.to_string()),
            Cow::Borrowed(self.risk_level),
            Cow::Owned(self.risk_factor_codes.join(";")),
            Cow::Owned(self.buying_group_size.to_string()),
            Cow::Owned(self.directly_engaged.to_string()),
        ]
    }
}

/// One point of a deal's `riskHistory`; the fields in [`RISK_HISTORY_COLUMNS`] order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RiskPointRow<'a> {
    opportunity_id: String,
    external_id: Option<&'a str>,
    at: String,
    score: u32,
    level: &'static str,
    risk_factor_codes: Vec<&'static str>,
}

impl<'a> RiskPointRow<'a> {
    fn new(point: &RiskPoint, external_id: Option<&'a str>) -> RiskPointRow<'a> {
        RiskPointRow {
            opportunity_id: global_id(Kind::Opportunity, point.opportunity_id),
            external_id,
            at: Timestamp(point.at).text(),
            score: point.score,
            level: RiskLevel::as_str(point.level),
            risk_factor_codes: factor_codes(point.factors.iter()),
        }
    }
}

impl Record for RiskPointRow<'_> {
    fn fields(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(self.opportunity_id.as_str()),
            Cow::Borrowed(self.external_id.unwrap_or_default()),
            Cow::Borrowed(self.at.as_str()),
            Cow::Owned(self.score.to_string()),
            Cow::Borrowed(self.level),
            Cow::Owned(self.risk_factor_codes.join(";")),
        ]
    }
}

/// One currency of one point of `pipelineTrend`; the fields in [`TREND_COLUMNS`] order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TrendRow<'a> {
    at: String,
    currency: &'a str,
    open_count: i64,
    amount: String,
    weighted_amount: String,
    created: i64,
    won: i64,
    lost: i64,
    /// Of the currency's open deals; empty without any.
    average_risk_score: Option<f64>,
    /// (count, amount) of its open deals per open stage; counts per risk level.
    #[serde(skip)]
    stages: Vec<(i64, String)>,
    #[serde(skip)]
    levels: [i64; 4],
}

impl<'a> TrendRow<'a> {
    fn new(at: DateTime<Utc>, c: &'a CurrencyPoint) -> TrendRow<'a> {
        TrendRow {
            at: Timestamp(at).text(),
            currency: &c.currency,
            open_count: c.open_count,
            amount: Money(c.amount).text(),
            weighted_amount: Money(c.weighted_amount).text(),
            created: c.created,
            won: c.won,
            lost: c.lost,
            average_risk_score: c.average_risk_score,
            stages: c
                .stage_counts
                .iter()
                .zip(&c.stage_cents)
                .map(|(n, cents)| (*n, Money(money(*cents)).text()))
                .collect(),
            levels: c.level_counts,
        }
    }
}

impl Record for TrendRow<'_> {
    fn fields(&self) -> Vec<Cow<'_, str>> {
        let mut fields = vec![
            Cow::Borrowed(self.at.as_str()),
            Cow::Borrowed(self.currency),
            Cow::Owned(self.open_count.to_string()),
            Cow::Borrowed(self.amount.as_str()),
            Cow::Borrowed(self.weighted_amount.as_str()),
            Cow::Owned(self.created.to_string()),
            Cow::Owned(self.won.to_string()),
            Cow::Owned(self.lost.to_string()),
            Cow::Owned(self.average_risk_score.map(|s| s.to_string()).unwrap_or_default()),
        ];
        for (count, amount) in self.stages.iter() {
            fields.push(Cow::Owned(count.to_string()));
            fields.push(Cow::Borrowed(amount.as_str()));
        }
        fields.extend(self.levels.iter().map(|n| Cow::Owned(n.to_string())));
        fields
    }
}

// ---- the filter -----------------------------------------------------------------------------

/// The query parameters of an export, like `OpportunityFilter`'s fields: `stage`, `riskLevel`
/// and `externalId` may repeat (`stage` and `riskLevel` also take comma-separated values;
/// the GraphQL plurals `stages`, `riskLevels`, `externalIds` are accepted too); an empty
/// value is no condition (what a BI tool's unset parameter sends); anything else is
/// `BAD_USER_INPUT` naming the parameter.
#[cfg(test)]
fn filter(uri: &Uri) -> AppResult<DealFilter> {
    parameters(uri, &[]).map(|(filter, _)| filter)
}

/// An export's own parameters (beside the filter's), as given: (name, trimmed value).
type OwnParameters = Vec<(&'static str, String)>;

/// The filter of the query string, with the parameters named in `own` set apart.
fn parameters(uri: &Uri, own: &[&'static str]) -> AppResult<(DealFilter, OwnParameters)> {
    let Query(pairs) = Query::<Vec<(String, String)>>::try_from_uri(uri)
        .map_err(|err| AppError::bad_input("query", format!("not a query string: {}", err.body_text())))?;
    let mut f = FilterParams {
        own: own.join(", "),
        ..FilterParams::default()
    };
    let mut set_apart = Vec::new();
    for (name, raw) in &pairs {
        match own.iter().find(|o| **o == name) {
            Some(o) => set_apart.push((*o, raw.trim().to_owned())),
            None => f.take(name, raw.trim())?,
        }
    }
    Ok((f.finish()?, set_apart))
}

/// The parameters of `risk_outcomes.csv` beside the filter.
const OUTCOME_PARAMETERS: [&str; 1] = ["lookbackDays"];

/// `lookbackDays` (default 30), at most once; its range is the service's to judge.
fn lookback_days(own: &OwnParameters) -> AppResult<i32> {
    let mut given = own
        .iter()
        .filter(|(n, _)| *n == "lookbackDays")
        .map(|(_, v)| v.as_str());
    match (given.next(), given.next()) {
        (Some(_), Some(_)) => Err(AppError::bad_input("lookbackDays", "is given more than once")),
        (Some(v), None) => v
            .parse()
            .map_err(|_| AppError::bad_input("lookbackDays", format!("{v:?} is not a whole number of days"))),
        (None, _) => Ok(30),
    }
}

/// The parameters of `pipeline_trend.csv` beside the filter.
const TREND_PARAMETERS: [&str; 3] = ["from", "to", "interval"];

/// `from`, `to` (days, required) and `interval` (`DAY`, `WEEK` or `MONTH`, required), each once.
fn trend_range(own: &OwnParameters) -> AppResult<(chrono::NaiveDate, chrono::NaiveDate, Interval)> {
    let one = |name: &str, what: &str| -> AppResult<&str> {
        let mut given = own.iter().filter(|(n, _)| *n == name).map(|(_, v)| v.as_str());
        match (given.next(), given.next()) {
            (Some(_), Some(_)) => Err(AppError::bad_input(name, "is given more than once")),
            (Some(v), None) if !v.is_empty() => Ok(v),
            _ => Err(AppError::bad_input(name, format!("is required: {what}"))),
        }
    };
    let from = date("from", one("from", "the first day, YYYY-MM-DD")?)?;
    let to = date("to", one("to", "the last day, YYYY-MM-DD")?)?;
    let interval = match one("interval", "DAY, WEEK or MONTH")? {
        "DAY" => Interval::Day,
        "WEEK" => Interval::Week,
        "MONTH" => Interval::Month,
        other => {
            return Err(AppError::bad_input(
                "interval",
                format!("{other:?} is not an interval; one of DAY, WEEK, MONTH"),
            ));
        }
    };
    Ok((from, to, interval))
}

/// The parameters as read so far.
#[derive(Default)]
struct FilterParams {
    stages: Option<Vec<Stage>>,
    open: Option<bool>,
    owner_id: Option<String>,
    account_id: Option<Option<Uuid>>,
    risk_levels: Option<Vec<RiskLevel>>,
    risk_factor: Option<RiskFactorCode>,
    min_amount_cents: Option<i64>,
    max_amount_cents: Option<i64>,
    currency: Option<String>,
    close_date_from: Option<chrono::NaiveDate>,
    close_date_to: Option<chrono::NaiveDate>,
    name_contains: Option<String>,
    external_ids: Option<Vec<String>>,
    created_from: Option<chrono::DateTime<chrono::Utc>>,
    created_to: Option<chrono::DateTime<chrono::Utc>>,
    closed_from: Option<chrono::NaiveDate>,
    closed_to: Option<chrono::NaiveDate>,
    /// The export's own parameters, for the message naming what it takes.
    own: String,
}

/// The parameters an export understands (named in the error for any other).
const PARAMETERS: &str = "stage, open, ownerId, accountId, riskLevel, riskFactor, minAmount, maxAmount, currency, \
                          closeDateFrom, closeDateTo, nameContains, externalId, createdFrom, createdTo, \
                          closedFrom, closedTo";

impl FilterParams {
    fn take(&mut self, name: &str, value: &str) -> AppResult<()> {
        let known = matches!(
            name,
            "stage"
                | "stages"
                | "open"
                | "ownerId"
                | "accountId"
                | "riskLevel"
                | "riskLevels"
                | "riskFactor"
                | "minAmount"
                | "maxAmount"
                | "currency"
                | "closeDateFrom"
                | "closeDateTo"
                | "nameContains"
                | "externalId"
                | "externalIds"
                | "createdFrom"
                | "createdTo"
                | "closedFrom"
                | "closedTo"
        );
        if !known {
            let own = match self.own.as_str() {
                "" => String::new(),
                own => format!("{own}, "),
            };
            return Err(AppError::bad_input(
                name,
                format!("is not a parameter of this export (it takes {own}{PARAMETERS})"),
            ));
        }
        if value.is_empty() {
            return Ok(());
        }
        match name {
            "stage" | "stages" => {
                let list = self.stages.get_or_insert_with(Vec::new);
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    list.push(enum_value(name, part, "stage", Stage::ALL)?);
                }
            }
            "riskLevel" | "riskLevels" => {
                let list = self.risk_levels.get_or_insert_with(Vec::new);
                for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    list.push(enum_value(name, part, "risk level", RiskLevel::ALL)?);
                }
            }
            "externalId" | "externalIds" => self.external_ids.get_or_insert_with(Vec::new).push(value.to_owned()),
            "open" => {
                let open = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(AppError::bad_input(name, format!("{value:?} is not true or false"))),
                };
                once(&mut self.open, name, open)?;
            }
            "ownerId" => once(&mut self.owner_id, name, value.to_owned())?,
            // An ID that names no account of ours matches no deal (as in GraphQL's filter).
            "accountId" => once(&mut self.account_id, name, ids::decode(Kind::Account, value))?,
            "riskFactor" => {
                let code = enum_value(name, value, "risk factor code", RiskFactorCode::ALL)?;
                once(&mut self.risk_factor, name, code)?;
            }
            "minAmount" => once(&mut self.min_amount_cents, name, amount(name, value)?)?,
            "maxAmount" => once(&mut self.max_amount_cents, name, amount(name, value)?)?,
            "currency" => once(&mut self.currency, name, values::currency(name, value)?)?,
            "closeDateFrom" => once(&mut self.close_date_from, name, date(name, value)?)?,
            "closeDateTo" => once(&mut self.close_date_to, name, date(name, value)?)?,
            "nameContains" => once(&mut self.name_contains, name, value.to_owned())?,
            "createdFrom" => once(&mut self.created_from, name, instant(name, value)?)?,
            "createdTo" => once(&mut self.created_to, name, instant(name, value)?)?,
            "closedFrom" => once(&mut self.closed_from, name, date(name, value)?)?,
            "closedTo" => once(&mut self.closed_to, name, date(name, value)?)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(self) -> AppResult<DealFilter> {
        let external_ids = self
            .external_ids
            .map(|ids| values::external_id_list("externalId", ids))
            .transpose()?;
        let filter = DealFilter {
            stages: self.stages,
            open: self.open,
            owner_id: self.owner_id,
            matches_nothing: matches!(self.account_id, Some(None)),
            account_id: self.account_id.flatten(),
            risk_levels: self.risk_levels,
            risk_factor: self.risk_factor,
            min_amount_cents: self.min_amount_cents,
            max_amount_cents: self.max_amount_cents,
            currency: self.currency,
            close_date_from: self.close_date_from,
            close_date_to: self.close_date_to,
            name_contains: self.name_contains,
            external_ids,
            created_from: self.created_from,
            created_to: self.created_to,
            closed_from: self.closed_from,
            closed_to: self.closed_to,
        };
        filter.check_ranges(str::to_owned)?;
        Ok(filter)
    }
}

/// Sets a parameter that may be given once.
fn once<T>(slot: &mut Option<T>, name: &str, value: T) -> AppResult<()> {
    if slot.is_some() {
        return Err(AppError::bad_input(name, "is given more than once"));
    }
    *slot = Some(value);
    Ok(())
}

/// One of an enum's GraphQL names.
fn enum_value<T: Copy + std::str::FromStr + std::fmt::Display>(
    name: &str,
    value: &str,
    what: &str,
    all: &[T],
) -> AppResult<T> {
    value.parse().map_err(|_| {
        let names: Vec<String> = all.iter().map(ToString::to_string).collect();
        AppError::bad_input(name, format!("{value:?} is not a {what}; one of {}", names.join(", ")))
    })
}

fn amount(name: &str, value: &str) -> AppResult<i64> {
    let money = Money::parse_text(value)
        .ok_or_else(|| AppError::bad_input(name, format!("{value:?} is not a decimal number such as 125000.00")))?;
    values::amount_cents(name, money.0)
}

fn date(name: &str, value: &str) -> AppResult<chrono::NaiveDate> {
    Day::parse_text(value)
        .map(|d| d.0)
        .ok_or_else(|| AppError::bad_input(name, format!("{value:?} is not a date in YYYY-MM-DD form")))
}

/// An RFC 3339 instant (`2026-01-31T09:00:00Z`; a `+` offset must be written `%2B`).
fn instant(name: &str, value: &str) -> AppResult<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(value)
        .map(|t| t.to_utc())
        .map_err(|_| {
            AppError::bad_input(
                name,
                format!("{value:?} is not an RFC 3339 instant such as 2026-01-31T09:00:00Z"),
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(query: &str) -> AppResult<DealFilter> {
        let uri: Uri = format!("/export/opportunities.csv?{query}").parse().expect("uri");
        filter(&uri)
    }

    fn field_of(err: AppError) -> String {
        match err {
            AppError::BadInput { field, .. } => field,
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn parameters_map_onto_the_deal_filter() {
        let f = parsed(
            "stage=PROSPECTING&stage=DISCOVERY,EVALUATION&open=true&ownerId=dana&riskLevel=HIGH&riskLevel=CRITICAL\
             &currency=EUR&closeDateFrom=2026-01-01&closeDateTo=2026-12-31&externalId=a%2Cb&externalId=c\
             &minAmount=10.5&riskFactor=STALLED&nameContains=Globex",
        )
        .expect("valid");
        assert_eq!(
            f.stages,
            Some(vec![Stage::Prospecting, Stage::Discovery, Stage::Evaluation])
        );
        assert_eq!(f.open, Some(true));
        assert_eq!(f.owner_id.as_deref(), Some("dana"));
        assert_eq!(f.risk_levels, Some(vec![RiskLevel::High, RiskLevel::Critical]));
        assert_eq!(f.currency.as_deref(), Some("EUR"));
        assert_eq!(f.close_date_from.map(|d| d.to_string()).as_deref(), Some("2026-01-01"));
        assert_eq!(f.close_date_to.map(|d| d.to_string()).as_deref(), Some("2026-12-31"));
        assert_eq!(f.external_ids, Some(vec!["a,b".to_owned(), "c".to_owned()]));
        assert_eq!(f.min_amount_cents, Some(1050));
        assert_eq!(f.risk_factor, Some(RiskFactorCode::Stalled));
        assert_eq!(f.name_contains.as_deref(), Some("Globex"));
        assert!(!f.matches_nothing);
    }

    #[test]
    fn created_and_closed_ranges_are_parameters_too() {
        let f = parsed("createdFrom=2026-01-01T00:00:00Z&createdTo=2026-02-01T12:00:00%2B02:00&closedFrom=2026-03-01&closedTo=2026-03-01")
            .expect("valid");
        assert_eq!(
            f.created_from.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-01-01T00:00:00+00:00")
        );
        assert_eq!(
            f.created_to.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-02-01T10:00:00+00:00")
        );
        assert_eq!(f.closed_from, f.closed_to);
        assert_eq!(f.closed_to.map(|d| d.to_string()).as_deref(), Some("2026-03-01"));
    }

    #[test]
    fn no_parameters_and_empty_values_filter_nothing() {
        let f = parsed("").expect("valid");
        assert!(f.stages.is_none() && f.open.is_none() && f.currency.is_none());
        let f = parsed("stage=&currency=&open=").expect("valid");
        assert!(f.stages.is_none() && f.open.is_none() && f.currency.is_none());
    }

    #[test]
    fn bad_and_unknown_parameters_are_named() {
        for (query, field) in [
            ("stage=WON", "stage"),
            ("open=yes", "open"),
            ("riskLevel=SEVERE", "riskLevel"),
            ("currency=usd", "currency"),
            ("closeDateFrom=2026-13-01", "closeDateFrom"),
            ("closeDateTo=1.1.2026", "closeDateTo"),
            ("minAmount=1e5", "minAmount"),
            ("maxAmount=-3", "maxAmount"),
            ("riskFactor=LATE", "riskFactor"),
            ("limit=10", "limit"),
            ("open=true&open=false", "open"),
            ("createdFrom=2026-01-01", "createdFrom"),
            ("closedTo=2026-02-30", "closedTo"),
            (
                "createdFrom=2026-01-02T00:00:00Z&createdTo=2026-01-01T00:00:00Z",
                "createdFrom",
            ),
            ("closedFrom=2026-01-02&closedTo=2026-01-01", "closedFrom"),
        ] {
            let err = parsed(query).expect_err(query);
            assert_eq!(field_of(err), field, "{query}");
        }
    }

    #[test]
    fn an_account_id_of_no_account_matches_nothing() {
        assert!(parsed("accountId=nope").expect("valid").matches_nothing);
    }

    #[test]
    fn ndjson_keys_are_the_csv_columns_in_order() {
        let now = Utc::now();
        let deal = crate::domain::records::Deal {
            id: Uuid::now_v7(),
            account_id: Uuid::now_v7(),
            name: "Globex, \"expansion\"".into(),
            owner_id: "dana".into(),
            stage: Stage::Negotiation,
            amount_cents: 12_500_000,
            currency: "USD".into(),
            expected_close_date: None,
            stage_entered_at: now,
            closed_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
            risk: crate::domain::records::StoredRisk::UNASSESSED,
            external_id: None,
        };
        let exported = ExportedDeal {
            deal,
            account_name: "Globex".into(),
            group_size: 3,
        };
        let row = OpportunityRow::new(&exported, now);
        let json = serde_json::to_value(&row).expect("json");
        let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
        let mut expected = OPPORTUNITY_COLUMNS.to_vec();
        expected.sort_unstable();
        let mut sorted = keys.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, expected);
        assert_eq!(json["amount"], "125000.00");
        assert_eq!(row.fields().len(), OPPORTUNITY_COLUMNS.len());
        // Written through serde in declaration order: the CSV order.
        let line = serde_json::to_string(&row).expect("json");
        let positions: Vec<usize> = OPPORTUNITY_COLUMNS
            .iter()
            .map(|c| line.find(&format!("\"{c}\":")).expect("key"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{line}");
    }
}
