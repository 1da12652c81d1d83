//! The records dealgraph keeps, as the rest of the service sees them: typed (enums, not
//! strings; money in cents; a factor set, not a bit mask), without the tenant (every record
//! belongs to the caller's tenant, which the store scopes every query to).
//!
//! The store converts its rows into these in one place per table and back; a row that does
//! not convert is a corrupted row (`INTERNAL`). Services create records (ids and timestamps
//! included) and hand them to the store to write.

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use super::model::{Bandwidth, BuyingRole, FactorSet, Influence, InteractionKind, RiskLevel, Stage, Stance};

/// A customer company.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub id: Uuid,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The CRM's id of the record (unique per tenant and type), if it came with one.
    pub external_id: Option<String>,
}

/// A person at an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: Uuid,
    pub account_id: Uuid,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The CRM's id of the record (unique per tenant and type), if it came with one.
    pub external_id: Option<String>,
}

/// A deal (an opportunity) with its stored risk assessment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub owner_id: String,
    pub stage: Stage,
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close_date: Option<NaiveDate>,
    pub stage_entered_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, incremented by every update.
    pub version: i32,
    pub risk: StoredRisk,
    /// The CRM's id of the record (unique per tenant and type), if it came with one.
    pub external_id: Option<String>,
}

/// The assessment stored with a deal (refreshed by every write to its inputs, by policy
/// changes and by the periodic sweep), so boards filter and sort without computing risk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredRisk {
    pub score: u32,
    pub level: RiskLevel,
    pub factors: FactorSet,
    /// `None` until the deal is first assessed.
    pub assessed_at: Option<DateTime<Utc>>,
    /// Buying-group size at the assessment (for pipeline averages).
    pub group_size: u32,
    /// Members engaged directly in the engagement window at the assessment.
    pub engaged: u32,
}

impl StoredRisk {
    /// A deal that has not been assessed yet.
    pub const UNASSESSED: StoredRisk = StoredRisk {
        score: 0,
        level: RiskLevel::Low,
        factors: FactorSet::EMPTY,
        assessed_at: None,
        group_size: 0,
        engaged: 0,
    };
}

/// A person in a deal's buying group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub contact_id: Uuid,
    /// The contact's name and title when the member joined (contacts cannot be renamed), so
    /// boards and the risk engine never read the contacts.
    pub contact_name: String,
    pub contact_title: Option<String>,
    pub role: BuyingRole,
    pub stance: Stance,
    pub can_veto: bool,
    pub influence: Influence,
    pub bandwidth: Bandwidth,
    pub notes: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When the membership ended (`removeBuyingGroupMember`); `None` while the member is in
    /// the group. An ended membership stays: past interactions still name the person.
    pub removed_at: Option<DateTime<Utc>>,
    /// The CRM's id of the record (unique per tenant and type), if it came with one.
    pub external_id: Option<String>,
}

impl Member {
    /// True while the member is in the group (counts in risk, is listed in `buyingGroup`).
    pub fn is_current(&self) -> bool {
        self.removed_at.is_none()
    }
}

/// Something the seller did with members of a buying group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interaction {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<String>,
    /// Who logged it (the token's `sub`).
    pub logged_by: String,
    pub created_at: DateTime<Utc>,
    /// The CRM's id of the record (unique per tenant and type), if it came with one.
    pub external_id: Option<String>,
}

/// A member's part in an interaction: a participant (`direct`), or discussed in absence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Link {
    pub interaction_id: Uuid,
    pub member_id: Uuid,
    pub opportunity_id: Uuid,
    pub direct: bool,
}

/// A move of a deal into a stage (`from` is `None` for the stage it was created in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageChange {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub from: Option<Stage>,
    pub to: Stage,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A change of a deal's amount (in cents of the deal's currency).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmountChange {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    /// `None` for the amount the deal started with.
    pub from: Option<i64>,
    pub to: i64,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A change of a deal's expected close date (`None`: no date).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseDateChange {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub at: DateTime<Utc>,
    pub by: String,
}

/// A point of a deal's risk history: the stored assessment after it changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskPoint {
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub at: DateTime<Utc>,
    pub score: u32,
    pub level: RiskLevel,
    pub factors: FactorSet,
}
