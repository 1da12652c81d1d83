//! Buying-group members carry their contact's name and title.
//!
//! The deal board shows every member's name; reading it from `contacts` cost 600 primary-key
//! probes per board of 50 deals (BENCHMARKS.md). Contacts cannot be renamed through the API,
//! so the copy taken when a member joins stays true; whatever renames contacts one day must
//! update these columns in the same transaction.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{string_len, string_len_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

const MEMBERS: &str = "buying_group_members";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per ALTER TABLE.
        m.alter_table(
            Table::alter()
                .table(MEMBERS)
                .add_column(string_len("contact_name", 200).default(""))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(MEMBERS)
                .add_column(string_len_null("contact_title", 200))
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE buying_group_members SET \
                   contact_name = (SELECT c.full_name FROM contacts c \
                                   WHERE c.tenant_id = buying_group_members.tenant_id AND c.id = buying_group_members.contact_id), \
                   contact_title = (SELECT c.title FROM contacts c \
                                    WHERE c.tenant_id = buying_group_members.tenant_id AND c.id = buying_group_members.contact_id)",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["contact_title", "contact_name"] {
            m.alter_table(Table::alter().table(MEMBERS).drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }
}
