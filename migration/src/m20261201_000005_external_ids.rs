//! External IDs (SPEC §7): the CRM's id of an account, contact, opportunity, buying-group
//! member or interaction, unique per tenant and type when present — what imports upsert by
//! and clients look records up by. Each index leads with `tenant_id`, as every index here does.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::string_len_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The tables that carry an external ID.
const TABLES: [&str; 5] = [
    "accounts",
    "contacts",
    "opportunities",
    "buying_group_members",
    "interactions",
];

fn index_name(table: &str) -> String {
    format!("uq_{table}_tenant_id_external_id")
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.alter_table(
                Table::alter()
                    .table(table)
                    .add_column(string_len_null("external_id", 255))
                    .to_owned(),
            )
            .await?;
            m.create_index(
                Index::create()
                    .name(index_name(table))
                    .table(table)
                    .col("tenant_id")
                    .col("external_id")
                    .unique()
                    .and_where(Expr::col("external_id").is_not_null())
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in TABLES {
            m.drop_index(Index::drop().name(index_name(table)).table(table).to_owned())
                .await?;
            m.alter_table(Table::alter().table(table).drop_column("external_id").to_owned())
                .await?;
        }
        Ok(())
    }
}
