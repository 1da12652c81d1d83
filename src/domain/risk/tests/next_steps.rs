//! The next-steps planner of SPEC §10, rule by rule: candidates and their order, the cut to
//! 12, meetings simulated as facts, the smallest best set and its tie-break, the steps.

use super::*;

impl Deal {
    /// The plan at `as_of`, with each member's index as its id.
    fn plan_at(&self, as_of: DateTime<Utc>) -> Plan {
        let ids: Vec<usize> = (0..self.people.len()).collect();
        self.with_facts(|facts| plan(facts, &self.policy, as_of, &ids))
    }

    fn plan(&self) -> Plan {
        self.plan_at(now())
    }

    fn candidates_by(&self, ids: &[u32]) -> Vec<u16> {
        self.with_facts(|facts| candidates(facts, &self.policy, now(), ids))
    }

    /// The assessment at `as_of` after one direct meeting at `as_of` with each of `members`,
    /// built the way a seller would log them (independently of the planner).
    fn assess_after_meeting(&self, as_of: DateTime<Utc>, members: &[u16]) -> Assessment {
        let mut deal = self.clone();
        for &m in members {
            deal.meet(as_of, &[m]);
        }
        deal.assess_at(as_of)
    }
}

fn met(plan: &Plan) -> Vec<u16> {
    plan.steps.iter().map(|s| s.member).collect()
}

fn scores(plan: &Plan) -> Vec<u32> {
    plan.steps.iter().map(|s| s.after.score).collect()
}

/// The healthy deal with nobody met directly but Alex, the mobilizer (twice, recently), and
/// no veto holders: too few threads and too little coverage, nothing else.
fn one_thread() -> Deal {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.people[usize::from(DANA)].can_veto = false;
    deal.people[usize::from(LEE)].can_veto = false;
    deal.meet(ago(days(2)), &[ALEX]);
    deal.meet(ago(days(9)), &[ALEX]);
    deal
}

// ---- the steps ---------------------------------------------------------------------------

#[test]
fn the_field_story_plan_meets_the_controller_then_the_cfo() {
    let deal = field_story();
    let plan = deal.plan();
    assert_eq!((plan.current.score, plan.current.level), (100, RiskLevel::Critical));
    assert_eq!(met(&plan), vec![CONTROLLER, 2]);
    // Dana's meeting alone clears her delegated engagement, but the score is capped at 100;
    // with the CFO as well, three members are engaged directly and half the group is covered.
    let first = &plan.steps[0];
    assert_eq!(first.clears, vec![Code::DelegatedEngagement]);
    assert_eq!((first.after.score, first.after.level), (100, RiskLevel::Critical));
    assert_eq!(
        first.message,
        "Meet Dana Ruiz (Controller) directly: risk stays at 100, clears DELEGATED_ENGAGEMENT; \
         with the steps after it, it falls to 75."
    );
    let second = &plan.steps[1];
    assert_eq!(
        second.clears,
        vec![Code::LowCoverage, Code::SingleThreaded, Code::VetoHolderUnengaged]
    );
    assert_eq!((second.after.score, second.after.level), (75, RiskLevel::Critical));
    assert_eq!(
        second.message,
        "Meet Lee Wong (CFO) directly: risk 100 → 75, clears LOW_COVERAGE, SINGLE_THREADED and \
         VETO_HOLDER_UNENGAGED."
    );
    // What is left is the controller's stance, time and the sponsor's workload: meetings
    // are simulated, not their outcome.
    assert_eq!(plan.reachable, second.after);
    assert_eq!(
        plan.reachable.codes().collect::<Vec<_>>(),
        vec![
            Code::VetoHolderOpposed,
            Code::NoMobilizer,
            Code::Stalled,
            Code::MobilizerOverloaded,
            Code::CloseDatePushed,
        ]
    );
}

