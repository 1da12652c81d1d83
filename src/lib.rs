//! dealgraph: a multi-tenant GraphQL API for B2B deals, their buying groups and explained risk.
//!
//! Layers, one direction of dependency:
//! `http` → `graphql` → `service` → `domain` (pure) ← `store` (sea-orm, tenant-scoped).
//! `seed` (the demo tenant, the bench data) writes through `store`'s bulk writer.

pub mod auth;
pub mod config;
pub mod domain;
pub mod graphql;
pub mod http;
pub mod seed;
pub mod service;
pub mod startup;
pub mod store;
