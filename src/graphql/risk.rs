//! Risk in the API: live assessments with explanations, stored history, the tenant policy.

use async_graphql::{InputObject, Object, SimpleObject};

use super::enums::{BuyingRole, RiskFactorCode, RiskLevel, Severity};
use super::member::BuyingGroupMember;
use super::scalars::Timestamp;
use crate::domain::commands::PolicyChanges;
use crate::domain::deal_record::{ExplainedAssessment, NextSteps};
use crate::domain::model::{self, FactorSet};
use crate::domain::records::RiskPoint;
use crate::domain::risk::{Assessment, RiskPolicy};

/// A deal's risk at one instant, with every fired factor explained.
#[derive(SimpleObject)]
#[graphql(name = "RiskAssessment")]
pub struct RiskAssessmentOut {
    /// The instant assessed (interactions after it are ignored; stage and close-date history
    /// are replayed to it; the buying group is taken as it is now).
    pub as_of: Timestamp,
    /// `min(100, sum of the factors' points)`.
    pub score: i32,
    pub level: RiskLevel,
    /// Highest points first.
    pub factors: Vec<RiskFactorOut>,
}

/// One reason a deal is at risk.
#[derive(SimpleObject)]
#[graphql(name = "RiskFactor")]
pub struct RiskFactorOut {
    pub code: RiskFactorCode,
    pub severity: Severity,
    pub points: i32,
    /// What is wrong, naming the people and the numbers.
    pub message: String,
    /// The seller's next step.
    pub recommendation: String,
    /// The evidence: the members this factor is about.
    pub members: Vec<BuyingGroupMember>,
}

impl From<ExplainedAssessment> for RiskAssessmentOut {
    fn from(assessment: ExplainedAssessment) -> Self {
        RiskAssessmentOut {
            as_of: Timestamp(assessment.as_of),
            score: int(assessment.score),
            level: assessment.level.into(),
            factors: assessment
                .factors
                .into_iter()
                .map(|factor| RiskFactorOut {
                    code: factor.code.into(),
                    severity: factor.severity.into(),
                    points: int(factor.points),
                    message: factor.message,
                    recommendation: factor.recommendation,
                    members: factor.members.into_iter().map(BuyingGroupMember).collect(),
                })
                .collect(),
        }
    }
}

/// A point of a deal's risk history: the stored assessment after a change.
#[derive(SimpleObject)]
pub struct RiskSnapshot {
    pub at: Timestamp,
    pub score: i32,
    pub level: RiskLevel,
    pub factor_codes: Vec<RiskFactorCode>,
}

impl From<RiskPoint> for RiskSnapshot {
    fn from(point: RiskPoint) -> Self {
        RiskSnapshot {
            at: Timestamp(point.at),
            score: int(point.score),
            level: point.level.into(),
            factor_codes: point.factors.iter().map(Into::into).collect(),
        }
    }
}

impl RiskSnapshot {
    /// A live assessment at `at` (codes in code order, as in the stored history).
    fn assessed(at: chrono::DateTime<chrono::Utc>, assessment: &Assessment) -> Self {
        let codes: FactorSet = assessment.codes().collect();
        RiskSnapshot {
            at: Timestamp(at),
            score: int(assessment.score),
            level: assessment.level.into(),
            factor_codes: codes.iter().map(Into::into).collect(),
        }
    }
}

/// What to do next about a deal and what it would change: the direct conversations, at most
/// five, that lower its risk most (SPEC §10).
#[derive(SimpleObject)]
pub struct NextStepPlan {
    /// The instant planned for.
    pub as_of: Timestamp,
    /// The assessment at `asOf` (`at` = `asOf`).
    pub current: RiskSnapshot,
    /// In order; each assumes the steps before it were done. Empty when no meetings lower the
    /// score, and on closed deals.
    pub steps: Vec<NextStep>,
    /// The assessment after every step (`current` when there are no steps).
    pub reachable: RiskSnapshot,
}

/// One direct conversation with a member of the buying group, and what it changes given the
/// steps before it.
#[derive(SimpleObject)]
pub struct NextStep {
    /// Whom to meet, on their own.
    pub meet: BuyingGroupMember,
    /// The score with this meeting and the ones before it.
    pub score_after: i32,
    pub level_after: RiskLevel,
    /// The factors that stop firing with this step, in alphabetical order.
    pub clears: Vec<RiskFactorCode>,
    /// The step in words: who, risk before → after, what it clears.
    pub message: String,
}

