//! Rows ⇄ domain records, one place per table. Enumerations are stored by their API names
//! (`"NEGOTIATION"`), money as cents, factor sets as bit masks, the policy's lists as
//! comma-separated text. A stored value that does not convert back is a corrupted row: an
//! `INTERNAL` error that names the table and the value (logged at the edge, never sent).
//!
//! New rows leave `tenant_id` unset: [`scope::owned`](super::scope::owned) stamps the caller's.

use std::str::FromStr;

use entity::{
    account, amount_change, buying_group_member, close_date_change, contact, interaction, interaction_member,
    opportunity, risk_history, risk_policy, stage_change,
};
use sea_orm::{ActiveValue::NotSet, DbErr, QueryResult, Set};

use crate::domain::model::{BuyingRole, FactorSet, RiskFactorCode};
use crate::domain::records::{
    Account, AmountChange, CloseDateChange, Contact, Deal, Interaction, Link, Member, RiskPoint, StageChange,
    StoredRisk,
};
use crate::domain::risk::RiskPolicy;
use crate::domain::{AppError, AppResult};

fn corrupted(table: &str, detail: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("corrupted {table} row: {detail}"))
}

/// A stored enumeration name back to its value.
pub(super) fn parse<T>(table: &str, raw: &str) -> AppResult<T>
where
    T: FromStr,
    T::Err: std::fmt::Display,
{
    raw.parse().map_err(|err| corrupted(table, err))
}

fn unsigned(table: &str, value: i32) -> AppResult<u32> {
    u32::try_from(value).map_err(|_| corrupted(table, format!("negative count {value}")))
}

/// A count as stored (saturating: counts never come near `i32::MAX`).
pub(super) fn signed(value: u32) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(super) fn factors(table: &str, mask: i64) -> AppResult<FactorSet> {
    FactorSet::from_bits(mask).ok_or_else(|| corrupted(table, format!("factor mask {mask}")))
}

impl TryFrom<account::Model> for Account {
    type Error = AppError;
    fn try_from(row: account::Model) -> AppResult<Account> {
        Ok(Account {
            id: row.id,
            external_id: row.external_id,
            name: row.name,
            domain: row.domain,
            industry: row.industry,
            created_at: row.created_at,
        })
    }
}

pub fn account_row(a: &Account) -> account::ActiveModel {
    account::ActiveModel {
        tenant_id: NotSet,
        id: Set(a.id),
        external_id: Set(a.external_id.clone()),
        name: Set(a.name.clone()),
        domain: Set(a.domain.clone()),
        industry: Set(a.industry.clone()),
        created_at: Set(a.created_at),
    }
}

impl TryFrom<contact::Model> for Contact {
    type Error = AppError;
    fn try_from(row: contact::Model) -> AppResult<Contact> {
        Ok(Contact {
            id: row.id,
            external_id: row.external_id,
            account_id: row.account_id,
            full_name: row.full_name,
            title: row.title,
            email: row.email,
            created_at: row.created_at,
        })
    }
}

pub fn contact_row(c: &Contact) -> contact::ActiveModel {
    contact::ActiveModel {
        tenant_id: NotSet,
        id: Set(c.id),
        external_id: Set(c.external_id.clone()),
        account_id: Set(c.account_id),
        full_name: Set(c.full_name.clone()),
        title: Set(c.title.clone()),
        email: Set(c.email.clone()),
        created_at: Set(c.created_at),
    }
}

impl TryFrom<opportunity::Model> for Deal {
    type Error = AppError;
    fn try_from(row: opportunity::Model) -> AppResult<Deal> {
        const T: &str = "opportunities";
        Ok(Deal {
            id: row.id,
            external_id: row.external_id,
            account_id: row.account_id,
            name: row.name,
            owner_id: row.owner_id,
            stage: parse(T, &row.stage)?,
            amount_cents: row.amount_cents,
            currency: row.currency,
            expected_close_date: row.expected_close_date,
            stage_entered_at: row.stage_entered_at,
            closed_at: row.closed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            version: row.version,
            risk: StoredRisk {
                score: unsigned(T, row.risk_score)?,
                level: parse(T, &row.risk_level)?,
                factors: factors(T, row.risk_factor_mask)?,
                assessed_at: row.risk_assessed_at,
                group_size: unsigned(T, row.risk_group_size)?,
                engaged: unsigned(T, row.risk_engaged)?,
            },
        })
    }
}

