//! The risk rules of SPEC §4, rule by rule, boundary by boundary, and the field story.
//!
//! Every test starts from [`Deal::healthy`], a deal on which no factor fires, and changes
//! only what the rule under test looks at.

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::model::{Bandwidth, BuyingRole, Engagement, Influence, RiskFactorCode as Code, RiskLevel, Stage, Stance};
use super::*;

// ---- fixtures ---------------------------------------------------------------------------

/// The instant most tests assess at: 2026-06-15 12:00 UTC.
fn now() -> DateTime<Utc> {
    DateTime::from_timestamp(1_781_524_800, 0).expect("a valid instant")
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

fn secs(n: i64) -> TimeDelta {
    TimeDelta::seconds(n)
}

/// The instant `span` before [`now`].
fn ago(span: TimeDelta) -> DateTime<Utc> {
    now() - span
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a valid date")
}

#[derive(Debug, Clone)]
struct Person {
    name: String,
    title: Option<String>,
    role: BuyingRole,
    stance: Stance,
    can_veto: bool,
    influence: Influence,
    bandwidth: Bandwidth,
}

fn person(name: &str, title: Option<&str>, role: BuyingRole) -> Person {
    Person {
        name: name.to_owned(),
        title: title.map(str::to_owned),
        role,
        stance: Stance::Neutral,
        can_veto: false,
        influence: Influence::Medium,
        bandwidth: Bandwidth::Available,
    }
}

#[derive(Debug, Clone)]
struct Meeting {
    at: DateTime<Utc>,
    participants: Vec<u16>,
    about: Vec<u16>,
}

/// An owned deal that lends itself to the engine as [`DealFacts`].
#[derive(Debug, Clone)]
struct Deal {
    created_at: DateTime<Utc>,
    stage: Stage,
    stage_entered_at: DateTime<Utc>,
    expected_close_date: Option<NaiveDate>,
    stage_history: Vec<StageChangeFacts>,
    close_date_changes: Vec<CloseDateChangeFacts>,
    people: Vec<Person>,
    meetings: Vec<Meeting>,
    policy: RiskPolicy,
}

// Member indices of the healthy deal.
const ALEX: u16 = 0; // mobilizer
const DANA: u16 = 1; // controller, can veto
const LEE: u16 = 2; // CFO, economic buyer, can veto
const PRIYA: u16 = 3;
const OMAR: u16 = 4; // no title
const JO: u16 = 5;

impl Deal {
    /// An EVALUATION deal in good shape: six members, a supportive mobilizer, an economic
    /// buyer, everyone met directly in the last three weeks, a close date ahead.
    fn healthy() -> Deal {
        let mut alex = person("Alex Kim", Some("Head of Operations"), BuyingRole::Mobilizer);
        alex.stance = Stance::Supportive;
        alex.influence = Influence::High;
        let mut dana = person("Dana Ruiz", Some("Controller"), BuyingRole::Finance);
        dana.stance = Stance::Supportive;
        dana.can_veto = true;
        let mut lee = person("Lee Wong", Some("CFO"), BuyingRole::EconomicBuyer);
        lee.can_veto = true;
        lee.influence = Influence::High;
        let priya = person("Priya Shah", Some("IT Architect"), BuyingRole::TechnicalEvaluator);
        let mut omar = person("Omar Haddad", None, BuyingRole::Procurement);
        omar.influence = Influence::Low;
        let jo = person("Jo Berg", Some("Team Lead"), BuyingRole::EndUser);

        let created_at = ago(days(90));
        let entered = ago(days(20));
        let mut deal = Deal {
            created_at,
            stage: Stage::Evaluation,
            stage_entered_at: entered,
            expected_close_date: Some(date(2026, 9, 30)),
            stage_history: vec![
                StageChangeFacts {
                    to: Stage::Prospecting,
                    at: created_at,
                },
                StageChangeFacts {
                    to: Stage::Evaluation,
                    at: entered,
                },
            ],
            close_date_changes: vec![],
            people: vec![alex, dana, lee, priya, omar, jo],
            meetings: vec![],
            policy: RiskPolicy::default(),
        };
        deal.meet(ago(days(2)), &[ALEX, PRIYA]);
        deal.meet(ago(days(5)), &[DANA, LEE]);
        deal.meet(ago(days(9)), &[OMAR]);
        deal.meet(ago(days(12)), &[JO, ALEX]);
        deal.meet(ago(days(20)), &[LEE, ALEX]);
        deal
    }

    fn meet(&mut self, at: DateTime<Utc>, participants: &[u16]) {
        self.meet_about(at, participants, &[]);
    }

    fn meet_about(&mut self, at: DateTime<Utc>, participants: &[u16], about: &[u16]) {
        self.meetings.push(Meeting {
            at,
            participants: participants.to_vec(),
            about: about.to_vec(),
        });
    }

    /// Moves the deal into `stage` at `at` (current stage and history alike).
    fn enter(&mut self, stage: Stage, at: DateTime<Utc>) {
        self.stage = stage;
        self.stage_entered_at = at;
        self.stage_history.push(StageChangeFacts { to: stage, at });
    }

    fn move_close_date(&mut self, to: Option<NaiveDate>, at: DateTime<Utc>) {
        let from = self.expected_close_date;
        self.close_date_changes.push(CloseDateChangeFacts { from, to, at });
        self.expected_close_date = to;
    }

    fn with_facts<R>(&self, f: impl FnOnce(&DealFacts<'_>) -> R) -> R {
        let members: Vec<MemberFacts<'_>> = self
            .people
            .iter()
            .map(|p| MemberFacts {
                name: &p.name,
                title: p.title.as_deref(),
                role: p.role,
                stance: p.stance,
                can_veto: p.can_veto,
                influence: p.influence,
                bandwidth: p.bandwidth,
            })
            .collect();
        let interactions: Vec<InteractionFacts<'_>> = self
            .meetings
            .iter()
            .map(|m| InteractionFacts {
                occurred_at: m.at,
                participants: &m.participants,
                about: &m.about,
            })
            .collect();
        f(&DealFacts {
            created_at: self.created_at,
            stage: self.stage,
            stage_entered_at: self.stage_entered_at,
            expected_close_date: self.expected_close_date,
            stage_history: &self.stage_history,
            close_date_changes: &self.close_date_changes,
            members: &members,
            interactions: &interactions,
        })
    }

    fn assess_at(&self, as_of: DateTime<Utc>) -> Assessment {
        self.with_facts(|deal| assess(deal, &self.policy, as_of))
    }

    fn assess(&self) -> Assessment {
        self.assess_at(now())
    }

    fn codes(&self) -> Vec<Code> {
        self.assess().codes().collect()
    }

    fn fires(&self, code: Code) -> bool {
        self.assess().has(code)
    }

    fn evidence(&self, code: Code) -> Vec<u16> {
        match self.assess().factor(code) {
            Some(factor) => factor.members.to_vec(),
            None => panic!("{code} did not fire; fired: {:?}", self.codes()),
        }
    }

    fn explain(&self, code: Code) -> Explanation {
        self.explain_at(code, now())
    }

    fn explain_at(&self, code: Code, as_of: DateTime<Utc>) -> Explanation {
        let assessment = self.assess_at(as_of);
        let Some(factor) = assessment.factor(code) else {
            panic!("{code} did not fire; fired: {:?}", self.codes());
        };
        self.with_facts(|deal| explain(deal, &self.policy, as_of, factor))
    }

    fn engagement(&self) -> Vec<Engagement> {
        self.with_facts(|deal| engagement(deal, &self.policy, now()))
    }
}

// ---- the baseline ----------------------------------------------------------------------

#[test]
fn a_healthy_deal_carries_no_risk() {
    let deal = Deal::healthy();
    let assessment = deal.assess();
    assert_eq!(assessment.codes().collect::<Vec<_>>(), vec![]);
    assert_eq!(assessment.score, 0);
    assert_eq!(assessment.level, RiskLevel::Low);
    assert_eq!(deal.engagement(), vec![Engagement::Direct; 6]);
}

#[test]
fn every_factor_reads_cleanly_even_without_evidence() {
    // A caller may rebuild a factor from stored codes alone; the text must still hold up.
    for deal in [Deal::healthy(), field_story()] {
        for &code in Code::ALL {
            let factor = Factor {
                code,
                severity: code.severity(),
                points: 1,
                members: MemberSet::new(),
            };
            let text = deal.with_facts(|facts| explain(facts, &deal.policy, now(), &factor));
            for line in [&text.message, &text.recommendation] {
                assert!(line.ends_with('.'), "{code}: {line:?}");
                for flaw in ["  ", " .", " ,", ": .", "()"] {
                    assert!(!line.contains(flaw), "{code}: {line:?}");
                }
            }
        }
    }
}

#[test]
fn a_group_nobody_met_directly_is_described_plainly() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.policy.required_roles = vec![BuyingRole::Legal, BuyingRole::Procurement, BuyingRole::Gatekeeper];
    assert_eq!(
        deal.explain(Code::LowCoverage).message,
        "None of the 6 members was engaged directly in the last 30 days (threshold 50%); \
         not reached directly: Alex Kim (Head of Operations), Dana Ruiz (Controller), \
         Lee Wong (CFO), Priya Shah (IT Architect), Omar Haddad (procurement) and 1 other."
    );
    assert_eq!(
        deal.explain(Code::SingleThreaded).message,
        "None of the 6 members was engaged directly in the last 30 days."
    );
    let gaps = deal.explain(Code::BuyingGroupGaps);
    assert_eq!(
        gaps.message,
        "The buying group has no one in the roles of legal and gatekeeper."
    );
    assert!(gaps.recommendation.contains("who fills the legal and gatekeeper roles"));
}

// ---- SINGLE_THREADED -------------------------------------------------------------------

#[test]
fn two_directly_engaged_members_make_a_deal_single_threaded() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX]);
    deal.meet(ago(days(3)), &[DANA, ALEX]);
    assert_eq!(deal.evidence(Code::SingleThreaded), vec![ALEX, DANA]);
    assert_eq!(
        deal.explain(Code::SingleThreaded).message,
        "Only 2 of 6 members engaged directly in the last 30 days: \
         Alex Kim (Head of Operations) and Dana Ruiz (Controller)."
    );
}

