//! Flat exports for BI tools (SPEC §8): every deal of the caller's tenant that matches a
//! filter, and their risk histories, read a page at a time. Each page is its own short read
//! (no transaction spans an export), so an export of a million rows holds one page in memory
//! and never holds a database connection between pages.

use std::collections::HashMap;

use uuid::Uuid;

use super::Services;
use crate::domain::query::DealFilter;
use crate::domain::records::{Deal, RiskPoint};
use crate::domain::{AppResult, TenantCtx};
use crate::store::export::{self, PointKey};

/// Rows read per statement.
pub const PAGE_SIZE: u64 = 1_000;

/// A deal as an export lists it.
#[derive(Debug, Clone)]
pub struct ExportedDeal {
    pub deal: Deal,
    pub account_name: String,
    /// Members in the buying group now (as `buyingGroup` lists them).
    pub group_size: u32,
}

/// A page of the deals that match `filter`, by id, after `after`, with their accounts' names
/// and group sizes: two statements whatever the page size (none for the groups of an empty
/// page). Fewer than [`PAGE_SIZE`] rows
/// means there are no more.
pub async fn deals_page(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    after: Option<Uuid>,
) -> AppResult<Vec<ExportedDeal>> {
    let conn = svc.store.reader();
    let deals = export::deals_after(ctx, conn, filter, after, PAGE_SIZE).await?;
    // A page is a stretch of ids: its first and last deal bound the groups to count.
    let sizes = match (deals.first(), deals.last()) {
        (Some((first, _)), Some((last, _))) => export::group_sizes(ctx, conn, filter, first.id, last.id).await?,
        _ => HashMap::new(),
    };
    Ok(deals
        .into_iter()
        .map(|(deal, account_name)| ExportedDeal {
            group_size: sizes.get(&deal.id).copied().unwrap_or(0),
            deal,
            account_name,
        })
        .collect())
}

/// A page of the risk-history points of the deals that match `filter`, by deal then instant,
/// after `after`; each with its deal's external ID. Fewer than [`PAGE_SIZE`] rows means
/// there are no more.
pub async fn risk_points_page(
    ctx: &TenantCtx,
    svc: &Services,
    filter: &DealFilter,
    after: Option<PointKey>,
) -> AppResult<Vec<(RiskPoint, Option<String>)>> {
    export::risk_points_after(ctx, svc.store.reader(), filter, after, PAGE_SIZE).await
}