pub fn deal_row(d: &Deal) -> opportunity::ActiveModel {
    opportunity::ActiveModel {
        tenant_id: NotSet,
        id: Set(d.id),
        external_id: Set(d.external_id.clone()),
        account_id: Set(d.account_id),
        name: Set(d.name.clone()),
        owner_id: Set(d.owner_id.clone()),
        stage: Set(d.stage.as_str().to_owned()),
        amount_cents: Set(d.amount_cents),
        currency: Set(d.currency.clone()),
        expected_close_date: Set(d.expected_close_date),
        stage_entered_at: Set(d.stage_entered_at),
        closed_at: Set(d.closed_at),
        created_at: Set(d.created_at),
        updated_at: Set(d.updated_at),
        version: Set(d.version),
        risk_score: Set(signed(d.risk.score)),
        risk_level: Set(d.risk.level.as_str().to_owned()),
        risk_factor_mask: Set(d.risk.factors.bits()),
        risk_assessed_at: Set(d.risk.assessed_at),
        risk_group_size: Set(signed(d.risk.group_size)),
        risk_engaged: Set(signed(d.risk.engaged)),
    }
}

impl TryFrom<buying_group_member::Model> for Member {
    type Error = AppError;
    fn try_from(row: buying_group_member::Model) -> AppResult<Member> {
        const T: &str = "buying_group_members";
        Ok(Member {
            id: row.id,
            external_id: row.external_id,
            opportunity_id: row.opportunity_id,
            contact_id: row.contact_id,
            contact_name: row.contact_name,
            contact_title: row.contact_title,
            role: parse(T, &row.role)?,
            stance: parse(T, &row.stance)?,
            can_veto: row.can_veto,
            influence: parse(T, &row.influence)?,
            bandwidth: parse(T, &row.bandwidth)?,
            notes: row.notes,
            created_at: row.created_at,
            removed_at: row.removed_at,
        })
    }
}

/// The member columns, in the order [`decode_member`] reads them.
pub(super) const MEMBER_COLUMNS: [buying_group_member::Column; 14] = [
    buying_group_member::Column::Id,
    buying_group_member::Column::OpportunityId,
    buying_group_member::Column::ContactId,
    buying_group_member::Column::ContactName,
    buying_group_member::Column::ContactTitle,
    buying_group_member::Column::Role,
    buying_group_member::Column::Stance,
    buying_group_member::Column::CanVeto,
    buying_group_member::Column::Influence,
    buying_group_member::Column::Bandwidth,
    buying_group_member::Column::Notes,
    buying_group_member::Column::CreatedAt,
    buying_group_member::Column::RemovedAt,
    buying_group_member::Column::ExternalId,
];

/// A member from the first 14 columns of a row, by position: boards read hundreds of members,
/// and decoding by column name cost more server time than the query itself.
pub(super) fn decode_member(r: &QueryResult) -> AppResult<Member> {
    let text = |i: usize| -> Result<String, DbErr> { r.try_get_by_index(i) };
    Ok(Member {
        id: r.try_get_by_index(0)?,
        opportunity_id: r.try_get_by_index(1)?,
        contact_id: r.try_get_by_index(2)?,
        contact_name: text(3)?,
        contact_title: r.try_get_by_index(4)?,
        role: parse("buying_group_members", &text(5)?)?,
        stance: parse("buying_group_members", &text(6)?)?,
        can_veto: r.try_get_by_index(7)?,
        influence: parse("buying_group_members", &text(8)?)?,
        bandwidth: parse("buying_group_members", &text(9)?)?,
        notes: r.try_get_by_index(10)?,
        created_at: r.try_get_by_index(11)?,
        removed_at: r.try_get_by_index(12)?,
        external_id: r.try_get_by_index(13)?,
    })
}

pub fn member_row(m: &Member) -> buying_group_member::ActiveModel {
    buying_group_member::ActiveModel {
        tenant_id: NotSet,
        id: Set(m.id),
        external_id: Set(m.external_id.clone()),
        opportunity_id: Set(m.opportunity_id),
        contact_id: Set(m.contact_id),
        contact_name: Set(m.contact_name.clone()),
        contact_title: Set(m.contact_title.clone()),
        role: Set(m.role.as_str().to_owned()),
        stance: Set(m.stance.as_str().to_owned()),
        can_veto: Set(m.can_veto),
        influence: Set(m.influence.as_str().to_owned()),
        bandwidth: Set(m.bandwidth.as_str().to_owned()),
        notes: Set(m.notes.clone()),
        created_at: Set(m.created_at),
        removed_at: Set(m.removed_at),
    }
}

impl TryFrom<interaction::Model> for Interaction {
    type Error = AppError;
    fn try_from(row: interaction::Model) -> AppResult<Interaction> {
        Ok(Interaction {
            id: row.id,
            external_id: row.external_id,
            opportunity_id: row.opportunity_id,
            kind: parse("interactions", &row.kind)?,
            occurred_at: row.occurred_at,
            summary: row.summary,
            logged_by: row.logged_by,
            created_at: row.created_at,
        })
    }
}

