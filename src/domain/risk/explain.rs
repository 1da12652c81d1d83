//! [`explain`]: a fired factor in words — who, how many, how long — and the seller's next step.
//!
//! The recommendations follow the field story behind dealgraph: the seller works the whole
//! buying group directly and does not hand the selling to a sponsor or mobilizer. People are
//! named "Full Name (Title)" (or "Full Name (role)") when first mentioned and by name after;
//! no pronouns are guessed.

use chrono::{DateTime, Utc};

use super::engine::{DealAsOf, Detail, Factor, detail, ratio, replay};
use super::model::{BuyingRole, Engagement, Influence, RiskFactorCode, Stance};
use super::{Assessment, DealFacts, MemberFacts, MemberSet, RiskPolicy};

/// A factor in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    /// What is wrong, naming the people and the numbers.
    pub message: String,
    /// The seller's next step.
    pub recommendation: String,
}

/// Explains one factor of `assess(deal, policy, as_of)`; pass the same facts and `as_of`.
pub fn explain(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>, factor: &Factor) -> Explanation {
    Context::new(deal, policy, as_of).explain(factor)
}

/// Explains every factor of `assessment`, in its order, sharing the work between them.
pub fn explain_all(
    deal: &DealFacts<'_>,
    policy: &RiskPolicy,
    as_of: DateTime<Utc>,
    assessment: &Assessment,
) -> Vec<Explanation> {
    let context = Context::new(deal, policy, as_of);
    assessment.factors.iter().map(|f| context.explain(f)).collect()
}

/// Lists longer than this end in "and N others".
const LIST_LIMIT: usize = 5;
/// How many people a recommendation suggests starting with.
const FIRST_STEPS: usize = 3;

struct Context<'d, 'a> {
    deal: &'d DealFacts<'a>,
    policy: &'d RiskPolicy,
    as_of: DateTime<Utc>,
    state: DealAsOf,
    detail: Detail,
}

impl<'d, 'a> Context<'d, 'a> {
    fn new(deal: &'d DealFacts<'a>, policy: &'d RiskPolicy, as_of: DateTime<Utc>) -> Self {
        Context {
            deal,
            policy,
            as_of,
            state: replay(deal, as_of),
            detail: detail(deal, policy, as_of, true),
        }
    }

    fn explain(&self, factor: &Factor) -> Explanation {
        use RiskFactorCode as Code;
        // Evidence that names no member (a factor from other facts) is ignored.
        let evidence: Vec<u16> = factor
            .members
            .iter()
            .filter(|&i| usize::from(i) < self.deal.members.len())
            .collect();
        let (message, recommendation) = match factor.code {
            Code::SingleThreaded => self.single_threaded(&evidence),
            Code::NoMobilizer => self.no_mobilizer(&evidence),
            Code::VetoHolderOpposed => self.veto_holder_opposed(&evidence),
            Code::VetoHolderUnengaged => self.veto_holder_unengaged(&evidence),
            Code::DelegatedEngagement => self.delegated_engagement(&evidence),
            Code::MobilizerOverloaded => self.mobilizer_overloaded(&evidence),
            Code::BuyingGroupGaps => self.buying_group_gaps(),
            Code::LowCoverage => self.low_coverage(&evidence),
            Code::Stalled => self.stalled(),
            Code::GoingDark => self.going_dark(),
            Code::PastCloseDate => self.past_close_date(),
            Code::CloseDatePushed => self.close_date_pushed(),
        };
        Explanation {
            message,
            recommendation,
        }
    }

    // ---- the twelve factors -------------------------------------------------------------

