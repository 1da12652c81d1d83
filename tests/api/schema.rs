//! The checked-in `schema.graphql` is exactly what the code serves.

#[test]
fn schema_graphql_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schema.graphql");
    let checked_in = std::fs::read_to_string(&path).expect("schema.graphql exists");
    let exported = dealgraph::graphql::sdl();
    assert!(
        checked_in == exported,
        "schema.graphql is stale: run `cargo run -- schema > schema.graphql` and commit it"
    );
}