#[test]
fn three_directly_engaged_members_are_enough() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX]);
    deal.meet(ago(days(2)), &[DANA]);
    deal.meet(ago(days(3)), &[LEE]);
    assert!(!deal.fires(Code::SingleThreaded));
}

#[test]
fn one_member_in_80_percent_of_the_interactions_is_a_single_thread() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    for day in 1..=8 {
        deal.meet(ago(days(day)), &[ALEX]);
    }
    deal.meet(ago(days(10)), &[DANA, LEE, PRIYA]);
    deal.meet(ago(days(11)), &[OMAR, JO]);
    assert_eq!(deal.evidence(Code::SingleThreaded), vec![ALEX]);
    assert_eq!(
        deal.explain(Code::SingleThreaded).message,
        "Alex Kim (Head of Operations) took part in 8 of 10 interactions (80%) in the last 30 days."
    );
    assert_eq!(
        deal.explain(Code::SingleThreaded).recommendation,
        "Meet the other members on their own as well, so the deal does not depend on \
         Alex Kim being in every conversation."
    );
}

#[test]
fn one_member_in_70_percent_of_the_interactions_is_not() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    for day in 1..=7 {
        deal.meet(ago(days(day)), &[ALEX]);
    }
    deal.meet(ago(days(10)), &[DANA, LEE]);
    deal.meet(ago(days(11)), &[PRIYA, OMAR]);
    deal.meet(ago(days(12)), &[JO]);
    assert!(!deal.fires(Code::SingleThreaded));
}

#[test]
fn the_share_rule_needs_three_interactions_in_the_window() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA, LEE]);
    deal.meet(ago(days(2)), &[ALEX, PRIYA]);
    assert!(!deal.fires(Code::SingleThreaded), "100% of 2 interactions");
    deal.meet(ago(days(3)), &[ALEX, OMAR]);
    assert_eq!(deal.evidence(Code::SingleThreaded), vec![ALEX]);
}

#[test]
fn a_member_listed_twice_in_one_interaction_counts_once() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, ALEX, ALEX]);
    deal.meet(ago(days(2)), &[DANA]);
    deal.meet(ago(days(3)), &[LEE]);
    assert!(!deal.fires(Code::SingleThreaded));
}

#[test]
fn an_interaction_exactly_one_window_ago_is_outside_the_window() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA]);
    deal.meet(ago(days(30)), &[LEE]);
    assert!(deal.fires(Code::SingleThreaded));
    assert_eq!(deal.engagement()[usize::from(LEE)], Engagement::None);
}

#[test]
fn an_interaction_one_second_inside_the_window_counts() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA]);
    deal.meet(ago(days(30) - secs(1)), &[LEE]);
    assert!(!deal.fires(Code::SingleThreaded));
    assert_eq!(deal.engagement()[usize::from(LEE)], Engagement::Direct);
}

#[test]
fn an_interaction_at_as_of_counts_and_one_after_it_does_not_exist_yet() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA]);
    deal.meet(now() + secs(1), &[LEE]);
    assert!(deal.fires(Code::SingleThreaded));
    assert_eq!(deal.engagement()[usize::from(LEE)], Engagement::None);
    deal.meet(now(), &[LEE]);
    assert!(!deal.fires(Code::SingleThreaded));
    assert_eq!(deal.engagement()[usize::from(LEE)], Engagement::Direct);
}