pub fn interaction_row(i: &Interaction) -> interaction::ActiveModel {
    interaction::ActiveModel {
        tenant_id: NotSet,
        id: Set(i.id),
        external_id: Set(i.external_id.clone()),
        opportunity_id: Set(i.opportunity_id),
        kind: Set(i.kind.as_str().to_owned()),
        occurred_at: Set(i.occurred_at),
        summary: Set(i.summary.clone()),
        logged_by: Set(i.logged_by.clone()),
        created_at: Set(i.created_at),
    }
}

impl TryFrom<interaction_member::Model> for Link {
    type Error = AppError;
    fn try_from(row: interaction_member::Model) -> AppResult<Link> {
        Ok(Link {
            interaction_id: row.interaction_id,
            member_id: row.member_id,
            opportunity_id: row.opportunity_id,
            direct: row.direct,
        })
    }
}

pub fn link_row(l: &Link) -> interaction_member::ActiveModel {
    interaction_member::ActiveModel {
        tenant_id: NotSet,
        interaction_id: Set(l.interaction_id),
        member_id: Set(l.member_id),
        opportunity_id: Set(l.opportunity_id),
        direct: Set(l.direct),
    }
}

impl TryFrom<stage_change::Model> for StageChange {
    type Error = AppError;
    fn try_from(row: stage_change::Model) -> AppResult<StageChange> {
        const T: &str = "stage_changes";
        Ok(StageChange {
            id: row.id,
            opportunity_id: row.opportunity_id,
            from: row.from_stage.as_deref().map(|s| parse(T, s)).transpose()?,
            to: parse(T, &row.to_stage)?,
            at: row.changed_at,
            by: row.changed_by,
        })
    }
}

pub fn stage_change_row(c: &StageChange) -> stage_change::ActiveModel {
    stage_change::ActiveModel {
        tenant_id: NotSet,
        id: Set(c.id),
        opportunity_id: Set(c.opportunity_id),
        from_stage: Set(c.from.map(|s| s.as_str().to_owned())),
        to_stage: Set(c.to.as_str().to_owned()),
        changed_at: Set(c.at),
        changed_by: Set(c.by.clone()),
    }
}

impl TryFrom<close_date_change::Model> for CloseDateChange {
    type Error = AppError;
    fn try_from(row: close_date_change::Model) -> AppResult<CloseDateChange> {
        Ok(CloseDateChange {
            id: row.id,
            opportunity_id: row.opportunity_id,
            from: row.from_date,
            to: row.to_date,
            at: row.changed_at,
            by: row.changed_by,
        })
    }
}

pub fn close_date_change_row(c: &CloseDateChange) -> close_date_change::ActiveModel {
    close_date_change::ActiveModel {
        tenant_id: NotSet,
        id: Set(c.id),
        opportunity_id: Set(c.opportunity_id),
        from_date: Set(c.from),
        to_date: Set(c.to),
        changed_at: Set(c.at),
        changed_by: Set(c.by.clone()),
    }
}

impl TryFrom<amount_change::Model> for AmountChange {
    type Error = AppError;
    fn try_from(row: amount_change::Model) -> AppResult<AmountChange> {
        Ok(AmountChange {
            id: row.id,
            opportunity_id: row.opportunity_id,
            from: row.from_cents,
            to: row.to_cents,
            at: row.changed_at,
            by: row.changed_by,
        })
    }
}

pub fn amount_change_row(c: &AmountChange) -> amount_change::ActiveModel {
    amount_change::ActiveModel {
        tenant_id: NotSet,
        id: Set(c.id),
        opportunity_id: Set(c.opportunity_id),
        from_cents: Set(c.from),
        to_cents: Set(c.to),
        changed_at: Set(c.at),
        changed_by: Set(c.by.clone()),
    }
}

impl TryFrom<risk_history::Model> for RiskPoint {
    type Error = AppError;
    fn try_from(row: risk_history::Model) -> AppResult<RiskPoint> {
        const T: &str = "risk_history";
        Ok(RiskPoint {
            id: row.id,
            opportunity_id: row.opportunity_id,
            at: row.assessed_at,
            score: unsigned(T, row.score)?,
            level: parse(T, &row.level)?,
            factors: factors(T, row.factor_mask)?,
        })
    }
}

