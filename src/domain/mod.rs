//! The domain: plain types, validation rules and the risk engine.
//!
//! Nothing here knows about GraphQL, HTTP or SQL. Everything is testable without a database.

pub mod ctx;
pub mod error;
pub mod model;
pub mod pipeline;
pub mod risk;
pub mod values;

pub use ctx::TenantCtx;
pub use error::{AppError, AppResult};
