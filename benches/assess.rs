//! SPEC §6: pure risk assessment of one 12-member, 100-interaction deal, ≥ 1,000,000 per
//! second per core (≤ 1 µs per call).
//!
//! The deal is built deterministically (a fixed linear congruential generator, no `rand`):
//! 12 members of mixed roles, stances and veto rights; 100 interactions over the last 90
//! days with 1–3 participants each, a third of them with someone in `about`; a stage
//! history and close-date pushes. `explain_all` is measured too, for the deal page.
//!
//! SPEC §10: the next-steps planner on the same deal (target ≤ 2 ms per plan), and on its
//! worst case — the same interactions with every participant only discussed, so that all 12
//! members are candidates, no set reaches 0 and all 1,586 sets are assessed.

use std::hint::black_box;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};
use criterion::{Criterion, criterion_group, criterion_main};

use dealgraph::domain::model::{Bandwidth, BuyingRole, Influence, Stage, Stance};
use dealgraph::domain::risk::{
    CloseDateChangeFacts, DealFacts, InteractionFacts, MemberFacts, RiskPolicy, StageChangeFacts, assess, candidates,
    explain_all, plan,
};

/// Numerical Recipes' LCG: deterministic and good enough to spread the fixture.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

const NAMES: [&str; 12] = [
    "Sam Patel",
    "Dana Ruiz",
    "Lee Wong",
    "Priya Shah",
    "Omar Haddad",
    "Jo Berg",
    "Kai Lund",
    "Mina Sato",
    "Ravi Iyer",
    "Eva Novak",
    "Tom Reyes",
    "Ada Okafor",
];

struct Fixture {
    as_of: DateTime<Utc>,
    created_at: DateTime<Utc>,
    members: Vec<MemberFacts<'static>>,
    lists: Vec<(DateTime<Utc>, Vec<u16>, Vec<u16>)>,
    stages: Vec<StageChangeFacts>,
    closes: Vec<CloseDateChangeFacts>,
}

impl Fixture {
    /// The logged interactions, as the engine reads them.
    fn interactions(&self) -> Vec<InteractionFacts<'_>> {
        self.lists
            .iter()
            .map(|(at, participants, about)| InteractionFacts {
                occurred_at: *at,
                participants,
                about,
            })
            .collect()
    }
}

fn fixture() -> Fixture {
    let as_of = DateTime::from_timestamp(1_781_524_800, 0).expect("2026-06-15T12:00:00Z");
    let created_at = as_of - TimeDelta::days(120);
    let mut rng = Lcg(42);
    let members = NAMES
        .iter()
        .enumerate()
        .map(|(i, &name)| MemberFacts {
            name,
            title: (i % 3 != 2).then_some("Director"),
            role: BuyingRole::ALL[i % BuyingRole::ALL.len()],
            stance: Stance::ALL[rng.below(4) as usize],
            can_veto: i % 4 == 1,
            influence: Influence::ALL[rng.below(3) as usize],
            bandwidth: Bandwidth::ALL[rng.below(4) as usize],
        })
        .collect();
    let lists = (0..100)
        .map(|_| {
            let at = as_of - TimeDelta::seconds(rng.below(90 * 86_400) as i64);
            let participants = (0..1 + rng.below(3)).map(|_| rng.below(12) as u16).collect();
            let about = if rng.below(3) == 0 {
                vec![rng.below(12) as u16]
            } else {
                vec![]
            };
            (at, participants, about)
        })
        .collect();
    let stages = vec![
        StageChangeFacts {
            to: Stage::Prospecting,
            at: created_at,
        },
        StageChangeFacts {
            to: Stage::Evaluation,
            at: created_at + TimeDelta::days(20),
        },
        StageChangeFacts {
            to: Stage::Negotiation,
            at: created_at + TimeDelta::days(40),
        },
    ];
    let date = |m, d| NaiveDate::from_ymd_opt(2026, m, d);
    let closes = vec![
        CloseDateChangeFacts {
            from: date(5, 31),
            to: date(7, 31),
            at: created_at + TimeDelta::days(50),
        },
        CloseDateChangeFacts {
            from: date(7, 31),
            to: date(9, 30),
            at: created_at + TimeDelta::days(90),
        },
    ];
    Fixture {
        as_of,
        created_at,
        members,
        lists,
        stages,
        closes,
    }
}

fn bench(c: &mut Criterion) {
    let fx = fixture();
    let interactions = fx.interactions();
    let deal = DealFacts {
        created_at: fx.created_at,
        stage: Stage::Negotiation,
        stage_entered_at: fx.stages[2].at,
        expected_close_date: NaiveDate::from_ymd_opt(2026, 9, 30),
        stage_history: &fx.stages,
        close_date_changes: &fx.closes,
        members: &fx.members,
        interactions: &interactions,
    };
    let policy = RiskPolicy::default();
    let assessment = assess(&deal, &policy, fx.as_of);
    eprintln!(
        "fixture: score {} ({}), factors {:?}",
        assessment.score,
        assessment.level,
        assessment.codes().collect::<Vec<_>>()
    );

    c.bench_function("assess 12 members, 100 interactions", |b| {
        b.iter(|| assess(black_box(&deal), black_box(&policy), black_box(fx.as_of)))
    });
    c.bench_function("explain_all 12 members, 100 interactions", |b| {
        b.iter(|| {
            explain_all(
                black_box(&deal),
                black_box(&policy),
                black_box(fx.as_of),
                black_box(&assessment),
            )
        })
    });
}

fn bench_plan(c: &mut Criterion) {
    let fx = fixture();
    let ids: Vec<usize> = (0..fx.members.len()).collect();
    let policy = RiskPolicy::default();
    // As logged, and with every participant moved to `about` (nobody met, everyone discussed).
    let as_logged = fx.interactions();
    let discussed: Vec<InteractionFacts<'_>> = fx
        .lists
        .iter()
        .map(|(at, participants, _)| InteractionFacts {
            occurred_at: *at,
            participants: &[],
            about: participants,
        })
        .collect();
    for (name, interactions) in [
        ("plan 12 members, 100 interactions", &as_logged),
        ("plan 12 candidates (1,586 sets), 100 interactions", &discussed),
    ] {
        let deal = DealFacts {
            created_at: fx.created_at,
            stage: Stage::Negotiation,
            stage_entered_at: fx.stages[2].at,
            expected_close_date: NaiveDate::from_ymd_opt(2026, 9, 30),
            stage_history: &fx.stages,
            close_date_changes: &fx.closes,
            members: &fx.members,
            interactions,
        };
        let planned = plan(&deal, &policy, fx.as_of, &ids);
        eprintln!(
            "{name}: {} candidates, score {} -> {}, steps {:?}",
            candidates(&deal, &policy, fx.as_of, &ids).len(),
            planned.current.score,
            planned.reachable.score,
            planned.steps.iter().map(|s| &s.message).collect::<Vec<_>>()
        );
        c.bench_function(name, |b| {
            b.iter(|| {
                plan(
                    black_box(&deal),
                    black_box(&policy),
                    black_box(fx.as_of),
                    black_box(&ids),
                )
            })
        });
    }
}

criterion_group!(benches, bench, bench_plan);
criterion_main!(benches);