    fn single_threaded(&self, evidence: &[u16]) -> (String, String) {
        let n = self.deal.members.len();
        let window = self.window();
        let direct = self.with_engagement(Engagement::Direct);
        let too_few = (direct.len() as u64) < u64::from(self.policy.min_engaged_members);
        let mut sentences = Vec::new();
        if too_few {
            sentences.push(if n == 0 {
                format!("No buying-group members are recorded, so no one was engaged directly in the last {window}.")
            } else if direct.is_empty() {
                format!("None of the {n} members was engaged directly in the last {window}.")
            } else {
                format!(
                    "Only {} of {n} members engaged directly in the last {window}: {}.",
                    direct.len(),
                    self.labels(&direct)
                )
            });
        }
        let dominant = self.dominant();
        if let Some(&top) = dominant.first() {
            let count = self.detail.members[usize::from(top)].window_interactions;
            let total = self.detail.window_interactions;
            let who = if too_few {
                self.name(top).to_owned()
            } else {
                self.label(top)
            };
            sentences.push(format!(
                "{who} took part in {count} of {total} interactions ({}%) in the last {window}.",
                percent(count as usize, total as usize)
            ));
        }
        if sentences.is_empty() {
            sentences.push(format!(
                "{} of {n} members engaged directly in the last {window}.",
                direct.len()
            ));
        }

        let threads: Vec<u16> = if dominant.is_empty() {
            evidence.to_vec()
        } else {
            dominant
        };
        let targets = self.first_steps(self.not_direct());
        let recommendation = if n == 0 {
            "Map the buying group: ask who else takes part in the decision and meet each of them directly.".to_owned()
        } else if targets.is_empty() && threads.is_empty() {
            "Keep meeting the members of the buying group directly, each on their own, so the deal does not depend on one contact.".to_owned()
        } else if targets.is_empty() {
            format!(
                "Meet the other members on their own as well, so the deal does not depend on {} being in every conversation.",
                self.names(&threads)
            )
        } else if threads.is_empty() {
            format!(
                "Reopen direct conversations across the buying group, starting with {}.",
                self.names(&targets)
            )
        } else {
            format!(
                "Build direct relationships across the buying group, starting with {}, instead of relying on {} to carry the deal.",
                self.names(&targets),
                self.names(&threads)
            )
        };
        (sentences.join(" "), recommendation)
    }

    fn no_mobilizer(&self, evidence: &[u16]) -> (String, String) {
        if evidence.is_empty() {
            return (
                "No member of the buying group is a supportive mobilizer: no one inside the customer is recorded as driving the purchase.".to_owned(),
                "Find a mobilizer, someone who wants the change and will push for it inside, and meanwhile keep working every member of the buying group directly.".to_owned(),
            );
        }
        let described: Vec<String> = evidence
            .iter()
            .map(|&i| self.label_with(i, &[stance_word(self.member(i).stance)]))
            .collect();
        let (verb, noun) = if evidence.len() == 1 {
            ("is", "a mobilizer")
        } else {
            ("are", "mobilizers")
        };
        (
            format!(
                "No supportive mobilizer: {} {verb} {noun} but not supportive.",
                join(described)
            ),
            format!(
                "Meet {} directly to learn what would make the change worth pushing for, and keep working the rest of the buying group yourself.",
                self.names(evidence)
            ),
        )
    }

    fn veto_holder_opposed(&self, evidence: &[u16]) -> (String, String) {
        let message = match evidence {
            [] => "A member who can veto the purchase is opposed.".to_owned(),
            [one] => format!(
                "{} can veto the purchase and is opposed ({}).",
                self.label(*one),
                self.last_met(*one)
            ),
            many => format!("{} can veto the purchase and are opposed.", self.labels(many)),
        };
        let who = self.names_or(evidence, "the veto holders");
        let champions = self.champions_besides(evidence);
        let objection = if evidence.len() > 1 {
            "each objection"
        } else {
            "the objection"
        };
        let recommendation = if champions.is_empty() {
            format!(
                "Meet {who} directly to understand {objection} and what would resolve it, and bring the evidence that answers it."
            )
        } else {
            format!(
                "Meet {who} directly to understand {objection} and what would resolve it, instead of asking {} to win the argument for you.",
                self.names(&champions)
            )
        };
        (message, recommendation)
    }

