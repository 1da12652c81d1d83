//! Contacts: create, list an account's people, load by id.

use uuid::Uuid;

use super::{Services, accounts, counted, now};
use crate::domain::commands::CreateContact;
use crate::domain::page::{Page, PageArgs};
use crate::domain::records::Contact;
use crate::domain::values;
use crate::domain::{AppResult, TenantCtx};
use crate::store::contacts;

pub async fn create(ctx: &TenantCtx, svc: &Services, input: CreateContact) -> AppResult<Contact> {
    ctx.require_writer()?;
    let full_name = values::name("input.fullName", &input.full_name)?;
    let title = values::optional_short("input.title", input.title.as_deref())?;
    let email = values::optional_email("input.email", input.email.as_deref())?;
    svc.store
        .write(async |tx| {
            let account = accounts::require(ctx, tx, input.account_id).await?;
            let contact = Contact {
                external_id: values::external_id("input.externalId", input.external_id.as_deref())?,
                id: Uuid::now_v7(),
                account_id: account.id,
                full_name,
                title,
                email,
                created_at: now(),
            };
            contacts::insert(ctx, tx, &contact).await?;
            Ok(contact)
        })
        .await
}

/// The contacts of `ids` that exist in the caller's tenant.
pub async fn load_many(ctx: &TenantCtx, svc: &Services, ids: &[Uuid]) -> AppResult<Vec<Contact>> {
    contacts::get_many(ctx, svc.store.reader(), ids).await
}

/// A page of an account's contacts, by name.
pub async fn page_for_account(
    ctx: &TenantCtx,
    svc: &Services,
    account_id: Uuid,
    args: &PageArgs,
    with_total: bool,
) -> AppResult<Page<Contact>> {
    let window = args.window(contacts::ORDER_TAG)?;
    let db = svc.store.reader();
    let page = contacts::page_for_account(ctx, db, account_id, &window);
    counted(page, contacts::count_for_account(ctx, db, account_id), with_total).await
}

/// The one with this external ID, if it exists in the caller's tenant.
pub async fn get_by_external_id(ctx: &TenantCtx, svc: &Services, external_id: &str) -> AppResult<Option<Contact>> {
    contacts::get_by_external_id(ctx, svc.store.reader(), external_id.trim()).await
}
