//! Accounts: create, list by name, load by id.

use uuid::Uuid;

use super::{Services, counted, now};
use crate::domain::commands::{CreateAccount, Ref};
use crate::domain::page::{Page, PageArgs};
use crate::domain::records::Account;
use crate::domain::values;
use crate::domain::{AppError, AppResult, TenantCtx};
use crate::store::{Conn, accounts};

pub async fn create(ctx: &TenantCtx, svc: &Services, input: CreateAccount) -> AppResult<Account> {
    ctx.require_writer()?;
    let account = Account {
        external_id: values::external_id("input.externalId", input.external_id.as_deref())?,
        id: Uuid::now_v7(),
        name: values::name("input.name", &input.name)?,
        domain: values::optional_short("input.domain", input.domain.as_deref())?,
        industry: values::optional_short("input.industry", input.industry.as_deref())?,
        created_at: now(),
    };
    svc.store
        .write(async |tx| accounts::insert(ctx, tx, &account).await)
        .await?;
    Ok(account)
}

/// The accounts of `ids` that exist in the caller's tenant.
pub async fn load_many(ctx: &TenantCtx, svc: &Services, ids: &[Uuid]) -> AppResult<Vec<Account>> {
    accounts::get_many(ctx, svc.store.reader(), ids).await
}

/// A page of accounts by name (those whose name contains `name_contains`, when given).
pub async fn page(
    ctx: &TenantCtx,
    svc: &Services,
    name_contains: Option<&str>,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<Page<Account>> {
    let window = args.window(accounts::ORDER_TAG)?;
    let db = svc.store.reader();
    let page = accounts::page(ctx, db, name_contains, &window);
    counted(page, accounts::count(ctx, db, name_contains), with_total).await
}

/// The account a client referred to, if it exists in the caller's tenant.
pub(crate) async fn require(ctx: &TenantCtx, conn: &impl Conn, id: Ref) -> AppResult<Account> {
    let found = match id {
        Some(id) => accounts::get_many(ctx, conn, &[id]).await?.pop(),
        None => None,
    };
    found.ok_or(AppError::NotFound("account"))
}

/// The one with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, svc: &Services, external_id: &str) -> AppResult<Option<Account>> {
    accounts::get_by_external_id(ctx, svc.store.reader(), external_id.trim()).await
}
