use sea_orm::entity::prelude::*;

/// A deal. `risk_*` columns hold the stored assessment (refreshed with every write that
/// changes the deal's inputs, and by the periodic sweep) so boards filter and sort by index.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "opportunities")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub account_id: Uuid,
    pub name: String,
    pub owner_id: String,
    pub stage: String,
    /// Amount in minor units (hundredths of the currency unit).
    pub amount_cents: i64,
    pub currency: String,
    pub expected_close_date: Option<Date>,
    pub stage_entered_at: DateTimeUtc,
    pub closed_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Optimistic-concurrency version, incremented by every update.
    pub version: i32,
    pub risk_score: i32,
    pub risk_level: String,
    /// Bit `i` set when the factor with `RiskFactorCode::index() == i` fired.
    pub risk_factor_mask: i64,
    pub risk_assessed_at: Option<DateTimeUtc>,
    /// Buying-group size at the last assessment (for pipeline averages).
    pub risk_group_size: i32,
    /// Members engaged directly in the engagement window at the last assessment.
    pub risk_engaged: i32,
    /// The CRM's id of the record, unique per tenant and type when present.
    pub external_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
