//! [`assess`]: the twelve rules of SPEC §4, in one pass over the interactions and one over
//! the members, without formatting text and (for groups of up to 128) without allocating.

use std::cmp::Reverse;
use std::fmt;
use std::ops::Deref;

use chrono::{DateTime, NaiveDate, TimeDelta, Utc};

use super::members::MemberSet;
use super::model::{Bandwidth, BuyingRole, Engagement, Influence, RiskFactorCode, RiskLevel, Severity, Stage, Stance};
use super::{DealFacts, InteractionFacts, RiskPolicy};

/// The number of risk factors (the length of [`RiskFactorCode::ALL`]).
pub const FACTOR_COUNT: usize = 12;
const _: () = assert!(RiskFactorCode::ALL.len() == FACTOR_COUNT);

/// Member indices are `u16`, so only this many members can be referenced.
pub(super) const MAX_MEMBERS: usize = u16::MAX as usize + 1;

/// Per-member counters kept on the stack for groups up to this size.
const INLINE_COUNTS: usize = 128;

/// One fired risk factor with its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Factor {
    pub code: RiskFactorCode,
    pub severity: Severity,
    /// The points it adds under the policy used (never 0: disabled factors do not fire).
    pub points: u32,
    /// The evidence, as indices into [`DealFacts::members`] (may be empty, see each rule).
    pub members: MemberSet,
}

impl Factor {
    /// Fills the unused slots of a [`FactorList`].
    const VACANT: Factor = Factor {
        code: RiskFactorCode::SingleThreaded,
        severity: Severity::High,
        points: 0,
        members: MemberSet::new(),
    };
}

/// The fired factors, highest points first, ties in [`RiskFactorCode`] declaration order.
///
/// Stored inline (each code fires at most once, so 12 slots suffice): assessing a deal costs
/// no allocation for the list. Derefs to `[Factor]`.
#[derive(Clone)]
pub struct FactorList {
    items: [Factor; FACTOR_COUNT],
    len: usize,
}

impl FactorList {
    /// The empty list.
    pub const fn new() -> Self {
        FactorList {
            items: [Factor::VACANT; FACTOR_COUNT],
            len: 0,
        }
    }

    fn push(&mut self, factor: Factor) {
        // Each rule pushes at most once, so the list cannot overflow.
        debug_assert!(self.len < FACTOR_COUNT);
        if let Some(slot) = self.items.get_mut(self.len) {
            *slot = factor;
            self.len += 1;
        }
    }

    fn sort(&mut self) {
        self.items[..self.len].sort_unstable_by_key(|f| (Reverse(f.points), f.code));
    }
}

impl Default for FactorList {
    fn default() -> Self {
        FactorList::new()
    }
}

impl Deref for FactorList {
    type Target = [Factor];
    fn deref(&self) -> &[Factor] {
        &self.items[..self.len]
    }
}

impl PartialEq for FactorList {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for FactorList {}

impl fmt::Debug for FactorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a FactorList {
    type Item = &'a Factor;
    type IntoIter = std::slice::Iter<'a, Factor>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for FactorList {
    type Item = Factor;
    type IntoIter = std::iter::Take<std::array::IntoIter<Factor, FACTOR_COUNT>>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter().take(self.len)
    }
}

/// The risk of one deal at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    /// `min(100, sum of the factors' points)`.
    pub score: u32,
    /// [`RiskLevel::from_score`] of `score`.
    pub level: RiskLevel,
    pub factors: FactorList,
    /// How many members took part in an interaction in the engagement window (0 if closed).
    pub directly_engaged: u32,
}

impl Assessment {
    /// Score 0, level `LOW`, no factors: what a closed deal carries.
    pub const fn clear() -> Self {
        Assessment {
            score: 0,
            level: RiskLevel::Low,
            factors: FactorList::new(),
            directly_engaged: 0,
        }
    }

    /// The fired factor with this code, if any.
    pub fn factor(&self, code: RiskFactorCode) -> Option<&Factor> {
        self.factors.iter().find(|f| f.code == code)
    }

    /// Whether this code fired.
    pub fn has(&self, code: RiskFactorCode) -> bool {
        self.factor(code).is_some()
    }

    /// The fired codes, in list order (what the service stores as `riskFactorCodes`).
    pub fn codes(&self) -> impl Iterator<Item = RiskFactorCode> + '_ {
        self.factors.iter().map(|f| f.code)
    }
}

