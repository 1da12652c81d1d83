//! `Contact` and its resolvers.

use std::sync::Arc;

use async_graphql::{Context, ID, Object, Result};
use uuid::Uuid;

use super::account::Account;
use super::ids::{Kind, encode};
use super::scalars::Timestamp;
use super::scope;
use crate::domain::AppError;
use crate::domain::records::{self, Member};

/// A person at an account: a whole contact record, or the copy of its name and title a
/// buying-group member carries (enough for boards; the rest is loaded when asked for).
pub enum Contact {
    Row(Arc<records::Contact>),
    OfMember(Arc<Member>),
}

impl Contact {
    fn contact_id(&self) -> Uuid {
        match self {
            Contact::Row(row) => row.id,
            Contact::OfMember(member) => member.contact_id,
        }
    }

    /// The whole record: at hand, or from the request's loaders (which the lists of members
    /// fill for the whole page when a query asks for more than names).
    async fn record(&self, ctx: &Context<'_>) -> Result<Arc<records::Contact>> {
        match self {
            Contact::Row(row) => Ok(Arc::clone(row)),
            Contact::OfMember(member) => {
                let found = scope(ctx)?.loaders().contact(member.contact_id).await?;
                Ok(found.ok_or_else(|| AppError::Internal(format!("member {} without contact", member.id)))?)
            }
        }
    }
}

/// Whether a `contact { … }` selection needs more than the name and title members carry.
pub fn contact_needs_record(contact: async_graphql::Lookahead<'_>) -> bool {
    ["account", "email", "createdAt", "externalId"]
        .iter()
        .any(|field| contact.field(field).exists())
}

#[Object]
impl Contact {
    pub async fn id(&self) -> ID {
        encode(Kind::Contact, self.contact_id())
    }
    async fn account(&self, ctx: &Context<'_>) -> Result<Account> {
        let contact = self.record(ctx).await?;
        let found = scope(ctx)?.loaders().account(contact.account_id).await?;
        Ok(Account(found.ok_or_else(|| {
            AppError::Internal(format!("contact {} without account", contact.id))
        })?))
    }
    async fn full_name(&self) -> &str {
        match self {
            Contact::Row(row) => &row.full_name,
            Contact::OfMember(member) => &member.contact_name,
        }
    }
    async fn title(&self) -> Option<&str> {
        match self {
            Contact::Row(row) => row.title.as_deref(),
            Contact::OfMember(member) => member.contact_title.as_deref(),
        }
    }
    /// Your system's id for it (unique in your tenant among these records), if it has one.
    async fn external_id(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.record(ctx).await?.external_id.clone())
    }
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        Ok(self.record(ctx).await?.email.clone())
    }
    async fn created_at(&self, ctx: &Context<'_>) -> Result<Timestamp> {
        Ok(Timestamp(self.record(ctx).await?.created_at))
    }
}
