//! Indexes the benchmark's `EXPLAIN (ANALYZE, BUFFERS)` asked for (BENCHMARKS.md has the
//! plans before and after). Each leads with `tenant_id`, like every index of the schema, and
//! each ends with the sort key and `id`, so one index both filters and returns a page of
//! the board in order, and counts (`totalCount`) by index-only scans.
//!
//! - An owner's deals by stored risk (a seller's own board) replaces the owner index, whose
//!   `(owner_id, id)` order helped no listing (every listing sorts by a key, then id).
//! - Deals of one risk level, and of one currency, by stored risk: the board's filters that
//!   otherwise scanned the tenant's rows to count them.
//! - Deals by expected close date with the deals without one last: the listing sorts on
//!   `expected_close_date IS NULL` first (the same NULL order on both engines), which the
//!   plain close-date index cannot return in order.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OPPORTUNITIES: &str = "opportunities";

fn index(cols: &[&'static str]) -> IndexCreateStatement {
    let mut idx = Index::create();
    idx.name(format!("idx_{OPPORTUNITIES}_{}", cols.join("_")))
        .table(OPPORTUNITIES);
    for c in cols {
        idx.col(*c);
    }
    idx.to_owned()
}

fn drop(cols: &[&'static str]) -> IndexDropStatement {
    Index::drop()
        .name(format!("idx_{OPPORTUNITIES}_{}", cols.join("_")))
        .table(OPPORTUNITIES)
        .to_owned()
}

/// The close-date order with NULLs last, as an expression index (the same SQL on SQLite and
/// PostgreSQL; sea-query's index builder takes plain columns only).
const CLOSE_DATE_ORDER: &str = "CREATE INDEX idx_opportunities_tenant_id_close_date_nulls_last_id \
     ON opportunities (tenant_id, (expected_close_date IS NULL), expected_close_date, id)";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(index(&["tenant_id", "owner_id", "risk_score", "id"]))
            .await?;
        m.drop_index(drop(&["tenant_id", "owner_id", "id"])).await?;
        m.create_index(index(&["tenant_id", "risk_level", "risk_score", "id"]))
            .await?;
        m.create_index(index(&["tenant_id", "currency", "risk_score", "id"]))
            .await?;
        m.get_connection().execute_unprepared(CLOSE_DATE_ORDER).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_opportunities_tenant_id_close_date_nulls_last_id")
                .table(OPPORTUNITIES)
                .to_owned(),
        )
        .await?;
        m.drop_index(drop(&["tenant_id", "currency", "risk_score", "id"]))
            .await?;
        m.drop_index(drop(&["tenant_id", "risk_level", "risk_score", "id"]))
            .await?;
        m.create_index(index(&["tenant_id", "owner_id", "id"])).await?;
        m.drop_index(drop(&["tenant_id", "owner_id", "risk_score", "id"]))
            .await?;
        Ok(())
    }
}