    fn veto_holder_unengaged(&self, evidence: &[u16]) -> (String, String) {
        let window = self.window();
        let message = match evidence {
            [] => format!("A veto holder was not engaged in the last {window}."),
            [one] => format!(
                "{} can veto the purchase but was not engaged in the last {window} ({}).",
                self.label(*one),
                self.last_met(*one)
            ),
            many => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|&i| format!("{}, {}", self.label(i), self.last_met(i)))
                    .collect();
                format!(
                    "{} veto holders were not engaged in the last {window}: {}.",
                    many.len(),
                    join_with(parts, "; ", "; and ")
                )
            }
        };
        let subject = if evidence.len() > 1 {
            "veto holders who only hear about the deal second-hand"
        } else {
            "a veto holder who only hears about the deal second-hand"
        };
        (
            message,
            format!(
                "Meet {} directly soon: {subject} can stop it late.",
                self.names_or(evidence, "the veto holders")
            ),
        )
    }

    fn delegated_engagement(&self, evidence: &[u16]) -> (String, String) {
        let window = self.window();
        let message = match evidence {
            [] => format!("A key member was only reached through others in the last {window}."),
            [one] => format!(
                "{} has only been reached through {} in the last {window}.",
                self.delegated_label(*one),
                self.proxy_names(*one)
            ),
            many => {
                let parts: Vec<String> = many
                    .iter()
                    .map(|&i| format!("{} through {}", self.delegated_label(i), self.proxy_names(i)))
                    .collect();
                format!(
                    "In the last {window} these members were only reached through others: {}.",
                    join_with(parts, "; ", "; and ")
                )
            }
        };
        let mut proxies = MemberSet::new();
        for &i in evidence {
            if let Some(via) = self.detail.proxies.get(usize::from(i)) {
                proxies.extend(via.iter());
            }
        }
        let proxies = proxies.to_vec();
        let who = self.names_or(evidence, "the members reached only through others");
        let needs = if evidence.len() == 1 {
            format!("learn what {who} needs to agree")
        } else {
            "learn what each of them needs to agree".to_owned()
        };
        let recommendation = if proxies.is_empty() {
            format!("Meet {who} directly: {needs}, instead of relying on others to pass the message on.")
        } else {
            format!(
                "Meet {who} directly: {needs}, instead of asking {} to sell for you.",
                self.names(&proxies)
            )
        };
        (message, recommendation)
    }

    fn mobilizer_overloaded(&self, evidence: &[u16]) -> (String, String) {
        let message = match evidence {
            [] => "Every mobilizer and sponsor is overloaded.".to_owned(),
            [one] => format!(
                "{}, the only {}, is overloaded.",
                self.label(*one),
                self.member(*one).role.label()
            ),
            many => format!("Every mobilizer and sponsor is overloaded: {}.", self.labels(many)),
        };
        let who = self.names_or(evidence, "the mobilizers and sponsors");
        (
            message,
            format!(
                "Take work off {who}: drive the next steps with the rest of the buying group yourself and bring {who} finished material rather than tasks; look for another mobilizer with time for the project."
            ),
        )
    }

    fn buying_group_gaps(&self) -> (String, String) {
        let n = self.deal.members.len();
        let min = self.policy.min_group_size;
        let missing: Vec<BuyingRole> = self
            .policy
            .required_roles
            .iter()
            .copied()
            .filter(|role| !self.deal.members.iter().any(|m| m.role == *role))
            .collect();
        let small = (n as u64) < u64::from(min);
        let roles = join(missing.iter().map(|r| r.label().to_owned()).collect());
        let role_s = if missing.len() == 1 { "role" } else { "roles" };
        let size = format!(
            "The buying group has {} (at least {min} expected)",
            count_of(n as i64, "member", "members")
        );
        let message = match (small, missing.is_empty()) {
            (true, true) => format!("{size}."),
            (true, false) => format!("{size} and no one in the {role_s} of {roles}."),
            (false, false) => format!("The buying group has no one in the {role_s} of {roles}."),
            (false, true) => format!("The buying group has {}.", count_of(n as i64, "member", "members")),
        };
        let find = match missing.len() {
            0 => String::new(),
            1 => format!(" and who fills the {roles} role"),
            _ => format!(" and who fills the {roles} roles"),
        };
        (
            message,
            format!(
                "Ask who else takes part in or is affected by the decision{find}, add them to the buying group and meet each of them directly."
            ),
        )
    }

    fn low_coverage(&self, evidence: &[u16]) -> (String, String) {
        let n = self.deal.members.len();
        let direct = self.with_engagement(Engagement::Direct).len();
        let tail = format!(
            "engaged directly in the last {} (threshold {}%)",
            self.window(),
            (self.policy.coverage_threshold * 100.0).round()
        );
        let mut message = match direct {
            0 => format!("None of the {n} members was {tail}"),
            1 => format!("Only 1 of {n} members ({}%) was {tail}", percent(1, n)),
            _ => format!("Only {direct} of {n} members ({}%) were {tail}", percent(direct, n)),
        };
        if evidence.is_empty() {
            message.push('.');
        } else {
            message.push_str(&format!("; not reached directly: {}.", self.labels(evidence)));
        }
        let targets = self.first_steps(evidence.to_vec());
        let recommendation = if targets.is_empty() {
            "Plan direct conversations with the members not reached yet.".to_owned()
        } else {
            format!(
                "Plan direct conversations with the members not reached yet, starting with {}.",
                self.names(&targets)
            )
        };
        (message, recommendation)
    }

    fn stalled(&self) -> (String, String) {
        let days = (self.as_of - self.state.stage_entered_at).num_days();
        let message = format!(
            "The deal has been in {} for {} (limit {}).",
            self.state.stage,
            count_of(days, "day", "days"),
            self.policy.stall_days
        );
        let mut key: Vec<u16> = (0..self.deal.members.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|&i| {
                let m = self.member(i);
                let engaged = self.engagement(i) == Engagement::Direct;
                (m.can_veto && m.stance == Stance::Opposed) || (!engaged && is_key(m))
            })
            .collect();
        key = self.first_steps(key);
        let start = if key.is_empty() {
            String::new()
        } else {
            format!(", starting with {}", self.names(&key))
        };
        (
            message,
            format!(
                "Ask each member of the buying group directly what is holding the decision{start}, and agree a dated next step with the people who decide."
            ),
        )
    }

    fn going_dark(&self) -> (String, String) {
        let dark = count_of(i64::from(self.policy.dark_days), "day", "days");
        let message = match self.detail.last_interaction_at {
            Some(last) => format!(
                "No interaction with the buying group in the last {dark}; the last one was {} ago.",
                count_of((self.as_of - last).num_days(), "day", "days")
            ),
            None => format!(
                "No interaction with the buying group has been logged since the deal was created {} ago.",
                count_of((self.as_of - self.deal.created_at).num_days(), "day", "days")
            ),
        };
        (
            message,
            "Re-engage now: contact several members of the buying group directly, each with something useful to them, rather than waiting on one contact.".to_owned(),
        )
    }

    fn past_close_date(&self) -> (String, String) {
        let today = self.as_of.date_naive();
        let message = match self.state.expected_close_date {
            Some(date) if date < today => format!(
                "The expected close date {date} passed {} ago.",
                count_of((today - date).num_days(), "day", "days")
            ),
            Some(date) => format!("The expected close date is {date}."),
            None => "No expected close date is set.".to_owned(),
        };
        (
            message,
            "Confirm the real decision timeline directly with the economic buyer and the rest of the buying group, then set a close date they agree to.".to_owned(),
        )
    }

    fn close_date_pushed(&self) -> (String, String) {
        let pushes = self.state.close_date_pushes;
        let times = match pushes {
            1 => "once".to_owned(),
            2 => "twice".to_owned(),
            n => format!("{n} times"),
        };
        let now = match self.state.expected_close_date {
            Some(date) => format!("now {date}"),
            None => "now unset".to_owned(),
        };
        (
            format!("The expected close date was pushed {times}, {now}."),
            "Stop moving the date on one contact's word: build a joint plan with the whole buying group, the people who decide included, and confirm each step with them directly.".to_owned(),
        )
    }

    // ---- helpers ------------------------------------------------------------------------

    fn member(&self, index: u16) -> &MemberFacts<'a> {
        &self.deal.members[usize::from(index)]
    }

    fn engagement(&self, index: u16) -> Engagement {
        self.detail.members[usize::from(index)].engagement
    }

    fn window(&self) -> String {
        count_of(i64::from(self.policy.engagement_window_days), "day", "days")
    }

    fn with_engagement(&self, engagement: Engagement) -> Vec<u16> {
        (0..self.detail.members.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|&i| self.engagement(i) == engagement)
            .collect()
    }

    fn not_direct(&self) -> Vec<u16> {
        (0..self.detail.members.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|&i| self.engagement(i) != Engagement::Direct)
            .collect()
    }

    /// Members who took part in at least the single-thread share of the window's
    /// interactions (3 or more), most active first.
    fn dominant(&self) -> Vec<u16> {
        let total = self.detail.window_interactions as usize;
        if total < 3 {
            return Vec::new();
        }
        let mut dominant: Vec<u16> = (0..self.detail.members.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|&i| {
                let count = self.detail.members[usize::from(i)].window_interactions as usize;
                count > 0 && ratio(count, total) >= self.policy.single_thread_share
            })
            .collect();
        dominant.sort_by_key(|&i| std::cmp::Reverse(self.detail.members[usize::from(i)].window_interactions));
        dominant
    }

    /// Supportive mobilizers and sponsors not in `except`: who the seller leans on.
    fn champions_besides(&self, except: &[u16]) -> Vec<u16> {
        (0..self.deal.members.len())
            .filter_map(|i| u16::try_from(i).ok())
            .filter(|i| !except.contains(i))
            .filter(|&i| {
                let m = self.member(i);
                matches!(m.role, BuyingRole::Mobilizer | BuyingRole::Sponsor) && m.stance == Stance::Supportive
            })
            .collect()
    }

    /// The few members to start with: veto holders, then the opposed, then the economic
    /// buyer and decision makers, then by influence; ties in member order.
    fn first_steps(&self, mut candidates: Vec<u16>) -> Vec<u16> {
        candidates.sort_by_key(|&i| {
            let m = self.member(i);
            (
                !m.can_veto,
                m.stance != Stance::Opposed,
                !matches!(m.role, BuyingRole::EconomicBuyer | BuyingRole::DecisionMaker),
                std::cmp::Reverse(m.influence),
                i,
            )
        });
        candidates.truncate(FIRST_STEPS);
        candidates
    }

    fn name(&self, index: u16) -> &'a str {
        self.member(index).name.trim()
    }

    /// "Full Name (Title)", or "Full Name (role)" without a title.
    fn label(&self, index: u16) -> String {
        self.label_with(index, &[])
    }

    fn label_with(&self, index: u16, extras: &[&str]) -> String {
        member_label(self.member(index), extras)
    }

    /// The label with why the member matters: "Dana Ruiz (Controller, can veto, opposed)".
    fn delegated_label(&self, index: u16) -> String {
        let m = self.member(index);
        let mut extras = Vec::new();
        if m.can_veto {
            extras.push("can veto");
        }
        if m.stance == Stance::Opposed {
            extras.push("opposed");
        }
        if m.influence == Influence::High {
            extras.push("high influence");
        }
        self.label_with(index, &extras)
    }

    fn labels(&self, indices: &[u16]) -> String {
        join(indices.iter().map(|&i| self.label(i)).collect())
    }

    fn names(&self, indices: &[u16]) -> String {
        join(indices.iter().map(|&i| self.name(i).to_owned()).collect())
    }

    /// The names, or `fallback` when there are none (a factor passed without evidence).
    fn names_or(&self, indices: &[u16], fallback: &str) -> String {
        if indices.is_empty() {
            fallback.to_owned()
        } else {
            self.names(indices)
        }
    }

    fn proxy_names(&self, index: u16) -> String {
        match self.detail.proxies.get(usize::from(index)) {
            Some(via) if !via.is_empty() => self.names(&via.to_vec()),
            _ => "others".to_owned(),
        }
    }

    /// "last met directly 45 days ago", "last met directly today" or "never met directly".
    fn last_met(&self, index: u16) -> String {
        match self.detail.members[usize::from(index)].last_direct_at {
            Some(at) => match (self.as_of - at).num_days() {
                0 => "last met directly today".to_owned(),
                days => format!("last met directly {} ago", count_of(days, "day", "days")),
            },
            None => "never met directly".to_owned(),
        }
    }
}

