//! Pipeline health: SQL aggregates over the stored assessments, summarized and labelled.

use std::collections::{HashMap, VecDeque};

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::{Services, now};
use crate::domain::model::{RiskLevel, Stage};
use crate::domain::outcomes::{self, RiskOutcomes};
use crate::domain::pipeline::{self, Bucket, GroupKey, PipelineHealth};
use crate::domain::query::{DealFilter, GroupBy};
use crate::domain::trend::{self, Event, Interval, Sweep, TrendPoint};
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::outcomes as outcome_rows;
use crate::store::trend::{self as trend_store, EventKey, History};
use crate::store::{Conn, accounts, pipeline as aggregates};

/// The health of the deals matching `filter`, with one group per `group_by` key, now or as
/// the pipeline stood at `as_of`.
///
/// An instant not in the past is answered from the deals as they are (days in stage are
/// counted up to it); a past one from the stored history (SPEC §8). Direct engagement is not
/// stored over time, so a past answer has no average of directly engaged members.
pub async fn health(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    group_by: Option<GroupBy>,
    as_of: Option<DateTime<Utc>>,
) -> AppResult<PipelineHealth> {
    let db = svc.store.reader();
    let now = now();
    let at = as_of.unwrap_or(now);
    let past = as_of.filter(|t| *t < now);
    // The two aggregates are independent statements: side by side, the answer takes as long
    // as the slower one (each reads the whole as-of table when `as_of` is past).
    let group_rows = async {
        match group_by {
            None => Ok(None),
            Some(by) => aggregates::groups(ctx, db, filter, by, past)
                .await
                .map(|rows| Some((by, rows))),
        }
    };
    let (buckets, group_rows) = tokio::try_join!(aggregates::buckets(ctx, db, filter, past), group_rows)?;
    let mut summary = pipeline::summarize(&buckets, at);
    if past.is_some() {
        summary.average_directly_engaged = None;
    }
    let groups = match group_rows {
        None => Vec::new(),
        Some((by, rows)) => {
            let account_names: HashMap<Uuid, String> = if by == GroupBy::Account {
                let ids: Vec<Uuid> = rows.iter().filter_map(|r| Uuid::try_parse(&r.key).ok()).collect();
                accounts::get_many(ctx, db, &ids)
                    .await?
                    .into_iter()
                    .map(|a| (a.id, a.name))
                    .collect()
            } else {
                HashMap::new()
            };
            let corrupted = |raw: &str| AppError::Internal(format!("pipeline group key {raw:?} of {by:?}"));
            pipeline::merge_groups(rows, |raw| match by {
                GroupBy::Stage => {
                    let stage: Stage = raw.parse().map_err(|_| corrupted(raw))?;
                    Ok::<_, AppError>((GroupKey::Stage(stage), pipeline::title_case(stage.as_str())))
                }
                GroupBy::RiskLevel => {
                    let level: RiskLevel = raw.parse().map_err(|_| corrupted(raw))?;
                    Ok((GroupKey::RiskLevel(level), pipeline::title_case(level.as_str())))
                }
                GroupBy::Owner => Ok((GroupKey::Owner(raw.to_owned()), raw.to_owned())),
                GroupBy::Account => {
                    let id = Uuid::try_parse(raw).map_err(|_| corrupted(raw))?;
                    let label = account_names
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "(unknown account)".into());
                    Ok((GroupKey::Account(id), label))
                }
            })?
        }
    };
    Ok(PipelineHealth { summary, groups })
}

/// History rows read per statement of a trend.
const TREND_PAGE: u64 = 10_000;

