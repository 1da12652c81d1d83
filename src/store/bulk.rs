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
        return insert_json(ctx, conn, records, row).await;
    }
    let columns = <A::Entity as EntityTrait>::Column::iter().count();
    for chunk in records.chunks(rows_per_statement(conn.get_database_backend(), columns)) {
        scope::insert_many(ctx, chunk.iter().map(row))
            .exec_without_returning(conn)
            .await?;
    }
    Ok(())
}

/// Rows per statement of [`insert_json`].
const JSON_ROWS_PER_STATEMENT: usize = 5_000;

/// PostgreSQL: inserts `records` as one JSON document per few thousand rows, expanded by
/// `json_populate_recordset` into the table's own row type. One parameter per statement
/// instead of one per value: the server neither parses nor plans tens of thousands of
/// placeholders, which made multi-row `INSERT`s the bulk of an import's time.
async fn insert_json<T, A>(ctx: &TenantCtx, conn: &impl Conn, records: &[T], row: fn(&T) -> A) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    A::Entity: TenantScoped,
{
    let columns: Vec<<A::Entity as EntityTrait>::Column> = <A::Entity as EntityTrait>::Column::iter().collect();
    let table = <A::Entity as Default>::default().table_name().to_owned();
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "INSERT INTO \"{table}\" ({names}) SELECT {names} FROM json_populate_recordset(NULL::\"{table}\", $1::json)"
    );
    for chunk in records.chunks(JSON_ROWS_PER_STATEMENT) {
        let mut doc = Vec::with_capacity(chunk.len() * 256);
        doc.push(b'[');
        for (i, record) in chunk.iter().enumerate() {
            if i > 0 {
                doc.push(b',');
            }
            let model = scope::owned(ctx, row(record));
            let mut object = serde_json::Map::with_capacity(columns.len());
            for column in &columns {
                if let ActiveValue::Set(value) | ActiveValue::Unchanged(value) = model.get(*column) {
                    object.insert(column.as_str().to_owned(), json_of(&value)?);
                }
            }
            serde_json::to_writer(&mut doc, &object)
                .map_err(|err| AppError::Internal(format!("bulk insert into {table}: {err}")))?;
        }
        doc.push(b']');
        let doc = String::from_utf8(doc).map_err(|err| AppError::Internal(format!("bulk insert: {err}")))?;
        conn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            &sql,
            [Value::from(doc)],
        ))
        .await?;
    }
    Ok(())
}

/// A column value as JSON that PostgreSQL reads back into the column's type.
fn json_of(value: &Value) -> AppResult<serde_json::Value> {
    use serde_json::Value as J;
    Ok(match value {
        Value::Bool(v) => v.map_or(J::Null, J::from),
        Value::Int(v) => v.map_or(J::Null, J::from),
        Value::BigInt(v) => v.map_or(J::Null, J::from),
        Value::String(v) => v.as_ref().map_or(J::Null, |s| J::from(s.as_str())),
        Value::Uuid(v) => v.map_or(J::Null, |u| J::from(u.to_string())),
        Value::ChronoDate(v) => v.map_or(J::Null, |d| J::from(d.format("%Y-%m-%d").to_string())),
        Value::ChronoDateTimeUtc(v) => v.map_or(J::Null, |t| {
            J::from(t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
        }),
        other => return Err(AppError::Internal(format!("bulk insert: no JSON form for {other:?}"))),
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
