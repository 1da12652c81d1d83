//! What a client can ask of the pipeline: which deals (a filter), in which order, grouped
//! how. Validated and resolved to internal ids before they reach the service.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::model::{RiskFactorCode, RiskLevel, Stage};
use super::records::Deal;
use super::{AppError, AppResult};

/// The board's filter. All given conditions must hold.
#[derive(Debug, Clone, Default)]
pub struct DealFilter {
    pub stages: Option<Vec<Stage>>,
    /// `true`: open deals only; `false`: closed deals only.
    pub open: Option<bool>,
    pub owner_id: Option<String>,
    pub account_id: Option<Uuid>,
    /// Set when the filter named something that does not exist: nothing can match.
    pub matches_nothing: bool,
    pub risk_levels: Option<Vec<RiskLevel>>,
    pub risk_factor: Option<RiskFactorCode>,
    pub min_amount_cents: Option<i64>,
    pub max_amount_cents: Option<i64>,
    pub currency: Option<String>,
    pub close_date_from: Option<NaiveDate>,
    pub close_date_to: Option<NaiveDate>,
    pub name_contains: Option<String>,
    /// Created at or after this instant.
    pub created_from: Option<DateTime<Utc>>,
    /// Created at or before this instant.
    pub created_to: Option<DateTime<Utc>>,
    /// Closed on or after this UTC day.
    pub closed_from: Option<NaiveDate>,
    /// Closed on or before this UTC day.
    pub closed_to: Option<NaiveDate>,
    /// The deal's external ID is one of these.
    pub external_ids: Option<Vec<String>>,
}

impl DealFilter {
    /// Rejects a created or closed range whose start lies after its end; `field` names an
    /// input field as the client wrote it (`createdFrom` → `filter.createdFrom`, say).
    pub fn check_ranges(&self, field: impl Fn(&str) -> String) -> AppResult<()> {
        fn ordered<T: PartialOrd>(from: Option<T>, to: Option<T>) -> bool {
            !matches!((from, to), (Some(from), Some(to)) if from > to)
        }
        if !ordered(self.created_from, self.created_to) {
            return Err(AppError::bad_input(field("createdFrom"), "is after createdTo"));
        }
        if !ordered(self.closed_from, self.closed_to) {
            return Err(AppError::bad_input(field("closedFrom"), "is after closedTo"));
        }
        Ok(())
    }

    /// Whether `deal` passes the filter: the same rules as the store's SQL condition, for a
    /// deal already in hand (a live subscriber deciding whether a change concerns it).
    pub fn matches(&self, deal: &Deal) -> bool {
        fn within<T: PartialOrd>(value: Option<T>, from: Option<T>, to: Option<T>) -> bool {
            match value {
                Some(v) => from.is_none_or(|f| v >= f) && to.is_none_or(|t| v <= t),
                None => from.is_none() && to.is_none(),
            }
        }
        !self.matches_nothing
            && self.stages.as_ref().is_none_or(|s| s.contains(&deal.stage))
            && self.open.is_none_or(|open| open != deal.stage.is_closed())
            && self.owner_id.as_ref().is_none_or(|o| *o == deal.owner_id)
            && self.account_id.is_none_or(|a| a == deal.account_id)
            && self.risk_levels.as_ref().is_none_or(|l| l.contains(&deal.risk.level))
            && self.risk_factor.is_none_or(|code| deal.risk.factors.contains(code))
            && self.min_amount_cents.is_none_or(|min| deal.amount_cents >= min)
            && self.max_amount_cents.is_none_or(|max| deal.amount_cents <= max)
            && self.currency.as_ref().is_none_or(|c| *c == deal.currency)
            && self
                .external_ids
                .as_ref()
                .is_none_or(|ids| deal.external_id.as_ref().is_some_and(|e| ids.contains(e)))
            && within(deal.expected_close_date, self.close_date_from, self.close_date_to)
            && self
                .name_contains
                .as_deref()
                .filter(|t| !t.is_empty())
                .is_none_or(|t| deal.name.to_lowercase().contains(&t.to_lowercase()))
            && within(Some(deal.created_at), self.created_from, self.created_to)
            && within(deal.closed_at.map(|c| c.date_naive()), self.closed_from, self.closed_to)
    }

    /// The same filter narrowed to one account (nothing matches if it named another).
    pub fn within_account(mut self, account_id: Uuid) -> DealFilter {
        if self.account_id.is_some_and(|a| a != account_id) {
            self.matches_nothing = true;
        }
        self.account_id = Some(account_id);
        self
    }

    /// The same filter narrowed to open deals (nothing matches if it asked for closed ones).
    pub fn open_only(mut self) -> DealFilter {
        if self.open == Some(false) {
            self.matches_nothing = true;
        }
        self.open = Some(true);
        self
    }
}

/// What the board can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealSortField {
    RiskScore,
    Amount,
    ExpectedCloseDate,
    UpdatedAt,
    Name,
    DaysInStage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealSort {
    pub field: DealSortField,
    pub descending: bool,
}

impl Default for DealSort {
    /// Most recently changed first.
    fn default() -> Self {
        DealSort {
            field: DealSortField::UpdatedAt,
            descending: true,
        }
    }
}

/// What pipeline groups are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    Stage,
    Owner,
    Account,
    RiskLevel,
}
