//! The `Node` interface every type with a global ID implements, and the `Viewer`.

use async_graphql::{ID, Interface, Object};

use super::account::Account;
use super::contact::Contact;
use super::deal::Opportunity;
use super::enums::Role;
use super::interaction::Interaction;
use super::member::BuyingGroupMember;
use super::webhook::Webhook;
use crate::domain::model;

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID", desc = "Opaque global ID; `node(id:)` resolves it."))]
pub enum Node {
    Account(Account),
    Contact(Contact),
    Opportunity(Opportunity),
    BuyingGroupMember(BuyingGroupMember),
    Interaction(Interaction),
    Webhook(Webhook),
}

/// The caller, as their token says.
pub struct Viewer {
    pub user_id: String,
    pub tenant_id: String,
    pub roles: Vec<model::Role>,
}

#[Object]
impl Viewer {
    async fn user_id(&self) -> &str {
        &self.user_id
    }
    async fn tenant_id(&self) -> &str {
        &self.tenant_id
    }
    async fn roles(&self) -> Vec<Role> {
        self.roles.iter().map(|r| (*r).into()).collect()
    }
}
