//! Everything recorded about one deal — the deal, its buying group and its history — owned,
//! so that it can be loaded once per request and lent to the risk engine as [`DealFacts`].

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::model::{Engagement, RiskFactorCode, RiskLevel, Severity};
use super::records::{CloseDateChange, Deal, Interaction, Link, Member, StageChange, StoredRisk};
use super::risk::{
    self, Assessment, CloseDateChangeFacts, DealFacts, InteractionFacts, MemberFacts, RiskPolicy, StageChangeFacts,
};

/// A deal's history: its interactions (oldest first) with who took part and who was
/// discussed, its stage moves and its close-date changes (oldest first).
#[derive(Debug, Clone, Default)]
pub struct DealHistory {
    pub interactions: Vec<Arc<Interaction>>,
    pub links: Vec<Link>,
    pub stage_changes: Vec<StageChange>,
    pub close_date_changes: Vec<CloseDateChange>,
}

/// A deal with its current buying group and its history.
#[derive(Debug, Clone)]
pub struct DealRecord {
    pub deal: Arc<Deal>,
    /// The current group, in the order members joined (the order of `buyingGroup`).
    pub members: Vec<Arc<Member>>,
    pub history: Arc<DealHistory>,
    /// Per interaction (in history order): the indices in `members` of its participants and
    /// of the members it was about.
    links_by_index: Vec<(Vec<u16>, Vec<u16>)>,
    stage_facts: Vec<StageChangeFacts>,
    close_facts: Vec<CloseDateChangeFacts>,
}

impl DealRecord {
    /// `members` may hold ended memberships: they are left out (an ended member does not count
    /// in risk), and so are their links.
    pub fn new(deal: Arc<Deal>, mut members: Vec<Arc<Member>>, history: Arc<DealHistory>) -> DealRecord {
        members.retain(|m| m.is_current());
        let index_of: std::collections::HashMap<Uuid, u16> = members
            .iter()
            .enumerate()
            .filter_map(|(i, m)| Some((m.id, u16::try_from(i).ok()?)))
            .collect();
        let mut by_interaction: std::collections::HashMap<Uuid, (Vec<u16>, Vec<u16>)> =
            std::collections::HashMap::with_capacity(history.interactions.len());
        for link in &history.links {
            let Some(&index) = index_of.get(&link.member_id) else {
                continue;
            };
            let entry = by_interaction.entry(link.interaction_id).or_default();
            if link.direct {
                entry.0.push(index);
            } else {
                entry.1.push(index);
            }
        }
        let links_by_index = history
            .interactions
            .iter()
            .map(|i| by_interaction.remove(&i.id).unwrap_or_default())
            .collect();
        let stage_facts = history
            .stage_changes
            .iter()
            .map(|c| StageChangeFacts { to: c.to, at: c.at })
            .collect();
        let close_facts = history
            .close_date_changes
            .iter()
            .map(|c| CloseDateChangeFacts {
                from: c.from,
                to: c.to,
                at: c.at,
            })
            .collect();
        DealRecord {
            deal,
            members,
            history,
            links_by_index,
            stage_facts,
            close_facts,
        }
    }

