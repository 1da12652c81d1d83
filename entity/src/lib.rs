//! sea-orm entities for dealgraph: one module per table, nothing else.
//!
//! Every table leads with `tenant_id` in its primary key; rows are only ever read or written
//! through the server's tenant-scoped store (`src/store/`). Enumerations are stored as their
//! API names (`"NEGOTIATION"`), timestamps in UTC, money as integer minor units (cents).

pub mod account;
pub mod amount_change;
pub mod buying_group_member;
pub mod close_date_change;
pub mod contact;
pub mod interaction;
pub mod interaction_member;
pub mod opportunity;
pub mod risk_history;
pub mod risk_policy;
pub mod stage_change;
pub mod webhook;
pub mod webhook_delivery;
