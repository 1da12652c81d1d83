//! The demo tenant's content, as data: eight accounts with their people, and twenty-one deals
//! — each with its buying group, its stage moves and close-date pushes, what the seller did
//! with whom, and the factors its stored assessment is meant to carry. Days are relative to
//! the day the demo is loaded (see `Clock`).

use super::STORY_DEAL;
use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, RiskFactorCode, Stage, Stance};

pub(super) struct Account {
    pub(super) name: &'static str,
    pub(super) domain: &'static str,
    pub(super) industry: &'static str,
    /// Days since the account was created.
    pub(super) since: i64,
    /// Full name and title.
    pub(super) contacts: &'static [(&'static str, &'static str)],
}

pub(super) struct Deal {
    pub(super) account: &'static str,
    pub(super) name: &'static str,
    pub(super) owner: &'static str,
    /// In whole currency units.
    pub(super) amount: i64,
    pub(super) currency: &'static str,
    /// Days since the deal was created, in `stage`.
    pub(super) created: i64,
    pub(super) stage: Stage,
    /// Later stage moves: (days ago, new stage).
    pub(super) moves: &'static [(i64, Stage)],
    /// Expected close date at creation, in days from today.
    pub(super) close: Option<i64>,
    /// Later close-date changes: (days ago, new date in days from today).
    pub(super) pushes: &'static [(i64, i64)],
    pub(super) members: &'static [Member],
    pub(super) log: &'static [Touch],
    /// The factors the stored assessment should carry now.
    pub(super) expect: &'static [RiskFactorCode],
}

impl Deal {
    pub(super) fn final_stage(&self) -> Stage {
        self.moves.last().map_or(self.stage, |&(_, stage)| stage)
    }
}

pub(super) struct Member {
    pub(super) contact: &'static str,
    pub(super) role: BuyingRole,
    pub(super) stance: Stance,
    pub(super) veto: bool,
    pub(super) influence: Influence,
    pub(super) bandwidth: Bandwidth,
    pub(super) notes: Option<&'static str>,
}

/// A member with medium influence, available, no veto; adjust with the builders below.
const fn m(contact: &'static str, role: BuyingRole, stance: Stance) -> Member {
    Member {
        contact,
        role,
        stance,
        veto: false,
        influence: Influence::Medium,
        bandwidth: Bandwidth::Available,
        notes: None,
    }
}

impl Member {
    const fn veto(self) -> Self {
        Member { veto: true, ..self }
    }
    const fn high(self) -> Self {
        Member {
            influence: Influence::High,
            ..self
        }
    }
    const fn low(self) -> Self {
        Member {
            influence: Influence::Low,
            ..self
        }
    }
    const fn bandwidth(self, bandwidth: Bandwidth) -> Self {
        Member { bandwidth, ..self }
    }
    const fn notes(self, notes: &'static str) -> Self {
        Member {
            notes: Some(notes),
            ..self
        }
    }
}

/// One interaction: who took part (`with`) and who was only talked about (`about`).
pub(super) struct Touch {
    pub(super) days_ago: i64,
    pub(super) kind: InteractionKind,
    pub(super) with: &'static [&'static str],
    pub(super) about: &'static [&'static str],
    pub(super) summary: &'static str,
}

const fn t(days_ago: i64, kind: InteractionKind, with: &'static [&'static str], summary: &'static str) -> Touch {
    Touch {
        days_ago,
        kind,
        with,
        about: &[],
        summary,
    }
}

impl Touch {
    const fn about(self, about: &'static [&'static str]) -> Self {
        Touch { about, ..self }
    }
}

const NORTHWIND: &str = "Northwind Health";
const CONTOSO: &str = "Contoso Manufacturing";
const FABRIKAM: &str = "Fabrikam Logistik GmbH";
const GLOBEX: &str = "Globex Retail";
const INITECH: &str = "Initech Software";
const ADATUM: &str = "Adatum Financial";
const TAILSPIN: &str = "Tailspin Airways";
const WINGTIP: &str = "Wingtip Energy";

