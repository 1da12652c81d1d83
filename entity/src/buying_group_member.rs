use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "buying_group_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub opportunity_id: Uuid,
    pub contact_id: Uuid,
    /// The contact's `full_name` when the member joined (contacts cannot be renamed).
    pub contact_name: String,
    /// The contact's `title` when the member joined.
    pub contact_title: Option<String>,
    pub role: String,
    pub stance: String,
    pub can_veto: bool,
    pub influence: String,
    pub bandwidth: String,
    pub notes: Option<String>,
    pub created_at: DateTimeUtc,
    /// When the membership ended; `None` while the member is in the group.
    pub removed_at: Option<DateTimeUtc>,
    /// The CRM's id of the record, unique per tenant and type when present.
    pub external_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
