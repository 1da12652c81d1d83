//! GraphQL enums mirroring the domain's (`remote`), so the domain stays free of GraphQL.

use async_graphql::Enum;

macro_rules! remote_enum {
    ($(#[$meta:meta])* $name:ident => $remote:literal { $($variant:ident),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
        #[graphql(remote = $remote)]
        pub enum $name { $($variant),+ }
    };
}

remote_enum!(Stage => "crate::domain::model::Stage" {
    Prospecting, Discovery, Evaluation, Proposal, Negotiation, ClosedWon, ClosedLost
});
remote_enum!(BuyingRole => "crate::domain::model::BuyingRole" {
    Mobilizer, Sponsor, EconomicBuyer, DecisionMaker, Finance, Procurement, Legal,
    TechnicalEvaluator, EndUser, Influencer, Gatekeeper, Other
});
remote_enum!(Stance => "crate::domain::model::Stance" { Supportive, Neutral, Opposed, Unknown });
remote_enum!(Influence => "crate::domain::model::Influence" { Low, Medium, High });
remote_enum!(Bandwidth => "crate::domain::model::Bandwidth" { Available, Stretched, Overloaded, Unknown });
remote_enum!(InteractionKind => "crate::domain::model::InteractionKind" {
    Meeting, Call, Email, Demo, Proposal, Other
});
remote_enum!(RiskLevel => "crate::domain::model::RiskLevel" { Low, Medium, High, Critical });
remote_enum!(RiskFactorCode => "crate::domain::model::RiskFactorCode" {
    SingleThreaded, NoMobilizer, VetoHolderOpposed, VetoHolderUnengaged, DelegatedEngagement,
    MobilizerOverloaded, BuyingGroupGaps, LowCoverage, Stalled, GoingDark, PastCloseDate, CloseDatePushed
});
remote_enum!(Severity => "crate::domain::model::Severity" { Low, Medium, High, Critical });
remote_enum!(Engagement => "crate::domain::model::Engagement" { Direct, ProxyOnly, None });
remote_enum!(Role => "crate::domain::model::Role" { Admin, Seller, Analyst });
remote_enum!(
    /// What a committed change did to a deal (`RISK_REASSESSED`: policy changes, imports and
    /// the periodic sweep).
    ChangeKind => "crate::domain::model::ChangeKind" {
        Created, Updated, GroupChanged, InteractionLogged, InteractionDeleted, RiskReassessed
    }
);

/// What the deal board can be sorted by.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
#[graphql(remote = "crate::domain::query::DealSortField")]
pub enum OpportunityOrderField {
    RiskScore,
    Amount,
    ExpectedCloseDate,
    UpdatedAt,
    Name,
    DaysInStage,
}

#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderDirection {
    Asc,
    Desc,
}
remote_enum!(
    /// What a webhook is told about.
    WebhookEvent => "crate::domain::model::WebhookEvent" { RiskChanged, OpportunityChanged }
);