#[test]
fn meeting_the_unengaged_and_the_delegated_veto_holders_clears_both_factors() {
    // Lee (CFO, can veto) was never met in the window; Dana (can veto) was only discussed
    // with Alex. The rest of the group was met directly.
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet(ago(days(2)), &[ALEX, PRIYA]);
    deal.meet_about(ago(days(5)), &[ALEX], &[DANA]);
    deal.meet(ago(days(9)), &[OMAR]);
    deal.meet(ago(days(12)), &[JO, ALEX]);
    deal.meet(ago(days(20)), &[PRIYA]);
    assert_eq!(deal.codes(), vec![Code::VetoHolderUnengaged, Code::DelegatedEngagement]);
    let plan = deal.plan();
    assert_eq!(plan.current.score, 30);
    // Both hold a veto; Lee's high influence puts him first.
    assert_eq!(met(&plan), vec![LEE, DANA]);
    assert_eq!(plan.steps[0].clears, vec![Code::VetoHolderUnengaged]);
    assert_eq!(
        plan.steps[0].message,
        "Meet Lee Wong (CFO) directly: risk 30 → 15, clears VETO_HOLDER_UNENGAGED."
    );
    assert_eq!(plan.steps[1].clears, vec![Code::DelegatedEngagement]);
    assert_eq!(
        plan.steps[1].message,
        "Meet Dana Ruiz (Controller) directly: risk 15 → 0, clears DELEGATED_ENGAGEMENT."
    );
    assert_eq!((plan.reachable.score, plan.reachable.level), (0, RiskLevel::Low));
    assert!(plan.reachable.factors.is_empty());
}

#[test]
fn one_meeting_can_clear_several_factors_at_once() {
    // Dana can veto and was only discussed; only two members were met directly. Meeting her
    // makes a third direct thread and half the group covered.
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.people[usize::from(LEE)].can_veto = false;
    deal.meet_about(ago(days(2)), &[ALEX, PRIYA], &[DANA]);
    assert_eq!(
        deal.codes(),
        vec![Code::SingleThreaded, Code::DelegatedEngagement, Code::LowCoverage]
    );
    let plan = deal.plan();
    assert_eq!(met(&plan), vec![DANA]);
    assert_eq!(
        plan.steps[0].clears,
        vec![Code::DelegatedEngagement, Code::LowCoverage, Code::SingleThreaded]
    );
    assert_eq!(
        plan.steps[0].message,
        "Meet Dana Ruiz (Controller) directly: risk 45 → 0, clears DELEGATED_ENGAGEMENT, LOW_COVERAGE and \
         SINGLE_THREADED."
    );
}

#[test]
fn a_single_threaded_deal_needs_the_pair_that_no_single_meeting_reveals() {
    let deal = one_thread();
    assert_eq!(deal.codes(), vec![Code::SingleThreaded, Code::LowCoverage]);
    // Any one meeting leaves two threads and a third of the group: nothing changes.
    for member in [DANA, LEE, PRIYA, OMAR, JO] {
        let after = deal.assess_after_meeting(now(), &[member]);
        assert_eq!(after.score, 30, "meeting {member} alone");
        assert_eq!(
            after.codes().collect::<Vec<_>>(),
            deal.codes(),
            "meeting {member} alone"
        );
    }
    let plan = deal.plan();
    // No veto, no opposition: Lee (high influence) first, then Dana, Jo and Priya by name.
    assert_eq!(met(&plan), vec![LEE, DANA]);
    assert_eq!(scores(&plan), vec![30, 0]);
    assert!(plan.steps[0].clears.is_empty());
    assert_eq!(
        plan.steps[0].message,
        "Meet Lee Wong (CFO) directly: risk stays at 30; with the steps after it, it falls to 0."
    );
    assert_eq!(plan.steps[1].clears, vec![Code::LowCoverage, Code::SingleThreaded]);
    assert_eq!(
        plan.steps[1].message,
        "Meet Dana Ruiz (Controller) directly: risk 30 → 0, clears LOW_COVERAGE and SINGLE_THREADED."
    );
}

#[test]
fn a_meeting_is_one_interaction_at_as_of_with_the_member_alone() {
    let deal = one_thread();
    let plan = deal.plan();
    let by_hand = deal.assess_after_meeting(now(), &[LEE, DANA]);
    assert_eq!(plan.reachable, by_hand);
    // The same deal planned a week later: Alex's meeting nine days ago is still in the
    // window, the plan is made at the later instant.
    let later = now() + days(7);
    let plan = deal.plan_at(later);
    assert_eq!(plan.current, deal.assess_at(later));
    assert_eq!(plan.reachable, deal.assess_after_meeting(later, &met(&plan)));
}

