use sea_orm::entity::prelude::*;

/// A tenant's risk policy; a tenant without a row uses the defaults.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "risk_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    pub engagement_window_days: i32,
    pub min_engaged_members: i32,
    pub single_thread_share: f64,
    pub min_group_size: i32,
    /// Comma-separated `BuyingRole` names.
    pub required_roles: String,
    pub coverage_threshold: f64,
    pub stall_days: i32,
    pub dark_days: i32,
    pub max_close_date_pushes: i32,
    /// Comma-separated `CODE=points` pairs.
    pub weights: String,
    pub updated_at: DateTimeUtc,
    pub updated_by: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
