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

use async_graphql::{EmptySubscription, ErrorExtensions, Schema};

use crate::domain::{AppError, TenantCtx};
use crate::service::Services;

pub type AppSchema = Schema<query::Query, mutation::Mutation, EmptySubscription>;

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
    Schema::build(query::Query, mutation::Mutation, EmptySubscription)
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
    pub loaders: loaders::Loaders,
}

impl RequestScope {
    pub fn new(ctx: TenantCtx, services: Services) -> RequestScope {
        RequestScope {
            loaders: loaders::Loaders::new(ctx.clone(), services.clone()),
            ctx,
            services,
        }
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