#[test]
fn indices_that_name_no_member_are_ignored() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet_about(ago(days(1)), &[ALEX, 6, 400, u16::MAX], &[7, 9000]);
    deal.meet(ago(days(2)), &[DANA]);
    assert_eq!(deal.evidence(Code::SingleThreaded), vec![ALEX, DANA]);
    assert_eq!(deal.engagement().len(), 6);
}

// ---- NO_MOBILIZER ----------------------------------------------------------------------

#[test]
fn a_neutral_mobilizer_is_no_mobilizer() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(ALEX)].stance = Stance::Neutral;
    assert_eq!(deal.evidence(Code::NoMobilizer), vec![ALEX]);
    let text = deal.explain(Code::NoMobilizer);
    assert_eq!(
        text.message,
        "No supportive mobilizer: Alex Kim (Head of Operations, neutral) is a mobilizer but not supportive."
    );
    assert!(text.recommendation.starts_with("Meet Alex Kim directly"));
}

#[test]
fn a_supportive_sponsor_does_not_replace_a_mobilizer() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(ALEX)].role = BuyingRole::Sponsor;
    assert_eq!(deal.evidence(Code::NoMobilizer), Vec::<u16>::new());
}

#[test]
fn one_supportive_mobilizer_is_enough() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(JO)].role = BuyingRole::Mobilizer;
    deal.people[usize::from(JO)].stance = Stance::Opposed;
    assert!(!deal.fires(Code::NoMobilizer));
}

// ---- VETO_HOLDER_OPPOSED ---------------------------------------------------------------

#[test]
fn an_opposed_veto_holder_is_critical() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(DANA)].stance = Stance::Opposed;
    let assessment = deal.assess();
    let factor = assessment
        .factor(Code::VetoHolderOpposed)
        .expect("VETO_HOLDER_OPPOSED fires");
    assert_eq!(factor.members.to_vec(), vec![DANA]);
    assert_eq!(factor.severity, model::Severity::Critical);
    assert_eq!(factor.points, 25);
    let text = deal.explain(Code::VetoHolderOpposed);
    assert_eq!(
        text.message,
        "Dana Ruiz (Controller) can veto the purchase and is opposed (last met directly 5 days ago)."
    );
    assert_eq!(
        text.recommendation,
        "Meet Dana Ruiz directly to understand the objection and what would resolve it, \
         instead of asking Alex Kim to win the argument for you."
    );
}

#[test]
fn an_opposed_member_without_a_veto_is_not_a_veto_holder_opposed() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(PRIYA)].stance = Stance::Opposed;
    assert!(!deal.fires(Code::VetoHolderOpposed));
}

// ---- VETO_HOLDER_UNENGAGED -------------------------------------------------------------

#[test]
fn a_veto_holder_not_met_in_the_window_is_unengaged() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| !m.participants.contains(&LEE));
    deal.meet(ago(days(31)), &[LEE]);
    deal.meet(ago(days(1)), &[DANA]);
    assert_eq!(deal.evidence(Code::VetoHolderUnengaged), vec![LEE]);
    assert_eq!(
        deal.explain(Code::VetoHolderUnengaged).message,
        "Lee Wong (CFO) can veto the purchase but was not engaged in the last 30 days \
         (last met directly 31 days ago)."
    );
}

#[test]
fn veto_holders_never_met_are_named_with_their_history() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(2)), &[ALEX, PRIYA, OMAR, JO]);
    deal.meet(ago(days(45)), &[DANA]);
    assert_eq!(deal.evidence(Code::VetoHolderUnengaged), vec![DANA, LEE]);
    let text = deal.explain(Code::VetoHolderUnengaged);
    assert_eq!(
        text.message,
        "2 veto holders were not engaged in the last 30 days: \
         Dana Ruiz (Controller), last met directly 45 days ago; and Lee Wong (CFO), never met directly."
    );
    assert_eq!(
        text.recommendation,
        "Meet Dana Ruiz and Lee Wong directly soon: veto holders who only hear about the deal \
         second-hand can stop it late."
    );
}

#[test]
fn a_veto_holder_reached_by_proxy_is_not_unengaged_but_delegated() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| !m.participants.contains(&LEE));
    deal.meet_about(ago(days(3)), &[ALEX], &[LEE]);
    deal.meet(ago(days(4)), &[DANA]);
    assert_eq!(deal.engagement()[usize::from(LEE)], Engagement::ProxyOnly);
    assert!(!deal.fires(Code::VetoHolderUnengaged));
    assert_eq!(deal.evidence(Code::DelegatedEngagement), vec![LEE]);
}

// ---- DELEGATED_ENGAGEMENT --------------------------------------------------------------

#[test]
fn a_veto_holder_discussed_only_with_someone_else_is_delegated() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| !m.participants.contains(&DANA));
    deal.meet_about(ago(days(3)), &[ALEX, PRIYA], &[DANA]);
    deal.meet_about(ago(days(40)), &[JO], &[DANA]); // outside the window: not a proxy
    let text = deal.explain(Code::DelegatedEngagement);
    assert_eq!(
        text.message,
        "Dana Ruiz (Controller, can veto) has only been reached through Alex Kim and Priya Shah \
         in the last 30 days."
    );
    assert_eq!(
        text.recommendation,
        "Meet Dana Ruiz directly: learn what Dana Ruiz needs to agree, instead of asking \
         Alex Kim and Priya Shah to sell for you."
    );
}

#[test]
fn a_low_influence_supporter_reached_by_proxy_is_not_delegated() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| !m.participants.contains(&OMAR));
    deal.meet_about(ago(days(3)), &[ALEX], &[OMAR]);
    assert_eq!(deal.engagement()[usize::from(OMAR)], Engagement::ProxyOnly);
    assert!(!deal.fires(Code::DelegatedEngagement));
}

#[test]
fn an_opposed_or_influential_member_reached_by_proxy_is_delegated() {
    let mut deal = Deal::healthy();
    deal.meetings
        .retain(|m| !m.participants.contains(&OMAR) && !m.participants.contains(&PRIYA));
    deal.people[usize::from(OMAR)].stance = Stance::Opposed;
    deal.people[usize::from(PRIYA)].influence = Influence::High;
    deal.meet_about(ago(days(3)), &[ALEX], &[OMAR, PRIYA]);
    deal.meet(ago(days(4)), &[JO]);
    assert_eq!(deal.evidence(Code::DelegatedEngagement), vec![PRIYA, OMAR]);
    assert_eq!(
        deal.explain(Code::DelegatedEngagement).message,
        "In the last 30 days these members were only reached through others: \
         Priya Shah (IT Architect, high influence) through Alex Kim; and \
         Omar Haddad (procurement, opposed) through Alex Kim."
    );
}

