//! The tenant choke point. Deny by default: a query built here can only see the caller's
//! tenant, and an insert built here can only write into it.

use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, DeleteMany, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, Select, UpdateMany, Value,
};
use uuid::Uuid;

use crate::domain::model::Stage;
use crate::domain::values::TenantId;
use crate::domain::{AppError, AppResult, TenantCtx};

/// An entity whose rows belong to one tenant, named by `tenant_column`.
pub trait TenantScoped: EntityTrait {
    fn tenant_column() -> Self::Column;
}

/// An entity whose rows are named, within their tenant, by an `id` column.
pub trait HasId: TenantScoped {
    fn id_column() -> Self::Column;
}

/// Every table is tenant-scoped; those listed after `;` have no single `id` column.
macro_rules! tenant_tables {
    ($($with_id:ident),+ ; $($without_id:ident),+) => {
        $(
            impl TenantScoped for entity::$with_id::Entity {
                fn tenant_column() -> Self::Column {
                    entity::$with_id::Column::TenantId
                }
            }
            impl HasId for entity::$with_id::Entity {
                fn id_column() -> Self::Column {
                    entity::$with_id::Column::Id
                }
            }
        )+
        $(
            impl TenantScoped for entity::$without_id::Entity {
                fn tenant_column() -> Self::Column {
                    entity::$without_id::Column::TenantId
                }
            }
        )+
    };
}

tenant_tables!(
    account, contact, opportunity, stage_change, close_date_change, amount_change, buying_group_member, interaction,
    risk_history, webhook, webhook_delivery;
    interaction_member, risk_policy
);

/// An entity whose rows may carry an external ID (the client's own id), unique per tenant.
pub trait HasExternalId: HasId {
    fn external_id_column() -> Self::Column;
}

macro_rules! external_id_tables {
    ($($table:ident),+) => {
        $(
            impl HasExternalId for entity::$table::Entity {
                fn external_id_column() -> Self::Column {
                    entity::$table::Column::ExternalId
                }
            }
        )+
    };
}

external_id_tables!(account, contact, opportunity, buying_group_member, interaction);

/// The record with this external ID in the caller's tenant, converted; `None` if none.
pub async fn find_by_external_id<E, T>(
    ctx: &TenantCtx,
    conn: &impl ConnectionTrait,
    external_id: &str,
) -> AppResult<Option<T>>
where
    E: HasExternalId,
    T: TryFrom<E::Model, Error = AppError>,
{
    select::<E>(ctx)
        .filter(E::external_id_column().eq(external_id))
        .one(conn)
        .await?
        .map(T::try_from)
        .transpose()
}

/// External IDs named in one statement (well under either engine's bind-parameter limit).
const EXTERNAL_IDS_PER_STATEMENT: usize = 1_000;

/// The records with these external IDs in the caller's tenant (those that exist there),
/// converted; a statement per thousand IDs.
pub async fn find_by_external_ids<E, T>(
    ctx: &TenantCtx,
    conn: &impl ConnectionTrait,
    external_ids: &[&str],
) -> AppResult<Vec<T>>
where
    E: HasExternalId,
    T: TryFrom<E::Model, Error = AppError>,
{
    let mut found = Vec::new();
    for chunk in external_ids.chunks(EXTERNAL_IDS_PER_STATEMENT) {
        let rows = select::<E>(ctx)
            .filter(E::external_id_column().is_in(chunk.iter().copied()))
            .all(conn)
            .await?;
        for row in rows {
            found.push(T::try_from(row)?);
        }
    }
    Ok(found)
}

/// The records with these ids in the caller's tenant (those that exist there), converted.
pub async fn find_by_ids<E, T>(ctx: &TenantCtx, conn: &impl ConnectionTrait, ids: &[Uuid]) -> AppResult<Vec<T>>
where
    E: HasId,
    T: TryFrom<E::Model, Error = AppError>,
{
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    select::<E>(ctx)
        .filter(E::id_column().is_in(ids.iter().copied()))
        .all(conn)
        .await?
        .into_iter()
        .map(T::try_from)
        .collect()
}

/// The record with this id in the caller's tenant, converted; `None` if there is none.
pub async fn find_by_id<E, T>(ctx: &TenantCtx, conn: &impl ConnectionTrait, id: Uuid) -> AppResult<Option<T>>
where
    E: HasId,
    T: TryFrom<E::Model, Error = AppError>,
{
    select::<E>(ctx)
        .filter(E::id_column().eq(id))
        .one(conn)
        .await?
        .map(T::try_from)
        .transpose()
}

