//! [`plan`]: the direct conversations the seller has not had yet that lower a deal's risk
//! most, with the numbers (SPEC §10).
//!
//! The engine is pure and cheap, so the planner does not reason about factors at all: it
//! adds the meetings it is trying to the deal's facts and assesses again. Whatever the rules
//! say about a deal with those meetings is what the plan says.
//!
//! The plan, exactly (so that any two correct implementations agree):
//! - **Candidates** ([`candidates`]): members whose engagement at `as_of` is not `DIRECT`,
//!   `canVeto` first, then stance `OPPOSED` first, then influence HIGH > MEDIUM > LOW, then
//!   full name (code-point order), then id; the first [`MAX_CANDIDATES`].
//! - **A meeting** with a member is one extra interaction at `as_of` with that member as its
//!   only participant and nobody in `about`. Nothing else changes: a conversation is
//!   simulated, not its outcome.
//! - **The chosen set** has at most [`MAX_MEETINGS`] members and the lowest score such sets
//!   reach; among those the smallest; among those the first in lexicographic order of
//!   candidate positions. Sets are tried by size, each size in lexicographic order, so the
//!   first set to reach a new low is the chosen one. No set lowers the score: no steps.
//! - **Steps** are the chosen members in candidate order, each with the assessment after the
//!   meetings up to and including it.

use chrono::{DateTime, Utc};

use super::engine::{Assessment, MAX_MEMBERS, assess, engagement, replay};
use super::explain::{join, member_label};
use super::model::{Engagement, RiskFactorCode, Stance};
use super::{DealFacts, InteractionFacts, RiskPolicy};

/// How many members, in priority order, the planner considers.
pub const MAX_CANDIDATES: usize = 12;

/// The most meetings a plan proposes.
pub const MAX_MEETINGS: usize = 5;

/// What to do next about a deal, and what it would change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// The assessment at `as_of`, as [`assess`] gives it.
    pub current: Assessment,
    /// In order; each assumes the steps before it were done. Empty when no set of meetings
    /// lowers the score (and on closed deals).
    pub steps: Vec<Step>,
    /// The assessment after every step (`current` when there are none).
    pub reachable: Assessment,
}

/// One direct conversation and what it changes, given the steps before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The member to meet: an index into [`DealFacts::members`].
    pub member: u16,
    /// The assessment with the meetings up to and including this one.
    pub after: Assessment,
    /// The factors that stop firing with this step, in code-point order of their names
    /// (`DELEGATED_ENGAGEMENT` before `VETO_HOLDER_UNENGAGED`).
    pub clears: Vec<RiskFactorCode>,
    /// The step in words: who, risk before → after, what it clears.
    pub message: String,
}

/// The members a plan may propose to meet, in priority order, at most [`MAX_CANDIDATES`].
///
/// `ids[i]` is member `i`'s id, the last tie-break (after the full name); a member without
/// one sorts first among equals, and the member index settles what is left.
pub fn candidates<K: Ord>(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>, ids: &[K]) -> Vec<u16> {
    let engaged = engagement(deal, policy, as_of);
    let mut found: Vec<u16> = engaged
        .iter()
        .take(MAX_MEMBERS)
        .enumerate()
        .filter(|(_, e)| **e != Engagement::Direct)
        .filter_map(|(i, _)| u16::try_from(i).ok())
        .collect();
    found.sort_by(|&a, &b| {
        let key = |i: u16| {
            let m = &deal.members[usize::from(i)];
            (
                !m.can_veto,
                m.stance != Stance::Opposed,
                std::cmp::Reverse(m.influence),
                m.name,
            )
        };
        key(a)
            .cmp(&key(b))
            .then_with(|| ids.get(usize::from(a)).cmp(&ids.get(usize::from(b))))
            .then(a.cmp(&b))
    });
    found.truncate(MAX_CANDIDATES);
    found
}