#[test]
fn a_member_met_directly_once_is_not_delegated_however_often_discussed() {
    let mut deal = Deal::healthy();
    deal.meet_about(ago(days(1)), &[ALEX], &[DANA, LEE]);
    assert!(!deal.fires(Code::DelegatedEngagement));
}

// ---- MOBILIZER_OVERLOADED --------------------------------------------------------------

#[test]
fn an_overloaded_only_mobilizer_is_flagged() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(ALEX)].bandwidth = Bandwidth::Overloaded;
    assert_eq!(deal.evidence(Code::MobilizerOverloaded), vec![ALEX]);
    assert_eq!(
        deal.explain(Code::MobilizerOverloaded).message,
        "Alex Kim (Head of Operations), the only mobilizer, is overloaded."
    );
}

#[test]
fn a_sponsor_with_time_relieves_an_overloaded_mobilizer() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(ALEX)].bandwidth = Bandwidth::Overloaded;
    deal.people[usize::from(JO)].role = BuyingRole::Sponsor;
    deal.people[usize::from(JO)].bandwidth = Bandwidth::Stretched;
    assert!(!deal.fires(Code::MobilizerOverloaded));
    deal.people[usize::from(JO)].bandwidth = Bandwidth::Overloaded;
    assert_eq!(deal.evidence(Code::MobilizerOverloaded), vec![ALEX, JO]);
}

#[test]
fn a_group_without_mobilizers_or_sponsors_is_not_overloaded() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(ALEX)].role = BuyingRole::Influencer;
    deal.people[usize::from(ALEX)].bandwidth = Bandwidth::Overloaded;
    assert!(!deal.fires(Code::MobilizerOverloaded));
}

// ---- BUYING_GROUP_GAPS -----------------------------------------------------------------

#[test]
fn five_members_are_a_gap_and_six_are_not() {
    let mut deal = Deal::healthy();
    assert!(!deal.fires(Code::BuyingGroupGaps));
    deal.people.truncate(5);
    deal.meetings.iter_mut().for_each(|m| m.participants.retain(|&p| p < 5));
    assert_eq!(deal.evidence(Code::BuyingGroupGaps), Vec::<u16>::new());
    assert_eq!(
        deal.explain(Code::BuyingGroupGaps).message,
        "The buying group has 5 members (at least 6 expected)."
    );
}

#[test]
fn a_missing_economic_buyer_is_a_gap() {
    let mut deal = Deal::healthy();
    deal.people[usize::from(LEE)].role = BuyingRole::DecisionMaker;
    let text = deal.explain(Code::BuyingGroupGaps);
    assert_eq!(
        text.message,
        "The buying group has no one in the role of economic buyer."
    );
    assert_eq!(
        text.recommendation,
        "Ask who else takes part in or is affected by the decision and who fills the economic buyer \
         role, add them to the buying group and meet each of them directly."
    );
}

#[test]
fn required_roles_come_from_the_policy() {
    let mut deal = Deal::healthy();
    deal.policy.required_roles = vec![BuyingRole::EconomicBuyer, BuyingRole::Legal];
    assert!(deal.fires(Code::BuyingGroupGaps));
    deal.policy.required_roles = vec![];
    deal.people[usize::from(LEE)].role = BuyingRole::DecisionMaker;
    assert!(!deal.fires(Code::BuyingGroupGaps));
}

// ---- LOW_COVERAGE ----------------------------------------------------------------------

#[test]
fn half_the_group_engaged_directly_is_enough_coverage() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA, LEE]);
    assert!(!deal.fires(Code::LowCoverage));
}

#[test]
fn under_half_the_group_engaged_directly_is_low_coverage() {
    let mut deal = Deal::healthy();
    deal.people
        .push(person("Kai Lund", Some("Legal Counsel"), BuyingRole::Legal));
    deal.meetings.clear();
    deal.meet(ago(days(1)), &[ALEX, DANA, LEE]);
    assert_eq!(deal.evidence(Code::LowCoverage), vec![PRIYA, OMAR, JO, 6]);
    let text = deal.explain(Code::LowCoverage);
    assert_eq!(
        text.message,
        "Only 3 of 7 members (43%) were engaged directly in the last 30 days (threshold 50%); \
         not reached directly: Priya Shah (IT Architect), Omar Haddad (procurement), \
         Jo Berg (Team Lead) and Kai Lund (Legal Counsel)."
    );
    assert_eq!(
        text.recommendation,
        "Plan direct conversations with the members not reached yet, starting with \
         Priya Shah, Jo Berg and Kai Lund."
    );
}

// ---- STALLED ---------------------------------------------------------------------------

#[test]
fn a_deal_that_entered_its_stage_exactly_60_days_ago_has_not_stalled() {
    let mut deal = Deal::healthy();
    deal.stage_history.truncate(1);
    deal.enter(Stage::Proposal, ago(days(60)));
    assert!(!deal.fires(Code::Stalled));
}

#[test]
fn a_deal_in_its_stage_60_days_and_a_second_has_stalled() {
    let mut deal = Deal::healthy();
    deal.stage_history.truncate(1);
    deal.enter(Stage::Proposal, ago(days(60) + secs(1)));
    assert!(deal.fires(Code::Stalled));
    assert_eq!(
        deal.explain(Code::Stalled).message,
        "The deal has been in PROPOSAL for 60 days (limit 60)."
    );
}

#[test]
fn without_a_history_the_current_stage_entry_counts() {
    let mut deal = Deal::healthy();
    deal.stage_history.clear();
    deal.stage_entered_at = ago(days(61));
    assert!(deal.fires(Code::Stalled));
}

// ---- GOING_DARK ------------------------------------------------------------------------

#[test]
fn a_last_interaction_exactly_14_days_ago_means_the_deal_went_dark() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| m.at < ago(days(14)));
    deal.meet(ago(days(14)), &[ALEX]);
    assert!(deal.fires(Code::GoingDark));
    assert_eq!(
        deal.explain(Code::GoingDark).message,
        "No interaction with the buying group in the last 14 days; the last one was 14 days ago."
    );
}

#[test]
fn an_interaction_a_second_inside_14_days_keeps_the_deal_lit() {
    let mut deal = Deal::healthy();
    deal.meetings.retain(|m| m.at < ago(days(14)));
    deal.meet(ago(days(14) - secs(1)), &[ALEX]);
    assert!(!deal.fires(Code::GoingDark));
}

#[test]
fn a_deal_younger_than_14_days_cannot_go_dark() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.created_at = ago(days(14));
    deal.stage_history = vec![StageChangeFacts {
        to: Stage::Prospecting,
        at: deal.created_at,
    }];
    assert!(!deal.fires(Code::GoingDark));
    deal.created_at = ago(days(14) + secs(1));
    assert!(deal.fires(Code::GoingDark));
    assert_eq!(
        deal.explain(Code::GoingDark).message,
        "No interaction with the buying group has been logged since the deal was created 14 days ago."
    );
}