/// Deletes the row with this id in the caller's tenant; returns how many rows went (0 or 1).
pub async fn delete_by_id<E: HasId>(ctx: &TenantCtx, conn: &impl ConnectionTrait, id: Uuid) -> AppResult<u64> {
    Ok(delete::<E>(ctx)
        .filter(E::id_column().eq(id))
        .exec(conn)
        .await?
        .rows_affected)
}

/// `SELECT … WHERE tenant_id = <caller's tenant>`.
pub fn select<E: TenantScoped>(ctx: &TenantCtx) -> Select<E> {
    E::find().filter(E::tenant_column().eq(ctx.tenant().as_str()))
}

/// `UPDATE … WHERE tenant_id = <caller's tenant>`; add the rest of the filter.
pub fn update<E: TenantScoped>(ctx: &TenantCtx) -> UpdateMany<E> {
    E::update_many().filter(E::tenant_column().eq(ctx.tenant().as_str()))
}

/// `DELETE … WHERE tenant_id = <caller's tenant>`; add the rest of the filter.
pub fn delete<E: TenantScoped>(ctx: &TenantCtx) -> DeleteMany<E> {
    E::delete_many().filter(E::tenant_column().eq(ctx.tenant().as_str()))
}

/// Stamps the caller's tenant on a new row, whatever the caller put there.
pub fn owned<A>(ctx: &TenantCtx, mut row: A) -> A
where
    A: ActiveModelTrait,
    A::Entity: TenantScoped,
{
    row.set(
        <A::Entity as TenantScoped>::tenant_column(),
        Value::from(ctx.tenant().as_str()),
    );
    row
}

/// `INSERT` of several rows, each stamped with the caller's tenant.
pub fn insert_many<A, I>(ctx: &TenantCtx, rows: I) -> sea_orm::InsertMany<A>
where
    A: ActiveModelTrait,
    A::Entity: TenantScoped,
    I: IntoIterator<Item = A>,
{
    A::Entity::insert_many(rows.into_iter().map(|row| owned(ctx, row)))
}

/// Overwrites the caller's tenant's row with `row`'s id with every column `row` sets (imports
/// that upsert a record they found by its external ID). A row of another tenant is never
/// touched: the tenant is part of the key.
pub async fn overwrite<A>(ctx: &TenantCtx, conn: &impl ConnectionTrait, row: A) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    A::Entity: TenantScoped,
    <A::Entity as EntityTrait>::Model: sea_orm::IntoActiveModel<A>,
{
    A::Entity::update(owned(ctx, row))
        .exec(conn)
        .await
        .map_err(super::constraint_error)?;
    Ok(())
}

/// `INSERT` of one row stamped with the caller's tenant (nothing read back).
pub async fn insert_one<A>(ctx: &TenantCtx, conn: &impl ConnectionTrait, row: A) -> AppResult<()>
where
    A: ActiveModelTrait + Send,
    A::Entity: TenantScoped,
{
    insert_many(ctx, [row])
        .exec_without_returning(conn)
        .await
        .map_err(super::constraint_error)?;
    Ok(())
}

/// Tenants that have open deals. The one cross-tenant read: the periodic risk sweep uses
/// it to visit each tenant, then works inside that tenant's scope only.
pub async fn tenants_with_open_deals(conn: &impl ConnectionTrait) -> Result<Vec<TenantId>, DbErr> {
    use entity::opportunity::{Column, Entity};
    let closed = [Stage::ClosedWon.as_str(), Stage::ClosedLost.as_str()];
    let tenants: Vec<String> = Entity::find()
        .select_only()
        .column(Column::TenantId)
        .distinct()
        .filter(Column::Stage.is_not_in(closed))
        .into_tuple()
        .all(conn)
        .await?;
    Ok(tenants.iter().filter_map(|t| TenantId::parse(t).ok()).collect())
}

/// The webhooks of `tenants`, by tenant. Cross-tenant by design: a committing write names
/// the tenants of its change events (each its own), and their outbox rows are written from
/// this (see `store::webhooks::enqueue`).
pub async fn webhooks_of(
    conn: &impl ConnectionTrait,
    tenants: &[&str],
) -> Result<std::collections::HashMap<String, Vec<entity::webhook::Model>>, DbErr> {
    use entity::webhook::{Column, Entity};
    let mut by_tenant: std::collections::HashMap<String, Vec<entity::webhook::Model>> = Default::default();
    if tenants.is_empty() {
        return Ok(by_tenant);
    }
    let rows = Entity::find()
        .filter(Column::TenantId.is_in(tenants.iter().copied()))
        .order_by_asc(Column::CreatedAt)
        .order_by_asc(Column::Id)
        .all(conn)
        .await?;
    for row in rows {
        by_tenant.entry(row.tenant_id.clone()).or_default().push(row);
    }
    Ok(by_tenant)
}