pub(super) const ACCOUNTS: &[Account] = &[
    Account {
        name: NORTHWIND,
        domain: "northwindhealth.com",
        industry: "Healthcare",
        since: 420,
        contacts: &[
            ("Sam Patel", "Director of Finance Operations"),
            ("Dana Ruiz", "Controller"),
            ("Priya Shah", "Chief Financial Officer"),
            ("Marcus Lee", "IT Director"),
            ("Olivia Brooks", "Procurement Manager"),
            ("Ethan Walsh", "Accounts Payable Supervisor"),
            ("Grace Kim", "Associate General Counsel"),
            ("Tom Becker", "Payroll Manager"),
        ],
    },
    Account {
        name: CONTOSO,
        domain: "contoso-mfg.com",
        industry: "Manufacturing",
        since: 300,
        contacts: &[
            ("Laura Jensen", "VP Operations"),
            ("Raj Malhotra", "Plant Manager, Dayton"),
            ("Mei Tanaka", "Quality Director"),
            ("Carlos Vega", "Chief Financial Officer"),
            ("Hannah Scholz", "Enterprise Architect"),
            ("Ben Ortiz", "Procurement Lead"),
            ("Nora Fitzgerald", "Supply Chain Director"),
            ("Victor Hale", "Legal Counsel"),
        ],
    },
    Account {
        name: FABRIKAM,
        domain: "fabrikam-logistik.de",
        industry: "Logistics",
        since: 260,
        contacts: &[
            ("Jonas Becker", "Head of Fleet"),
            ("Katrin Vogel", "Chief Financial Officer"),
            ("Lukas Wagner", "IT Lead"),
            ("Anna Schmidt", "Procurement Manager"),
            ("Felix Braun", "Warehouse Operations Manager"),
            ("Martin Hoffmann", "Chief Operating Officer"),
            ("Sabine Koch", "Legal Counsel"),
        ],
    },
    Account {
        name: GLOBEX,
        domain: "globexretail.com",
        industry: "Retail",
        since: 380,
        contacts: &[
            ("Megan O'Connor", "VP Digital"),
            ("Lisa Park", "Marketing Director"),
            ("Paul Nguyen", "Chief Financial Officer"),
            ("Derek Stone", "IT Director"),
            ("Rachel Adams", "Procurement Manager"),
            ("Nadia Flores", "CRM Manager"),
            ("Kyle Benson", "E-commerce Manager"),
            ("Aisha Bello", "Head of Store Operations"),
            ("Chris Young", "Workforce Planning Manager"),
            ("Sean Murphy", "HR Director"),
            ("Brenda Walsh", "Regional Store Director"),
        ],
    },
    Account {
        name: INITECH,
        domain: "initech.io",
        industry: "Software",
        since: 200,
        contacts: &[
            ("Naomi Price", "VP Customer Support"),
            ("Omar Haddad", "Chief Technology Officer"),
            ("Julia Ross", "Chief Information Security Officer"),
            ("Kevin Wright", "Head of Data"),
            ("Sara Lindqvist", "Finance Director"),
            ("Mark Ellis", "Procurement Specialist"),
            ("Tina Morales", "Support Operations Lead"),
            ("Ravi Kumar", "Data Engineering Lead"),
            ("Alan Brooks", "Security Engineering Lead"),
            ("Dev Mehta", "SOC Manager"),
            ("Hope Larkin", "Corporate Counsel"),
        ],
    },
    Account {
        name: ADATUM,
        domain: "adatum-financial.eu",
        industry: "Financial services",
        since: 240,
        contacts: &[
            ("Claire Dubois", "Group Treasurer"),
            ("Matteo Rossi", "Chief Financial Officer"),
            ("Elena Petrova", "Head of Compliance"),
            ("Henrik Larsen", "IT Director"),
            ("Isabel Costa", "Procurement Manager"),
            ("Pieter de Vries", "General Counsel"),
            ("Sophie Martin", "KYC Operations Lead"),
        ],
    },
    Account {
        name: TAILSPIN,
        domain: "tailspinairways.co.uk",
        industry: "Aviation",
        since: 330,
        contacts: &[
            ("Oliver Hughes", "Director of Crew Operations"),
            ("Emma Clarke", "Chief Financial Officer"),
            ("James Whitfield", "Head of Maintenance"),
            ("Amelia Turner", "IT Director"),
            ("George Hall", "Procurement Manager"),
            ("Charlotte Evans", "Fuel Efficiency Manager"),
            ("Harry Bennett", "Legal Counsel"),
            ("Lucy Ward", "Crew Scheduling Lead"),
            ("Nathan Cole", "Line Maintenance Supervisor"),
            ("Sophie Grant", "Quality Assurance Manager"),
            ("Ian Porter", "Director of Flight Operations"),
        ],
    },
    Account {
        name: WINGTIP,
        domain: "wingtipenergy.co.uk",
        industry: "Energy",
        since: 280,
        contacts: &[
            ("Isla Murray", "Head of Field Services"),
            ("Daniel Reid", "Chief Financial Officer"),
            ("Fiona Campbell", "Operations Director"),
            ("Ross Mackay", "IT Manager"),
            ("Zara Ahmed", "Procurement Lead"),
            ("Callum Fraser", "Asset Performance Manager"),
            ("Megan Shaw", "Grid Analytics Lead"),
            ("Aidan Kerr", "Field Supervisor"),
        ],
    },
];