pub fn risk_point_row(p: &RiskPoint) -> risk_history::ActiveModel {
    risk_history::ActiveModel {
        tenant_id: NotSet,
        id: Set(p.id),
        opportunity_id: Set(p.opportunity_id),
        assessed_at: Set(p.at),
        score: Set(signed(p.score)),
        level: Set(p.level.as_str().to_owned()),
        factor_mask: Set(p.factors.bits()),
    }
}

impl TryFrom<risk_policy::Model> for RiskPolicy {
    type Error = AppError;
    fn try_from(row: risk_policy::Model) -> AppResult<RiskPolicy> {
        const T: &str = "risk_policies";
        let mut policy = RiskPolicy {
            engagement_window_days: unsigned(T, row.engagement_window_days)?,
            min_engaged_members: unsigned(T, row.min_engaged_members)?,
            single_thread_share: row.single_thread_share,
            min_group_size: unsigned(T, row.min_group_size)?,
            required_roles: row
                .required_roles
                .split(',')
                .filter(|s| !s.is_empty())
                .map(|s| parse::<BuyingRole>(T, s))
                .collect::<AppResult<_>>()?,
            coverage_threshold: row.coverage_threshold,
            stall_days: unsigned(T, row.stall_days)?,
            dark_days: unsigned(T, row.dark_days)?,
            max_close_date_pushes: unsigned(T, row.max_close_date_pushes)?,
            ..RiskPolicy::default()
        };
        for pair in row.weights.split(',').filter(|s| !s.is_empty()) {
            let (code, points) = pair
                .split_once('=')
                .ok_or_else(|| corrupted(T, format!("weight {pair:?}")))?;
            let points: u32 = points.parse().map_err(|_| corrupted(T, format!("weight {pair:?}")))?;
            policy.weights[parse::<RiskFactorCode>(T, code)?.index()] = points;
        }
        Ok(policy)
    }
}

/// The policy as stored; `updated_by` is who changed it.
pub fn policy_row(
    policy: &RiskPolicy,
    updated_by: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> risk_policy::ActiveModel {
    risk_policy::ActiveModel {
        tenant_id: NotSet,
        engagement_window_days: Set(signed(policy.engagement_window_days)),
        min_engaged_members: Set(signed(policy.min_engaged_members)),
        single_thread_share: Set(policy.single_thread_share),
        min_group_size: Set(signed(policy.min_group_size)),
        required_roles: Set(policy
            .required_roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")),
        coverage_threshold: Set(policy.coverage_threshold),
        stall_days: Set(signed(policy.stall_days)),
        dark_days: Set(signed(policy.dark_days)),
        max_close_date_pushes: Set(signed(policy.max_close_date_pushes)),
        weights: Set(RiskFactorCode::ALL
            .iter()
            .map(|c| format!("{}={}", c.as_str(), policy.points(*c)))
            .collect::<Vec<_>>()
            .join(",")),
        updated_at: Set(now),
        updated_by: Set(updated_by.to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use uuid::Uuid;

    use super::*;

    #[test]
    fn a_stored_enum_that_names_nothing_is_an_internal_error_naming_the_table() {
        let now = Utc::now();
        let row = interaction::Model {
            external_id: None,
            tenant_id: "t".into(),
            id: Uuid::now_v7(),
            opportunity_id: Uuid::now_v7(),
            kind: "TELEPATHY".into(),
            occurred_at: now,
            summary: None,
            logged_by: "u".into(),
            created_at: now,
        };
        let err = Interaction::try_from(row).expect_err("not a kind");
        assert!(
            matches!(&err, AppError::Internal(detail) if detail.contains("interactions") && detail.contains("TELEPATHY")),
            "{err:?}"
        );
        assert_eq!(err.code(), "INTERNAL");
    }

    #[test]
    fn policies_round_trip_through_their_row() {
        let policy = RiskPolicy::default().with_points(RiskFactorCode::Stalled, 40);
        let row = policy_row(&policy, "admin", Utc::now());
        let model = risk_policy::Model {
            tenant_id: "t".into(),
            engagement_window_days: row.engagement_window_days.unwrap(),
            min_engaged_members: row.min_engaged_members.unwrap(),
            single_thread_share: row.single_thread_share.unwrap(),
            min_group_size: row.min_group_size.unwrap(),
            required_roles: row.required_roles.unwrap(),
            coverage_threshold: row.coverage_threshold.unwrap(),
            stall_days: row.stall_days.unwrap(),
            dark_days: row.dark_days.unwrap(),
            max_close_date_pushes: row.max_close_date_pushes.unwrap(),
            weights: row.weights.unwrap(),
            updated_at: row.updated_at.unwrap(),
            updated_by: row.updated_by.unwrap(),
        };
        assert_eq!(RiskPolicy::try_from(model).ok(), Some(policy));
    }
}
