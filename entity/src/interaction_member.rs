use sea_orm::entity::prelude::*;

/// Who an interaction involved: `direct` participants, or members it was `about`
/// (discussed, not present). The opportunity is repeated so that foreign keys can prove
/// interaction and member belong to the same deal.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "interaction_members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub tenant_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub interaction_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub member_id: Uuid,
    pub opportunity_id: Uuid,
    pub direct: bool,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
