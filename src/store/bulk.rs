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
use sea_orm::{
    ActiveModelTrait, ActiveValue, DbBackend, EntityName, EntityTrait, IdenStatic, Iterable, Statement, Value,
};

use super::Conn;
use super::convert;
use super::scope::{self, TenantScoped};
use crate::domain::records::{
    Account, AmountChange, CloseDateChange, Contact, Deal, Interaction, Link, Member, RiskPoint, StageChange,
};
use crate::domain::{AppError, AppResult, TenantCtx};

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

/// Writes risk-history points into the caller's tenant, as [`write`] does.
pub async fn risk_points(ctx: &TenantCtx, conn: &impl Conn, points: &[RiskPoint]) -> AppResult<()> {
    insert(ctx, conn, points, convert::risk_point_row).await
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
    if records.is_empty() {
        return Ok(());
    }
    if conn.get_database_backend() == DbBackend::Postgres {
        return insert_arrays(ctx, conn, records, row).await;
    }
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    for chunk in records.chunks(rows_per_statement(conn.get_database_backend(), columns)) {
        scope::insert_many(ctx, chunk.iter().map(row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Rows per statement of [`insert_arrays`].
const ARRAY_ROWS_PER_STATEMENT: usize = 5_000;

/// PostgreSQL: inserts `records` as one array per column, a few thousand rows per statement,
/// expanded by `unnest` into rows. A handful of parameters per statement instead of one per
/// value (the server neither parses nor plans tens of thousands of placeholders), each sent
/// in binary: the server decodes no text per value, as it does for a JSON document or `COPY`
/// text (measured on 20,000 interactions and 34,000 links: ≈ 20 % less server time than
/// `json_populate_recordset`).
///
/// Arrays of the wire protocol's binding here cannot hold NULLs: a column with some NULLs
/// is sent with a stand-in value of its own type in their places and a mask saying where.
async fn insert_arrays<T, A>(ctx: &TenantCtx, conn: &impl Conn, records: &[T], row: fn(&T) -> A) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    A::Entity: TenantScoped,
{
    let columns: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let table = <A::Entity as Default>::default().table_name().to_owned();
    for chunk in records.chunks(ARRAY_ROWS_PER_STATEMENT) {
        let mut by_column: Vec<Vec<Value>> = (0..columns.len()).map(|_| Vec::with_capacity(chunk.len())).collect();
        for record in chunk {
            let model = scope::owned(ctx, row(record));
            for (column, values) in columns.iter().zip(by_column.iter_mut()) {
                match model.get(*column) {
                    ActiveValue::Set(value) | ActiveValue::Unchanged(value) => values.push(value),
                    ActiveValue::NotSet => {
                        return Err(AppError::Internal(format!(
                            "bulk insert into {table}: {} not set",
                            column.as_str()
                        )));
                    }
                }
            }
        }
        let (mut names, mut selected, mut arrays, mut params) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (column, values) in columns.iter().zip(by_column) {
            let name = column.as_str();
            names.push(format!("\"{name}\""));
            let Some(first) = values.first() else { continue };
            let kind = first.array_type();
            let sql_type = sql_array_type(&kind, &table, name)?;
            let stand_in = values.iter().find(|v| **v != v.as_null()).cloned();
            let Some(stand_in) = stand_in else {
                selected.push(format!("CAST(NULL AS {sql_type})"));
                continue;
            };
            let nulls: Vec<bool> = values.iter().map(|v| *v == v.as_null()).collect();
            let values: Vec<Value> = values
                .into_iter()
                .map(|v| if v == v.as_null() { stand_in.clone() } else { v })
                .collect();
            params.push(Value::Array(kind, Some(Box::new(values))));
            arrays.push(format!("${}::{sql_type}[]", params.len()));
            let value = format!("u.c{}", params.len());
            if nulls.contains(&true) {
                params.push(Value::Array(
                    sea_orm::sea_query::ArrayType::Bool,
                    Some(Box::new(nulls.into_iter().map(Value::from).collect())),
                ));
                arrays.push(format!("${}::boolean[]", params.len()));
                selected.push(format!("CASE WHEN u.c{} THEN NULL ELSE {value} END", params.len()));
            } else {
                selected.push(value);
            }
        }
        let aliases = (1..=params.len())
            .map(|i| format!("c{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "INSERT INTO \"{table}\" ({}) SELECT {} FROM unnest({}) AS u({aliases})",
            names.join(", "),
            selected.join(", "),
            arrays.join(", "),
        );
        conn.execute_raw(Statement::from_sql_and_values(DbBackend::Postgres, &sql, params))
            .await?;
    }
    Ok(())
}

/// The PostgreSQL type of an array of `kind` (the types the schema's columns have).
fn sql_array_type(kind: &sea_orm::sea_query::ArrayType, table: &str, column: &str) -> AppResult<&'static str> {
    use sea_orm::sea_query::ArrayType as K;
    Ok(match kind {
        K::Bool => "boolean",
        K::Int => "integer",
        K::BigInt => "bigint",
        K::Double => "double precision",
        K::String => "text",
        K::Uuid => "uuid",
        K::ChronoDate => "date",
        K::ChronoDateTimeUtc => "timestamptz",
        other => {
            return Err(AppError::Internal(format!(
                "bulk insert into {table}: no array form for {column} ({other:?})"
            )));
        }
    })
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