// ---- PAST_CLOSE_DATE -------------------------------------------------------------------

#[test]
fn a_close_date_on_the_same_utc_date_has_not_passed() {
    let mut deal = Deal::healthy();
    deal.expected_close_date = Some(date(2026, 6, 15));
    assert!(!deal.fires(Code::PastCloseDate));
    let late_evening = DateTime::parse_from_rfc3339("2026-06-15T23:59:59Z")
        .expect("a valid instant")
        .to_utc();
    assert!(!deal.assess_at(late_evening).has(Code::PastCloseDate));
}

#[test]
fn a_close_date_the_day_before_has_passed() {
    let mut deal = Deal::healthy();
    deal.expected_close_date = Some(date(2026, 6, 14));
    assert!(deal.fires(Code::PastCloseDate));
    assert_eq!(
        deal.explain(Code::PastCloseDate).message,
        "The expected close date 2026-06-14 passed 1 day ago."
    );
}

#[test]
fn the_close_date_is_compared_with_the_utc_date() {
    let mut deal = Deal::healthy();
    deal.expected_close_date = Some(date(2026, 6, 15));
    // Still the 15th in New York, already the 16th in UTC.
    let after_midnight_utc = DateTime::parse_from_rfc3339("2026-06-15T20:30:00-04:00")
        .expect("a valid instant")
        .to_utc();
    assert!(deal.assess_at(after_midnight_utc).has(Code::PastCloseDate));
}

#[test]
fn a_deal_without_a_close_date_is_never_past_it() {
    let mut deal = Deal::healthy();
    deal.expected_close_date = None;
    assert!(!deal.fires(Code::PastCloseDate));
}

// ---- CLOSE_DATE_PUSHED -----------------------------------------------------------------

#[test]
fn a_close_date_pushed_twice_is_flagged() {
    let mut deal = Deal::healthy();
    deal.move_close_date(Some(date(2026, 10, 31)), ago(days(30)));
    assert!(!deal.fires(Code::CloseDatePushed), "once is not a pattern");
    deal.move_close_date(Some(date(2026, 12, 15)), ago(days(10)));
    assert!(deal.fires(Code::CloseDatePushed));
    assert_eq!(
        deal.explain(Code::CloseDatePushed).message,
        "The expected close date was pushed twice, now 2026-12-15."
    );
}

#[test]
fn moving_the_close_date_earlier_or_setting_it_is_not_a_push() {
    let mut deal = Deal::healthy();
    deal.move_close_date(Some(date(2026, 12, 31)), ago(days(30)));
    deal.move_close_date(Some(date(2026, 8, 31)), ago(days(20)));
    deal.move_close_date(None, ago(days(15)));
    deal.move_close_date(Some(date(2027, 3, 31)), ago(days(10)));
    assert!(!deal.fires(Code::CloseDatePushed));
}

#[test]
fn pushes_after_as_of_have_not_happened_yet() {
    let mut deal = Deal::healthy();
    deal.move_close_date(Some(date(2026, 10, 31)), ago(days(30)));
    deal.move_close_date(Some(date(2026, 12, 15)), now() + secs(1));
    assert!(!deal.fires(Code::CloseDatePushed));
    assert!(deal.assess_at(now() + secs(1)).has(Code::CloseDatePushed));
}

// ---- whole assessments -----------------------------------------------------------------

#[test]
fn a_closed_deal_carries_nothing() {
    for stage in [Stage::ClosedWon, Stage::ClosedLost] {
        let mut deal = field_story();
        deal.enter(stage, ago(days(1)));
        let assessment = deal.assess();
        assert_eq!(assessment, Assessment::clear(), "{stage}");
        assert_eq!(assessment.level, RiskLevel::Low);
        // Before it closed, the same deal was at risk.
        assert!(deal.assess_at(ago(days(2))).score > 0);
    }
}

#[test]
fn an_empty_buying_group_is_single_threaded_and_has_gaps_but_no_coverage_ratio() {
    let mut deal = Deal::healthy();
    deal.people.clear();
    deal.meetings.iter_mut().for_each(|m| m.participants.clear());
    let codes = deal.codes();
    assert!(codes.contains(&Code::SingleThreaded));
    assert!(codes.contains(&Code::BuyingGroupGaps));
    assert!(codes.contains(&Code::NoMobilizer));
    assert!(!codes.contains(&Code::LowCoverage));
    assert_eq!(deal.engagement(), vec![]);
    let text = deal.explain(Code::SingleThreaded);
    assert_eq!(
        text.message,
        "No buying-group members are recorded, so no one was engaged directly in the last 30 days."
    );
    assert!(text.recommendation.starts_with("Map the buying group"));
    assert_eq!(
        deal.explain(Code::BuyingGroupGaps).message,
        "The buying group has 0 members (at least 6 expected) and no one in the role of economic buyer."
    );
}

#[test]
fn custom_weights_set_the_points_and_zero_disables_a_factor() {
    let mut deal = Deal::healthy();
    deal.stage_history.truncate(1);
    deal.enter(Stage::Proposal, ago(days(70)));
    deal.people[usize::from(ALEX)].stance = Stance::Neutral;
    deal.policy = RiskPolicy::default()
        .with_points(Code::Stalled, 40)
        .with_points(Code::NoMobilizer, 0);
    let assessment = deal.assess();
    assert_eq!(assessment.codes().collect::<Vec<_>>(), vec![Code::Stalled]);
    assert_eq!(assessment.score, 40);
    assert_eq!(assessment.level, RiskLevel::Medium);
}

#[test]
fn factors_are_ordered_by_points_then_by_code() {
    let mut deal = Deal::healthy();
    deal.stage_history.truncate(1);
    deal.enter(Stage::Proposal, ago(days(70))); // STALLED 15
    deal.expected_close_date = Some(date(2026, 6, 1)); // PAST_CLOSE_DATE 10
    deal.people[usize::from(ALEX)].stance = Stance::Neutral; // NO_MOBILIZER 15
    deal.people[usize::from(DANA)].stance = Stance::Opposed; // VETO_HOLDER_OPPOSED 25
    deal.people.truncate(5); // BUYING_GROUP_GAPS 10
    deal.meetings.iter_mut().for_each(|m| m.participants.retain(|&p| p < 5));
    assert_eq!(
        deal.codes(),
        vec![
            Code::VetoHolderOpposed,
            Code::NoMobilizer,
            Code::Stalled,
            Code::BuyingGroupGaps,
            Code::PastCloseDate,
        ]
    );
    // A heavier weight moves a factor up; equal points keep the declaration order.
    deal.policy = RiskPolicy::default()
        .with_points(Code::PastCloseDate, 30)
        .with_points(Code::BuyingGroupGaps, 15);
    assert_eq!(
        deal.codes(),
        vec![
            Code::PastCloseDate,
            Code::VetoHolderOpposed,
            Code::NoMobilizer,
            Code::BuyingGroupGaps,
            Code::Stalled,
        ]
    );
}

