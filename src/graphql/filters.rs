//! The board's filter and ordering as clients send them, and their translation into the
//! domain's [`DealFilter`] and [`DealSort`].

use async_graphql::{ID, InputObject};

use super::enums::{OpportunityOrderField, OrderDirection, RiskFactorCode, RiskLevel, Stage};
use super::ids::{self, Kind};
use super::scalars::{Day, Money, Timestamp};
use crate::domain::AppResult;
use crate::domain::query::{DealFilter, DealSort};
use crate::domain::values;

/// Narrows the deal board. All given conditions must hold.
#[derive(InputObject, Default)]
pub struct OpportunityFilter {
    pub stages: Option<Vec<Stage>>,
    /// `true`: open deals only; `false`: closed deals only.
    pub open: Option<bool>,
    pub owner_id: Option<String>,
    pub account_id: Option<ID>,
    /// Stored risk level is one of these.
    pub risk_levels: Option<Vec<RiskLevel>>,
    /// The stored assessment carries this factor.
    pub risk_factor: Option<RiskFactorCode>,
    pub min_amount: Option<Money>,
    pub max_amount: Option<Money>,
    pub currency: Option<String>,
    /// Expected close date on or after this day.
    pub close_date_from: Option<Day>,
    /// Expected close date on or before this day.
    pub close_date_to: Option<Day>,
    /// Case-insensitive part of the deal's name.
    pub name_contains: Option<String>,
    /// The deal's external ID is one of these (at most 1,000).
    pub external_ids: Option<Vec<String>>,
    /// Created at or after this instant.
    pub created_from: Option<Timestamp>,
    /// Created at or before this instant.
    pub created_to: Option<Timestamp>,
    /// Closed (won or lost) on or after this day: the UTC date of `closedAt`.
    pub closed_from: Option<Day>,
    /// Closed (won or lost) on or before this day: the UTC date of `closedAt`.
    pub closed_to: Option<Day>,
}

#[derive(InputObject)]
pub struct OpportunityOrder {
    pub field: OpportunityOrderField,
    pub direction: OrderDirection,
}

/// Validates a client's filter and resolves its IDs.
pub fn deal_filter(filter: Option<OpportunityFilter>) -> AppResult<DealFilter> {
    let Some(f) = filter else {
        return Ok(DealFilter::default());
    };
    let account_id = f.account_id.as_deref().map(|id| ids::decode(Kind::Account, id));
    let cents = |field: &str, m: Option<Money>| m.map(|m| values::amount_cents(field, m.0)).transpose();
    let filter = DealFilter {
        stages: f.stages.map(|s| s.into_iter().map(Into::into).collect()),
        open: f.open,
        owner_id: f.owner_id,
        // An ID that names no account of ours matches no deal (never an error that reveals why).
        matches_nothing: matches!(account_id, Some(None)),
        account_id: account_id.flatten(),
        risk_levels: f.risk_levels.map(|l| l.into_iter().map(Into::into).collect()),
        risk_factor: f.risk_factor.map(Into::into),
        min_amount_cents: cents("filter.minAmount", f.min_amount)?,
        max_amount_cents: cents("filter.maxAmount", f.max_amount)?,
        currency: f
            .currency
            .as_deref()
            .map(|c| values::currency("filter.currency", c))
            .transpose()?,
        close_date_from: f.close_date_from.map(|d| d.0),
        close_date_to: f.close_date_to.map(|d| d.0),
        name_contains: f.name_contains,
        external_ids: f
            .external_ids
            .map(|ids| values::external_id_list("filter.externalIds", ids))
            .transpose()?,
        created_from: f.created_from.map(|t| t.0),
        created_to: f.created_to.map(|t| t.0),
        closed_from: f.closed_from.map(|d| d.0),
        closed_to: f.closed_to.map(|d| d.0),
    };
    filter.check_ranges(|name| format!("filter.{name}"))?;
    Ok(filter)
}

pub fn deal_sort(order: Option<OpportunityOrder>) -> DealSort {
    let Some(order) = order else {
        return DealSort::default();
    };
    DealSort {
        field: order.field.into(),
        descending: order.direction == OrderDirection::Desc,
    }
}
