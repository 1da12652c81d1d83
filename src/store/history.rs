//! A deal's history — its interactions with who took part and who was discussed, its stage
//! moves, its close-date changes — in ONE statement for any number of deals: the four
//! tenant-scoped selects below, glued with `UNION ALL` into rows of one shape, told apart by
//! their first column. A deal page and a risk refresh each read it once, instead of a round
//! trip per table.

use std::collections::HashMap;
use std::sync::Arc;

use entity::{close_date_change, interaction, interaction_member, stage_change};
use sea_orm::sea_query::{Expr, SelectStatement, SimpleExpr, UnionType};
use sea_orm::{ColumnTrait, QueryFilter, QueryResult, QuerySelect, QueryTrait};
use uuid::Uuid;

use super::convert::parse;
use super::{Conn, scope};
use crate::domain::deal_record::DealHistory;
use crate::domain::records::{CloseDateChange, Interaction, Link, StageChange};
use crate::domain::{AppResult, TenantCtx};

/// Which table a row of the union came from (its first column).
const INTERACTION: i32 = 0;
const LINK: i32 = 1;
const STAGE_CHANGE: i32 = 2;
const CLOSE_DATE_CHANGE: i32 = 3;

/// A typed NULL, so that every branch of the union has the same column types (PostgreSQL
/// insists; SQLite does not mind).
fn null(sql_type: &str) -> SimpleExpr {
    Expr::cust(format!("CAST(NULL AS {sql_type})"))
}

fn tag(value: i32) -> SimpleExpr {
    Expr::cust(value.to_string())
}

/// One branch of the union: the columns `kind, id, deal, at, text1, text2, text3, time2,
/// member, date1, date2, flag`, in that order.
struct Branch {
    kind: i32,
    id: SimpleExpr,
    deal: SimpleExpr,
    at: SimpleExpr,
    texts: [SimpleExpr; 3],
    time2: SimpleExpr,
    member: SimpleExpr,
    dates: [SimpleExpr; 2],
    flag: SimpleExpr,
    /// An interaction's external ID (last, so that the other positions stay put).
    external_id: SimpleExpr,
}

impl Branch {
    fn select<E: scope::TenantScoped>(
        self,
        ctx: &TenantCtx,
        deal_column: E::Column,
        deal_ids: &[Uuid],
    ) -> SelectStatement {
        let [t1, t2, t3] = self.texts;
        let [d1, d2] = self.dates;
        scope::select::<E>(ctx)
            .select_only()
            .column_as(tag(self.kind), "kind")
            .column_as(self.id, "id")
            .column_as(self.deal, "deal")
            .column_as(self.at, "at")
            .column_as(t1, "text1")
            .column_as(t2, "text2")
            .column_as(t3, "text3")
            .column_as(self.time2, "time2")
            .column_as(self.member, "member")
            .column_as(d1, "date1")
            .column_as(d2, "date2")
            .column_as(self.flag, "flag")
            .column_as(self.external_id, "external_id")
            .filter(deal_column.is_in(deal_ids.iter().copied()))
            .into_query()
    }
}

/// The histories of `deal_ids` (an empty one for a deal without any), in one statement.
pub async fn for_deals(ctx: &TenantCtx, conn: &impl Conn, deal_ids: &[Uuid]) -> AppResult<HashMap<Uuid, DealHistory>> {
    read(ctx, conn, deal_ids, Texts::All).await
}

/// Like [`for_deals`], without what the risk engine never reads (interaction summaries, who
/// logged them, external IDs): re-assessing thousands of deals after an import reads a
/// fraction of the bytes.
pub async fn for_assessment(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
) -> AppResult<HashMap<Uuid, DealHistory>> {
    read(ctx, conn, deal_ids, Texts::None).await
}

/// Whether interactions come with their texts.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Texts {
    All,
    None,
}