/// "Full Name (Title, extras…)", or "Full Name (role, extras…)" without a title: how every
/// text of the engine names a member when first mentioned.
pub(super) fn member_label(m: &MemberFacts<'_>, extras: &[&str]) -> String {
    let first = match m.title.map(str::trim) {
        Some(title) if !title.is_empty() => title,
        _ => m.role.label(),
    };
    let mut label = format!("{} ({first}", m.name.trim());
    for extra in extras {
        label.push_str(", ");
        label.push_str(extra);
    }
    label.push(')');
    label
}

/// Veto holders, the opposed, high influence, and the people who decide.
fn is_key(m: &MemberFacts<'_>) -> bool {
    m.can_veto
        || m.stance == Stance::Opposed
        || m.influence == Influence::High
        || matches!(m.role, BuyingRole::EconomicBuyer | BuyingRole::DecisionMaker)
}

fn stance_word(stance: Stance) -> &'static str {
    match stance {
        Stance::Supportive => "supportive",
        Stance::Neutral => "neutral",
        Stance::Opposed => "opposed",
        Stance::Unknown => "stance unknown",
    }
}

/// "1 day", "45 days".
fn count_of<N: Into<i64>>(n: N, one: &str, many: &str) -> String {
    let n: i64 = n.into();
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// `part / whole` in whole percent, rounded to nearest (0 for an empty whole).
fn percent(part: usize, whole: usize) -> u64 {
    if whole == 0 {
        0
    } else {
        ((part as u64) * 100 + (whole as u64) / 2) / (whole as u64)
    }
}

/// "A", "A and B", "A, B and C"; past [`LIST_LIMIT`], "A, …, E and 3 others".
pub(super) fn join(items: Vec<String>) -> String {
    join_with(items, ", ", " and ")
}

fn join_with(mut items: Vec<String>, separator: &str, last: &str) -> String {
    if items.len() > LIST_LIMIT {
        let rest = items.len() - LIST_LIMIT;
        items.truncate(LIST_LIMIT);
        items.push(if rest == 1 {
            "1 other".to_owned()
        } else {
            format!("{rest} others")
        });
    }
    match items.split_last() {
        None => String::new(),
        Some((only, [])) => only.clone(),
        Some((tail, head)) => format!("{}{last}{tail}", head.join(separator)),
    }
}

// Kept beside the helpers it checks; the factor texts are tested in `super::tests`.
#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn lists_read_naturally_and_stay_short() {
        let names = |n: usize| (1..=n).map(|i| format!("P{i}")).collect::<Vec<_>>();
        assert_eq!(join(names(0)), "");
        assert_eq!(join(names(1)), "P1");
        assert_eq!(join(names(2)), "P1 and P2");
        assert_eq!(join(names(3)), "P1, P2 and P3");
        assert_eq!(join(names(6)), "P1, P2, P3, P4, P5 and 1 other");
        assert_eq!(join(names(9)), "P1, P2, P3, P4, P5 and 4 others");
    }

    #[test]
    fn counts_and_percentages_are_worded_plainly() {
        assert_eq!(count_of(1, "day", "days"), "1 day");
        assert_eq!(count_of(0, "day", "days"), "0 days");
        assert_eq!(percent(9, 10), 90);
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(0, 0), 0);
    }

    #[test]
    fn a_duration_is_counted_in_whole_days() {
        assert_eq!((TimeDelta::days(3) - TimeDelta::seconds(1)).num_days(), 2);
    }
}
