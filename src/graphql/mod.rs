//! The GraphQL edge: thin resolvers that parse arguments, call the service or store, and map
//! errors to stable `extensions.code`s. The SDL checked in as `schema.graphql` is exported
//! from here.

pub mod enums;
pub mod ids;
pub mod limits;
pub mod loaders;
pub mod mutation;
pub mod pipeline;
pub mod query;
pub mod risk;
pub mod scalars;
pub mod types;

use async_graphql::{EmptySubscription, ErrorExtensions, Schema};

use crate::domain::{AppError, TenantCtx};
use crate::store::Store;

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

pub fn build_schema(store: Option<Store>, limits: Limits) -> AppSchema {
    let mut builder = Schema::build(query::Query, mutation::Mutation, EmptySubscription)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .limit_recursive_depth(64);
    if let Some(store) = store {
        builder = builder.data(store);
    }
    builder.finish()
}

/// The SDL of the schema, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None, Limits::default()).sdl()
}

/// What every resolver needs about the request: the verified caller and the batch loaders.
pub struct RequestScope {
    pub ctx: TenantCtx,
    pub loaders: loaders::Loaders,
}

impl RequestScope {
    pub fn new(ctx: TenantCtx, store: Store) -> RequestScope {
        RequestScope {
            loaders: loaders::Loaders::new(ctx.clone(), store),
            ctx,
        }
    }
}

/// The request's scope and store, or `INTERNAL` if the server forgot to attach them.
pub fn scope<'a>(ctx: &async_graphql::Context<'a>) -> async_graphql::Result<(&'a RequestScope, &'a Store)> {
    let scope = ctx
        .data::<RequestScope>()
        .map_err(|_| AppError::Internal("no request scope".into()))?;
    let store = ctx.data::<Store>().map_err(|_| AppError::Internal("no store".into()))?;
    Ok((scope, store))
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        let message = match &err {
            AppError::Internal(_) => "internal error".to_owned(),
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