    /// Runs `f` with the engine's borrowed view of this deal.
    pub fn with_facts<R>(&self, f: impl FnOnce(&DealFacts<'_>) -> R) -> R {
        let members: Vec<MemberFacts<'_>> = self
            .members
            .iter()
            .map(|m| MemberFacts {
                name: m.contact_name.as_str(),
                title: m.contact_title.as_deref(),
                role: m.role,
                stance: m.stance,
                can_veto: m.can_veto,
                influence: m.influence,
                bandwidth: m.bandwidth,
            })
            .collect();
        let interactions: Vec<InteractionFacts<'_>> = self
            .history
            .interactions
            .iter()
            .zip(&self.links_by_index)
            .map(|(i, (participants, about))| InteractionFacts {
                occurred_at: i.occurred_at,
                participants,
                about,
            })
            .collect();
        let facts = DealFacts {
            created_at: self.deal.created_at,
            stage: self.deal.stage,
            stage_entered_at: self.deal.stage_entered_at,
            expected_close_date: self.deal.expected_close_date,
            stage_history: &self.stage_facts,
            close_date_changes: &self.close_facts,
            members: &members,
            interactions: &interactions,
        };
        f(&facts)
    }

    /// The deal, its group and its history, handed back.
    pub fn into_parts(self) -> (Arc<Deal>, Vec<Arc<Member>>, Arc<DealHistory>) {
        (self.deal, self.members, self.history)
    }

    /// The index of a member in `members` (and in the engine's evidence sets).
    pub fn member_index(&self, member_id: Uuid) -> Option<u16> {
        self.members
            .iter()
            .position(|m| m.id == member_id)
            .and_then(|i| u16::try_from(i).ok())
    }

    /// The latest interaction `member_id` took part in directly.
    pub fn last_direct_interaction(&self, member_id: Uuid) -> Option<DateTime<Utc>> {
        let index = self.member_index(member_id)?;
        self.with_facts(|facts| risk::last_direct_interaction(facts, index, None))
    }

    /// How the seller reached `member_id` in the engagement window ending at `as_of`
    /// (`NONE` for someone not in the group).
    pub fn engagement(&self, member_id: Uuid, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Engagement {
        let Some(index) = self.member_index(member_id) else {
            return Engagement::None;
        };
        self.with_facts(|facts| {
            risk::member_engagement(facts, policy, as_of)
                .get(usize::from(index))
                .map_or(Engagement::None, |m| m.engagement)
        })
    }

    /// The assessment at `as_of`.
    pub fn assess(&self, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Assessment {
        self.with_facts(|facts| risk::assess(facts, policy, as_of))
    }

    /// The assessment at `as_of` as it is stored with the deal.
    pub fn assess_for_storage(&self, policy: &RiskPolicy, as_of: DateTime<Utc>) -> StoredRisk {
        let assessment = self.assess(policy, as_of);
        StoredRisk {
            score: assessment.score,
            level: assessment.level,
            factors: assessment.codes().collect(),
            assessed_at: Some(as_of),
            group_size: u32::try_from(self.members.len()).unwrap_or(u32::MAX),
            engaged: assessment.directly_engaged,
        }
    }

    /// The next steps at `as_of` (SPEC §10): the direct conversations, at most five, that
    /// lower the risk most, simulated on the facts already loaded (members tie-broken by id).
    pub fn next_steps(&self, policy: &RiskPolicy, as_of: DateTime<Utc>) -> NextSteps {
        let ids: Vec<Uuid> = self.members.iter().map(|m| m.id).collect();
        let plan = self.with_facts(|facts| risk::plan(facts, policy, as_of, &ids));
        NextSteps {
            as_of,
            current: plan.current,
            steps: plan
                .steps
                .into_iter()
                .filter_map(|step| {
                    Some(NextStep {
                        member: Arc::clone(self.members.get(usize::from(step.member))?),
                        after: step.after,
                        clears: step.clears,
                        message: step.message,
                    })
                })
                .collect(),
            reachable: plan.reachable,
        }
    }

    /// The assessment at `as_of` with every fired factor explained: a message naming the
    /// people and the numbers, the seller's next step, and the members it is about.
    pub fn explain(&self, policy: &RiskPolicy, as_of: DateTime<Utc>) -> ExplainedAssessment {
        self.with_facts(|facts| {
            let assessment = risk::assess(facts, policy, as_of);
            let explanations = risk::explain_all(facts, policy, as_of, &assessment);
            let factors = assessment
                .factors
                .iter()
                .zip(explanations)
                .map(|(factor, explanation)| ExplainedFactor {
                    code: factor.code,
                    severity: factor.severity,
                    points: factor.points,
                    message: explanation.message,
                    recommendation: explanation.recommendation,
                    members: factor
                        .members
                        .iter()
                        .filter_map(|i| self.members.get(usize::from(i)).cloned())
                        .collect(),
                })
                .collect();
            ExplainedAssessment {
                as_of,
                score: assessment.score,
                level: assessment.level,
                factors,
            }
        })
    }
}

/// The next steps for a deal at one instant (SPEC §10).
#[derive(Debug, Clone)]
pub struct NextSteps {
    pub as_of: DateTime<Utc>,
    /// The assessment at `as_of`.
    pub current: Assessment,
    /// In order; each assumes the steps before it were done.
    pub steps: Vec<NextStep>,
    /// The assessment after every step (`current` when there are none).
    pub reachable: Assessment,
}

/// One direct conversation of a plan and what it changes.
#[derive(Debug, Clone)]
pub struct NextStep {
    /// Whom to meet.
    pub member: Arc<Member>,
    /// The assessment with the meetings up to and including this one.
    pub after: Assessment,
    /// The factors that stop firing with this step, in code-point order of their names.
    pub clears: Vec<RiskFactorCode>,
    pub message: String,
}

/// A deal's risk at one instant, every fired factor explained.
#[derive(Debug, Clone)]
pub struct ExplainedAssessment {
    pub as_of: DateTime<Utc>,
    pub score: u32,
    pub level: RiskLevel,
    /// Highest points first.
    pub factors: Vec<ExplainedFactor>,
}

/// One reason a deal is at risk.
#[derive(Debug, Clone)]
pub struct ExplainedFactor {
    pub code: RiskFactorCode,
    pub severity: Severity,
    pub points: u32,
    pub message: String,
    pub recommendation: String,
    /// The evidence: the members this factor is about.
    pub members: Vec<Arc<Member>>,
}
