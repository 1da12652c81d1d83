//! Change events (SPEC §9): what a committed transaction did to a deal, announced to live
//! subscribers once the transaction has committed.
//!
//! One event per deal and transaction, of the most specific kind the transaction recorded,
//! carrying the move of the deal's stored assessment when that changed. Events name the
//! deal and its tenant only; subscribers re-read what they show under their own tenant scope.

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use super::model::ChangeKind;
use super::model::{FactorSet, RiskLevel};
use super::records::StoredRisk;

/// A deal's stored assessment at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskState {
    pub at: DateTime<Utc>,
    pub score: u32,
    pub level: RiskLevel,
    pub factors: FactorSet,
}

impl RiskState {
    /// The stored assessment as a state, `None` before the deal was first assessed.
    pub fn of(risk: &StoredRisk) -> Option<RiskState> {
        Some(RiskState {
            at: risk.assessed_at?,
            score: risk.score,
            level: risk.level,
            factors: risk.factors,
        })
    }
}

/// How a deal's stored assessment moved in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskMove {
    /// `None` when the deal had not been assessed before (it was just created).
    pub previous: Option<RiskState>,
    pub current: RiskState,
}

impl RiskMove {
    /// Factors the current assessment has and the previous one had not.
    pub fn new_factors(&self) -> FactorSet {
        let before = self.previous.map_or(FactorSet::EMPTY, |p| p.factors);
        self.current.factors.difference(before)
    }

    /// Factors the previous assessment had and the current one has not.
    pub fn cleared_factors(&self) -> FactorSet {
        self.previous
            .map_or(FactorSet::EMPTY, |p| p.factors.difference(self.current.factors))
    }

    /// Whether the old or the new level is at least `min`.
    pub fn reaches(&self, min: RiskLevel) -> bool {
        self.current.level >= min || self.previous.is_some_and(|p| p.level >= min)
    }
}

/// What one committed transaction did to one deal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeEvent {
    pub tenant: String,
    pub deal: Uuid,
    pub kind: ChangeKind,
    /// When the transaction made the change.
    pub at: DateTime<Utc>,
    /// Set when the deal's stored assessment changed.
    pub risk: Option<RiskMove>,
}
