//! The GraphQL edge: the schema of SPEC §3 and its thin resolvers.
//!
//! The rules this layer keeps:
//! - It speaks domain types and calls the service layer for everything, reads included; it
//!   never reaches persistence or its row types (a test in `lib.rs` keeps it so).
//! - A resolver parses its arguments, calls a service (through the request's [`loaders`],
//!   which batch and cache per request), and wraps what comes back. No business rules, no SQL.
//! - Errors leave with a stable `extensions.code`; an `INTERNAL` error's detail is logged
//!   here, once, tagged with the request id, and never sent.
//!
//! The SDL checked in as `schema.graphql` is exported from here.

pub mod account;
pub mod connection;
pub mod contact;
pub mod deal;
pub mod enums;
pub mod errors;
pub mod filters;
pub mod ids;
pub mod interaction;
pub mod limits;
pub mod loaders;
pub mod member;
pub mod mutation;
pub mod node;
pub mod pipeline;
pub mod query;
pub mod risk;
pub mod scalars;
pub mod subscription;
pub mod webhook;

use async_graphql::{ErrorExtensions, Schema};

use crate::domain::{AppError, TenantCtx};
use crate::service::Services;

pub type AppSchema = Schema<query::Query, mutation::Mutation, subscription::Subscription>;

/// Limits async-graphql applies to every query (SPEC §5); aliases are counted at the HTTP edge.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_depth: usize,
    pub max_complexity: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 16,
            max_complexity: 20_000,
        }
    }
}

pub fn build_schema(limits: Limits) -> AppSchema {
    Schema::build(query::Query, mutation::Mutation, subscription::Subscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64)
        .finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`. async-graphql's export leaves the
/// scalars' `@specifiedBy` out (introspection has it), so it is written in here.
pub fn sdl() -> String {
    let mut sdl = build_schema(Limits::default()).sdl();
    for (scalar, url) in scalars::SPECIFIED_BY {
        sdl = sdl.replace(
            &format!("\nscalar {scalar}\n"),
            &format!("\nscalar {scalar} @specifiedBy(url: \"{url}\")\n"),
        );
    }
    sdl
}

/// What every resolver needs about the request: the verified caller, the services and the
/// request's batch loaders.
pub struct RequestScope {
    pub ctx: TenantCtx,
    pub services: Services,
    /// Shared by the resolvers of a request; a live subscription starts afresh for every
    /// event ([`RequestScope::renew_loaders`]), so that nothing it shows predates the event.
    loader_slot: std::sync::Mutex<std::sync::Arc<loaders::Loaders>>,
}

impl RequestScope {
    pub fn new(ctx: TenantCtx, services: Services) -> RequestScope {
        RequestScope {
            loader_slot: std::sync::Mutex::new(std::sync::Arc::new(loaders::Loaders::new(
                ctx.clone(),
                services.clone(),
            ))),
            ctx,
            services,
        }
    }

    /// The loaders resolvers read through.
    pub fn loaders(&self) -> std::sync::Arc<loaders::Loaders> {
        std::sync::Arc::clone(&self.loader_slot.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Drops what the loaders hold: resolvers that start from now on read afresh (those
    /// already running keep the loaders they started with).
    pub fn renew_loaders(&self) {
        let fresh = std::sync::Arc::new(loaders::Loaders::new(self.ctx.clone(), self.services.clone()));
        *self.loader_slot.lock().unwrap_or_else(|p| p.into_inner()) = fresh;
    }
}

/// The request's scope, or `INTERNAL` if the server forgot to attach it.
pub fn scope<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<&'a RequestScope> {
    Ok(ctx
        .data::<RequestScope>()
        .map_err(|_| AppError::Internal("no request scope attached".into()))?)
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let message = match &err {
            AppError::Internal(detail) => {
                tracing::error!(error = %detail, "internal error");
                "internal error".to_owned()
            }
            other => other.to_string(),
        };
        async_graphql::Error::new(message).extend_with(|_, ext| {
            ext.set("code", err.code());
            if let AppError::BadInput { field, .. } = &err {
                ext.set("field", field.as_str());
            }
        })
    }
}
