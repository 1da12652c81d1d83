//! dealgraph: a multi-tenant GraphQL API for B2B deals, their buying groups and explained risk.
//!
//! Layers, one direction of dependency:
//! `http` → `graphql` → `service` → `domain` (pure) ← `store` (sea-orm, tenant-scoped).

pub mod auth;
pub mod config;
pub mod demo;
pub mod domain;
pub mod generate;
pub mod graphql;
pub mod http;
pub mod service;
pub mod startup;
pub mod store;
