//! Covering indexes for the pipeline "as of" a past instant (SPEC §8): each history table's
//! per-deal index gains the row's id and value, so that the newest change per deal at an
//! instant is read from the index alone, in order (no table access, no sort); the members'
//! join and leave instants likewise for the group size then. Each replaces the plain
//! per-deal index it extends (which still serves a deal's history in order), so writes
//! maintain no more indexes than before, except the members' one.
//!
//! PostgreSQL keeps the values as `INCLUDE` columns; SQLite, which has no `INCLUDE`, as
//! trailing key columns (an index holding every column a query reads covers it there too).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, instant column, value columns, the index it replaces).
const HISTORIES: [(&str, &str, &[&str], Option<&str>); 5] = [
    (
        "stage_changes",
        "changed_at",
        &["to_stage"],
        Some("idx_stage_changes_tenant_id_opportunity_id_changed_at"),
    ),
    (
        "amount_changes",
        "changed_at",
        &["to_cents"],
        Some("idx_amount_changes_tenant_id_opportunity_id_changed_at"),
    ),
    (
        "close_date_changes",
        "changed_at",
        &["to_date"],
        Some("idx_close_date_changes_tenant_id_opportunity_id_changed_at"),
    ),
    (
        "risk_history",
        "assessed_at",
        &["score", "level", "factor_mask"],
        Some("idx_risk_history_tenant_id_opportunity_id_assessed_at"),
    ),
    ("buying_group_members", "created_at", &["removed_at"], None),
];

fn create(backend: DbBackend, table: &str, at: &str, values: &[&str]) -> String {
    let values = values.join(", ");
    // Members are counted per deal, not ordered: the deal is the key, the instants ride along.
    let keys = if table == "buying_group_members" {
        "tenant_id, opportunity_id".to_owned()
    } else {
        format!("tenant_id, opportunity_id, {at}, id")
    };
    match backend {
        DbBackend::Postgres if table == "buying_group_members" => {
            format!("CREATE INDEX idx_{table}_as_of ON {table} ({keys}) INCLUDE ({at}, {values})")
        }
        DbBackend::Postgres => format!("CREATE INDEX idx_{table}_as_of ON {table} ({keys}) INCLUDE ({values})"),
        _ if table == "buying_group_members" => {
            format!("CREATE INDEX idx_{table}_as_of ON {table} ({keys}, {at}, {values})")
        }
        _ => format!("CREATE INDEX idx_{table}_as_of ON {table} ({keys}, {values})"),
    }
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        let backend = db.get_database_backend();
        for (table, at, values, replaces) in HISTORIES {
            db.execute_unprepared(&create(backend, table, at, values)).await?;
            if let Some(old) = replaces {
                db.execute_unprepared(&format!("DROP INDEX {old}")).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (table, at, _, replaces) in HISTORIES {
            if let Some(old) = replaces {
                db.execute_unprepared(&format!(
                    "CREATE INDEX {old} ON {table} (tenant_id, opportunity_id, {at})"
                ))
                .await?;
            }
            db.execute_unprepared(&format!("DROP INDEX idx_{table}_as_of")).await?;
        }
        Ok(())
    }
}
