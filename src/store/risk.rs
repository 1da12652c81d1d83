//! Everything risk needs from the database: the facts of a set of deals (in a fixed number
//! of queries, whatever the group and page sizes), and the stored assessment and its history.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use entity::{buying_group_member, interaction_member, opportunity, risk_history};
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, QueryFilter, QueryOrder, QuerySelect, Set};
use uuid::Uuid;

use super::opportunities::parse_stored;
use super::{Conn, db_error, interactions, members, opportunities, scope};
use crate::domain::model::{RiskFactorCode, RiskLevel, Stage};
use crate::domain::risk::{
    Assessment, CloseDateChangeFacts, DealFacts, InteractionFacts, MemberFacts, StageChangeFacts,
};
use crate::domain::{AppResult, TenantCtx};

/// One member as the engine needs it, with the rows behind it (for evidence).
pub struct MemberInput {
    pub row: Arc<buying_group_member::Model>,
    facts_role: crate::domain::model::BuyingRole,
    facts_stance: crate::domain::model::Stance,
    facts_influence: crate::domain::model::Influence,
    facts_bandwidth: crate::domain::model::Bandwidth,
}

struct InteractionInput {
    id: Uuid,
    occurred_at: DateTime<Utc>,
    participants: Vec<u16>,
    about: Vec<u16>,
}

/// The owned facts of one deal; [`DealInputs::with_facts`] lends them to the engine.
pub struct DealInputs {
    pub deal: opportunity::Model,
    /// In the order members joined the group (the order of `Opportunity.buyingGroup`).
    pub members: Vec<MemberInput>,
    /// The participant and `about` links of all the deal's interactions, as stored.
    pub links: Vec<interaction_member::Model>,
    interactions: Vec<InteractionInput>,
    stages: Vec<StageChangeFacts>,
    close_changes: Vec<CloseDateChangeFacts>,
    stage: Stage,
}

impl DealInputs {
    /// Runs `f` with the engine's borrowed view of this deal.
    pub fn with_facts<R>(&self, f: impl FnOnce(&DealFacts<'_>) -> R) -> R {
        let members: Vec<MemberFacts<'_>> = self
            .members
            .iter()
            .map(|m| MemberFacts {
                name: m.row.contact_name.as_str(),
                title: m.row.contact_title.as_deref(),
                role: m.facts_role,
                stance: m.facts_stance,
                can_veto: m.row.can_veto,
                influence: m.facts_influence,
                bandwidth: m.facts_bandwidth,
            })
            .collect();
        let interactions: Vec<InteractionFacts<'_>> = self
            .interactions
            .iter()
            .map(|i| InteractionFacts {
                occurred_at: i.occurred_at,
                participants: &i.participants,
                about: &i.about,
            })
            .collect();
        let facts = DealFacts {
            created_at: self.deal.created_at,
            stage: self.stage,
            stage_entered_at: self.deal.stage_entered_at,
            expected_close_date: self.deal.expected_close_date,
            stage_history: &self.stages,
            close_date_changes: &self.close_changes,
            members: &members,
            interactions: &interactions,
        };
        f(&facts)
    }

    /// The ids of all the deal's interactions.
    pub fn interaction_ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.interactions.iter().map(|i| i.id)
    }

    /// The index of a member in `members` (and in the engine's evidence sets).
    pub fn member_index(&self, member_id: Uuid) -> Option<u16> {
        self.members
            .iter()
            .position(|m| m.row.id == member_id)
            .and_then(|i| u16::try_from(i).ok())
    }
}

/// Loads the facts of `deals` with five queries, however many deals, members and interactions.
pub async fn load_inputs(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deals: Vec<opportunity::Model>,
) -> AppResult<Vec<DealInputs>> {
    if deals.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<Uuid> = deals.iter().map(|d| d.id).collect();
    let member_rows = members::for_opportunities(ctx, conn, &ids).await?;
    let interaction_rows = interactions::times_for_opportunities(ctx, conn, &ids).await?;
    let link_rows = interactions::links_for_opportunities(ctx, conn, &ids).await?;
    let stage_rows = opportunities::stage_history(ctx, conn, &ids).await?;
    let close_rows = opportunities::close_date_history(ctx, conn, &ids).await?;

    let mut by_deal: HashMap<Uuid, DealInputs> = HashMap::with_capacity(deals.len());
    let mut order = Vec::with_capacity(deals.len());
    for deal in deals {
        order.push(deal.id);
        let stage = parse_stored(&deal.stage)?;
        by_deal.insert(
            deal.id,
            DealInputs {
                deal,
                members: Vec::new(),
                links: Vec::new(),
                interactions: Vec::new(),
                stages: Vec::new(),
                close_changes: Vec::new(),
                stage,
            },
        );
    }
    // Member id → (deal, index in its group).
    let mut member_slot: HashMap<Uuid, u16> = HashMap::with_capacity(member_rows.len());
    for row in member_rows {
        let Some(inputs) = by_deal.get_mut(&row.opportunity_id) else {
            continue;
        };
        let Ok(index) = u16::try_from(inputs.members.len()) else {
            continue;
        };
        member_slot.insert(row.id, index);
        inputs.members.push(MemberInput {
            facts_role: parse_stored(&row.role)?,
            facts_stance: parse_stored(&row.stance)?,
            facts_influence: parse_stored(&row.influence)?,
            facts_bandwidth: parse_stored(&row.bandwidth)?,
            row: Arc::new(row),
        });
    }
    let mut links: HashMap<Uuid, (Vec<u16>, Vec<u16>)> = HashMap::new();
    for link in link_rows {
        if let Some(inputs) = by_deal.get_mut(&link.opportunity_id) {
            inputs.links.push(link.clone());
        }
        if let Some(index) = member_slot.get(&link.member_id) {
            let entry = links.entry(link.interaction_id).or_default();
            if link.direct {
                entry.0.push(*index)
            } else {
                entry.1.push(*index)
            }
        }
    }
    for (id, deal_id, occurred_at) in interaction_rows {
        let Some(inputs) = by_deal.get_mut(&deal_id) else {
            continue;
        };
        let (participants, about) = links.remove(&id).unwrap_or_default();
        inputs.interactions.push(InteractionInput {
            id,
            occurred_at,
            participants,
            about,
        });
    }
    for row in stage_rows {
        let Some(inputs) = by_deal.get_mut(&row.opportunity_id) else {
            continue;
        };
        inputs.stages.push(StageChangeFacts {
            to: parse_stored(&row.to_stage)?,
            at: row.changed_at,
        });
    }
    for row in close_rows {
        let Some(inputs) = by_deal.get_mut(&row.opportunity_id) else {
            continue;
        };
        inputs.close_changes.push(CloseDateChangeFacts {
            from: row.from_date,
            to: row.to_date,
            at: row.changed_at,
        });
    }
    Ok(order.into_iter().filter_map(|id| by_deal.remove(&id)).collect())
}