/// The next steps for `deal` at `as_of` under `policy` (SPEC §10); see the module header.
///
/// `ids[i]` is member `i`'s id, used only to order [`candidates`] whose other keys tie.
/// Costs at most 1,586 assessments of the deal with up to five extra interactions.
pub fn plan<K: Ord>(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>, ids: &[K]) -> Plan {
    let current = assess(deal, policy, as_of);
    // A closed deal carries nothing to lower; nor does a deal at 0.
    if current.score == 0 || replay(deal, as_of).stage.is_closed() {
        return Plan {
            reachable: current.clone(),
            current,
            steps: Vec::new(),
        };
    }
    let candidates = candidates(deal, policy, as_of, ids);
    let singles: Vec<[u16; 1]> = candidates.iter().map(|&c| [c]).collect();
    let mut trial = Trial::new(*deal, policy, as_of, &singles);

    let (mut best_score, mut best): (u32, Vec<usize>) = (current.score, Vec::new());
    'sizes: for size in 1..=MAX_MEETINGS.min(candidates.len()) {
        let mut set: Vec<usize> = (0..size).collect();
        loop {
            let score = trial.assess(&set).score;
            if score < best_score {
                (best_score, best) = (score, set.clone());
                if score == 0 {
                    break 'sizes; // nothing reaches lower
                }
            }
            if !next_combination(&mut set, candidates.len()) {
                break;
            }
        }
    }

    let mut steps = Vec::with_capacity(best.len());
    let mut before = current.clone();
    for done in 1..=best.len() {
        let after = trial.assess(&best[..done]);
        let mut clears: Vec<RiskFactorCode> = before.codes().filter(|&c| !after.has(c)).collect();
        clears.sort_by_key(|c| c.as_str());
        let member = candidates[best[done - 1]];
        let message = message(
            deal,
            member,
            &before,
            &after,
            &clears,
            (done < best.len()).then_some(best_score),
        );
        steps.push(Step {
            member,
            after: after.clone(),
            clears,
            message,
        });
        before = after;
    }
    Plan {
        current,
        steps,
        reachable: before,
    }
}

/// Steps `set` (ascending positions below `n`) to the next set of its size in lexicographic
/// order; `false` after the last one.
fn next_combination(set: &mut [usize], n: usize) -> bool {
    let k = set.len();
    let Some(i) = (0..k).rev().find(|&i| set[i] < n - k + i) else {
        return false;
    };
    set[i] += 1;
    for j in i + 1..k {
        set[j] = set[j - 1] + 1;
    }
    true
}

/// The deal's facts with room for the simulated meetings: assessing a set of meetings
/// replaces the extra interactions and allocates nothing.
struct Trial<'s> {
    deal: DealFacts<'s>,
    policy: &'s RiskPolicy,
    as_of: DateTime<Utc>,
    /// Each candidate as a one-member participant list, by candidate position.
    singles: &'s [[u16; 1]],
    /// The deal's interactions, then the simulated ones.
    interactions: Vec<InteractionFacts<'s>>,
}

impl<'s> Trial<'s> {
    fn new(deal: DealFacts<'s>, policy: &'s RiskPolicy, as_of: DateTime<Utc>, singles: &'s [[u16; 1]]) -> Self {
        let mut interactions = Vec::with_capacity(deal.interactions.len() + MAX_MEETINGS);
        interactions.extend_from_slice(deal.interactions);
        Trial {
            deal,
            policy,
            as_of,
            singles,
            interactions,
        }
    }

    /// The assessment with one meeting at `as_of` for each candidate position in `set`.
    fn assess(&mut self, set: &[usize]) -> Assessment {
        self.interactions.truncate(self.deal.interactions.len());
        let (singles, as_of) = (self.singles, self.as_of);
        self.interactions.extend(set.iter().map(|&position| InteractionFacts {
            occurred_at: as_of,
            participants: &singles[position],
            about: &[],
        }));
        let facts = DealFacts {
            interactions: &self.interactions,
            ..self.deal
        };
        assess(&facts, self.policy, as_of)
    }
}

/// "Meet Dana Ruiz (Controller) directly: risk 100 → 70, clears DELEGATED_ENGAGEMENT and
/// VETO_HOLDER_UNENGAGED." A step that does not lower the score on its own says where the
/// steps after it take it (`reachable`, given for every step but the last).
fn message(
    deal: &DealFacts<'_>,
    member: u16,
    before: &Assessment,
    after: &Assessment,
    clears: &[RiskFactorCode],
    reachable: Option<u32>,
) -> String {
    let who = member_label(&deal.members[usize::from(member)], &[]);
    let mut text = if before.score == after.score {
        format!("Meet {who} directly: risk stays at {}", before.score)
    } else {
        format!("Meet {who} directly: risk {} → {}", before.score, after.score)
    };
    if !clears.is_empty() {
        text.push_str(", clears ");
        text.push_str(&join(clears.iter().map(|c| c.as_str().to_owned()).collect()));
    }
    // Under some policies a meeting can make a factor fire (a third interaction in the
    // window brings in the single-thread share rule): say so rather than hide it.
    let starts: Vec<String> = after
        .codes()
        .filter(|&c| !before.has(c))
        .map(|c| c.as_str().to_owned())
        .collect();
    if !starts.is_empty() {
        let verb = if starts.len() == 1 { "starts" } else { "start" };
        text.push_str(&format!(", and {} {verb} firing", join(starts)));
    }
    if let Some(reachable) = reachable.filter(|&r| after.score >= before.score && r < after.score) {
        text.push_str(&format!("; with the steps after it, it falls to {reachable}"));
    }
    text.push('.');
    text
}