/// The deals. Day counts keep clear of the policy thresholds (see [`Clock::at`]); each
/// deal's `expect` lists what the default policy makes of it.
#[rustfmt::skip] // a table: one line per interaction reads better than rustfmt's layout
/// Every demo deal; the field story first.
pub(super) const DEALS: &[Deal] = {
    use Bandwidth::{Overloaded, Stretched};
    use BuyingRole::*;
    use InteractionKind::{Call, Demo, Email, Meeting, Proposal as ProposalSent};
    use RiskFactorCode as F;
    use Stage::*;
    use Stance::{Neutral, Opposed, Supportive, Unknown};

    &[
        // The field story: 124 days in negotiation; the seller meets only Sam, who is
        // overloaded, and asks him to handle Dana, the controller who opposes the deal and
        // can veto it; the CFO has never been met; the close date has moved three times.
        Deal {
            account: NORTHWIND,
            name: STORY_DEAL,
            owner: "alex.morgan",
            amount: 480_000,
            currency: "USD",
            created: 210,
            stage: Discovery,
            moves: &[(180, Evaluation), (150, Proposal), (124, Negotiation)],
            close: Some(-100),
            pushes: &[(101, -40), (42, 5), (6, 45)],
            members: &[
                m("Sam Patel", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Wants it live before the audit; also running the ERP upgrade and budget season."),
                m("Dana Ruiz", Finance, Opposed)
                    .veto()
                    .high()
                    .notes("Wants a significant price reduction before she will even consider it."),
                m("Priya Shah", EconomicBuyer, Unknown).veto().high(),
                m("Marcus Lee", TechnicalEvaluator, Supportive),
                m("Olivia Brooks", Procurement, Unknown),
                m("Ethan Walsh", EndUser, Supportive).low(),
                m("Grace Kim", Legal, Unknown),
            ],
            log: &[
                t(205, Meeting, &["Sam Patel"], "Discovery: month-end close takes nine days, mostly spreadsheets."),
                t(185, Demo, &["Sam Patel", "Marcus Lee", "Ethan Walsh"],
                  "Platform demo for finance ops and IT; AP automation landed well."),
                t(160, Meeting, &["Sam Patel", "Marcus Lee"],
                  "Technical review: SSO and the ERP connector are in scope."),
                t(130, ProposalSent, &["Sam Patel"],
                  "Proposal sent to Sam, to take to Priya for sign-off.").about(&["Priya Shah"]),
                t(118, Call, &["Sam Patel"],
                  "Sam says Dana is blocking: she wants 30% off before she will look at it.").about(&["Dana Ruiz"]),
                t(90, Call, &["Sam Patel"],
                  "Sam will raise pricing with Dana at their quarterly review.").about(&["Dana Ruiz"]),
                t(60, Meeting, &["Sam Patel"],
                  "Quarterly review slipped; Sam still confident Dana will come round.").about(&["Dana Ruiz"]),
                t(27, Call, &["Sam Patel"],
                  "Sam has not found time to meet Dana; audit prep is eating his weeks.").about(&["Dana Ruiz"]),
                t(19, Email, &["Sam Patel"],
                  "Sent Sam a discount justification deck to forward to Dana.").about(&["Dana Ruiz"]),
                t(11, Call, &["Sam Patel"],
                  "Dana still wants a significant price reduction. Asked Sam to handle it with her.")
                    .about(&["Dana Ruiz"]),
                t(4, Meeting, &["Sam Patel"],
                  "Sam wants it 'tomorrow' but has no date for a meeting with Dana.").about(&["Dana Ruiz"]),
            ],
            expect: &[
                F::VetoHolderOpposed,
                F::SingleThreaded,
                F::VetoHolderUnengaged,
                F::DelegatedEngagement,
                F::Stalled,
                F::MobilizerOverloaded,
                F::LowCoverage,
                F::CloseDatePushed,
            ],
        },
        // An earlier win at the same account, with the same CFO met in person.
        Deal {
            account: NORTHWIND,
            name: "Northwind — Payroll add-on",
            owner: "alex.morgan",
            amount: 60_000,
            currency: "USD",
            created: 330,
            stage: Discovery,
            moves: &[(300, Proposal), (280, Negotiation), (265, ClosedWon)],
            close: Some(-260),
            pushes: &[],
            members: &[
                m("Tom Becker", Sponsor, Supportive).high(),
                m("Priya Shah", EconomicBuyer, Supportive).veto().high(),
                m("Olivia Brooks", Procurement, Neutral),
            ],
            log: &[
                t(325, Meeting, &["Tom Becker"], "Payroll reconciliation takes two people three days a month."),
                t(298, ProposalSent, &["Tom Becker", "Priya Shah"],
                  "Walked Priya through the proposal; she asked for a 12-month term."),
                t(270, Call, &["Olivia Brooks", "Tom Becker"], "Procurement: standard paper, signature next week."),
            ],
            expect: &[],
        },
        // Healthy: the whole group met directly this month, the CFO included.
        Deal {
            account: CONTOSO,
            name: "Contoso — Plant analytics rollout",
            owner: "jamie.chen",
            amount: 310_000,
            currency: "USD",
            created: 95,
            stage: Discovery,
            moves: &[(70, Evaluation), (20, Proposal)],
            close: Some(60),
            pushes: &[],
            members: &[
                m("Laura Jensen", Mobilizer, Supportive).high(),
                m("Carlos Vega", EconomicBuyer, Neutral).veto().high(),
                m("Raj Malhotra", EndUser, Supportive),
                m("Hannah Scholz", TechnicalEvaluator, Supportive),
                m("Ben Ortiz", Procurement, Neutral),
                m("Mei Tanaka", Influencer, Supportive),
            ],
            log: &[
                t(90, Meeting, &["Laura Jensen"], "Discovery: unplanned downtime on line 3 costs $40k a week."),
                t(68, Demo, &["Laura Jensen", "Raj Malhotra"], "Line-level OEE demo at the Dayton plant."),
                t(26, Demo, &["Laura Jensen", "Raj Malhotra", "Hannah Scholz"],
                  "Second demo with IT: historian integration and edge gateways."),
                t(18, Meeting, &["Carlos Vega", "Laura Jensen"],
                  "Business case with Carlos: payback under 14 months accepted."),
                t(12, Call, &["Ben Ortiz"], "Procurement: MSA redlines are standard."),
                t(5, Meeting, &["Laura Jensen", "Mei Tanaka", "Carlos Vega"],
                  "Quality team on board; Carlos asked for phased payments."),
                t(2, Email, &["Hannah Scholz"], "Security questionnaire returned complete."),
            ],
            expect: &[],
        },
        // A slipping deal: the close date moved twice and has passed, and the only mobilizer
        // is buried in an audit.
        Deal {
            account: CONTOSO,
            name: "Contoso — Quality management suite",
            owner: "jamie.chen",
            amount: 85_000,
            currency: "USD",
            created: 90,
            stage: Discovery,
            moves: &[(75, Evaluation), (40, Proposal)],
            close: Some(-50),
            pushes: &[(52, -20), (22, -3)],
            members: &[
                m("Mei Tanaka", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Running the ISO 9001 recertification until month end."),
                m("Carlos Vega", EconomicBuyer, Neutral).veto().high(),
                m("Raj Malhotra", EndUser, Supportive),
                m("Hannah Scholz", TechnicalEvaluator, Neutral),
                m("Ben Ortiz", Procurement, Neutral),
                m("Victor Hale", Legal, Unknown).low(),
            ],
            log: &[
                t(85, Meeting, &["Mei Tanaka"], "Discovery: CAPA tracking lives in three spreadsheets."),
                t(26, Meeting, &["Mei Tanaka", "Raj Malhotra"], "CAPA workflow review with the plant."),
                t(19, Call, &["Carlos Vega", "Mei Tanaka"],
                  "Carlos is fine with the budget; waiting on Mei's requirements sign-off."),
                t(9, Demo, &["Hannah Scholz", "Raj Malhotra", "Ben Ortiz"], "Supplier quality module demo."),
                t(2, Email, &["Mei Tanaka"], "Mei: requirements sign-off slips again, the audit comes first."),
            ],
            expect: &[F::MobilizerOverloaded, F::PastCloseDate, F::CloseDatePushed],
        },
        Deal {
            account: CONTOSO,
            name: "Contoso — Supplier portal",
            owner: "jamie.chen",
            amount: 140_000,
            currency: "USD",
            created: 200,
            stage: Discovery,
            moves: &[(170, Evaluation), (130, Proposal), (100, Negotiation), (40, ClosedWon)],
            close: Some(-45),
            pushes: &[],
            members: &[
                m("Nora Fitzgerald", Mobilizer, Supportive).high(),
                m("Carlos Vega", EconomicBuyer, Supportive).veto().high(),
                m("Ben Ortiz", Procurement, Neutral),
                m("Hannah Scholz", TechnicalEvaluator, Supportive),
            ],
            log: &[
                t(195, Meeting, &["Nora Fitzgerald"], "Supplier onboarding takes six weeks."),
                t(150, Demo, &["Nora Fitzgerald", "Hannah Scholz"], "Portal demo with IT."),
                t(95, Meeting, &["Carlos Vega", "Nora Fitzgerald", "Ben Ortiz"],
                  "Commercials agreed with Carlos and procurement."),
                t(42, Call, &["Ben Ortiz"], "Contract signed."),
            ],
            expect: &[],
        },
        // Gone quiet three weeks ago, and the close date has passed.
        Deal {
            account: FABRIKAM,
            name: "Fabrikam — Fleet telematics",
            owner: "riley.owens",
            amount: 180_000,
            currency: "EUR",
            created: 100,
            stage: Discovery,
            moves: &[(70, Evaluation), (35, Proposal)],
            close: Some(-5),
            pushes: &[],
            members: &[
                m("Jonas Becker", Mobilizer, Supportive).high(),
                m("Katrin Vogel", EconomicBuyer, Neutral).veto().high(),
                m("Lukas Wagner", TechnicalEvaluator, Supportive),
                m("Anna Schmidt", Procurement, Neutral),
                m("Felix Braun", EndUser, Supportive),
                m("Martin Hoffmann", DecisionMaker, Neutral),
            ],
            log: &[
                t(95, Meeting, &["Jonas Becker"], "Discovery: fuel spend up 18%, no driver-level data."),
                t(65, Demo, &["Jonas Becker", "Lukas Wagner"], "Telematics demo with IT."),
                t(27, Meeting, &["Jonas Becker", "Katrin Vogel"], "Business case with Katrin; ROI model shared."),
                t(22, Demo, &["Lukas Wagner", "Felix Braun", "Jonas Becker"], "Driver app demo at the Hamburg depot."),
                t(17, Call, &["Anna Schmidt", "Martin Hoffmann"],
                  "Proposal walk-through with procurement and the COO. No reply since."),
            ],
            expect: &[F::GoingDark, F::PastCloseDate],
        },
        // The CFO is only ever reached through the mobilizer; stalled in proposal, the close
        // date pushed twice and passed.
        Deal {
            account: FABRIKAM,
            name: "Fabrikam — Warehouse robotics pilot",
            owner: "riley.owens",
            amount: 420_000,
            currency: "EUR",
            created: 160,
            stage: Discovery,
            moves: &[(130, Evaluation), (95, Proposal)],
            close: Some(-90),
            pushes: &[(92, -45), (47, -10)],
            members: &[
                m("Felix Braun", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Katrin Vogel", EconomicBuyer, Neutral)
                    .veto()
                    .high()
                    .notes("Capex freeze until the new fiscal year, per Felix."),
                m("Martin Hoffmann", DecisionMaker, Supportive).high(),
                m("Lukas Wagner", TechnicalEvaluator, Supportive),
                m("Anna Schmidt", Procurement, Neutral),
                m("Sabine Koch", Legal, Unknown).low(),
            ],
            log: &[
                t(155, Meeting, &["Felix Braun"], "Pick rates flat for two years; robotics pilot proposed."),
                t(120, Demo, &["Felix Braun", "Lukas Wagner", "Martin Hoffmann"], "Robotics demo at the Bremen site."),
                t(26, Meeting, &["Felix Braun", "Lukas Wagner"],
                  "Felix will take the pilot ROI to Katrin.").about(&["Katrin Vogel"]),
                t(17, Call, &["Martin Hoffmann", "Felix Braun"],
                  "Martin backs the pilot but defers to Katrin on capex.").about(&["Katrin Vogel"]),
                t(10, Meeting, &["Lukas Wagner", "Anna Schmidt"],
                  "Site survey done; waiting for Katrin's capex approval.").about(&["Katrin Vogel"]),
                t(4, Call, &["Felix Braun"], "Felix: Katrin has not read the ROI model yet.").about(&["Katrin Vogel"]),
            ],
            expect: &[F::DelegatedEngagement, F::Stalled, F::PastCloseDate, F::CloseDatePushed],
        },
        // The mobilizer went neutral after a reorg, and only three of eight people are engaged.
        Deal {
            account: GLOBEX,
            name: "Globex — Loyalty platform",
            owner: "jamie.chen",
            amount: 150_000,
            currency: "USD",
            created: 80,
            stage: Discovery,
            moves: &[(45, Evaluation)],
            close: Some(60),
            pushes: &[],
            members: &[
                m("Megan O'Connor", Sponsor, Supportive).high(),
                m("Lisa Park", Mobilizer, Neutral).notes("Pushed hard until the reorg; non-committal since."),
                m("Paul Nguyen", EconomicBuyer, Neutral).veto().high(),
                m("Derek Stone", TechnicalEvaluator, Neutral),
                m("Rachel Adams", Procurement, Unknown),
                m("Nadia Flores", EndUser, Unknown),
                m("Kyle Benson", EndUser, Unknown).low(),
                m("Aisha Bello", Influencer, Unknown),
            ],
            log: &[
                t(75, Meeting, &["Lisa Park", "Megan O'Connor"],
                  "Lisa drove the first meeting: repeat purchase rate is falling."),
                t(24, Meeting, &["Megan O'Connor", "Derek Stone"], "Integration scoping with IT."),
                t(15, Meeting, &["Megan O'Connor", "Paul Nguyen"],
                  "Budget review: Paul wants evidence of the loyalty uplift."),
                t(8, Call, &["Derek Stone"], "POS integration questions answered."),
                t(3, Email, &["Megan O'Connor"], "Sent two retail reference cases."),
            ],
            expect: &[F::NoMobilizer, F::LowCoverage],
        },
        // Single-threaded through IT: no mobilizer, no economic buyer identified.
        Deal {
            account: GLOBEX,
            name: "Globex — Store workforce planning",
            owner: "jamie.chen",
            amount: 260_000,
            currency: "USD",
            created: 58,
            stage: Discovery,
            moves: &[(30, Evaluation)],
            close: Some(70),
            pushes: &[],
            members: &[
                m("Derek Stone", TechnicalEvaluator, Supportive).high(),
                m("Chris Young", EndUser, Supportive),
                m("Aisha Bello", DecisionMaker, Unknown).high(),
                m("Sean Murphy", Influencer, Unknown),
                m("Rachel Adams", Procurement, Unknown),
                m("Brenda Walsh", EndUser, Unknown).low(),
            ],
            log: &[
                t(55, Meeting, &["Derek Stone"], "Derek wants to replace the legacy scheduler."),
                t(22, Meeting, &["Derek Stone"], "Requirements workshop with IT only."),
                t(12, Call, &["Derek Stone", "Chris Young"], "Derek brought Chris for the labour-data questions."),
                t(5, Email, &["Derek Stone"], "Sent the integration spec."),
            ],
            expect: &[F::SingleThreaded, F::NoMobilizer, F::BuyingGroupGaps, F::LowCoverage],
        },
        Deal {
            account: GLOBEX,
            name: "Globex — Marketing attribution",
            owner: "jamie.chen",
            amount: 90_000,
            currency: "USD",
            created: 150,
            stage: Discovery,
            moves: &[(120, Evaluation), (80, Proposal), (25, ClosedLost)],
            close: Some(-30),
            pushes: &[],
            members: &[
                m("Lisa Park", Mobilizer, Supportive).high(),
                m("Paul Nguyen", EconomicBuyer, Opposed).veto().high(),
                m("Rachel Adams", Procurement, Neutral),
            ],
            log: &[
                t(145, Meeting, &["Lisa Park"], "Lisa cannot prove which campaigns drive store visits."),
                t(100, Demo, &["Lisa Park", "Rachel Adams"], "Attribution demo."),
                t(60, Call, &["Lisa Park"], "Lisa will talk Paul round on the price.").about(&["Paul Nguyen"]),
                t(26, Call, &["Lisa Park"],
                  "Lost: Paul renewed the incumbent. We never met him.").about(&["Paul Nguyen"]),
            ],
            expect: &[],
        },
        // Healthy: four of six engaged this month, the finance director included.
        Deal {
            account: INITECH,
            name: "Initech — Support desk consolidation",
            owner: "riley.owens",
            amount: 95_000,
            currency: "USD",
            created: 50,
            stage: Discovery,
            moves: &[(25, Evaluation)],
            close: Some(75),
            pushes: &[],
            members: &[
                m("Naomi Price", Mobilizer, Supportive).high(),
                m("Sara Lindqvist", EconomicBuyer, Neutral).veto().high(),
                m("Tina Morales", EndUser, Supportive),
                m("Omar Haddad", TechnicalEvaluator, Neutral),
                m("Mark Ellis", Procurement, Unknown).low(),
                m("Julia Ross", Influencer, Neutral),
            ],
            log: &[
                t(45, Meeting, &["Naomi Price"], "Three help desks, three ticket systems, no shared SLA view."),
                t(28, Demo, &["Naomi Price", "Tina Morales", "Omar Haddad"], "Consolidated queue demo."),
                t(16, Meeting, &["Sara Lindqvist", "Naomi Price"], "Sara confirmed budget in the Q3 plan."),
                t(9, Call, &["Omar Haddad"], "API limits and SSO questions answered."),
                t(3, Call, &["Tina Morales"], "Pilot team picked."),
            ],
            expect: &[],
        },
        // Early and thin: four people known, no economic buyer, no mobilizer yet.
        Deal {
            account: INITECH,
            name: "Initech — Data warehouse migration",
            owner: "riley.owens",
            amount: 120_000,
            currency: "USD",
            created: 35,
            stage: Prospecting,
            moves: &[(20, Discovery)],
            close: Some(100),
            pushes: &[],
            members: &[
                m("Kevin Wright", Sponsor, Supportive).high(),
                m("Ravi Kumar", TechnicalEvaluator, Supportive),
                m("Omar Haddad", DecisionMaker, Neutral).veto().high(),
                m("Mark Ellis", Procurement, Unknown).low(),
            ],
            log: &[
                t(32, Call, &["Kevin Wright"], "Intro call: warehouse licence renewal in five months."),
                t(19, Meeting, &["Kevin Wright", "Ravi Kumar"], "Walkthrough of the current warehouse estate."),
                t(11, Meeting, &["Omar Haddad", "Kevin Wright"], "Omar wants a migration plan before committing."),
                t(5, Call, &["Ravi Kumar"], "Sample workloads shared for sizing."),
            ],
            expect: &[F::NoMobilizer, F::BuyingGroupGaps],
        },
        // Every conversation goes through the overloaded CISO; the finance director, who can
        // veto, has not been met; the close date has passed.
        Deal {
            account: INITECH,
            name: "Initech — Security operations platform",
            owner: "alex.morgan",
            amount: 380_000,
            currency: "USD",
            created: 100,
            stage: Discovery,
            moves: &[(75, Evaluation), (45, Proposal)],
            close: Some(-8),
            pushes: &[],
            members: &[
                m("Julia Ross", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Pen test and SOC 2 audit this quarter."),
                m("Omar Haddad", DecisionMaker, Neutral).high(),
                m("Sara Lindqvist", EconomicBuyer, Neutral).veto().high(),
                m("Alan Brooks", TechnicalEvaluator, Supportive),
                m("Mark Ellis", Procurement, Unknown).low(),
                m("Dev Mehta", EndUser, Supportive),
                m("Hope Larkin", Legal, Unknown),
            ],
            log: &[
                t(95, Meeting, &["Julia Ross"], "Alert fatigue: 4,000 alerts a day, two analysts."),
                t(28, Meeting, &["Julia Ross", "Alan Brooks"], "Detection content review."),
                t(21, Demo, &["Julia Ross", "Dev Mehta", "Alan Brooks"], "SOC walkthrough with the analysts."),
                t(13, Call, &["Julia Ross"], "Julia will talk budget with Sara after the pen test."),
                t(8, Meeting, &["Julia Ross", "Omar Haddad"], "Architecture review with the CTO."),
                t(3, Call, &["Julia Ross"], "Julia swamped; the meeting with Sara moves again."),
            ],
            expect: &[F::SingleThreaded, F::VetoHolderUnengaged, F::MobilizerOverloaded, F::PastCloseDate],
        },
        // Healthy: commercials agreed, legal engaged; one close-date move is not a pattern.
        Deal {
            account: ADATUM,
            name: "Adatum — Treasury reporting",
            owner: "sofia.marquez",
            amount: 220_000,
            currency: "EUR",
            created: 120,
            stage: Discovery,
            moves: &[(90, Evaluation), (50, Proposal), (15, Negotiation)],
            close: Some(10),
            pushes: &[(16, 30)],
            members: &[
                m("Claire Dubois", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Matteo Rossi", EconomicBuyer, Supportive).veto().high(),
                m("Pieter de Vries", Legal, Neutral).veto(),
                m("Henrik Larsen", TechnicalEvaluator, Supportive),
                m("Isabel Costa", Procurement, Neutral),
                m("Elena Petrova", Influencer, Supportive),
            ],
            log: &[
                t(115, Meeting, &["Claire Dubois"], "Cash positions consolidated by hand from 14 banks."),
                t(85, Demo, &["Claire Dubois", "Henrik Larsen"], "Bank connectivity demo."),
                t(27, Meeting, &["Claire Dubois", "Matteo Rossi"], "Commercials agreed in principle."),
                t(20, Call, &["Pieter de Vries", "Isabel Costa"], "Contract redlines: data residency clause."),
                t(13, Meeting, &["Henrik Larsen", "Claire Dubois"], "Integration plan with the ERP team."),
                t(8, Call, &["Pieter de Vries"], "Legal is happy with the residency wording."),
                t(3, Meeting, &["Matteo Rossi", "Claire Dubois", "Elena Petrova"],
                  "Final terms; Matteo targets signature this month."),
            ],
            expect: &[],
        },
        // The head of compliance can veto and is opposed, but the seller is working her
        // directly: one serious factor, handled the right way.
        Deal {
            account: ADATUM,
            name: "Adatum — KYC automation",
            owner: "sofia.marquez",
            amount: 340_000,
            currency: "EUR",
            created: 70,
            stage: Discovery,
            moves: &[(55, Evaluation), (30, Proposal)],
            close: Some(50),
            pushes: &[],
            members: &[
                m("Sophie Martin", Mobilizer, Supportive).high(),
                m("Matteo Rossi", EconomicBuyer, Supportive).veto().high(),
                m("Elena Petrova", DecisionMaker, Opposed)
                    .veto()
                    .high()
                    .notes("Prefers building in-house; worried about explaining model decisions to regulators."),
                m("Henrik Larsen", TechnicalEvaluator, Neutral),
                m("Isabel Costa", Procurement, Neutral),
                m("Pieter de Vries", Legal, Neutral),
            ],
            log: &[
                t(65, Meeting, &["Sophie Martin"], "Onboarding backlog of 1,200 corporate clients."),
                t(27, Demo, &["Sophie Martin", "Henrik Larsen", "Elena Petrova"],
                  "Screening demo; Elena challenged explainability."),
                t(18, Meeting, &["Elena Petrova", "Henrik Larsen"],
                  "Walked Elena through the audit trail and model cards."),
                t(12, Meeting, &["Matteo Rossi", "Sophie Martin"], "Matteo supportive; wants Elena's sign-off first."),
                t(6, Call, &["Isabel Costa"], "Procurement timeline agreed."),
                t(2, Meeting, &["Elena Petrova", "Pieter de Vries"],
                  "Regulator documentation review; Elena wants an in-house option costed."),
            ],
            expect: &[F::VetoHolderOpposed],
        },
        // Healthy apart from a busy mobilizer.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Crew rostering",
            owner: "sofia.marquez",
            amount: 260_000,
            currency: "GBP",
            created: 110,
            stage: Discovery,
            moves: &[(40, Evaluation)],
            close: Some(90),
            pushes: &[],
            members: &[
                m("Oliver Hughes", Mobilizer, Supportive)
                    .high()
                    .bandwidth(Overloaded)
                    .notes("Also leading the winter schedule change."),
                m("Emma Clarke", EconomicBuyer, Neutral).veto().high(),
                m("Lucy Ward", EndUser, Supportive),
                m("Amelia Turner", TechnicalEvaluator, Supportive),
                m("George Hall", Procurement, Neutral),
                m("Harry Bennett", Legal, Unknown),
            ],
            log: &[
                t(105, Meeting, &["Oliver Hughes"], "Rostering rules live in one planner's head."),
                t(28, Demo, &["Oliver Hughes", "Lucy Ward", "Amelia Turner"],
                  "Rostering demo with the scheduling team."),
                t(21, Meeting, &["Emma Clarke", "Oliver Hughes"],
                  "Emma keen on fatigue-risk reporting; budget set aside."),
                t(10, Call, &["Lucy Ward", "Amelia Turner"], "Pilot roster data loaded."),
                t(4, Call, &["George Hall"], "Procurement route: the existing framework agreement."),
            ],
            expect: &[F::MobilizerOverloaded],
        },
        // Stuck in evaluation for months; only three of seven people engaged.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Maintenance tracking",
            owner: "sofia.marquez",
            amount: 95_000,
            currency: "GBP",
            created: 150,
            stage: Discovery,
            moves: &[(80, Evaluation)],
            close: Some(40),
            pushes: &[],
            members: &[
                m("James Whitfield", Mobilizer, Supportive).high().bandwidth(Stretched),
                m("Emma Clarke", EconomicBuyer, Neutral).veto().high(),
                m("Amelia Turner", TechnicalEvaluator, Neutral),
                m("George Hall", Procurement, Unknown),
                m("Nathan Cole", EndUser, Unknown),
                m("Sophie Grant", Influencer, Unknown),
                m("Harry Bennett", Legal, Unknown).low(),
            ],
            log: &[
                t(145, Meeting, &["James Whitfield"], "Parts traceability audit findings."),
                t(78, Demo, &["James Whitfield", "Amelia Turner"], "Evaluation kick-off."),
                t(25, Meeting, &["James Whitfield", "Amelia Turner"],
                  "Evaluation plan: parts tracking pilot on two aircraft."),
                t(16, Meeting, &["Emma Clarke", "James Whitfield"], "Emma: no budget until the pilot results are in."),
                t(7, Call, &["Amelia Turner"], "Pilot environment still not provisioned."),
                t(2, Call, &["James Whitfield"], "James chasing IT for the pilot environment."),
            ],
            expect: &[F::Stalled, F::LowCoverage],
        },
        // The CFO can veto and is opposed; met once, then silence; stalled in proposal.
        Deal {
            account: TAILSPIN,
            name: "Tailspin — Fuel analytics",
            owner: "sofia.marquez",
            amount: 175_000,
            currency: "GBP",
            created: 140,
            stage: Discovery,
            moves: &[(110, Evaluation), (75, Proposal)],
            close: Some(20),
            pushes: &[],
            members: &[
                m("Charlotte Evans", Mobilizer, Supportive).high(),
                m("Emma Clarke", EconomicBuyer, Opposed)
                    .veto()
                    .high()
                    .notes("Wants audited savings from another carrier before any spend."),
                m("Ian Porter", DecisionMaker, Neutral),
                m("Amelia Turner", TechnicalEvaluator, Neutral),
                m("George Hall", Procurement, Unknown),
                m("Oliver Hughes", Influencer, Neutral),
            ],
            log: &[
                t(135, Meeting, &["Charlotte Evans"], "Fuel burn 3% above plan on the A320 fleet."),
                t(100, Demo, &["Charlotte Evans", "Ian Porter", "Amelia Turner"],
                  "Fuel analytics demo for flight operations."),
                t(25, Meeting, &["Emma Clarke", "Charlotte Evans"],
                  "Emma opposed: wants audited savings from another carrier."),
                t(19, Email, &["Charlotte Evans"], "Sent a reference case study for Emma."),
            ],
            expect: &[F::VetoHolderOpposed, F::SingleThreaded, F::Stalled, F::GoingDark, F::LowCoverage],
        },
        // Discovery going well; the economic buyer is not identified yet.
        Deal {
            account: WINGTIP,
            name: "Wingtip — Field service scheduling",
            owner: "alex.morgan",
            amount: 140_000,
            currency: "GBP",
            created: 40,
            stage: Prospecting,
            moves: &[(12, Discovery)],
            close: Some(120),
            pushes: &[],
            members: &[
                m("Isla Murray", Mobilizer, Supportive).high(),
                m("Fiona Campbell", DecisionMaker, Neutral)
                    .veto()
                    .high()
                    .notes("Will name the budget owner once the business case is in."),
                m("Ross Mackay", TechnicalEvaluator, Neutral),
                m("Zara Ahmed", Procurement, Unknown),
                m("Callum Fraser", EndUser, Supportive),
                m("Aidan Kerr", EndUser, Supportive).low(),
            ],
            log: &[
                t(38, Call, &["Isla Murray"], "Intro: engineers drive 40% more miles than planned."),
                t(25, Meeting, &["Isla Murray", "Callum Fraser"], "Dispatch pain walk-through."),
                t(12, Demo, &["Ross Mackay", "Callum Fraser", "Aidan Kerr"], "Scheduling demo for the dispatch team."),
                t(6, Meeting, &["Fiona Campbell", "Isla Murray"],
                  "Fiona wants the business case before naming a budget owner."),
            ],
            expect: &[F::BuyingGroupGaps],
        },
        // Gone dark for six weeks: nobody engaged this month, the CFO never met.
        Deal {
            account: WINGTIP,
            name: "Wingtip — Asset performance analytics",
            owner: "alex.morgan",
            amount: 210_000,
            currency: "GBP",
            created: 130,
            stage: Discovery,
            moves: &[(55, Evaluation)],
            close: Some(35),
            pushes: &[],
            members: &[
                m("Callum Fraser", Mobilizer, Supportive).high(),
                m("Daniel Reid", EconomicBuyer, Neutral).veto().high(),
                m("Ross Mackay", TechnicalEvaluator, Supportive),
                m("Zara Ahmed", Procurement, Unknown),
                m("Fiona Campbell", DecisionMaker, Neutral),
                m("Megan Shaw", EndUser, Supportive),
            ],
            log: &[
                t(120, Meeting, &["Callum Fraser"], "Transformer failures: 11 unplanned outages last winter."),
                t(90, Demo, &["Callum Fraser", "Ross Mackay", "Megan Shaw"], "Predictive maintenance demo."),
                t(52, Meeting, &["Callum Fraser"], "Callum asked for a business case for Daniel."),
                t(40, Email, &["Callum Fraser"], "Sent the business case draft. No reply."),
            ],
            expect: &[F::SingleThreaded, F::VetoHolderUnengaged, F::GoingDark, F::LowCoverage],
        },
        Deal {
            account: WINGTIP,
            name: "Wingtip — Grid forecasting",
            owner: "alex.morgan",
            amount: 120_000,
            currency: "GBP",
            created: 190,
            stage: Discovery,
            moves: &[(160, Evaluation), (120, Proposal), (95, Negotiation), (70, ClosedWon)],
            close: Some(-75),
            pushes: &[],
            members: &[
                m("Megan Shaw", Mobilizer, Supportive).high(),
                m("Daniel Reid", EconomicBuyer, Supportive).veto().high(),
                m("Ross Mackay", TechnicalEvaluator, Supportive),
                m("Zara Ahmed", Procurement, Neutral),
            ],
            log: &[
                t(185, Meeting, &["Megan Shaw"], "Day-ahead forecast error is costing imbalance charges."),
                t(140, Demo, &["Megan Shaw", "Ross Mackay"], "Forecasting demo on last winter's data."),
                t(100, Meeting, &["Daniel Reid", "Megan Shaw", "Zara Ahmed"], "Daniel approved the budget."),
                t(72, Call, &["Zara Ahmed"], "Contract countersigned."),
            ],
            expect: &[],
        },
    ]
};