#[test]
fn the_score_is_capped_at_100() {
    let assessment = field_story().assess();
    let sum: u32 = assessment.factors.iter().map(|f| f.points).sum();
    assert!(sum > 100, "the field story adds up to {sum}");
    assert_eq!(assessment.score, 100);
    assert_eq!(assessment.level, RiskLevel::Critical);
}

// ---- the field story (why-buying-groups.txt) -------------------------------------------

const SAM: u16 = 0; // sponsor, supportive, overloaded: the one contact
const CONTROLLER: u16 = 1; // Dana Ruiz, can veto, opposed: "she won't buy"

/// A NEGOTIATION deal stalled about four months. The seller meets only the sponsor, Sam
/// Patel, who is overloaded, and asks him to "handle" the controller, Dana Ruiz, who can
/// veto and is opposed. Dana is only ever discussed in meetings with Sam.
fn field_story() -> Deal {
    let mut sam = person("Sam Patel", Some("VP Operations"), BuyingRole::Sponsor);
    sam.stance = Stance::Supportive;
    sam.influence = Influence::High;
    sam.bandwidth = Bandwidth::Overloaded;
    let mut dana = person("Dana Ruiz", Some("Controller"), BuyingRole::Finance);
    dana.stance = Stance::Opposed;
    dana.can_veto = true;
    let mut cfo = person("Lee Wong", Some("CFO"), BuyingRole::EconomicBuyer);
    cfo.stance = Stance::Unknown;
    cfo.can_veto = true;
    cfo.influence = Influence::High;
    let people = vec![
        sam,
        dana,
        cfo,
        person("Priya Shah", Some("IT Architect"), BuyingRole::TechnicalEvaluator),
        person("Omar Haddad", None, BuyingRole::Procurement),
        person("Jo Berg", Some("Team Lead"), BuyingRole::EndUser),
    ];
    let created_at = ago(days(200));
    let mut deal = Deal {
        created_at,
        stage: Stage::Prospecting,
        stage_entered_at: created_at,
        expected_close_date: Some(date(2026, 3, 31)),
        stage_history: vec![StageChangeFacts {
            to: Stage::Prospecting,
            at: created_at,
        }],
        close_date_changes: vec![],
        people,
        meetings: vec![],
        policy: RiskPolicy::default(),
    };
    deal.enter(Stage::Discovery, ago(days(180)));
    deal.enter(Stage::Evaluation, ago(days(160)));
    deal.enter(Stage::Proposal, ago(days(140)));
    deal.enter(Stage::Negotiation, ago(days(124)));
    deal.move_close_date(Some(date(2026, 5, 31)), ago(days(100)));
    deal.move_close_date(Some(date(2026, 9, 30)), ago(days(60)));
    deal.move_close_date(Some(date(2026, 12, 15)), ago(days(10)));
    deal.meet(ago(days(150)), &[SAM, 3, 5]);
    deal.meet_about(ago(days(25)), &[SAM], &[CONTROLLER]);
    deal.meet(ago(days(20)), &[SAM]);
    deal.meet_about(ago(days(10)), &[SAM], &[CONTROLLER]);
    deal.meet_about(ago(days(3)), &[SAM], &[CONTROLLER]);
    deal
}

#[test]
fn the_field_story_shows_every_danger_the_sales_manager_saw() {
    let deal = field_story();
    assert_eq!(
        deal.codes(),
        vec![
            Code::VetoHolderOpposed,
            Code::SingleThreaded,
            Code::NoMobilizer,
            Code::VetoHolderUnengaged,
            Code::DelegatedEngagement,
            Code::Stalled,
            Code::MobilizerOverloaded,
            Code::LowCoverage,
            Code::CloseDatePushed,
        ]
    );
    assert_eq!(deal.evidence(Code::SingleThreaded), vec![SAM]);
    assert_eq!(deal.evidence(Code::VetoHolderOpposed), vec![CONTROLLER]);
    assert_eq!(deal.evidence(Code::DelegatedEngagement), vec![CONTROLLER]);
    assert_eq!(deal.evidence(Code::MobilizerOverloaded), vec![SAM]);
    assert_eq!(deal.evidence(Code::VetoHolderUnengaged), vec![2]);
}

#[test]
fn the_field_story_is_explained_by_name() {
    let deal = field_story();
    let delegated = deal.explain(Code::DelegatedEngagement);
    assert_eq!(
        delegated.message,
        "Dana Ruiz (Controller, can veto, opposed) has only been reached through Sam Patel in the last 30 days."
    );
    assert_eq!(
        delegated.recommendation,
        "Meet Dana Ruiz directly: learn what Dana Ruiz needs to agree, instead of asking Sam Patel to sell for you."
    );
    let opposed = deal.explain(Code::VetoHolderOpposed);
    assert_eq!(
        opposed.message,
        "Dana Ruiz (Controller) can veto the purchase and is opposed (never met directly)."
    );
    assert_eq!(
        opposed.recommendation,
        "Meet Dana Ruiz directly to understand the objection and what would resolve it, \
         instead of asking Sam Patel to win the argument for you."
    );
    let thread = deal.explain(Code::SingleThreaded);
    assert_eq!(
        thread.message,
        "Only 1 of 6 members engaged directly in the last 30 days: Sam Patel (VP Operations). \
         Sam Patel took part in 4 of 4 interactions (100%) in the last 30 days."
    );
    assert_eq!(
        thread.recommendation,
        "Build direct relationships across the buying group, starting with Dana Ruiz, Lee Wong \
         and Priya Shah, instead of relying on Sam Patel to carry the deal."
    );
    assert_eq!(
        deal.explain(Code::Stalled).message,
        "The deal has been in NEGOTIATION for 124 days (limit 60)."
    );
    assert_eq!(
        deal.explain(Code::Stalled).recommendation,
        "Ask each member of the buying group directly what is holding the decision, starting \
         with Dana Ruiz and Lee Wong, and agree a dated next step with the people who decide."
    );
    assert_eq!(
        deal.explain(Code::MobilizerOverloaded).message,
        "Sam Patel (VP Operations), the only sponsor, is overloaded."
    );
    assert_eq!(
        deal.explain(Code::VetoHolderUnengaged).message,
        "Lee Wong (CFO) can veto the purchase but was not engaged in the last 30 days (never met directly)."
    );
    assert_eq!(
        deal.explain(Code::CloseDatePushed).message,
        "The expected close date was pushed 3 times, now 2026-12-15."
    );
}

