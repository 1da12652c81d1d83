//! Flat exports (SPEC §8): the caller's deals and their risk histories read a page at a time,
//! by keyset (never `OFFSET`), in a fixed number of statements per page (never one per row),
//! so that an export of any size holds one page in memory and no transaction stays open
//! between pages.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use entity::{account, buying_group_member, opportunity, risk_history};
use sea_orm::sea_query::{Expr, ExprTrait, Func};
use sea_orm::{ColumnTrait, EntityTrait, FromQueryResult, JoinType, QueryFilter, QueryOrder, QuerySelect, RelationDef};
use uuid::Uuid;

use super::opportunities::condition;
use super::{Conn, scope};
use crate::domain::query::DealFilter;
use crate::domain::records::{Deal, RiskPoint};
use crate::domain::{AppError, AppResult, TenantCtx};

/// Deal → its account, within the tenant (the join includes `tenant_id`).
fn deal_account() -> RelationDef {
    opportunity::Entity::belongs_to(account::Entity)
        .from((opportunity::Column::TenantId, opportunity::Column::AccountId))
        .to((account::Column::TenantId, account::Column::Id))
        .into()
}

/// Member → its deal, within the tenant.
fn member_deal() -> RelationDef {
    buying_group_member::Entity::belongs_to(opportunity::Entity)
        .from((
            buying_group_member::Column::TenantId,
            buying_group_member::Column::OpportunityId,
        ))
        .to((opportunity::Column::TenantId, opportunity::Column::Id))
        .into()
}

/// Risk point → its deal, within the tenant.
fn point_deal() -> RelationDef {
    risk_history::Entity::belongs_to(opportunity::Entity)
        .from((risk_history::Column::TenantId, risk_history::Column::OpportunityId))
        .to((opportunity::Column::TenantId, opportunity::Column::Id))
        .into()
}

/// Up to `limit` deals that match `filter` with ids after `after` (from the first when
/// `None`), by id, each with its account's name: one joined query.
pub async fn deals_after(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<(Deal, String)>> {
    let mut select = scope::select::<opportunity::Entity>(ctx).filter(condition(filter));
    if let Some(after) = after {
        select = select.filter(opportunity::Column::Id.gt(after));
    }
    select
        .order_by_asc(opportunity::Column::Id)
        .limit(limit)
        .join(JoinType::LeftJoin, deal_account())
        .select_also(account::Entity)
        .all(conn)
        .await?
        .into_iter()
        .map(|(deal, account)| {
            let deal = Deal::try_from(deal)?;
            // The foreign key (tenant, account) makes a deal without its account a corrupted row.
            let account =
                account.ok_or_else(|| AppError::Internal(format!("opportunity {} without account", deal.id)))?;
            Ok((deal, account.name))
        })
        .collect()
}

/// How many members the buying groups of the deals that match `filter` with ids in
/// `first..=last` hold now (deals without members are left out): one grouped query. An export
/// asks for the stretch of ids one page covers — exactly the page's deals — so the answer has
/// at most a page of rows, and as pages cover disjoint stretches, the whole export reads the
/// (tenant, deal) indexes once. Bounds, not a list of the page's ids: PostgreSQL plans a
/// thousand-id `IN` list as a scan of the whole table, for every page.
pub async fn group_sizes(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    first: Uuid,
    last: Uuid,
) -> AppResult<HashMap<Uuid, u32>> {
    use buying_group_member::{Column, Entity};
    let counts: Vec<(Uuid, i64)> = scope::select::<Entity>(ctx)
        .join(JoinType::InnerJoin, member_deal())
        .filter(condition(filter))
        .select_only()
        .column(Column::OpportunityId)
        .column_as(Expr::expr(Func::count(Expr::col((Entity, Column::Id)))), "members")
        // On both sides of the join, so that each is read as a range whatever the plan.
        .filter(Column::OpportunityId.between(first, last))
        .filter(opportunity::Column::Id.between(first, last))
        .filter(Column::RemovedAt.is_null())
        .group_by(Column::OpportunityId)
        .into_tuple()
        .all(conn)
        .await?;
    Ok(counts
        .into_iter()
        .map(|(deal, members)| (deal, u32::try_from(members).unwrap_or(u32::MAX)))
        .collect())
}

/// Where a page of risk points ends: the order of the export is (deal, instant, point).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PointKey {
    pub opportunity_id: Uuid,
    pub at: DateTime<Utc>,
    pub id: Uuid,
}

impl PointKey {
    pub fn of(point: &RiskPoint) -> PointKey {
        PointKey {
            opportunity_id: point.opportunity_id,
            at: point.at,
            id: point.id,
        }
    }
}

/// A risk point with its deal's external ID, as the joined query reads it.
#[derive(FromQueryResult)]
struct PointRow {
    tenant_id: String,
    id: Uuid,
    opportunity_id: Uuid,
    assessed_at: DateTime<Utc>,
    score: i32,
    level: String,
    factor_mask: i64,
    deal_external_id: Option<String>,
}

/// Up to `limit` risk-history points of the deals that match `filter`, after `after` in the
/// order (deal id, instant, point id), each with its deal's external ID: one joined query.
pub async fn risk_points_after(
    ctx: &TenantCtx,
    conn: &impl Conn,
    filter: &DealFilter,
    after: Option<PointKey>,
    limit: u64,
) -> AppResult<Vec<(RiskPoint, Option<String>)>> {
    let key = [
        risk_history::Column::OpportunityId,
        risk_history::Column::AssessedAt,
        risk_history::Column::Id,
    ];
    let mut select = scope::select::<risk_history::Entity>(ctx)
        .join(JoinType::InnerJoin, point_deal())
        .filter(condition(filter))
        .column_as(opportunity::Column::ExternalId, "deal_external_id");
    if let Some(after) = after {
        // A row-value comparison: both engines read it along the (tenant, deal, instant) index.
        let columns = Expr::tuple(key.map(|c| Expr::col((risk_history::Entity, c))));
        let values = Expr::tuple([
            Expr::val(after.opportunity_id),
            Expr::val(after.at),
            Expr::val(after.id),
        ]);
        select = select.filter(columns.gt(values));
    }
    for column in key {
        select = select.order_by_asc(column);
    }
    select
        .limit(limit)
        .into_model::<PointRow>()
        .all(conn)
        .await?
        .into_iter()
        .map(|row| {
            let point = RiskPoint::try_from(risk_history::Model {
                tenant_id: row.tenant_id,
                id: row.id,
                opportunity_id: row.opportunity_id,
                assessed_at: row.assessed_at,
                score: row.score,
                level: row.level,
                factor_mask: row.factor_mask,
            })?;
            Ok((point, row.deal_external_id))
        })
        .collect()
}
