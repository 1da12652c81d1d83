//! The domain: plain types, validation rules and the risk engine.
//!
//! Nothing here knows about GraphQL, HTTP or SQL. Everything is testable without a database.

pub mod backfill;
pub mod commands;
pub mod ctx;
pub mod deal_record;
pub mod error;
pub mod events;
pub mod model;
pub mod outcomes;
pub mod page;
pub mod pipeline;
pub mod query;
pub mod records;
pub mod risk;
pub mod trend;
pub mod values;
pub mod webhooks;

pub use ctx::TenantCtx;
pub use error::{AppError, AppResult};