#[test]
fn every_explanation_is_one_or_two_clean_sentences() {
    let deal = field_story();
    let assessment = deal.assess();
    let texts = deal.with_facts(|facts| explain_all(facts, &deal.policy, now(), &assessment));
    assert_eq!(texts.len(), assessment.factors.len());
    for (factor, text) in assessment.factors.iter().zip(&texts) {
        assert_eq!(*text, deal.explain(factor.code), "explain_all agrees with explain");
        for line in [&text.message, &text.recommendation] {
            assert!(line.ends_with('.'), "{}: {line:?}", factor.code);
            assert_eq!(line.trim(), line, "{}: {line:?}", factor.code);
            assert!(!line.contains("  "), "{}: {line:?}", factor.code);
            let sentences = line.matches(". ").count() + 1;
            assert!(sentences <= 2, "{}: {line:?}", factor.code);
        }
    }
}

#[test]
fn working_the_whole_group_clears_the_engagement_factors() {
    let mut deal = field_story();
    deal.meet(ago(days(2)), &[SAM, CONTROLLER]);
    deal.meet(ago(days(2)), &[CONTROLLER, 2]);
    deal.meet(ago(days(1)), &[2, 3]);
    deal.meet(ago(days(1)), &[4, 5]);
    deal.people[usize::from(CONTROLLER)].stance = Stance::Neutral;
    let codes = deal.codes();
    for cleared in [
        Code::SingleThreaded,
        Code::VetoHolderOpposed,
        Code::VetoHolderUnengaged,
        Code::DelegatedEngagement,
        Code::LowCoverage,
    ] {
        assert!(!codes.contains(&cleared), "{cleared} still fires: {codes:?}");
    }
    // What time and the sponsor's workload did is not undone by a week of meetings.
    assert_eq!(
        codes,
        vec![
            Code::NoMobilizer,
            Code::Stalled,
            Code::MobilizerOverloaded,
            Code::CloseDatePushed,
        ]
    );
    assert_eq!(deal.engagement(), vec![Engagement::Direct; 6]);
}

// ---- replaying as_of -------------------------------------------------------------------

#[test]
fn a_future_as_of_shows_the_deal_stalled_and_dark_if_nothing_happens() {
    let deal = Deal::healthy();
    let in_90_days = now() + days(90);
    let assessment = deal.assess_at(in_90_days);
    assert!(assessment.has(Code::Stalled));
    assert!(assessment.has(Code::GoingDark));
    assert!(!assessment.has(Code::PastCloseDate), "2026-09-30 is still ahead");
    assert_eq!(
        deal.explain_at(Code::GoingDark, in_90_days).message,
        "No interaction with the buying group in the last 14 days; the last one was 92 days ago."
    );
}

#[test]
fn a_past_as_of_uses_the_stage_and_close_date_of_that_time() {
    let mut deal = Deal::healthy();
    deal.stage_history.truncate(1); // PROSPECTING since 90 days ago
    deal.expected_close_date = Some(date(2026, 4, 30));
    deal.move_close_date(Some(date(2026, 12, 15)), ago(days(10)));
    deal.enter(Stage::Negotiation, ago(days(10)));
    assert_eq!(deal.codes(), vec![], "NEGOTIATION for 10 days, closing in December");

    let month_ago = ago(days(20));
    let then = deal.assess_at(month_ago);
    assert!(then.has(Code::Stalled), "PROSPECTING for 70 days then");
    assert!(then.has(Code::PastCloseDate), "2026-04-30 had passed by then");
    assert_eq!(
        deal.explain_at(Code::Stalled, month_ago).message,
        "The deal has been in PROSPECTING for 70 days (limit 60)."
    );
    assert_eq!(
        deal.explain_at(Code::PastCloseDate, month_ago).message,
        "The expected close date 2026-04-30 passed 26 days ago."
    );
}

#[test]
fn a_deal_closed_after_as_of_is_still_open_at_as_of() {
    let mut deal = field_story();
    deal.enter(Stage::ClosedLost, ago(days(1)));
    assert_eq!(deal.assess().score, 0);
    assert!(deal.assess_at(ago(days(2))).has(Code::VetoHolderOpposed));
}

#[test]
fn an_as_of_before_the_first_stage_change_uses_the_first_stage() {
    let deal = field_story();
    let before = deal.created_at - days(1);
    let state = deal.with_facts(|facts| replay(facts, before));
    assert_eq!(state.stage, Stage::Prospecting);
    assert_eq!(state.stage_entered_at, deal.created_at);
    assert_eq!(state.expected_close_date, Some(date(2026, 3, 31)));
    assert_eq!(state.close_date_pushes, 0);
    assert!(!deal.assess_at(before).has(Code::Stalled));
}

#[test]
fn last_direct_interaction_looks_back_as_far_as_needed() {
    let deal = field_story();
    deal.with_facts(|facts| {
        assert_eq!(last_direct_interaction(facts, SAM, None), Some(ago(days(3))));
        assert_eq!(
            last_direct_interaction(facts, SAM, Some(ago(days(4)))),
            Some(ago(days(10)))
        );
        assert_eq!(last_direct_interaction(facts, 3, None), Some(ago(days(150))));
        assert_eq!(last_direct_interaction(facts, CONTROLLER, None), None);
        let view = member_engagement(facts, &deal.policy, now());
        assert_eq!(view[usize::from(SAM)].window_interactions, 4);
        assert_eq!(view[usize::from(CONTROLLER)].engagement, Engagement::ProxyOnly);
        assert_eq!(view[3].last_direct_at, Some(ago(days(150))));
    });
}

// ---- large groups ----------------------------------------------------------------------

#[test]
fn groups_beyond_128_members_keep_their_evidence() {
    let mut deal = Deal::healthy();
    for i in 6..300u16 {
        let mut extra = person(&format!("Member {i}"), None, BuyingRole::EndUser);
        extra.can_veto = i == 299;
        extra.stance = if i == 250 { Stance::Opposed } else { Stance::Neutral };
        extra.influence = if i == 200 { Influence::High } else { Influence::Low };
        deal.people.push(extra);
    }
    deal.meet_about(ago(days(1)), &[ALEX], &[200]);
    let assessment = deal.assess();
    let evidence = |code| assessment.factor(code).map(|f| f.members.to_vec()).unwrap_or_default();
    assert_eq!(evidence(Code::VetoHolderUnengaged), vec![299]);
    assert_eq!(evidence(Code::DelegatedEngagement), vec![200]);
    assert_eq!(evidence(Code::LowCoverage).len(), 294);
    let text = deal.explain(Code::LowCoverage);
    assert!(
        text.message.ends_with("Member 10 (end user) and 289 others."),
        "{}",
        text.message
    );
}

