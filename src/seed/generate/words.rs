//! The generator's vocabulary: stage and role odds, company and people names, topics.

use crate::domain::model::{BuyingRole, Stage};

pub(super) const OPEN_STAGE_WEIGHTS: [(Stage, u32); 5] = [
    (Stage::Prospecting, 18),
    (Stage::Discovery, 24),
    (Stage::Evaluation, 24),
    (Stage::Proposal, 20),
    (Stage::Negotiation, 14),
];

/// The roles a buying group usually has, with how often; the rest is filled from
/// `FILLER_ROLES`. Mobilizer and economic buyer come first so a small group keeps them.
pub(super) const ROLE_ODDS: [(BuyingRole, f64); 11] = [
    (BuyingRole::Mobilizer, 0.85),
    (BuyingRole::EconomicBuyer, 0.88),
    (BuyingRole::Sponsor, 0.5),
    (BuyingRole::DecisionMaker, 0.6),
    (BuyingRole::Finance, 0.6),
    (BuyingRole::TechnicalEvaluator, 0.7),
    (BuyingRole::Procurement, 0.5),
    (BuyingRole::Legal, 0.45),
    (BuyingRole::EndUser, 0.6),
    (BuyingRole::Influencer, 0.4),
    (BuyingRole::Gatekeeper, 0.25),
];

pub(super) const FILLER_ROLES: [BuyingRole; 4] = [
    BuyingRole::EndUser,
    BuyingRole::TechnicalEvaluator,
    BuyingRole::Influencer,
    BuyingRole::Other,
];

#[rustfmt::skip]
pub(super) const ACCOUNT_PREFIXES: [&str; 32] = [
    "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Vandelay", "Soylent", "Tyrell", "Wonka", "Hooli",
    "Aperture", "Cyberdyne", "Blue Harbor", "Silver Pine", "Red Rock", "Granite", "Evergreen", "Brightwater",
    "Ironwood", "Summit", "Lakeside", "Northstar", "Meridian", "Pinnacle", "Cobalt", "Juniper", "Harborview",
    "Keystone", "Riverbend", "Oakridge", "Sterling", "Bluebird",
];

pub(super) const ACCOUNT_SUFFIXES: [(&str, &str); 16] = [
    ("Health", "Healthcare"),
    ("Logistics", "Transportation"),
    ("Bank", "Financial services"),
    ("Insurance", "Insurance"),
    ("Energy", "Energy"),
    ("Retail", "Retail"),
    ("Foods", "Consumer goods"),
    ("Pharma", "Life sciences"),
    ("Telecom", "Telecommunications"),
    ("Manufacturing", "Manufacturing"),
    ("Capital", "Financial services"),
    ("Systems", "Software"),
    ("Motors", "Automotive"),
    ("Media", "Media"),
    ("Labs", "Life sciences"),
    ("Freight", "Transportation"),
];

#[rustfmt::skip]
pub(super) const REGIONS: [&str; 8] = [
    "EMEA", "APAC", "Americas", "Group", "Holdings", "International", "Nordics", "DACH",
];

#[rustfmt::skip]
pub(super) const PRODUCTS: [&str; 20] = [
    "Finance platform", "Data warehouse", "Security suite", "CRM rollout", "Analytics seats", "Support renewal",
    "Payroll migration", "Cloud migration", "ERP upgrade", "Observability", "Identity platform",
    "Procurement suite", "HR platform", "Marketing automation", "Contact center", "Document AI",
    "Supply chain planning", "Expense management", "Field service", "Billing platform",
];

#[rustfmt::skip]
pub(super) const FIRST_NAMES: [&str; 40] = [
    "Sam", "Dana", "Lee", "Priya", "Omar", "Jo", "Kai", "Mina", "Ravi", "Eva", "Tom", "Ada", "Noah", "Lena", "Marco",
    "Aisha", "Chen", "Sofia", "Liam", "Yuki", "Diego", "Hana", "Felix", "Nora", "Ivan", "Zara", "Owen", "Maya", "Luca",
    "Elif", "Theo", "Amara", "Jonas", "Leila", "Mateo", "Ingrid", "Kofi", "Rosa", "Arjun", "Clara",
];

#[rustfmt::skip]
pub(super) const LAST_NAMES: [&str; 40] = [
    "Patel", "Ruiz", "Wong", "Shah", "Haddad", "Berg", "Lund", "Sato", "Iyer", "Novak", "Reyes", "Okafor", "Smith",
    "Garcia", "Muller", "Rossi", "Kim", "Nguyen", "Cohen", "Silva", "Dubois", "Jensen", "Kowalski", "Tanaka", "Murphy",
    "Schmidt", "Costa", "Ali", "Larsen", "Ivanova", "Mensah", "Fischer", "Moreau", "Brown", "Khan", "Lopez", "Weber",
    "Olsen", "Sharma", "Baker",
];

#[rustfmt::skip]
pub(super) const TITLES: [&str; 20] = [
    "Director of Operations", "VP Operations", "CFO", "COO", "Controller", "Finance Director",
    "Procurement Manager", "General Counsel", "CIO", "CTO", "VP Engineering", "Solutions Architect", "IT Manager",
    "Security Lead", "Team Lead", "Senior Analyst", "Chief of Staff", "Executive Assistant", "Project Manager",
    "Head of Transformation",
];

#[rustfmt::skip]
pub(super) const TOPICS: [&str; 12] = [
    "pricing", "security review", "rollout plan", "integration scope", "legal terms", "success criteria", "budget",
    "timeline", "reference call", "procurement steps", "pilot results", "next steps",
];

#[rustfmt::skip]
pub(super) const NOTES: [&str; 6] = [
    "Prefers email", "Was a customer at their previous company", "Reports to the CFO",
    "Skeptical of the rollout timeline", "Owns the budget line", "Championed a competitor last year",
];