async fn read(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_ids: &[Uuid],
    texts: Texts,
) -> AppResult<HashMap<Uuid, DealHistory>> {
    let mut histories: HashMap<Uuid, DealHistory> = deal_ids.iter().map(|id| (*id, DealHistory::default())).collect();
    if deal_ids.is_empty() {
        return Ok(histories);
    }
    use close_date_change::Column as C;
    use interaction::Column as I;
    use interaction_member::Column as L;
    use stage_change::Column as S;
    let mut query = Branch {
        kind: INTERACTION,
        id: Expr::col(I::Id),
        deal: Expr::col(I::OpportunityId),
        at: Expr::col(I::OccurredAt),
        texts: match texts {
            Texts::All => [Expr::col(I::Kind), Expr::col(I::Summary), Expr::col(I::LoggedBy)],
            Texts::None => [Expr::col(I::Kind), null("text"), Expr::cust("CAST('' AS TEXT)")],
        },
        time2: Expr::col(I::CreatedAt),
        member: null("uuid"),
        dates: [null("date"), null("date")],
        flag: null("boolean"),
        external_id: match texts {
            Texts::All => Expr::col(I::ExternalId),
            Texts::None => null("text"),
        },
    }
    .select::<interaction::Entity>(ctx, I::OpportunityId, deal_ids);
    let links = Branch {
        kind: LINK,
        id: Expr::col(L::InteractionId),
        deal: Expr::col(L::OpportunityId),
        at: null("timestamp with time zone"),
        texts: [null("text"), null("text"), null("text")],
        time2: null("timestamp with time zone"),
        member: Expr::col(L::MemberId),
        dates: [null("date"), null("date")],
        flag: Expr::col(L::Direct),
        external_id: null("text"),
    }
    .select::<interaction_member::Entity>(ctx, L::OpportunityId, deal_ids);
    let stages = Branch {
        kind: STAGE_CHANGE,
        id: Expr::col(S::Id),
        deal: Expr::col(S::OpportunityId),
        at: Expr::col(S::ChangedAt),
        texts: [Expr::col(S::FromStage), Expr::col(S::ToStage), Expr::col(S::ChangedBy)],
        time2: null("timestamp with time zone"),
        member: null("uuid"),
        dates: [null("date"), null("date")],
        flag: null("boolean"),
        external_id: null("text"),
    }
    .select::<stage_change::Entity>(ctx, S::OpportunityId, deal_ids);
    let closes = Branch {
        kind: CLOSE_DATE_CHANGE,
        id: Expr::col(C::Id),
        deal: Expr::col(C::OpportunityId),
        at: Expr::col(C::ChangedAt),
        texts: [null("text"), null("text"), Expr::col(C::ChangedBy)],
        time2: null("timestamp with time zone"),
        member: null("uuid"),
        dates: [Expr::col(C::FromDate), Expr::col(C::ToDate)],
        flag: null("boolean"),
        external_id: null("text"),
    }
    .select::<close_date_change::Entity>(ctx, C::OpportunityId, deal_ids);
    query
        .union(UnionType::All, links)
        .union(UnionType::All, stages)
        .union(UnionType::All, closes);

    for row in conn.query_all(&query).await? {
        let deal: Uuid = row.try_get_by_index(2)?;
        let Some(history) = histories.get_mut(&deal) else {
            continue;
        };
        decode(&row, deal, history)?;
    }
    for history in histories.values_mut() {
        history
            .interactions
            .sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.id.cmp(&b.id)));
        history
            .stage_changes
            .sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
        history
            .close_date_changes
            .sort_by(|a, b| a.at.cmp(&b.at).then(a.id.cmp(&b.id)));
    }
    Ok(histories)
}

/// One history of one deal.
pub async fn for_deal(ctx: &TenantCtx, conn: &impl Conn, deal_id: Uuid) -> AppResult<DealHistory> {
    Ok(for_deals(ctx, conn, &[deal_id])
        .await?
        .remove(&deal_id)
        .unwrap_or_default())
}

/// Adds one union row to its deal's history, by column position.
fn decode(row: &QueryResult, deal: Uuid, history: &mut DealHistory) -> AppResult<()> {
    let kind: i32 = row.try_get_by_index(0)?;
    let id: Uuid = row.try_get_by_index(1)?;
    match kind {
        INTERACTION => {
            let kind_name: String = row.try_get_by_index(4)?;
            history.interactions.push(Arc::new(Interaction {
                id,
                opportunity_id: deal,
                kind: parse("interactions", &kind_name)?,
                occurred_at: row.try_get_by_index(3)?,
                summary: row.try_get_by_index(5)?,
                logged_by: row.try_get_by_index(6)?,
                created_at: row.try_get_by_index(7)?,
                external_id: row.try_get_by_index(12)?,
            }));
        }
        LINK => history.links.push(Link {
            interaction_id: id,
            member_id: row.try_get_by_index(8)?,
            opportunity_id: deal,
            direct: row.try_get_by_index(11)?,
        }),
        STAGE_CHANGE => {
            let from: Option<String> = row.try_get_by_index(4)?;
            let to: String = row.try_get_by_index(5)?;
            history.stage_changes.push(StageChange {
                id,
                opportunity_id: deal,
                from: from.as_deref().map(|s| parse("stage_changes", s)).transpose()?,
                to: parse("stage_changes", &to)?,
                at: row.try_get_by_index(3)?,
                by: row.try_get_by_index(6)?,
            });
        }
        CLOSE_DATE_CHANGE => history.close_date_changes.push(CloseDateChange {
            id,
            opportunity_id: deal,
            from: row.try_get_by_index(9)?,
            to: row.try_get_by_index(10)?,
            at: row.try_get_by_index(3)?,
            by: row.try_get_by_index(6)?,
        }),
        other => {
            return Err(crate::domain::AppError::Internal(format!(
                "deal history: unknown row kind {other}"
            )));
        }
    }
    Ok(())
}
