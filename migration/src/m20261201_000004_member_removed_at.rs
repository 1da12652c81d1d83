//! A membership ends instead of being deleted (SPEC §5): `removed_at` says when, the member's
//! past interaction links stay, and the same contact may join again as a new membership — so
//! "one membership per contact and deal" holds for current memberships only.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::timestamp_with_time_zone_null;

#[derive(DeriveMigrationName)]
pub struct Migration;

const MEMBERS: &str = "buying_group_members";
/// One membership per contact and deal, ever (the old rule).
const ONE_EVER: &str = "uq_buying_group_members_tenant_id_opportunity_id_contact_id";
/// One current membership per contact and deal. A name of its own: the migrator runs its
/// statements on any pooled connection, and a SQLite connection that did not see a drop
/// still knows the old index by its name.
const ONE_CURRENT: &str = "uq_buying_group_members_current_contact_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(MEMBERS)
                .add_column(timestamp_with_time_zone_null("removed_at"))
                .to_owned(),
        )
        .await?;
        // A partial unique index (SQLite and PostgreSQL both have them).
        m.create_index(
            Index::create()
                .name(ONE_CURRENT)
                .table(MEMBERS)
                .col("tenant_id")
                .col("opportunity_id")
                .col("contact_id")
                .unique()
                .and_where(Expr::col("removed_at").is_null())
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(ONE_EVER).table(MEMBERS).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // Ended memberships cannot survive the old rule: they go, with their links.
        m.get_connection()
            .execute_unprepared(&format!("DELETE FROM {MEMBERS} WHERE removed_at IS NOT NULL"))
            .await?;
        m.create_index(
            Index::create()
                .name(ONE_EVER)
                .table(MEMBERS)
                .col("tenant_id")
                .col("opportunity_id")
                .col("contact_id")
                .unique()
                .to_owned(),
        )
        .await?;
        m.drop_index(Index::drop().name(ONE_CURRENT).table(MEMBERS).to_owned())
            .await?;
        m.alter_table(Table::alter().table(MEMBERS).drop_column("removed_at").to_owned())
            .await
    }
}