/// The webhook sender's claim, across tenants (the sender serves them all): up to
/// `claim.limit` deliveries due at `claim.now` whose deal has no earlier delivery to the same
/// webhook still pending (order per deal), at most `claim.per_webhook` to one webhook with
/// those already in flight (a slow receiver holds a few of the sender's slots, never all),
/// leased until `claim.lease_until` — no other sender takes them before then, and if this one
/// dies they fall due again. On PostgreSQL rows another sender is claiming are skipped
/// (`FOR UPDATE SKIP LOCKED`); SQLite has one process and one sender.
pub async fn claim_deliveries(
    conn: &impl ConnectionTrait,
    claim: &crate::store::webhooks::Claim<'_>,
) -> AppResult<Vec<crate::domain::webhooks::Outgoing>> {
    use sea_orm::{DbBackend, Statement, Value};
    let backend = conn.get_database_backend();
    let postgres = backend == DbBackend::Postgres;
    let mut values: Vec<Value> = Vec::new();
    let mut param = |value: Value| {
        values.push(value);
        if postgres {
            format!("${}", values.len())
        } else {
            "?".to_owned()
        }
    };
    // The sender's deliveries in flight, per webhook (a row that matches none when it has none).
    let flying = if claim.in_flight.is_empty() {
        "SELECT CAST(NULL AS text) AS tenant_id, CAST(NULL AS uuid) AS webhook_id, 0 AS n".to_owned()
    } else {
        let rows: Vec<String> = claim
            .in_flight
            .iter()
            .map(|(tenant, webhook, n)| {
                let (t, w, n) = (
                    param(tenant.clone().into()),
                    param((*webhook).into()),
                    param(i64::from(*n).into()),
                );
                format!("({t}, {w}, {n})")
            })
            .collect();
        format!("VALUES {}", rows.join(", "))
    };
    // In the order they appear (SQLite's parameters are positional); the instant twice: for
    // the ranking, and checked again on the locked row itself (see below).
    let lease = param(claim.lease_until.into());
    let still_due = param(claim.now.into());
    let due = param(claim.now.into());
    let per_webhook = param(i64::from(claim.per_webhook).into());
    let per_tenant = param(i64::from(claim.per_tenant).into());
    let limit = param(i64::from(claim.limit).into());
    let lock = if postgres { "FOR UPDATE OF d SKIP LOCKED" } else { "" };
    // Due deliveries ranked per webhook (oldest due first), a webhook's first places going to
    // what it does not have in flight already; those ranked again per tenant, likewise; then
    // the earliest due of what is left, locked. The
    // locked row is checked for being due again: PostgreSQL re-evaluates a locked row's own
    // conditions on its newest version (another sender's claim committed since this
    // statement's snapshot), not those of the subquery that ranked it.
    let sql = format!(
        "WITH flying(tenant_id, webhook_id, n) AS ({flying}), \
           flying_tenants(tenant_id, n) AS (SELECT tenant_id, sum(n) FROM flying GROUP BY tenant_id) \
         UPDATE webhook_deliveries SET next_retry_at = {lease} \
         WHERE (tenant_id, id) IN ( \
           SELECT d.tenant_id, d.id FROM webhook_deliveries d \
           WHERE d.next_retry_at IS NOT NULL AND d.next_retry_at <= {still_due} \
             AND (d.tenant_id, d.id) IN ( \
             SELECT q.tenant_id, q.id FROM ( \
               SELECT r.tenant_id, r.id, row_number() OVER ( \
                 PARTITION BY r.tenant_id ORDER BY r.next_retry_at, r.enqueued_at, r.id) AS place \
               FROM ( \
                 SELECT c.tenant_id, c.id, c.webhook_id, c.next_retry_at, c.enqueued_at, row_number() OVER ( \
                   PARTITION BY c.tenant_id, c.webhook_id ORDER BY c.next_retry_at, c.enqueued_at, c.id) AS place \
                 FROM webhook_deliveries c \
                 WHERE c.next_retry_at IS NOT NULL AND c.next_retry_at <= {due} \
                   AND NOT EXISTS ( \
                     SELECT 1 FROM webhook_deliveries e \
                     WHERE e.tenant_id = c.tenant_id AND e.webhook_id = c.webhook_id \
                       AND e.opportunity_id = c.opportunity_id AND e.next_retry_at IS NOT NULL \
                       AND (e.enqueued_at < c.enqueued_at OR (e.enqueued_at = c.enqueued_at AND e.id < c.id)))) r \
               LEFT JOIN flying f ON f.tenant_id = r.tenant_id AND f.webhook_id = r.webhook_id \
               WHERE r.place + COALESCE(f.n, 0) <= {per_webhook}) q \
             LEFT JOIN flying_tenants t ON t.tenant_id = q.tenant_id \
             WHERE q.place + COALESCE(t.n, 0) <= {per_tenant}) \
           ORDER BY d.next_retry_at, d.enqueued_at, d.id \
           LIMIT {limit} {lock}) \
         RETURNING tenant_id, id, webhook_id, body, enqueued_at, attempts"
    );
    let rows = conn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    let mut claimed = Vec::with_capacity(rows.len());
    for row in &rows {
        let tenant: String = row.try_get("", "tenant_id")?;
        let id: Uuid = row.try_get("", "id")?;
        let webhook: Uuid = row.try_get("", "webhook_id")?;
        let body: String = row.try_get("", "body")?;
        let enqueued_at: chrono::DateTime<chrono::Utc> = row.try_get("", "enqueued_at")?;
        let attempts: i32 = row.try_get("", "attempts")?;
        claimed.push((tenant, id, webhook, body, enqueued_at, attempts));
    }
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    use entity::webhook::{Column, Entity};
    let mut which = sea_orm::Condition::any();
    for (tenant, _, webhook, ..) in &claimed {
        which = which.add(
            sea_orm::Condition::all()
                .add(Column::TenantId.eq(tenant.as_str()))
                .add(Column::Id.eq(*webhook)),
        );
    }
    let hooks: std::collections::HashMap<(String, Uuid), entity::webhook::Model> = Entity::find()
        .filter(which)
        .all(conn)
        .await?
        .into_iter()
        .map(|h| ((h.tenant_id.clone(), h.id), h))
        .collect();
    Ok(claimed
        .into_iter()
        .filter_map(|(tenant, id, webhook, body, enqueued_at, attempts)| {
            let hook = hooks.get(&(tenant.clone(), webhook))?;
            Some(crate::domain::webhooks::Outgoing {
                url: hook.url.clone(),
                secret: hook.secret.clone(),
                tenant,
                id,
                webhook,
                body,
                enqueued_at,
                attempts: u32::try_from(attempts).unwrap_or(0),
            })
        })
        .collect())
}