#[test]
fn a_deal_no_meeting_can_help_gets_no_steps() {
    // Everyone is met directly except a low-influence newcomer; what is wrong is what people
    // think (an opposed veto holder, a neutral mobilizer), which a meeting does not change.
    let mut deal = Deal::healthy();
    deal.people[usize::from(DANA)].stance = Stance::Opposed;
    deal.people[usize::from(ALEX)].stance = Stance::Neutral;
    let mut newcomer = person("Kai Lund", Some("Analyst"), BuyingRole::Influencer);
    newcomer.influence = Influence::Low;
    deal.people.push(newcomer);
    assert_eq!(deal.codes(), vec![Code::VetoHolderOpposed, Code::NoMobilizer]);
    let plan = deal.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.reachable, plan.current);
    assert_eq!(plan.current.score, 40);
}

#[test]
fn a_healthy_deal_needs_no_steps() {
    let plan = Deal::healthy().plan();
    assert!(plan.steps.is_empty());
    assert_eq!((plan.current.score, plan.reachable.score), (0, 0));
}

#[test]
fn a_closed_deal_gets_an_empty_plan() {
    let mut deal = field_story();
    deal.enter(Stage::ClosedLost, ago(days(1)));
    let plan = deal.plan();
    assert!(plan.steps.is_empty());
    assert_eq!(plan.current, Assessment::clear());
    assert_eq!(plan.reachable, Assessment::clear());
    // Before it closed, the same deal had steps.
    assert!(!deal.plan_at(ago(days(2))).steps.is_empty());
}

// ---- candidates and ties -----------------------------------------------------------------

#[test]
fn candidates_are_the_members_not_met_directly_in_priority_order() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    let mut people = Vec::new();
    let mut add = |name: &str, can_veto: bool, stance: Stance, influence: Influence| {
        let mut p = person(name, None, BuyingRole::Influencer);
        (p.can_veto, p.stance, p.influence) = (can_veto, stance, influence);
        people.push(p);
    };
    add("Zed Ames", false, Stance::Supportive, Influence::High); // 0
    add("Amy Cole", false, Stance::Opposed, Influence::Low); // 1
    add("Bob Diaz", true, Stance::Neutral, Influence::Low); // 2
    add("Cat Egan", true, Stance::Opposed, Influence::Low); // 3
    add("Ann Ford", false, Stance::Neutral, Influence::Medium); // 4
    add("Ann Ford", false, Stance::Neutral, Influence::Medium); // 5: same name, smaller id
    add("zoe Gray", false, Stance::Neutral, Influence::Medium); // 6: lower case sorts after
    add("Émile Hart", false, Stance::Neutral, Influence::Medium); // 7: É after every ASCII letter
    add("Met Directly", true, Stance::Opposed, Influence::High); // 8
    deal.people = people;
    deal.meet(ago(days(1)), &[8]);
    let ids = [10, 11, 12, 13, 15, 14, 16, 17, 18];
    assert_eq!(deal.candidates_by(&ids), vec![3, 2, 1, 0, 5, 4, 6, 7]);
    // With the two Ann Fords' ids the other way round, member order follows.
    let ids = [10, 11, 12, 13, 14, 15, 16, 17, 18];
    assert_eq!(deal.candidates_by(&ids), vec![3, 2, 1, 0, 4, 5, 6, 7]);
}

#[test]
fn members_reached_only_by_proxy_are_candidates_too() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.meet_about(ago(days(1)), &[ALEX], &[PRIYA]);
    // Dana and Lee hold vetoes (Lee's influence is high); Priya, only discussed, is a
    // candidate like Jo and Omar, never met.
    assert_eq!(
        deal.candidates_by(&[0, 1, 2, 3, 4, 5]),
        vec![LEE, DANA, JO, PRIYA, OMAR]
    );
}

#[test]
fn equal_sets_are_broken_by_candidate_order_down_to_the_id() {
    // Two members alike in everything, name included: any one meeting clears the single
    // thread, so the plan meets the one whose id sorts first, whatever the member order.
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.people.truncate(2);
    for _ in 0..2 {
        deal.people
            .push(person("Sam Lee", Some("Analyst"), BuyingRole::Influencer));
    }
    deal.people[usize::from(DANA)].can_veto = false;
    deal.policy.required_roles.clear();
    deal.policy.min_group_size = 1;
    deal.policy.coverage_threshold = 0.1;
    deal.meet(ago(days(2)), &[ALEX, DANA]);
    deal.meet(ago(days(3)), &[DANA]);
    deal.meet(ago(days(4)), &[ALEX]);
    assert_eq!(deal.codes(), vec![Code::SingleThreaded]);
    let plan_with = |ids: [u8; 4]| deal.with_facts(|facts| plan(facts, &deal.policy, now(), &ids));
    let plan = plan_with([0, 1, 7, 3]);
    assert_eq!(met(&plan), vec![3]);
    assert_eq!(plan.reachable.score, 0);
    let plan = plan_with([0, 1, 3, 7]);
    assert_eq!(met(&plan), vec![2]);
}

