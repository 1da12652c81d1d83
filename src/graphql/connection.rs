//! Relay connections built from the service's pages, and what a page costs a query.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, OutputType, Result};

use crate::domain::AppError;
use crate::domain::page::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
use crate::domain::values::MAX_HISTORY_POINTS;

/// A Relay connection whose `totalCount` the service counted when the query asked for it.
pub type Conn<N> = Connection<String, N, TotalCount>;

/// The size of the whole list, as counted for this request.
pub struct TotalCount(Option<u64>);

#[Object]
impl TotalCount {
    /// How many items the whole list holds (all pages).
    async fn total_count(&self) -> Result<i32> {
        let total = self
            .0
            .ok_or_else(|| AppError::Internal("totalCount asked for but not counted".into()))?;
        Ok(i32::try_from(total).unwrap_or(i32::MAX))
    }
}

/// Whether the connection being resolved asks for `totalCount` (then the service counts).
pub fn wants_total(ctx: &Context<'_>) -> bool {
    ctx.look_ahead().field("totalCount").exists()
}

/// The Relay connection of a page.
pub fn connection<T, N: OutputType>(page: Page<T>, node: impl Fn(T) -> N) -> Conn<N> {
    let mut conn =
        Connection::with_additional_fields(page.has_previous_page, page.has_next_page, TotalCount(page.total));
    conn.edges.extend(
        page.items
            .into_iter()
            .map(|(cursor, item)| Edge::new(cursor, node(item))),
    );
    conn
}

/// The query cost of a paginated field: its page size times the cost of one node.
pub fn page_cost(first: Option<i32>, last: Option<i32>, child: usize) -> usize {
    let size = first.or(last).unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE) as usize;
    1 + size.saturating_mul(child)
}

/// How many members a buying-group list is assumed to hold when costing a query.
pub const GROUP_COST_FACTOR: usize = 12;

/// What a field that runs a database read of its own costs beside the fields it returns (a
/// field of an already loaded record costs 1).
pub const READ_COST: usize = 10;

/// What reading a deal's whole history costs (`risk`: every interaction and its links; about
/// 100 interactions on a typical deal).
pub const HISTORY_READ_COST: usize = 100;

/// What planning a deal's next steps costs beside reading its history (`nextSteps`): up to
/// 1,586 assessments of the deal, about a millisecond of one core, some 2,000 times `risk`'s.
pub const PLAN_COST: usize = 200;

/// The cost of a history list (`riskHistory`, `stageHistory`): one read of up to `last`
/// points (default and most [`MAX_HISTORY_POINTS`]), each costing what its fields cost.
pub fn history_cost(last: Option<i32>, child: usize) -> usize {
    let points = last.map_or(MAX_HISTORY_POINTS, |n| {
        usize::try_from(n).unwrap_or(1).clamp(1, MAX_HISTORY_POINTS)
    });
    READ_COST + points.saturating_mul(child)
}