/// The replayed state of a deal at `as_of` (stage, when it was entered, close date, pushes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DealAsOf {
    pub stage: Stage,
    pub stage_entered_at: DateTime<Utc>,
    pub expected_close_date: Option<NaiveDate>,
    /// Close-date changes up to `as_of` that moved a set date to a later set date.
    pub close_date_pushes: u32,
}

/// Replays the stage history and the close-date changes up to `as_of`.
///
/// The stage is the `to` of the last change at or before `as_of` (before the first change:
/// the first change; no history: the current stage). The close date is the `to` of the last
/// change at or before `as_of` (changes exist but all later: the first one's `from`; no
/// changes: the current value).
pub fn replay(deal: &DealFacts<'_>, as_of: DateTime<Utc>) -> DealAsOf {
    let history = deal.stage_history;
    let (stage, stage_entered_at) = match history.iter().rev().find(|c| c.at <= as_of) {
        Some(change) => (change.to, change.at),
        None => match history.first() {
            Some(first) => (first.to, first.at),
            None => (deal.stage, deal.stage_entered_at),
        },
    };
    let changes = deal.close_date_changes;
    let expected_close_date = match changes.iter().rev().find(|c| c.at <= as_of) {
        Some(change) => change.to,
        None => match changes.first() {
            Some(first) => first.from,
            None => deal.expected_close_date,
        },
    };
    let close_date_pushes = changes
        .iter()
        .filter(|c| c.at <= as_of && matches!((c.from, c.to), (Some(from), Some(to)) if to > from))
        .count();
    DealAsOf {
        stage,
        stage_entered_at,
        expected_close_date,
        close_date_pushes: u32::try_from(close_date_pushes).unwrap_or(u32::MAX),
    }
}

