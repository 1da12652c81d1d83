//! Abuse limits beyond async-graphql's depth and complexity: a cap on aliases, checked right
//! after parsing so a rejected query costs next to nothing.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, ServerError, ServerResult, Variables};

/// Rejects documents with more than this many aliased fields.
pub struct AliasLimit(pub usize);

impl ExtensionFactory for AliasLimit {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(AliasLimitExtension(self.0))
    }
}

struct AliasLimitExtension(usize);

fn count_aliases(
    set: &SelectionSet,
    doc: &ExecutableDocument,
    budget: &mut usize,
    seen_fragments: &mut Vec<String>,
) -> usize {
    let mut count = 0;
    for item in &set.items {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        match &item.node {
            Selection::Field(field) => {
                if field.node.alias.is_some() {
                    count += 1;
                }
                count += count_aliases(&field.node.selection_set.node, doc, budget, seen_fragments);
            }
            Selection::InlineFragment(fragment) => {
                count += count_aliases(&fragment.node.selection_set.node, doc, budget, seen_fragments);
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.node.fragment_name.node.to_string();
                // Count each fragment once per document walk; cycles are rejected by validation.
                if !seen_fragments.contains(&name) {
                    seen_fragments.push(name.clone());
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        count += count_aliases(&fragment.node.selection_set.node, doc, budget, seen_fragments);
                    }
                }
            }
        }
    }
    count
}

#[async_trait::async_trait]
impl Extension for AliasLimitExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let doc = next.run(ctx, query, variables).await?;
        let mut budget = 100_000;
        let mut seen = Vec::new();
        let mut aliases = 0;
        for (_, op) in doc.operations.iter() {
            aliases += count_aliases(&op.node.selection_set.node, &doc, &mut budget, &mut seen);
        }
        if aliases > self.0 {
            let err = async_graphql::Error::new(format!("Query has {aliases} aliases; the limit is {}", self.0))
                .extend_with(|_, e| e.set("code", "QUERY_TOO_COMPLEX"));
            return Err(err.into_server_error(async_graphql::Pos::default()));
        }
        Ok(doc)
    }
}

/// Marks async-graphql's own depth and complexity rejections with our code.
pub fn classify(err: &mut ServerError) {
    let has_code = err.extensions.as_ref().is_some_and(|e| e.get("code").is_some());
    if has_code {
        return;
    }
    let msg = err.message.as_str();
    let code = if msg.contains("too complex") || msg.contains("nested too deep") || msg.contains("too deep") {
        "QUERY_TOO_COMPLEX"
    } else if msg.contains("Invalid value")
        || msg.contains("Unknown")
        || msg.contains("Failed to parse")
        || msg.contains("expected type")
        || msg.contains("not defined")
        || msg.contains("required")
        || msg.contains("Expected")
    {
        "BAD_USER_INPUT"
    } else {
        "GRAPHQL_VALIDATION_FAILED"
    };
    err.extensions.get_or_insert_with(Default::default).set("code", code);
}
