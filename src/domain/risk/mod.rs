//! The buying-group risk engine (SPEC §4): pure functions over plain, borrowed facts.
//!
//! Risk is a function of (the deal, its buying group, its interactions, the tenant's policy,
//! `as_of`) and nothing else: no database, no clock, no GraphQL. The caller loads the facts,
//! borrows them to the engine in a [`DealFacts`], and picks `as_of` (usually "now", but any
//! instant, past or future, replays the time-stamped facts as they stood then).
//!
//! - [`assess`] is the hot path (stored assessments, the periodic sweep, boards). It formats
//!   no text and, for groups of up to 128 members, allocates nothing: evidence is a
//!   [`MemberSet`] of indices into [`DealFacts::members`] and the factor list is inline.
//! - [`explain`] / [`explain_all`] turn a fired [`Factor`] into a message that names the
//!   people and the numbers, and the seller's next step. Only the deal page pays for them.
//! - [`engagement`], [`member_engagement`] and [`last_direct_interaction`] expose the
//!   per-member view the rules are built on, with the same window semantics.
//! - [`plan`] tries the direct conversations the seller has not had yet (SPEC §10): it adds
//!   them to the facts and assesses again, and proposes the fewest that lower the score most.
//!
//! Time rules, exactly: "N days" is N × 24 h; the engagement window is the half-open
//! interval (`as_of` − window, `as_of`]; interactions after `as_of` do not exist yet.
//!
//! Input robustness: participant or `about` indices that do not name a member are ignored,
//! a member listed twice in one interaction counts once, and only the first 65,536 members
//! can be referenced (indices are `u16`). An invalid policy (see [`RiskPolicy::validate`])
//! never panics the engine; it just gives the answer its numbers imply.

// `model` is a sibling module both here and in the service (`crate::domain::{model, risk}`),
// so children reach the vocabulary as `super::model` without knowing where the tree is rooted.
use super::model;

mod engine;
mod explain;
mod members;
mod plan;
mod policy;

#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};

use model::{Bandwidth, BuyingRole, Influence, Stage, Stance};

pub use engine::{
    Assessment, DealAsOf, FACTOR_COUNT, Factor, FactorList, MemberEngagement, assess, engagement,
    last_direct_interaction, member_engagement, replay,
};
pub use explain::{Explanation, explain, explain_all};
pub use members::{MemberSet, MemberSetIter};
pub use plan::{MAX_CANDIDATES, MAX_MEETINGS, Plan, Step, candidates, plan};
pub use policy::{PolicyError, RiskPolicy};

/// One buying-group member as the rules see them: attributes as they are now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberFacts<'a> {
    pub name: &'a str,
    pub title: Option<&'a str>,
    pub role: BuyingRole,
    pub stance: Stance,
    pub can_veto: bool,
    pub influence: Influence,
    pub bandwidth: Bandwidth,
}

/// One logged interaction. `participants` were engaged directly; `about` were discussed
/// without being present. Both hold indices into [`DealFacts::members`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InteractionFacts<'a> {
    pub occurred_at: DateTime<Utc>,
    pub participants: &'a [u16],
    pub about: &'a [u16],
}

/// One entry of the stage history. The first entry is the deal's creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StageChangeFacts {
    pub to: Stage,
    pub at: DateTime<Utc>,
}

/// One change of the expected close date (`None` = no date set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseDateChangeFacts {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub at: DateTime<Utc>,
}

/// Everything the engine needs about one deal, borrowed from the caller.
///
/// `stage_history` and `close_date_changes` are expected sorted by `at` (oldest first);
/// `interactions` may come in any order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealFacts<'a> {
    pub created_at: DateTime<Utc>,
    /// The current stage (used as is when `stage_history` is empty).
    pub stage: Stage,
    /// When the deal entered its current stage (used when `stage_history` is empty).
    pub stage_entered_at: DateTime<Utc>,
    /// The current expected close date (used when there are no `close_date_changes`).
    pub expected_close_date: Option<NaiveDate>,
    pub stage_history: &'a [StageChangeFacts],
    pub close_date_changes: &'a [CloseDateChangeFacts],
    pub members: &'a [MemberFacts<'a>],
    pub interactions: &'a [InteractionFacts<'a>],
}
