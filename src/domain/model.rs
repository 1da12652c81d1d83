//! The vocabulary of the domain: stages, buying roles, stances and the risk codes.
//!
//! Each enum is stored in the database by its `SCREAMING_SNAKE_CASE` name (`as_str`), which
//! is also its GraphQL name, so a stored row reads the same as the API.

/// Declares a field-less enum with its stable string name, a parser and the list of values.
macro_rules! string_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stable name used in storage and in the API.
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Position in declaration order (stable; used for compact sets and tie-breaks).
            pub fn index(self) -> usize {
                self as usize
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownValue;
            fn from_str(s: &str) -> Result<Self, UnknownValue> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownValue { kind: stringify!($name), value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored string that names no value of the enum (a corrupted row, or a newer writer).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} value {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

string_enum!(
    /// Where a deal is in the sales process. The two `CLOSED_*` stages are final.
    Stage {
        Prospecting = "PROSPECTING",
        Discovery = "DISCOVERY",
        Evaluation = "EVALUATION",
        Proposal = "PROPOSAL",
        Negotiation = "NEGOTIATION",
        ClosedWon = "CLOSED_WON",
        ClosedLost = "CLOSED_LOST",
    }
);

impl Stage {
    /// True for `CLOSED_WON` and `CLOSED_LOST`.
    pub fn is_closed(self) -> bool {
        matches!(self, Stage::ClosedWon | Stage::ClosedLost)
    }

    /// Win probability in percent, used for the weighted pipeline (SPEC §3).
    pub fn probability_percent(self) -> u32 {
        match self {
            Stage::Prospecting => 10,
            Stage::Discovery => 20,
            Stage::Evaluation => 40,
            Stage::Proposal => 60,
            Stage::Negotiation => 80,
            Stage::ClosedWon => 100,
            Stage::ClosedLost => 0,
        }
    }
}

string_enum!(
    /// The part a person plays in the customer's buying decision.
    BuyingRole {
        Mobilizer = "MOBILIZER",
        Sponsor = "SPONSOR",
        EconomicBuyer = "ECONOMIC_BUYER",
        DecisionMaker = "DECISION_MAKER",
        Finance = "FINANCE",
        Procurement = "PROCUREMENT",
        Legal = "LEGAL",
        TechnicalEvaluator = "TECHNICAL_EVALUATOR",
        EndUser = "END_USER",
        Influencer = "INFLUENCER",
        Gatekeeper = "GATEKEEPER",
        Other = "OTHER",
    }
);

impl BuyingRole {
    /// Human wording for messages ("economic buyer").
    pub fn label(self) -> &'static str {
        match self {
            BuyingRole::Mobilizer => "mobilizer",
            BuyingRole::Sponsor => "sponsor",
            BuyingRole::EconomicBuyer => "economic buyer",
            BuyingRole::DecisionMaker => "decision maker",
            BuyingRole::Finance => "finance",
            BuyingRole::Procurement => "procurement",
            BuyingRole::Legal => "legal",
            BuyingRole::TechnicalEvaluator => "technical evaluator",
            BuyingRole::EndUser => "end user",
            BuyingRole::Influencer => "influencer",
            BuyingRole::Gatekeeper => "gatekeeper",
            BuyingRole::Other => "other",
        }
    }
}

string_enum!(
    /// What a buying-group member thinks of the deal.
    Stance {
        Supportive = "SUPPORTIVE",
        Neutral = "NEUTRAL",
        Opposed = "OPPOSED",
        Unknown = "UNKNOWN",
    }
);

string_enum!(
    /// How much weight a member's opinion carries.
    Influence {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
    }
);

string_enum!(
    /// How much time a member has for this purchase beside their day job.
    Bandwidth {
        Available = "AVAILABLE",
        Stretched = "STRETCHED",
        Overloaded = "OVERLOADED",
        Unknown = "UNKNOWN",
    }
);

string_enum!(
    /// How the seller reached a member within the engagement window.
    Engagement {
        Direct = "DIRECT",
        ProxyOnly = "PROXY_ONLY",
        None = "NONE",
    }
);

string_enum!(
    /// The medium of an interaction.
    InteractionKind {
        Meeting = "MEETING",
        Call = "CALL",
        Email = "EMAIL",
        Demo = "DEMO",
        Proposal = "PROPOSAL",
        Other = "OTHER",
    }
);

string_enum!(
    /// Overall risk band of a deal, derived from its score.
    RiskLevel {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
);

impl RiskLevel {
    /// `CRITICAL` ≥ 75, `HIGH` ≥ 50, `MEDIUM` ≥ 25, else `LOW` (SPEC §4).
    pub fn from_score(score: u32) -> RiskLevel {
        match score {
            75.. => RiskLevel::Critical,
            50.. => RiskLevel::High,
            25.. => RiskLevel::Medium,
            _ => RiskLevel::Low,
        }
    }
}

string_enum!(
    /// How serious one risk factor is.
    Severity {
        Low = "LOW",
        Medium = "MEDIUM",
        High = "HIGH",
        Critical = "CRITICAL",
    }
);

string_enum!(
    /// The twelve risk factors of SPEC §4.
    RiskFactorCode {
        SingleThreaded = "SINGLE_THREADED",
        NoMobilizer = "NO_MOBILIZER",
        VetoHolderOpposed = "VETO_HOLDER_OPPOSED",
        VetoHolderUnengaged = "VETO_HOLDER_UNENGAGED",
        DelegatedEngagement = "DELEGATED_ENGAGEMENT",
        MobilizerOverloaded = "MOBILIZER_OVERLOADED",
        BuyingGroupGaps = "BUYING_GROUP_GAPS",
        LowCoverage = "LOW_COVERAGE",
        Stalled = "STALLED",
        GoingDark = "GOING_DARK",
        PastCloseDate = "PAST_CLOSE_DATE",
        CloseDatePushed = "CLOSE_DATE_PUSHED",
    }
);

impl RiskFactorCode {
    /// The fixed severity of each factor (SPEC §4).
    pub fn severity(self) -> Severity {
        use RiskFactorCode::*;
        match self {
            VetoHolderOpposed => Severity::Critical,
            SingleThreaded | NoMobilizer | VetoHolderUnengaged | DelegatedEngagement | Stalled | GoingDark => {
                Severity::High
            }
            MobilizerOverloaded | BuyingGroupGaps | LowCoverage | PastCloseDate | CloseDatePushed => Severity::Medium,
        }
    }

    /// Default points (SPEC §4).
    pub fn default_points(self) -> u32 {
        use RiskFactorCode::*;
        match self {
            VetoHolderOpposed => 25,
            SingleThreaded => 20,
            NoMobilizer | VetoHolderUnengaged | DelegatedEngagement | Stalled | GoingDark => 15,
            MobilizerOverloaded | BuyingGroupGaps | LowCoverage | PastCloseDate | CloseDatePushed => 10,
        }
    }
}

/// A set of risk factor codes, as one bit per code (bit `i` is the code whose
/// [`RiskFactorCode::index`] is `i`). Iterates in code order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct FactorSet(u16);

impl FactorSet {
    pub const EMPTY: FactorSet = FactorSet(0);

    /// The set stored as `bits`; `None` when a bit names no code (a corrupted value).
    pub fn from_bits(bits: i64) -> Option<FactorSet> {
        let all = (1_i64 << RiskFactorCode::ALL.len()) - 1;
        (bits & !all == 0).then_some(FactorSet(bits as u16))
    }

    pub fn bits(self) -> i64 {
        i64::from(self.0)
    }

    pub fn insert(&mut self, code: RiskFactorCode) {
        self.0 |= 1 << code.index();
    }

    pub fn contains(self, code: RiskFactorCode) -> bool {
        self.0 & (1 << code.index()) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The codes of `self` that are not in `other`.
    pub fn difference(self, other: FactorSet) -> FactorSet {
        FactorSet(self.0 & !other.0)
    }

    /// The codes in the set, in code order.
    pub fn iter(self) -> impl Iterator<Item = RiskFactorCode> {
        RiskFactorCode::ALL.iter().copied().filter(move |c| self.contains(*c))
    }
}

impl FromIterator<RiskFactorCode> for FactorSet {
    fn from_iter<I: IntoIterator<Item = RiskFactorCode>>(codes: I) -> Self {
        let mut set = FactorSet::EMPTY;
        codes.into_iter().for_each(|c| set.insert(c));
        set
    }
}

string_enum!(
    /// What a committed change did to a deal (SPEC §9), most specific first.
    ChangeKind {
        Created = "CREATED",
        Updated = "UPDATED",
        GroupChanged = "GROUP_CHANGED",
        InteractionLogged = "INTERACTION_LOGGED",
        InteractionDeleted = "INTERACTION_DELETED",
        RiskReassessed = "RISK_REASSESSED",
    }
);

string_enum!(
    /// What a webhook is told about (SPEC §9): a deal's stored assessment moved, or the deal
    /// changed at all.
    WebhookEvent {
        RiskChanged = "RISK_CHANGED",
        OpportunityChanged = "OPPORTUNITY_CHANGED",
    }
);

string_enum!(
    /// What a caller may do (from the token's `roles` claim).
    Role {
        Admin = "admin",
        Seller = "seller",
        Analyst = "analyst",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_parse() {
        for stage in Stage::ALL {
            assert_eq!(stage.as_str().parse::<Stage>(), Ok(*stage));
        }
        for code in RiskFactorCode::ALL {
            assert_eq!(code.as_str().parse::<RiskFactorCode>(), Ok(*code));
        }
        assert!("closed_won".parse::<Stage>().is_err());
    }

    #[test]
    fn factor_sets_round_trip_through_bits_in_code_order() {
        let set: FactorSet = [RiskFactorCode::Stalled, RiskFactorCode::SingleThreaded]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [RiskFactorCode::SingleThreaded, RiskFactorCode::Stalled]
        );
        assert_eq!(FactorSet::from_bits(set.bits()), Some(set));
        assert_eq!(FactorSet::from_bits(1 << 12), None, "no thirteenth factor");
        assert_eq!(FactorSet::from_bits(-1), None);
        assert!(FactorSet::EMPTY.is_empty());
    }

    #[test]
    fn level_bands_follow_the_spec() {
        let cases = [
            (0, RiskLevel::Low),
            (24, RiskLevel::Low),
            (25, RiskLevel::Medium),
            (49, RiskLevel::Medium),
            (50, RiskLevel::High),
            (74, RiskLevel::High),
            (75, RiskLevel::Critical),
            (100, RiskLevel::Critical),
        ];
        for (score, level) in cases {
            assert_eq!(RiskLevel::from_score(score), level, "score {score}");
        }
    }
}