impl From<NextSteps> for NextStepPlan {
    fn from(plan: NextSteps) -> Self {
        NextStepPlan {
            as_of: Timestamp(plan.as_of),
            current: RiskSnapshot::assessed(plan.as_of, &plan.current),
            steps: plan
                .steps
                .into_iter()
                .map(|step| NextStep {
                    meet: BuyingGroupMember(step.member),
                    score_after: int(step.after.score),
                    level_after: step.after.level.into(),
                    clears: step.clears.into_iter().map(Into::into).collect(),
                    message: step.message,
                })
                .collect(),
            reachable: RiskSnapshot::assessed(plan.as_of, &plan.reachable),
        }
    }
}

/// The points one factor adds to a deal's score (0 disables it).
#[derive(SimpleObject)]
pub struct RiskWeight {
    pub code: RiskFactorCode,
    pub points: i32,
}

/// The tenant's risk thresholds and weights (SPEC §4).
pub struct RiskPolicyOut(pub RiskPolicy);

fn int(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

#[Object(name = "RiskPolicy")]
impl RiskPolicyOut {
    /// Days of the engagement window (asOf − N days, asOf].
    async fn engagement_window_days(&self) -> i32 {
        int(self.0.engagement_window_days)
    }
    /// `SINGLE_THREADED` below this many directly engaged members.
    async fn min_engaged_members(&self) -> i32 {
        int(self.0.min_engaged_members)
    }
    /// `SINGLE_THREADED` when one member takes part in at least this share of the window's
    /// interactions (with 3 or more interactions).
    async fn single_thread_share(&self) -> f64 {
        self.0.single_thread_share
    }
    /// `BUYING_GROUP_GAPS` below this group size.
    async fn min_group_size(&self) -> i32 {
        int(self.0.min_group_size)
    }
    /// `BUYING_GROUP_GAPS` when one of these roles is missing.
    async fn required_roles(&self) -> Vec<BuyingRole> {
        self.0.required_roles.iter().map(|r| (*r).into()).collect()
    }
    /// `LOW_COVERAGE` below this share of the group engaged directly.
    async fn coverage_threshold(&self) -> f64 {
        self.0.coverage_threshold
    }
    /// `STALLED` after more than this many days in one stage.
    async fn stall_days(&self) -> i32 {
        int(self.0.stall_days)
    }
    /// `GOING_DARK` after this many days without any interaction.
    async fn dark_days(&self) -> i32 {
        int(self.0.dark_days)
    }
    /// `CLOSE_DATE_PUSHED` once the close date moved later this many times.
    async fn max_close_date_pushes(&self) -> i32 {
        int(self.0.max_close_date_pushes)
    }
    /// Points per factor, in code order.
    async fn weights(&self) -> Vec<RiskWeight> {
        model::RiskFactorCode::ALL
            .iter()
            .map(|code| RiskWeight {
                code: (*code).into(),
                points: int(self.0.points(*code)),
            })
            .collect()
    }
}

#[derive(InputObject)]
pub struct RiskWeightInput {
    pub code: RiskFactorCode,
    /// 0 to 100; 0 disables the factor.
    pub points: i32,
}

/// Any subset of the policy; omitted fields keep their value, weights are merged by code.
#[derive(InputObject, Default)]
pub struct RiskPolicyInput {
    /// 1 to 365.
    pub engagement_window_days: Option<i32>,
    /// 1 to 50.
    pub min_engaged_members: Option<i32>,
    /// Greater than 0, at most 1.
    pub single_thread_share: Option<f64>,
    /// 1 to 100.
    pub min_group_size: Option<i32>,
    /// At most 12, no duplicates.
    pub required_roles: Option<Vec<BuyingRole>>,
    /// Greater than 0, at most 1.
    pub coverage_threshold: Option<f64>,
    /// 1 to 3650.
    pub stall_days: Option<i32>,
    /// 1 to 365.
    pub dark_days: Option<i32>,
    /// 1 to 100.
    pub max_close_date_pushes: Option<i32>,
    pub weights: Option<Vec<RiskWeightInput>>,
}

impl From<RiskPolicyInput> for PolicyChanges {
    fn from(input: RiskPolicyInput) -> Self {
        PolicyChanges {
            engagement_window_days: input.engagement_window_days,
            min_engaged_members: input.min_engaged_members,
            single_thread_share: input.single_thread_share,
            min_group_size: input.min_group_size,
            required_roles: input.required_roles.map(|r| r.into_iter().map(Into::into).collect()),
            coverage_threshold: input.coverage_threshold,
            stall_days: input.stall_days,
            dark_days: input.dark_days,
            max_close_date_pushes: input.max_close_date_pushes,
            weights: input
                .weights
                .map(|w| w.into_iter().map(|w| (w.code.into(), w.points)).collect()),
        }
    }
}
