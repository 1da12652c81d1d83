//! Amount history (SPEC §7's `amount_change` records; SPEC §8's pipeline as of a date): one row
//! per change of a deal's amount, beside its stage and close-date changes.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, big_integer_null, string_len, timestamp_with_time_zone, uuid};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLE: &str = "amount_changes";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TABLE)
                .col(string_len("tenant_id", 64))
                .col(uuid("id"))
                .col(uuid("opportunity_id"))
                .col(big_integer_null("from_cents"))
                .col(big_integer("to_cents"))
                .col(timestamp_with_time_zone("changed_at"))
                .col(string_len("changed_by", 200))
                .primary_key(Index::create().col("tenant_id").col("id"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_amount_changes_opportunity_id")
                        .from_tbl(TABLE)
                        .from_col("tenant_id")
                        .from_col("opportunity_id")
                        .to_tbl("opportunities")
                        .to_col("tenant_id")
                        .to_col("id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_amount_changes_tenant_id_opportunity_id_changed_at")
                .table(TABLE)
                .col("tenant_id")
                .col("opportunity_id")
                .col("changed_at")
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(TABLE).to_owned()).await
    }
}