/// The bit set of factor codes, as stored in `risk_factor_mask`.
pub fn factor_mask(assessment: &Assessment) -> i64 {
    assessment
        .codes()
        .fold(0_i64, |mask, code| mask | (1_i64 << code.index()))
}

pub fn codes_of_mask(mask: i64) -> Vec<RiskFactorCode> {
    RiskFactorCode::ALL
        .iter()
        .copied()
        .filter(|c| mask & (1 << c.index()) != 0)
        .collect()
}

/// Stores `assessment` as the deal's current one (with the group figures behind it), and
/// appends a history point when score, level or factor set changed (or on the first
/// assessment). Returns whether the score, level or factor set changed.
pub async fn save(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal: &DealInputs,
    assessment: &Assessment,
    at: DateTime<Utc>,
) -> AppResult<bool> {
    let row = &deal.deal;
    let score = i32::try_from(assessment.score).unwrap_or(100);
    let level = assessment.level.as_str();
    let mask = factor_mask(assessment);
    let group_size = i32::try_from(deal.members.len()).unwrap_or(i32::MAX);
    let engaged = i32::try_from(assessment.directly_engaged).unwrap_or(i32::MAX);
    let changed = row.risk_assessed_at.is_none()
        || row.risk_score != score
        || row.risk_level != level
        || row.risk_factor_mask != mask;
    if !changed && row.risk_group_size == group_size && row.risk_engaged == engaged {
        return Ok(false);
    }
    let mut update = scope::update::<opportunity::Entity>(ctx)
        .filter(opportunity::Column::Id.eq(row.id))
        .col_expr(opportunity::Column::RiskGroupSize, Expr::val(group_size))
        .col_expr(opportunity::Column::RiskEngaged, Expr::val(engaged));
    if changed {
        update = update
            .col_expr(opportunity::Column::RiskScore, Expr::val(score))
            .col_expr(opportunity::Column::RiskLevel, Expr::val(level))
            .col_expr(opportunity::Column::RiskFactorMask, Expr::val(mask))
            .col_expr(opportunity::Column::RiskAssessedAt, Expr::val(at));
    }
    update.exec(conn).await.map_err(db_error)?;
    if !changed {
        return Ok(false);
    }
    let point = risk_history::ActiveModel {
        id: Set(Uuid::now_v7()),
        opportunity_id: Set(row.id),
        assessed_at: Set(at),
        score: Set(score),
        level: Set(level.to_owned()),
        factor_mask: Set(mask),
        ..Default::default()
    };
    scope::owned(ctx, point).insert(conn).await.map_err(db_error)?;
    Ok(true)
}

/// A deal's risk history since `since` (all of it when `None`), oldest first.
pub async fn history(
    ctx: &TenantCtx,
    conn: &impl Conn,
    deal_id: Uuid,
    since: Option<DateTime<Utc>>,
) -> AppResult<Vec<risk_history::Model>> {
    let mut select = scope::select::<risk_history::Entity>(ctx).filter(risk_history::Column::OpportunityId.eq(deal_id));
    if let Some(since) = since {
        select = select.filter(risk_history::Column::AssessedAt.gte(since));
    }
    select
        .order_by_asc(risk_history::Column::AssessedAt)
        .order_by_asc(risk_history::Column::Id)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Up to `limit` open deals with ids after `after`, by id (for batched refreshes).
pub async fn open_deals_after(
    ctx: &TenantCtx,
    conn: &impl Conn,
    after: Option<Uuid>,
    limit: u64,
) -> AppResult<Vec<opportunity::Model>> {
    let closed = [Stage::ClosedWon.as_str(), Stage::ClosedLost.as_str()];
    let mut select = scope::select::<opportunity::Entity>(ctx).filter(opportunity::Column::Stage.is_not_in(closed));
    if let Some(after) = after {
        select = select.filter(opportunity::Column::Id.gt(after));
    }
    select
        .order_by_asc(opportunity::Column::Id)
        .limit(limit)
        .all(conn)
        .await
        .map_err(db_error)
}

/// Parses a stored level (for history points).
pub fn stored_level(raw: &str) -> AppResult<RiskLevel> {
    parse_stored(raw)
}
