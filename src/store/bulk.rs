//! Bulk writes for loading whole data sets (the demo tenant, `dealgraph generate`, imports):
//! a [`Batch`] of domain records written as multi-row `INSERT`s sized to the engine's
//! bind-parameter limit, and removal of everything a tenant owns.
//!
//! Requests never come here: they write a row or a handful through the other modules.
//! Everything stays behind [`scope`], so a bulk load can only ever touch the caller's tenant.

use entity::{
    account, amount_change, buying_group_member, close_date_change, contact, interaction, interaction_member,
    opportunity, risk_history, stage_change,
};
use sea_orm::{ActiveModelTrait, DbBackend, EntityTrait, Iterable};

use super::Conn;
use super::convert;
use super::scope::{self, TenantScoped};
use crate::domain::records::{
    Account, AmountChange, CloseDateChange, Contact, Deal, Interaction, Link, Member, RiskPoint, StageChange,
};
use crate::domain::{AppResult, TenantCtx};

/// Records to write together. Parents are written before children, so a batch may hold a
/// deal with its members, history and interactions, or only some of them (their parents
/// already stored).
#[derive(Debug, Default)]
pub struct Batch {
    pub accounts: Vec<Account>,
    pub contacts: Vec<Contact>,
    pub deals: Vec<Deal>,
    pub stage_changes: Vec<StageChange>,
    pub close_date_changes: Vec<CloseDateChange>,
    pub amount_changes: Vec<AmountChange>,
    pub members: Vec<Member>,
    pub interactions: Vec<Interaction>,
    pub links: Vec<Link>,
    pub risk_points: Vec<RiskPoint>,
}

/// Writes `batch` into the caller's tenant. Run it inside a transaction
/// ([`Store::write`](super::Store::write)): a failure part-way leaves earlier statements
/// written otherwise.
pub async fn write(ctx: &TenantCtx, conn: &impl Conn, batch: &Batch) -> AppResult<()> {
    insert(ctx, conn, &batch.accounts, convert::account_row).await?;
    insert(ctx, conn, &batch.contacts, convert::contact_row).await?;
    insert(ctx, conn, &batch.deals, convert::deal_row).await?;
    insert(ctx, conn, &batch.stage_changes, convert::stage_change_row).await?;
    insert(ctx, conn, &batch.close_date_changes, convert::close_date_change_row).await?;
    insert(ctx, conn, &batch.amount_changes, convert::amount_change_row).await?;
    insert(ctx, conn, &batch.members, convert::member_row).await?;
    insert(ctx, conn, &batch.interactions, convert::interaction_row).await?;
    insert(ctx, conn, &batch.links, convert::link_row).await?;
    insert(ctx, conn, &batch.risk_points, convert::risk_point_row).await
}

/// Bound parameters one statement may carry: SQLite's default `SQLITE_MAX_VARIABLE_NUMBER`
/// (32,766 since 3.32) and PostgreSQL's wire-protocol limit (a 16-bit count).
fn parameter_limit(backend: DbBackend) -> usize {
    match backend {
        DbBackend::Postgres => 65_535,
        _ => 32_766,
    }
}

/// How many rows of an entity with `columns` columns fit in one statement.
pub fn rows_per_statement(backend: DbBackend, columns: usize) -> usize {
    (parameter_limit(backend) / columns.max(1)).max(1)
}

/// Inserts `records` as rows (each with every column set) into the caller's tenant, as few
/// multi-row `INSERT`s as the parameter limit allows.
async fn insert<T, A>(ctx: &TenantCtx, conn: &impl Conn, records: &[T], row: fn(&T) -> A) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    A::Entity: TenantScoped,
{
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    for chunk in records.chunks(rows_per_statement(conn.get_database_backend(), columns)) {
        scope::insert_many(ctx, chunk.iter().map(row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Refreshes the planner's statistics of the tables a bulk load writes (PostgreSQL; SQLite
/// plans these statements well without them).
///
/// Why: PostgreSQL checks foreign keys with plans it caches per connection. Planned while a
/// table was still empty, such a plan may look a parent up through any index that starts
/// with `tenant_id` (observed: `(tenant_id, stage_entered_at, id)` for every interaction's
/// check against its opportunity), reading the whole tenant's index range per inserted row,
/// so a load into a fresh database slows down as the tenant grows. New statistics invalidate
/// the cached plans, and the next checks use the primary keys.
pub async fn analyze(conn: &impl Conn) -> AppResult<()> {
    if conn.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    conn.execute_unprepared(
        "ANALYZE accounts, contacts, opportunities, stage_changes, close_date_changes, amount_changes, \
         buying_group_members, interactions, interaction_members, risk_history",
    )
    .await?;
    Ok(())
}

/// Deletes every row the caller's tenant owns except its risk policy (configuration, not
/// data), children first so no foreign key is ever left dangling.
pub async fn delete_tenant_data(ctx: &TenantCtx, conn: &impl Conn) -> AppResult<()> {
    scope::delete::<risk_history::Entity>(ctx).exec(conn).await?;
    scope::delete::<interaction_member::Entity>(ctx).exec(conn).await?;
    scope::delete::<interaction::Entity>(ctx).exec(conn).await?;
    scope::delete::<buying_group_member::Entity>(ctx).exec(conn).await?;
    scope::delete::<close_date_change::Entity>(ctx).exec(conn).await?;
    scope::delete::<stage_change::Entity>(ctx).exec(conn).await?;
    scope::delete::<amount_change::Entity>(ctx).exec(conn).await?;
    scope::delete::<opportunity::Entity>(ctx).exec(conn).await?;
    scope::delete::<contact::Entity>(ctx).exec(conn).await?;
    scope::delete::<account::Entity>(ctx).exec(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_stay_under_each_engines_parameter_limit() {
        assert_eq!(rows_per_statement(DbBackend::Sqlite, 8), 4_095);
        assert_eq!(rows_per_statement(DbBackend::Postgres, 8), 8_191);
        assert!(rows_per_statement(DbBackend::Sqlite, 5) * 5 <= 32_766);
        assert_eq!(rows_per_statement(DbBackend::Sqlite, 0), 32_766);
        assert_eq!(rows_per_statement(DbBackend::Postgres, 100_000), 1);
    }
}