#[test]
fn the_smallest_set_wins_and_then_the_first_in_candidate_order() {
    // Lee (high influence) comes first; meeting him and any one other clears everything, as
    // does meeting any two others, but Lee and Dana are the first pair.
    let deal = one_thread();
    let plan = deal.plan();
    assert_eq!(met(&plan), vec![LEE, DANA]);
    // Were Lee already met, one more meeting would do, and the plan says so: Dana.
    let mut deal = one_thread();
    deal.meet(ago(days(3)), &[LEE]);
    let plan = deal.plan();
    assert_eq!(met(&plan), vec![DANA]);
    assert_eq!(scores(&plan), vec![0]);
}

#[test]
fn only_the_first_12_candidates_are_considered() {
    // Twenty members nobody met, one by one lower in priority (influence, then name).
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.people = (0..20)
        .map(|i| {
            let mut p = person(&format!("Person {i:02}"), None, BuyingRole::Influencer);
            p.influence = if i % 2 == 0 { Influence::Low } else { Influence::High };
            p
        })
        .collect();
    deal.policy.required_roles.clear();
    let expected: Vec<u16> = (0..20u16)
        .filter(|i| i % 2 == 1)
        .chain((0..20u16).filter(|i| i % 2 == 0))
        .take(MAX_CANDIDATES)
        .collect();
    let ids: Vec<u32> = (0..20).collect();
    assert_eq!(deal.candidates_by(&ids), expected);
    assert_eq!(expected.len(), 12);
    // One meeting ends the dark spell, three end the single thread; coverage would take ten.
    let plan = deal.plan();
    assert_eq!(
        plan.current.codes().collect::<Vec<_>>(),
        vec![
            Code::SingleThreaded,
            Code::NoMobilizer,
            Code::GoingDark,
            Code::LowCoverage
        ]
    );
    assert_eq!(met(&plan), expected[..3].to_vec());
    assert_eq!(scores(&plan), vec![45, 45, 25]);
    assert_eq!(plan.steps[0].clears, vec![Code::GoingDark]);
    assert_eq!(plan.steps[2].clears, vec![Code::SingleThreaded]);
    assert_eq!(
        plan.reachable.codes().collect::<Vec<_>>(),
        vec![Code::NoMobilizer, Code::LowCoverage]
    );
}

#[test]
fn a_plan_proposes_at_most_five_meetings() {
    let mut deal = Deal::healthy();
    deal.meetings.clear();
    deal.people = (0..14)
        .map(|i| person(&format!("Person {i:02}"), None, BuyingRole::Influencer))
        .collect();
    deal.policy.required_roles.clear();
    // Five threads wanted: five meetings clear the single thread.
    deal.policy.min_engaged_members = 5;
    let plan = deal.plan();
    assert_eq!(met(&plan), vec![0, 1, 2, 3, 4]);
    assert_eq!(scores(&plan), vec![45, 45, 45, 45, 25]);
    // Six wanted: out of reach, so only the meeting that ends the dark spell is left.
    deal.policy.min_engaged_members = 6;
    let plan = deal.plan();
    assert_eq!(met(&plan), vec![0]);
    assert_eq!(plan.steps[0].clears, vec![Code::GoingDark]);
    assert!(plan.reachable.has(Code::SingleThreaded));
}

// ---- invariants --------------------------------------------------------------------------