/// When the earliest pending webhook delivery of any tenant falls due (the sender's
/// alarm clock; cross-tenant like [`claim_deliveries`]).
pub async fn earliest_due_delivery(conn: &impl ConnectionTrait) -> AppResult<Option<chrono::DateTime<chrono::Utc>>> {
    use entity::webhook_delivery::{Column, Entity};
    let earliest: Option<Option<chrono::DateTime<chrono::Utc>>> = Entity::find()
        .select_only()
        .column(Column::NextRetryAt)
        .filter(Column::NextRetryAt.is_not_null())
        .order_by_asc(Column::NextRetryAt)
        .limit(1)
        .into_tuple()
        .one(conn)
        .await?;
    Ok(earliest.flatten())
}

/// Deletes finished webhook deliveries (delivered or given up) whose last attempt is older
/// than `before`, across tenants (the sender's housekeeping). Returns how many went.
pub async fn prune_deliveries(conn: &impl ConnectionTrait, before: chrono::DateTime<chrono::Utc>) -> AppResult<u64> {
    use entity::webhook_delivery::{Column, Entity};
    let done = Entity::delete_many()
        .filter(Column::NextRetryAt.is_null())
        .filter(Column::LastAttemptAt.lt(before))
        .exec(conn)
        .await?;
    Ok(done.rows_affected)
}

/// True when no tenant has any account yet (a brand-new database).
pub async fn database_is_empty(conn: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(entity::account::Entity::find().one(conn).await?.is_none())
}

#[cfg(test)]
mod tests {
    /// Keeps this module the only place that starts an unscoped query.
    #[test]
    fn only_the_scope_module_builds_unscoped_queries() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut offenders = Vec::new();
        let mut stack = vec![root];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("dir entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("store/scope.rs") {
                    let text = std::fs::read_to_string(&path).expect("read source");
                    let code = text.lines().filter(|l| !l.trim_start().starts_with("//"));
                    for line in code {
                        for needle in ["::find()", "::update_many()", "::delete_many()", "::insert_many("] {
                            let unscoped = line.match_indices(needle).any(|(i, _)| !line[..i].ends_with("scope"));
                            if unscoped {
                                offenders.push(format!("{} uses {needle}: {}", path.display(), line.trim()));
                            }
                        }
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "unscoped queries outside store/scope.rs: {offenders:?}"
        );
    }
}
