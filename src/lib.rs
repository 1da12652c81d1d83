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
pub mod ingest;
pub mod seed;
pub mod service;
pub mod startup;
pub mod store;

#[cfg(test)]
mod layering {
    /// Keeps the API layer on its side of the service layer: no file of `src/graphql/` reads
    /// the store or names its row types (the same spirit as `store::scope`'s test).
    #[test]
    fn the_graphql_layer_reaches_data_only_through_the_service_layer() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/graphql");
        let mut offenders = Vec::new();
        for entry in std::fs::read_dir(&root).expect("read src/graphql") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("read source");
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for needle in ["store::", ".store()", "entity::", "sea_orm"] {
                    if code.contains(needle) {
                        offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
                    }
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "src/graphql must go through src/service: {offenders:?}"
        );
    }
}
