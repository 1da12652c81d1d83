//! Database migrations for dealgraph, for SQLite and PostgreSQL alike.
//!
//! Add a migration: create `mYYYYMMDD_NNNNNN_what.rs` beside the others, implement
//! `MigrationTrait`, and append it to `Migrator::migrations`. Never edit a migration that has
//! shipped; the server runs pending migrations at start (`dealgraph migrate` runs them alone).

pub use sea_orm_migration::prelude::*;

mod m20261126_000001_init;
mod m20261126_000002_bench_indexes;
mod m20261126_000003_member_contact_names;
mod m20261201_000004_member_removed_at;
mod m20261201_000005_external_ids;
mod m20261201_000006_amount_changes;
mod m20261202_000007_as_of_indexes;
mod m20261202_000008_webhooks;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261126_000001_init::Migration),
            Box::new(m20261126_000002_bench_indexes::Migration),
            Box::new(m20261126_000003_member_contact_names::Migration),
            Box::new(m20261201_000004_member_removed_at::Migration),
            Box::new(m20261201_000005_external_ids::Migration),
            Box::new(m20261201_000006_amount_changes::Migration),
            Box::new(m20261202_000007_as_of_indexes::Migration),
            Box::new(m20261202_000008_webhooks::Migration),
        ]
    }
}
