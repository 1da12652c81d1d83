//! Abuse limits beyond async-graphql's depth and complexity, checked on the parsed document
//! before anything runs — and before async-graphql's own checks, which expand every fragment
//! spread again, so that a rejected query costs next to nothing whatever its shape.
//!
//! A document is measured without being expanded: each fragment is measured once (memoized),
//! and a spread adds its fragment's measure. So a document whose expansion is exponential in
//! its length (`F0` spreads `F1` twice, `F1` spreads `F2` twice, …) is measured in time linear
//! in its length and rejected. The measure counts what the expanded document would hold:
//! selections (fields) and aliases. A batch's measures add up.
//!
//! (Not an async-graphql extension on purpose: any registered extension sends every field of
//! every response through the extension chain, which costs the deal board a third of its time.)

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{Schema, ServerError, ValidationResult};

use super::AppSchema;

/// Most fragment definitions one document may carry.
pub const MAX_FRAGMENTS: usize = 100;
/// Most fields the document may hold once every fragment spread is expanded: far above any
/// deal page or board (about 100), far below what a worker can walk in a millisecond.
pub const MAX_EXPANDED_FIELDS: u64 = 10_000;

/// What an expanded document would hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Measure {
    pub fields: u64,
    pub aliases: u64,
}

impl Measure {
    fn add(self, other: Measure) -> Measure {
        Measure {
            fields: self.fields.saturating_add(other.fields),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

/// Why a document was refused before running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TooManyFragments(usize),
    FragmentCycle(String),
}

/// Measures every operation of `doc` (their sum), each fragment once.
pub fn measure(doc: &ExecutableDocument) -> Result<Measure, Refusal> {
    if doc.fragments.len() > MAX_FRAGMENTS {
        return Err(Refusal::TooManyFragments(doc.fragments.len()));
    }
    let mut walker = Walker {
        doc,
        fragments: HashMap::new(),
    };
    let mut total = Measure::default();
    for (_, op) in doc.operations.iter() {
        total = total.add(walker.set(&op.node.selection_set.node)?);
    }
    Ok(total)
}

enum Memo {
    InProgress,
    Done(Measure),
}

struct Walker<'d> {
    doc: &'d ExecutableDocument,
    fragments: HashMap<&'d str, Memo>,
}

impl<'d> Walker<'d> {
    fn set(&mut self, set: &'d SelectionSet) -> Result<Measure, Refusal> {
        let mut total = Measure::default();
        for item in &set.items {
            let part = match &item.node {
                Selection::Field(field) => Measure {
                    fields: 1,
                    aliases: u64::from(field.node.alias.is_some()),
                }
                .add(self.set(&field.node.selection_set.node)?),
                Selection::InlineFragment(fragment) => self.set(&fragment.node.selection_set.node)?,
                Selection::FragmentSpread(spread) => self.fragment(spread.node.fragment_name.node.as_str())?,
            };
            total = total.add(part);
        }
        Ok(total)
    }

    fn fragment(&mut self, name: &'d str) -> Result<Measure, Refusal> {
        match self.fragments.get(name) {
            Some(Memo::Done(measure)) => return Ok(*measure),
            Some(Memo::InProgress) => return Err(Refusal::FragmentCycle(name.to_owned())),
            None => {}
        }
        // An unknown fragment measures nothing here; validation reports it.
        let Some((key, fragment)) = self.doc.fragments.get_key_value(name) else {
            return Ok(Measure::default());
        };
        let key = key.as_str();
        self.fragments.insert(key, Memo::InProgress);
        let measure = self.set(&fragment.node.selection_set.node)?;
        self.fragments.insert(key, Memo::Done(measure));
        Ok(measure)
    }
}

/// A request error: it concerns the whole document, so it names no location in it.
fn refused(code: &str, message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", code);
    err
}

/// Checks a request's (or a whole batch's) documents against the limits: their measures add
/// up. `QUERY_TOO_COMPLEX` over a limit; `GRAPHQL_VALIDATION_FAILED` for a fragment cycle.
pub fn check_documents<'a>(
    docs: impl IntoIterator<Item = &'a ExecutableDocument>,
    max_aliases: usize,
) -> Result<(), ServerError> {
    let mut total = Measure::default();
    for doc in docs {
        match measure(doc) {
            Ok(measure) => total = total.add(measure),
            Err(Refusal::TooManyFragments(n)) => {
                return Err(refused(
                    "QUERY_TOO_COMPLEX",
                    format!("The document defines {n} fragments; the limit is {MAX_FRAGMENTS}"),
                ));
            }
            Err(Refusal::FragmentCycle(name)) => {
                return Err(refused(
                    "GRAPHQL_VALIDATION_FAILED",
                    format!("Fragment \"{name}\" spreads itself (fragment spreads must not form cycles)"),
                ));
            }
        }
    }
    if total.aliases > max_aliases as u64 {
        return Err(refused(
            "QUERY_TOO_COMPLEX",
            format!("Query has {} aliases; the limit is {max_aliases}", total.aliases),
        ));
    }
    if total.fields > MAX_EXPANDED_FIELDS {
        return Err(refused(
            "QUERY_TOO_COMPLEX",
            format!(
                "Query has {} fields once its fragments are expanded; the limit is {MAX_EXPANDED_FIELDS}",
                total.fields
            ),
        ));
    }
    Ok(())
}