/// `as_of` − `days` × 24 h (clamped at the earliest representable instant).
pub(super) fn days_before(as_of: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    as_of
        .checked_sub_signed(TimeDelta::days(i64::from(days)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether `span` is strictly longer than `days` × 24 h.
pub(super) fn longer_than_days(span: TimeDelta, days: u32) -> bool {
    span > TimeDelta::days(i64::from(days))
}

/// Whether `ratio` = `part / whole` reaches `share`.
///
/// Division (not `share * whole`) keeps exact boundaries exact: 8 / 10 rounds to the same
/// `f64` as the literal 0.8, so "at least 0.8" holds at exactly 80 %.
pub(super) fn ratio(part: usize, whole: usize) -> f64 {
    part as f64 / whole as f64
}

/// The indices of `interaction`'s participants that name a member, each once.
fn participants<'i>(interaction: &'i InteractionFacts<'_>, members: usize) -> impl Iterator<Item = u16> + 'i {
    let list = interaction.participants;
    list.iter()
        .enumerate()
        .filter(move |&(j, &p)| usize::from(p) < members && !list[..j].contains(&p))
        .map(|(_, &p)| p)
}

/// What one pass over the interactions tells the rules.
struct Scan {
    /// Took part in a window interaction.
    direct: MemberSet,
    /// In `about` of a window interaction.
    about: MemberSet,
    /// Took part in at least `single_thread_share` of the window's interactions (when the
    /// window has 3 or more).
    dominant: MemberSet,
    /// Any interaction in (`as_of` − `dark_days`, `as_of`].
    recent: bool,
}

fn scan(deal: &DealFacts<'_>, members: usize, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Scan {
    let window_start = days_before(as_of, policy.engagement_window_days);
    let dark_start = days_before(as_of, policy.dark_days);
    let horizon = window_start.min(dark_start);

    let mut inline = [0u32; INLINE_COUNTS];
    let mut spilled = Vec::new();
    let counts: &mut [u32] = if members <= INLINE_COUNTS {
        &mut inline[..members]
    } else {
        spilled.resize(members, 0);
        &mut spilled
    };

    let mut direct = MemberSet::new();
    let mut about = MemberSet::new();
    let mut window_interactions = 0usize;
    let mut recent = false;
    for interaction in deal.interactions {
        let at = interaction.occurred_at;
        // Most of a deal's history is older than both windows: one comparison rejects it.
        if at <= horizon || at > as_of {
            continue;
        }
        recent |= at > dark_start;
        if at <= window_start {
            continue;
        }
        window_interactions += 1;
        for p in participants(interaction, members) {
            counts[usize::from(p)] += 1;
            direct.insert(p);
        }
        for &a in interaction.about {
            if usize::from(a) < members {
                about.insert(a);
            }
        }
    }

    let mut dominant = MemberSet::new();
    if window_interactions >= 3 {
        for p in direct.iter() {
            let count = counts[usize::from(p)] as usize;
            if ratio(count, window_interactions) >= policy.single_thread_share {
                dominant.insert(p);
            }
        }
    }
    Scan {
        direct,
        about,
        dominant,
        recent,
    }
}

/// Assesses one deal at `as_of` under `policy` (SPEC §4).
///
/// Evidence per factor: `SINGLE_THREADED` the directly engaged members (when too few are)
/// or else the dominant participant(s); `NO_MOBILIZER` the mobilizers who are not
/// supportive; `VETO_HOLDER_OPPOSED` the opposed veto holders; `VETO_HOLDER_UNENGAGED` the
/// veto holders with engagement `NONE`; `DELEGATED_ENGAGEMENT` the members reached only by
/// proxy who can veto, are opposed or have high influence; `MOBILIZER_OVERLOADED` the
/// mobilizers and sponsors; `LOW_COVERAGE` the members not engaged directly; the others none.
pub fn assess(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Assessment {
    use RiskFactorCode as Code;

    let state = replay(deal, as_of);
    if state.stage.is_closed() {
        return Assessment::clear();
    }
    let members = &deal.members[..deal.members.len().min(MAX_MEMBERS)];
    let n = members.len();
    let Scan {
        direct,
        about,
        dominant,
        recent,
    } = scan(deal, n, policy, as_of);
    let direct_count = direct.len();

    let mut roles = 0u32; // bit i: some member has BuyingRole::ALL[i]
    let mut supportive_mobilizer = false;
    let mut unsupportive_mobilizers = MemberSet::new();
    let mut veto_opposed = MemberSet::new();
    let mut veto_unengaged = MemberSet::new();
    let mut delegated = MemberSet::new();
    let mut champions = MemberSet::new(); // mobilizers and sponsors
    let mut champions_all_overloaded = true;
    let mut not_direct = MemberSet::new();
    for (i, member) in members.iter().enumerate() {
        let index = i as u16; // exact: members.len() <= MAX_MEMBERS
        roles |= 1 << member.role.index();
        let engagement = if direct.contains(index) {
            Engagement::Direct
        } else if about.contains(index) {
            Engagement::ProxyOnly
        } else {
            Engagement::None
        };
        if engagement != Engagement::Direct {
            not_direct.insert(index);
        }
        let opposed = member.stance == Stance::Opposed;
        if member.role == BuyingRole::Mobilizer {
            if member.stance == Stance::Supportive {
                supportive_mobilizer = true;
            } else {
                unsupportive_mobilizers.insert(index);
            }
        }
        if member.can_veto && opposed {
            veto_opposed.insert(index);
        }
        if member.can_veto && engagement == Engagement::None {
            veto_unengaged.insert(index);
        }
        if engagement == Engagement::ProxyOnly && (member.can_veto || opposed || member.influence == Influence::High) {
            delegated.insert(index);
        }
        if matches!(member.role, BuyingRole::Mobilizer | BuyingRole::Sponsor) {
            champions.insert(index);
            champions_all_overloaded &= member.bandwidth == Bandwidth::Overloaded;
        }
    }

    let mut factors = FactorList::new();
    let mut fire = |code: Code, evidence: MemberSet| {
        let points = policy.points(code);
        if points > 0 {
            factors.push(Factor {
                code,
                severity: code.severity(),
                points,
                members: evidence,
            });
        }
    };

    let too_few = (direct_count as u64) < u64::from(policy.min_engaged_members);
    if too_few {
        fire(Code::SingleThreaded, direct);
    } else if !dominant.is_empty() {
        fire(Code::SingleThreaded, dominant);
    }
    if !supportive_mobilizer {
        fire(Code::NoMobilizer, unsupportive_mobilizers);
    }
    if !veto_opposed.is_empty() {
        fire(Code::VetoHolderOpposed, veto_opposed);
    }
    if !veto_unengaged.is_empty() {
        fire(Code::VetoHolderUnengaged, veto_unengaged);
    }
    if !delegated.is_empty() {
        fire(Code::DelegatedEngagement, delegated);
    }
    if !champions.is_empty() && champions_all_overloaded {
        fire(Code::MobilizerOverloaded, champions);
    }
    let missing_role = policy
        .required_roles
        .iter()
        .any(|role| roles & (1 << role.index()) == 0);
    if (n as u64) < u64::from(policy.min_group_size) || missing_role {
        fire(Code::BuyingGroupGaps, MemberSet::new());
    }
    if n > 0 && ratio(direct_count, n) < policy.coverage_threshold {
        fire(Code::LowCoverage, not_direct);
    }
    if longer_than_days(as_of - state.stage_entered_at, policy.stall_days) {
        fire(Code::Stalled, MemberSet::new());
    }
    if !recent && longer_than_days(as_of - deal.created_at, policy.dark_days) {
        fire(Code::GoingDark, MemberSet::new());
    }
    if state.expected_close_date.is_some_and(|date| date < as_of.date_naive()) {
        fire(Code::PastCloseDate, MemberSet::new());
    }
    if state.close_date_pushes >= policy.max_close_date_pushes {
        fire(Code::CloseDatePushed, MemberSet::new());
    }

    factors.sort();
    let total = factors.iter().fold(0u32, |sum, f| sum.saturating_add(f.points));
    let score = total.min(100);
    Assessment {
        score,
        level: RiskLevel::from_score(score),
        factors,
        directly_engaged: u32::try_from(direct_count).unwrap_or(u32::MAX),
    }
}

/// Each member's engagement in the window ending at `as_of`, in member order.
pub fn engagement(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Vec<Engagement> {
    let n = deal.members.len().min(MAX_MEMBERS);
    let scan = scan(deal, n, policy, as_of);
    (0..deal.members.len())
        .map(|i| match u16::try_from(i) {
            Ok(i) if scan.direct.contains(i) => Engagement::Direct,
            Ok(i) if scan.about.contains(i) => Engagement::ProxyOnly,
            _ => Engagement::None,
        })
        .collect()
}

/// One member's engagement with the facts behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberEngagement {
    /// Engagement in the window ending at `as_of`.
    pub engagement: Engagement,
    /// The latest interaction at or before `as_of` the member took part in (any age).
    pub last_direct_at: Option<DateTime<Utc>>,
    /// How many of the window's interactions the member took part in.
    pub window_interactions: u32,
}

/// Per member: engagement, last direct interaction and window participation, in member order.
pub fn member_engagement(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>) -> Vec<MemberEngagement> {
    detail(deal, policy, as_of, false).members
}

/// The latest interaction `member` took part in, at or before `as_of` (`None`: ever).
pub fn last_direct_interaction(
    deal: &DealFacts<'_>,
    member: u16,
    as_of: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    deal.interactions
        .iter()
        .filter(|i| as_of.is_none_or(|as_of| i.occurred_at <= as_of))
        .filter(|i| i.participants.contains(&member))
        .map(|i| i.occurred_at)
        .max()
}

/// The per-member view the explanations need (allocates; not for the hot path).
pub(super) struct Detail {
    pub members: Vec<MemberEngagement>,
    /// Per member: who took part in the window interactions the member was discussed in.
    /// Empty unless asked for.
    pub proxies: Vec<MemberSet>,
    pub window_interactions: u32,
    /// The latest interaction at or before `as_of`.
    pub last_interaction_at: Option<DateTime<Utc>>,
}

pub(super) fn detail(deal: &DealFacts<'_>, policy: &RiskPolicy, as_of: DateTime<Utc>, with_proxies: bool) -> Detail {
    let n = deal.members.len().min(MAX_MEMBERS);
    let window_start = days_before(as_of, policy.engagement_window_days);
    let mut members = vec![
        MemberEngagement {
            engagement: Engagement::None,
            last_direct_at: None,
            window_interactions: 0,
        };
        deal.members.len()
    ];
    let mut proxies = if with_proxies {
        vec![MemberSet::new(); n]
    } else {
        Vec::new()
    };
    let mut about = MemberSet::new();
    let mut window_interactions = 0u32;
    let mut last_interaction_at: Option<DateTime<Utc>> = None;
    for interaction in deal.interactions {
        let at = interaction.occurred_at;
        if at > as_of {
            continue;
        }
        last_interaction_at = last_interaction_at.max(Some(at));
        let in_window = at > window_start;
        window_interactions += u32::from(in_window);
        for p in participants(interaction, n) {
            let member = &mut members[usize::from(p)];
            member.last_direct_at = member.last_direct_at.max(Some(at));
            if in_window {
                member.engagement = Engagement::Direct;
                member.window_interactions += 1;
            }
        }
        if !in_window {
            continue;
        }
        for &a in interaction.about {
            if usize::from(a) >= n {
                continue;
            }
            about.insert(a);
            if let Some(via) = proxies.get_mut(usize::from(a)) {
                via.extend(participants(interaction, n).filter(|&p| p != a));
            }
        }
    }
    for index in about.iter() {
        let member = &mut members[usize::from(index)];
        if member.engagement == Engagement::None {
            member.engagement = Engagement::ProxyOnly;
        }
    }
    Detail {
        members,
        proxies,
        window_interactions,
        last_interaction_at,
    }
}