/// `pipelineTrend`: a point per interval start in [`from`, `to`] (SPEC §8), each the pipeline
/// as `pipelineHealth(asOf:)` has it at that instant plus the deals created, won and lost
/// during its interval (as they stood at the interval's end).
///
/// One pass: the deals that the filter's lasting conditions (owner, account, currency, …)
/// admit are read once with their first recorded values, then their stage, amount,
/// close-date and risk histories in time order, a page at a time, are applied to one state
/// per deal, stopping at each instant to sum the deals as `pipelineHealth(asOf:)` would. An
/// instant not in the past reads the deals as stored now, as `pipelineHealth` does. Reading
/// the histories once instead of once per point (an aggregate statement per instant) keeps
/// 26 weekly points well under a second on the bench data set (BENCHMARKS.md).
pub async fn trend(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    from: NaiveDate,
    to: NaiveDate,
    interval: Interval,
) -> AppResult<Vec<TrendPoint>> {
    let windows = trend::windows(from, to, interval)?;
    let Some(last) = windows.last() else {
        return Ok(Vec::new());
    };
    let db = svc.store.reader();
    let now = now();
    // Each instant gives a point's state and the flows of the stretch that ends there.
    let instants: Vec<DateTime<Utc>> = windows.iter().map(|w| w.at).chain([last.until]).collect();
    let deals = trend_store::deals(ctx, db, &trend::lasting_conditions(filter)).await?;
    let mut sweep = Sweep::new(deals, filter);
    let mut histories = History::ALL.map(|history| Cursor {
        history,
        page: VecDeque::new(),
        after: None,
        exhausted: false,
    });
    // History after the last past instant is never read.
    let read_until = instants.iter().rev().find(|t| **t < now).copied();
    let mut points = Vec::with_capacity(windows.len());
    let mut state: Option<Vec<Bucket>> = None;
    for (i, at) in instants.iter().enumerate() {
        let stored_now = *at >= now;
        if let (false, Some(until)) = (stored_now, read_until) {
            for cursor in &mut histories {
                cursor.advance(ctx, db, &mut sweep, *at, until).await?;
            }
        }
        if let (Some(buckets), Some(previous)) = (state.take(), i.checked_sub(1).and_then(|p| windows.get(p))) {
            let flows = sweep.flows(previous.at, *at, stored_now);
            points.push(trend::point(&buckets, &flows, previous.at));
        }
        if i < windows.len() {
            state = Some(sweep.buckets(*at, stored_now));
        }
    }
    Ok(points)
}

/// One history read in time order, a page at a time.
struct Cursor {
    history: History,
    page: VecDeque<Event>,
    after: Option<EventKey>,
    exhausted: bool,
}

impl Cursor {
    /// Applies every change at or before `at` to the sweep, reading pages (bounded by
    /// `until`) as needed.
    async fn advance(
        &mut self,
        ctx: &TenantCtx,
        db: &impl Conn,
        sweep: &mut Sweep,
        at: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> AppResult<()> {
        loop {
            while let Some(event) = self.page.front().filter(|e| e.at <= at) {
                sweep.apply(event);
                self.page.pop_front();
            }
            if !self.page.is_empty() || self.exhausted {
                return Ok(());
            }
            let rows = trend_store::events_after(ctx, db, self.history, until, self.after, TREND_PAGE).await?;
            self.exhausted = (rows.len() as u64) < TREND_PAGE;
            self.after = rows.last().map(|(_, key)| *key).or(self.after);
            self.page.extend(rows.into_iter().map(|(event, _)| event));
        }
    }
}

/// `riskOutcomes`: of the deals matching `filter` closed (won or lost) on a UTC day in
/// [`closed_from`, `closed_to`], the win rates with and without each factor in the
/// `lookback_days` before closing, and per stored level at the window's start (SPEC §8). One
/// aggregate statement.
pub async fn outcomes(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    closed_from: Option<NaiveDate>,
    closed_to: Option<NaiveDate>,
    lookback_days: i32,
) -> AppResult<RiskOutcomes> {
    let lookback_days = outcomes::lookback_days(lookback_days)?;
    if let (Some(from), Some(to)) = (closed_from, closed_to)
        && from > to
    {
        return Err(AppError::bad_input(
            "closedFrom",
            format!("{from} is after closedTo ({to})"),
        ));
    }
    // Both the filter's closed range and the report's apply: the narrower bounds.
    let mut filter = filter.clone();
    filter.closed_from = filter.closed_from.max(closed_from);
    filter.closed_to = match (filter.closed_to, closed_to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let rows = outcome_rows::rows(ctx, svc.store.reader(), &filter, lookback_days).await?;
    Ok(outcomes::summarize(&rows))
}