mod properties {
    use super::super::invariants::{DAY, arb_case, arb_person, arb_policy};
    use super::*;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    /// Open deals of 1–14 members with up to 25 interactions in the last 60 days (indices
    /// out of range mixed in), under the default policy or any other, planned at [`now`]:
    /// deals with something to plan, unlike most of [`arb_case`]'s.
    fn arb_open_case() -> impl Strategy<Value = (Deal, DateTime<Utc>)> {
        (1usize..15)
            .prop_flat_map(|n| {
                let index = 0u16..(n as u16 + 1);
                let meeting = (-(60 * DAY)..=0, vec(index.clone(), 0..4), vec(index, 0..3));
                (
                    vec(arb_person(), n),
                    vec(meeting, 0..25),
                    select(&Stage::ALL[..5]),
                    0i64..(100 * DAY),
                    prop_oneof![Just(RiskPolicy::default()), arb_policy()],
                )
            })
            .prop_map(|(mut people, meetings, stage, entered, policy)| {
                for (i, p) in people.iter_mut().enumerate() {
                    p.name = format!("Person {}", i % 4); // names tie: ids decide
                }
                let created_at = now() - secs(100 * DAY);
                let deal = Deal {
                    created_at,
                    stage,
                    stage_entered_at: created_at + secs(entered),
                    expected_close_date: None,
                    stage_history: vec![],
                    close_date_changes: vec![],
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
                (deal, now())
            })
    }

    /// Every set of at most [`MAX_MEETINGS`] positions in `0..n`, by bit mask.
    fn small_sets(n: usize) -> impl Iterator<Item = Vec<usize>> {
        (0u32..1 << n)
            .filter(|mask| mask.count_ones() as usize <= MAX_MEETINGS)
            .map(move |mask| (0..n).filter(|&i| mask & (1 << i) != 0).collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn the_plan_is_the_best_smallest_first_set((deal, as_of) in prop_oneof![3 => arb_open_case(), 1 => arb_case()]) {
            let plan = deal.plan_at(as_of);
            prop_assert_eq!(&plan, &deal.plan_at(as_of), "deterministic");
            prop_assert_eq!(&plan.current, &deal.assess_at(as_of));
            prop_assert!(plan.reachable.score <= plan.current.score);
            prop_assert!(plan.steps.len() <= MAX_MEETINGS);

            let ids: Vec<usize> = (0..deal.people.len()).collect();
            let candidates = deal.with_facts(|facts| candidates(facts, &deal.policy, as_of, &ids));
            prop_assert!(candidates.len() <= MAX_CANDIDATES);
            let engaged = deal.with_facts(|facts| engagement(facts, &deal.policy, as_of));
            for &c in &candidates {
                prop_assert_ne!(engaged[usize::from(c)], Engagement::Direct);
            }
            if deal.with_facts(|facts| replay(facts, as_of)).stage.is_closed() {
                prop_assert!(plan.steps.is_empty());
            }

            // The steps: candidates in candidate order, each with the cumulative assessment.
            let positions: Vec<usize> = plan
                .steps
                .iter()
                .map(|s| candidates.iter().position(|&c| c == s.member).expect("a candidate"))
                .collect();
            prop_assert!(positions.windows(2).all(|w| w[0] < w[1]), "candidate order: {:?}", positions);
            let mut before = plan.current.clone();
            for (done, step) in plan.steps.iter().enumerate() {
                let met: Vec<u16> = plan.steps[..=done].iter().map(|s| s.member).collect();
                prop_assert_eq!(&step.after, &deal.assess_after_meeting(as_of, &met));
                let mut clears: Vec<Code> = before.codes().filter(|&c| !step.after.has(c)).collect();
                clears.sort_by_key(|c| c.as_str());
                prop_assert_eq!(&step.clears, &clears);
                prop_assert!(step.message.starts_with("Meet ") && step.message.ends_with('.'));
                // A meeting can only clear factors unless the policy's single-thread share is
                // at most 2/3: then a third interaction in the window can make everyone in it
                // a single thread, and a step may pass through a higher score.
                if deal.policy.single_thread_share > 2.0 / 3.0 {
                    prop_assert!(step.after.score <= before.score, "scoreAfter never rises");
                }
                before = step.after.clone();
            }
            prop_assert_eq!(&plan.reachable, &before);
            if let Some(last) = plan.steps.last() {
                prop_assert!(last.after.score < plan.current.score);
            }

            // Brute force over every set of at most five candidates: none does better, none
            // as well with fewer meetings, none of the same size comes first.
            if deal.people.len() <= 16 {
                let mut best: Option<(u32, usize, Vec<usize>)> = None;
                for set in small_sets(candidates.len()) {
                    let members: Vec<u16> = set.iter().map(|&p| candidates[p]).collect();
                    let score = deal.assess_after_meeting(as_of, &members).score;
                    let key = (score, set.len(), set);
                    if best.as_ref().is_none_or(|b| key < *b) {
                        best = Some(key);
                    }
                }
                let (score, size, set) = best.expect("the empty set at least");
                prop_assert_eq!(plan.reachable.score, score.min(plan.current.score));
                if score < plan.current.score {
                    prop_assert_eq!((size, set), (positions.len(), positions));
                } else {
                    prop_assert!(plan.steps.is_empty());
                }
            }
        }
    }
}
