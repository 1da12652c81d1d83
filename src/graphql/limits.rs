//! Abuse limits beyond async-graphql's depth and complexity: a cap on aliases, checked on the
//! parsed document before anything runs, so a rejected query costs next to nothing.
//!
//! (Not an async-graphql extension on purpose: any registered extension sends every field of
//! every response through the extension chain, which costs the deal board a third of its time.)

use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ErrorExtensions, ServerError};

/// How many aliased fields `doc` holds (the walk is bounded).
pub fn alias_count(doc: &ExecutableDocument) -> usize {
    let mut budget = 100_000;
    doc.operations
        .iter()
        .map(|(_, op)| count_aliases(&op.node.selection_set.node, doc, &mut budget, 0))
        .sum()
}

/// `QUERY_TOO_COMPLEX` when `doc` has more than `max` aliases.
pub fn check_aliases(doc: &ExecutableDocument, max: usize) -> Result<(), ServerError> {
    let aliases = alias_count(doc);
    if aliases > max {
        let err = async_graphql::Error::new(format!("Query has {aliases} aliases; the limit is {max}"))
            .extend_with(|_, e| e.set("code", "QUERY_TOO_COMPLEX"));
        return Err(err.into_server_error(async_graphql::Pos::default()));
    }
    Ok(())
}

/// Fragments are counted at every spread (repeating a fragment repeats its aliases); the walk
/// stops after `budget` selections or 32 levels, which also ends fragment cycles that
/// validation has not rejected yet.
fn count_aliases(set: &SelectionSet, doc: &ExecutableDocument, budget: &mut usize, depth: usize) -> usize {
    if depth > 32 {
        return 0;
    }
    let mut count = 0;
    for item in &set.items {
        if *budget == 0 {
            break;
        }
        *budget -= 1;
        count += match &item.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node, doc, budget, depth + 1)
            }
            Selection::InlineFragment(fragment) => {
                count_aliases(&fragment.node.selection_set.node, doc, budget, depth + 1)
            }
            Selection::FragmentSpread(spread) => match doc.fragments.get(&spread.node.fragment_name.node) {
                Some(fragment) => count_aliases(&fragment.node.selection_set.node, doc, budget, depth + 1),
                None => 0,
            },
        };
    }
    count
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