// ---- next steps (SPEC §10) --------------------------------------------------------------

mod next_steps;

// ---- invariants ------------------------------------------------------------------------

mod invariants {
    use super::*;
    use proptest::collection::vec;
    use proptest::option;
    use proptest::prelude::*;
    use proptest::sample::{select, subsequence};

    pub(super) const DAY: i64 = 86_400;

    pub(super) fn arb_person() -> impl Strategy<Value = Person> {
        (
            select(BuyingRole::ALL),
            select(Stance::ALL),
            any::<bool>(),
            select(Influence::ALL),
            select(Bandwidth::ALL),
            any::<bool>(),
        )
            .prop_map(|(role, stance, can_veto, influence, bandwidth, titled)| Person {
                name: String::new(),
                title: titled.then(|| "Title".to_owned()),
                role,
                stance,
                can_veto,
                influence,
                bandwidth,
            })
    }

    pub(super) fn arb_policy() -> impl Strategy<Value = RiskPolicy> {
        let share = || prop_oneof![Just(0.8), Just(0.5), Just(1.0), 0.01f64..=1.0];
        (
            prop_oneof![Just(30u32), 1u32..=365],
            1u32..=8,
            share(),
            1u32..=12,
            subsequence(BuyingRole::ALL.to_vec(), 0..=3),
            share(),
            prop_oneof![Just(60u32), 1u32..=400],
            prop_oneof![Just(14u32), 1u32..=60],
            1u32..=4,
            proptest::array::uniform12(0u32..=100),
        )
            .prop_map(
                |(window, engaged, share, size, roles, coverage, stall, dark, pushes, weights)| RiskPolicy {
                    engagement_window_days: window,
                    min_engaged_members: engaged,
                    single_thread_share: share,
                    min_group_size: size,
                    required_roles: roles,
                    coverage_threshold: coverage,
                    stall_days: stall,
                    dark_days: dark,
                    max_close_date_pushes: pushes,
                    weights,
                },
            )
    }

    /// Deals of 0–15 members (sometimes 120–200), with out-of-range indices mixed in,
    /// assessed at an instant up to 30 days before or 120 days after [`now`].
    pub(super) fn arb_case() -> impl Strategy<Value = (Deal, DateTime<Utc>)> {
        prop_oneof![8 => 0usize..16, 1 => 120usize..200]
            .prop_flat_map(|n| {
                let index = 0u16..(n as u16 + 3);
                let meeting = (-(150 * DAY)..(10 * DAY), vec(index.clone(), 0..4), vec(index, 0..3));
                let date = || option::of(0i64..500);
                (
                    vec(arb_person(), n),
                    vec(meeting, 0..40),
                    vec((select(Stage::ALL), 0i64..(300 * DAY)), 0..5),
                    vec((date(), date(), 0i64..(300 * DAY)), 0..5),
                    (select(Stage::ALL), date()),
                    arb_policy(),
                    -(30 * DAY)..(120 * DAY),
                )
            })
            .prop_map(
                |(mut people, meetings, history, closes, (stage, close), policy, offset)| {
                    for (i, p) in people.iter_mut().enumerate() {
                        p.name = format!("Person {i}");
                    }
                    let created_at = now() - secs(300 * DAY);
                    let day = |n: i64| date(2026, 1, 1) + TimeDelta::days(n);
                    let mut stage_history: Vec<_> = history
                        .into_iter()
                        .map(|(to, s)| StageChangeFacts {
                            to,
                            at: created_at + secs(s),
                        })
                        .collect();
                    stage_history.sort_by_key(|c| c.at);
                    let mut close_date_changes: Vec<_> = closes
                        .into_iter()
                        .map(|(from, to, s)| CloseDateChangeFacts {
                            from: from.map(day),
                            to: to.map(day),
                            at: created_at + secs(s),
                        })
                        .collect();
                    close_date_changes.sort_by_key(|c| c.at);
                    let deal = Deal {
                        created_at,
                        stage,
                        stage_entered_at: created_at + secs(DAY),
                        expected_close_date: close.map(day),
                        stage_history,
                        close_date_changes,
                        people,
                        meetings: meetings
                            .into_iter()
                            .map(|(s, participants, about)| Meeting {
                                at: now() + secs(s),
                                participants,
                                about,
                            })
                            .collect(),
                        policy,
                    };
                    (deal, now() + secs(offset))
                },
            )
    }

    proptest! {
        #[test]
        fn assessments_keep_their_invariants((deal, as_of) in arb_case()) {
            let assessment = deal.assess_at(as_of);
            let sum: u32 = assessment.factors.iter().map(|f| f.points).sum();
            prop_assert_eq!(assessment.score, sum.min(100));
            prop_assert_eq!(assessment.level, RiskLevel::from_score(assessment.score));
            prop_assert_eq!(&assessment, &deal.assess_at(as_of), "deterministic");
            for pair in assessment.factors.windows(2) {
                prop_assert!(
                    (pair[0].points, std::cmp::Reverse(pair[0].code))
                        > (pair[1].points, std::cmp::Reverse(pair[1].code)),
                    "ordered by points, then code: {:?}", assessment.codes().collect::<Vec<_>>()
                );
            }
            for factor in assessment.factors.iter() {
                prop_assert!(factor.points > 0 && factor.points == deal.policy.points(factor.code));
                prop_assert_eq!(factor.severity, factor.code.severity());
                for index in factor.members.iter() {
                    prop_assert!(usize::from(index) < deal.people.len());
                }
            }
            let state = deal.with_facts(|facts| replay(facts, as_of));
            if state.stage.is_closed() {
                prop_assert_eq!(assessment.score, 0);
                prop_assert!(assessment.factors.is_empty());
            }
        }

        #[test]
        fn the_views_agree_and_every_factor_explains_itself((deal, as_of) in arb_case()) {
            let assessment = deal.assess_at(as_of);
            deal.with_facts(|facts| {
                let quick = engagement(facts, &deal.policy, as_of);
                let full = member_engagement(facts, &deal.policy, as_of);
                prop_assert_eq!(quick.len(), facts.members.len());
                for (i, (q, f)) in quick.iter().zip(&full).enumerate() {
                    prop_assert_eq!(*q, f.engagement);
                    let last = last_direct_interaction(facts, i as u16, Some(as_of));
                    prop_assert_eq!(last, f.last_direct_at);
                }
                for text in explain_all(facts, &deal.policy, as_of, &assessment) {
                    for line in [&text.message, &text.recommendation] {
                        prop_assert!(!line.is_empty() && line.trim() == line.as_str());
                        prop_assert!(line.ends_with('.'));
                    }
                }
                Ok(())
            })?;
        }
    }
}