/// Prices operations without running them, with async-graphql's own complexity (the figure
/// its per-operation limit compares): a copy of the schema whose validation step records the
/// cost and stops there. A batch is priced as a whole with it (SPEC §5: its operations'
/// costs add up). Not on the single-request path: async-graphql's limit covers that for free.
#[derive(Clone)]
pub struct CostProbe(AppSchema);

/// Where the probe's validation step leaves the cost it measured.
struct MeasuredCost(AtomicUsize);

impl CostProbe {
    pub fn new() -> CostProbe {
        CostProbe(
            Schema::build(
                super::query::Query,
                super::mutation::Mutation,
                super::subscription::Subscription,
            )
            .extension(StopAfterValidation)
            .finish(),
        )
    }

    /// The cost of the operation `request` selects, its document already parsed as `doc`;
    /// 0 when the document does not validate (executing it reports why).
    pub async fn cost(&self, request: &async_graphql::Request, doc: &ExecutableDocument) -> usize {
        let measured = Arc::new(MeasuredCost(AtomicUsize::new(0)));
        let mut probe = async_graphql::Request::new(request.query.clone())
            .variables(request.variables.clone())
            .data(Arc::clone(&measured));
        probe.operation_name.clone_from(&request.operation_name);
        probe.set_parsed_query(doc.clone());
        // The probe always answers with an error: it stops once the cost is known.
        let _stopped = self.0.execute(probe).await;
        measured.0.load(Ordering::Relaxed)
    }
}

impl Default for CostProbe {
    fn default() -> Self {
        CostProbe::new()
    }
}

struct StopAfterValidation;

impl ExtensionFactory for StopAfterValidation {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(StopAfterValidation)
    }
}

#[async_trait::async_trait]
impl Extension for StopAfterValidation {
    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await?;
        if let Some(measured) = ctx.data_opt::<Arc<MeasuredCost>>() {
            measured.0.store(result.complexity, Ordering::Relaxed);
        }
        Err(vec![ServerError::new("priced, not run", None)])
    }
}

/// `QUERY_TOO_COMPLEX` for a batch whose operations cost more than `limit` together.
pub fn check_batch_cost(costs: &[usize], limit: usize) -> Result<(), ServerError> {
    let total = costs.iter().fold(0usize, |sum, c| sum.saturating_add(*c));
    if total > limit {
        return Err(refused(
            "QUERY_TOO_COMPLEX",
            format!(
                "The batch's {} operations cost {total} together; the limit is {limit}",
                costs.len()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(query: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(query).expect("parses")
    }

    /// `F0` spreads `F1` twice, …: 2^n copies of `F{n}` once expanded.
    fn doubling(n: usize) -> String {
        let mut query = String::from("{ ...F0 } ");
        for i in 0..n {
            query.push_str(&format!(
                "fragment F{i} on Query {{ a{i}: viewer {{ userId }} ...F{next} ...F{next} }} ",
                next = i + 1
            ));
        }
        query.push_str(&format!("fragment F{n} on Query {{ __typename }}"));
        query
    }

    #[test]
    fn an_exponential_document_is_measured_without_being_expanded() {
        // Level i holds 2^i copies of its aliased `viewer { userId }` (2 fields, 1 alias), and
        // the last fragment 2^60 copies of `__typename`.
        let measure = measure(&parse(&doubling(60))).expect("measured");
        assert_eq!(
            measure,
            Measure {
                fields: 3 * (1 << 60) - 2,
                aliases: (1 << 60) - 1
            }
        );
        let huge = super::measure(&parse(&doubling(90))).expect("measured");
        assert_eq!(huge.fields, u64::MAX, "saturates instead of overflowing");
        let small = super::measure(&parse(&doubling(3))).expect("measured");
        // 1 + 2 + 4 viewers (2 fields and 1 alias each) and 8 __typename.
        assert_eq!(
            small,
            Measure {
                fields: 7 * 2 + 8,
                aliases: 7
            }
        );
    }

    #[test]
    fn cycles_and_fragment_floods_are_refused() {
        let cycle = parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
        assert!(matches!(measure(&cycle), Err(Refusal::FragmentCycle(_))));
        let many: String = (0..=MAX_FRAGMENTS)
            .map(|i| format!("fragment G{i} on Query {{ __typename }} "))
            .collect();
        let flood = parse(&format!("{{ __typename }} {many}"));
        assert_eq!(measure(&flood), Err(Refusal::TooManyFragments(MAX_FRAGMENTS + 1)));
    }
}
