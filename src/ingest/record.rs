//! The NDJSON record stream of SPEC §7, one JSON object per line: parsed and checked field by
//! field, so that a bad record is reported with the field and the reason.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use crate::domain::model::{Bandwidth, BuyingRole, Influence, InteractionKind, Stage, Stance};
use crate::domain::values;

/// Why a record was rejected: the field (when one is to blame), a code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub field: Option<String>,
    pub code: &'static str,
    pub message: String,
}

impl Rejection {
    pub fn field(field: &str, code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            field: Some(field.to_owned()),
            code,
            message: message.into(),
        }
    }

    pub fn record(code: &'static str, message: impl Into<String>) -> Rejection {
        Rejection {
            field: None,
            code,
            message: message.into(),
        }
    }

    fn invalid(field: &str, message: impl Into<String>) -> Rejection {
        Rejection::field(field, INVALID, message)
    }
}

/// A value that is missing, of the wrong type, or not allowed.
pub const INVALID: &str = "BAD_USER_INPUT";
/// A line that is not one JSON object.
pub const MALFORMED: &str = "MALFORMED_RECORD";
/// A reference to a record that is neither earlier in the stream nor stored in the tenant.
pub const UNKNOWN_REFERENCE: &str = "UNKNOWN_REFERENCE";
/// A reference to a record that was itself rejected.
pub const REFERENCE_REJECTED: &str = "REFERENCE_REJECTED";

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub external_id: String,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ContactRecord {
    pub external_id: String,
    pub account: String,
    pub full_name: String,
    pub title: Option<String>,
    pub email: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OpportunityRecord {
    pub external_id: String,
    pub account: String,
    pub name: String,
    pub amount_cents: i64,
    pub currency: String,
    pub stage: Stage,
    pub expected_close_date: Option<NaiveDate>,
    pub owner_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    pub external_id: Option<String>,
    pub opportunity: String,
    pub contact: String,
    pub role: BuyingRole,
    pub stance: Option<Stance>,
    pub can_veto: Option<bool>,
    pub influence: Option<Influence>,
    pub bandwidth: Option<Bandwidth>,
    pub notes: Option<String>,
    pub added_at: Option<DateTime<Utc>>,
}

/// A change of one of a deal's tracked values, at an instant.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeRecord<T> {
    pub opportunity: String,
    pub to: T,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InteractionRecord {
    pub external_id: String,
    pub opportunity: String,
    pub kind: InteractionKind,
    pub occurred_at: DateTime<Utc>,
    pub summary: Option<String>,
    pub participants: Vec<String>,
    pub about: Vec<String>,
    pub logged_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Account(AccountRecord),
    Contact(ContactRecord),
    Opportunity(OpportunityRecord),
    Member(MemberRecord),
    StageChange(ChangeRecord<Stage>),
    CloseDateChange(ChangeRecord<NaiveDate>),
    AmountChange(ChangeRecord<i64>),
    Interaction(InteractionRecord),
}

impl Record {
    /// The record's type, as the stream names it.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Account(_) => "account",
            Record::Contact(_) => "contact",
            Record::Opportunity(_) => "opportunity",
            Record::Member(_) => "member",
            Record::StageChange(_) => "stage_change",
            Record::CloseDateChange(_) => "close_date_change",
            Record::AmountChange(_) => "amount_change",
            Record::Interaction(_) => "interaction",
        }
    }

    /// The external ID of the deal the record belongs to (none for accounts and contacts).
    pub fn deal(&self) -> Option<&str> {
        match self {
            Record::Account(_) | Record::Contact(_) => None,
            Record::Opportunity(r) => Some(&r.external_id),
            Record::Member(r) => Some(&r.opportunity),
            Record::StageChange(r) => Some(&r.opportunity),
            Record::CloseDateChange(r) => Some(&r.opportunity),
            Record::AmountChange(r) => Some(&r.opportunity),
            Record::Interaction(r) => Some(&r.opportunity),
        }
    }

    /// The record's own external ID, when it has one (for error reports).
    pub fn external_id(&self) -> Option<&str> {
        match self {
            Record::Account(r) => Some(&r.external_id),
            Record::Contact(r) => Some(&r.external_id),
            Record::Opportunity(r) => Some(&r.external_id),
            Record::Member(r) => r.external_id.as_deref(),
            Record::Interaction(r) => Some(&r.external_id),
            Record::StageChange(_) | Record::CloseDateChange(_) | Record::AmountChange(_) => None,
        }
    }
}

/// Parses one line. On failure, also returns the external ID when the line named one.
pub fn parse_line(line: &str) -> Result<Record, (Option<String>, Rejection)> {
    let value: Value = serde_json::from_str(line)
        .map_err(|err| (None, Rejection::record(MALFORMED, format!("not a JSON object: {err}"))))?;
    let Value::Object(map) = value else {
        return Err((None, Rejection::record(MALFORMED, "not a JSON object")));
    };
    let external_id = map.get("externalId").and_then(Value::as_str).map(str::to_owned);
    parse(&map).map_err(|rejection| (external_id, rejection))
}

fn parse(map: &Map<String, Value>) -> Result<Record, Rejection> {
    let f = Fields(map);
    let kind = f.required_str("type")?;
    let record = match kind {
        "account" => {
            f.only(&["type", "externalId", "name", "domain", "industry", "createdAt"])?;
            Record::Account(AccountRecord {
                external_id: f.external_id()?,
                name: values::name("name", f.required_str("name")?).map_err(from_app)?,
                domain: values::optional_short("domain", f.optional_str("domain")?).map_err(from_app)?,
                industry: values::optional_short("industry", f.optional_str("industry")?).map_err(from_app)?,
                created_at: f.optional_time("createdAt")?,
            })
        }
        "contact" => {
            f.only(&[
                "type",
                "externalId",
                "account",
                "fullName",
                "title",
                "email",
                "createdAt",
            ])?;
            Record::Contact(ContactRecord {
                external_id: f.external_id()?,
                account: f.reference("account")?,
                full_name: values::name("fullName", f.required_str("fullName")?).map_err(from_app)?,
                title: values::optional_short("title", f.optional_str("title")?).map_err(from_app)?,
                email: values::optional_email("email", f.optional_str("email")?).map_err(from_app)?,
                created_at: f.optional_time("createdAt")?,
            })
        }
        "opportunity" => {
            f.only(&[
                "type",
                "externalId",
                "account",
                "name",
                "amount",
                "currency",
                "stage",
                "expectedCloseDate",
                "ownerId",
                "createdAt",
                "closedAt",
            ])?;
            Record::Opportunity(OpportunityRecord {
                external_id: f.external_id()?,
                account: f.reference("account")?,
                name: values::name("name", f.required_str("name")?).map_err(from_app)?,
                amount_cents: f.amount("amount")?,
                currency: values::currency("currency", f.required_str("currency")?).map_err(from_app)?,
                stage: f.required_enum("stage")?,
                expected_close_date: f.optional_date("expectedCloseDate")?,
                owner_id: values::optional_short("ownerId", f.optional_str("ownerId")?).map_err(from_app)?,
                created_at: f.optional_time("createdAt")?,
                closed_at: f.optional_time("closedAt")?,
            })
        }
        "member" => {
            f.only(&[
                "type",
                "externalId",
                "opportunity",
                "contact",
                "role",
                "stance",
                "canVeto",
                "influence",
                "bandwidth",
                "notes",
                "addedAt",
            ])?;
            Record::Member(MemberRecord {
                external_id: values::external_id("externalId", f.optional_str("externalId")?).map_err(from_app)?,
                opportunity: f.reference("opportunity")?,
                contact: f.reference("contact")?,
                role: f.required_enum("role")?,
                stance: f.optional_enum("stance")?,
                can_veto: f.optional_bool("canVeto")?,
                influence: f.optional_enum("influence")?,
                bandwidth: f.optional_enum("bandwidth")?,
                notes: values::optional_long("notes", f.optional_str("notes")?).map_err(from_app)?,
                added_at: f.optional_time("addedAt")?,
            })
        }
        "stage_change" => {
            f.only(&["type", "opportunity", "to", "at", "from"])?;
            Record::StageChange(ChangeRecord {
                opportunity: f.reference("opportunity")?,
                to: f.required_enum("to")?,
                at: f.required_time("at")?,
            })
        }
        "close_date_change" => {
            f.only(&["type", "opportunity", "to", "at", "from"])?;
            Record::CloseDateChange(ChangeRecord {
                opportunity: f.reference("opportunity")?,
                to: f
                    .optional_date("to")?
                    .ok_or_else(|| Rejection::invalid("to", "required"))?,
                at: f.required_time("at")?,
            })
        }
        "amount_change" => {
            f.only(&["type", "opportunity", "to", "at", "from"])?;
            Record::AmountChange(ChangeRecord {
                opportunity: f.reference("opportunity")?,
                to: f.amount("to")?,
                at: f.required_time("at")?,
            })
        }
        "interaction" => {
            f.only(&[
                "type",
                "externalId",
                "opportunity",
                "kind",
                "occurredAt",
                "summary",
                "participants",
                "about",
                "loggedBy",
            ])?;
            let participants = f.references("participants")?.unwrap_or_default();
            let about = f.references("about")?.unwrap_or_default();
            let named = participants.len() + about.len();
            if named > values::MAX_INTERACTION_MEMBERS {
                return Err(Rejection::invalid(
                    "participants",
                    format!(
                        "an interaction names at most {} people in participants and about together; this one names {named}",
                        values::MAX_INTERACTION_MEMBERS
                    ),
                ));
            }
            Record::Interaction(InteractionRecord {
                external_id: f.external_id()?,
                opportunity: f.reference("opportunity")?,
                kind: f.required_enum("kind")?,
                occurred_at: f.required_time("occurredAt")?,
                summary: values::optional_long("summary", f.optional_str("summary")?).map_err(from_app)?,
                participants,
                about,
                logged_by: values::optional_short("loggedBy", f.optional_str("loggedBy")?).map_err(from_app)?,
            })
        }
        other => {
            return Err(Rejection::invalid(
                "type",
                format!(
                    "unknown record type {other:?}: expected account, contact, opportunity, member, stage_change, \
                     close_date_change, amount_change or interaction"
                ),
            ));
        }
    };
    Ok(record)
}

fn from_app(err: crate::domain::AppError) -> Rejection {
    match err {
        crate::domain::AppError::BadInput { field, message } => Rejection::field(&field, INVALID, message),
        other => Rejection::record(other.code(), other.to_string()),
    }
}

/// The fields of one record, read with the field's name in every error.
struct Fields<'a>(&'a Map<String, Value>);

impl<'a> Fields<'a> {
    /// Refuses fields the record type does not have (a misspelt optional field would
    /// otherwise vanish without a word).
    fn only(&self, known: &[&str]) -> Result<(), Rejection> {
        match self.0.keys().find(|k| !known.contains(&k.as_str())) {
            Some(unknown) => Err(Rejection::invalid(
                unknown,
                format!("unknown field; this record type has {}", known[1..].join(", ")),
            )),
            None => Ok(()),
        }
    }

    fn optional_str(&self, name: &str) -> Result<Option<&'a str>, Rejection> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(Rejection::invalid(name, "expected a string")),
        }
    }

    fn required_str(&self, name: &str) -> Result<&'a str, Rejection> {
        self.optional_str(name)?
            .ok_or_else(|| Rejection::invalid(name, "required"))
    }

    fn external_id(&self) -> Result<String, Rejection> {
        values::external_id("externalId", Some(self.required_str("externalId")?))
            .map_err(from_app)?
            .ok_or_else(|| Rejection::invalid("externalId", "must not be empty"))
    }

    /// A reference to another record by its external ID.
    fn reference(&self, name: &str) -> Result<String, Rejection> {
        let raw = self.required_str(name)?.trim();
        if raw.is_empty() {
            return Err(Rejection::invalid(name, "must not be empty"));
        }
        Ok(raw.to_owned())
    }

    fn references(&self, name: &str) -> Result<Option<Vec<String>>, Rejection> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item.as_str().map(str::trim) {
                    Some(id) if !id.is_empty() => Ok(id.to_owned()),
                    _ => Err(Rejection::invalid(name, "expected a list of external IDs (strings)")),
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(Rejection::invalid(name, "expected a list of external IDs")),
        }
    }

    fn optional_enum<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, Rejection> {
        self.optional_str(name)?
            .map(|raw| {
                raw.parse()
                    .map_err(|_| Rejection::invalid(name, format!("{raw:?} is not a value of this field")))
            })
            .transpose()
    }

    fn required_enum<T: std::str::FromStr>(&self, name: &str) -> Result<T, Rejection> {
        self.optional_enum(name)?
            .ok_or_else(|| Rejection::invalid(name, "required"))
    }

    fn optional_bool(&self, name: &str) -> Result<Option<bool>, Rejection> {
        match self.0.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(Rejection::invalid(name, "expected true or false")),
        }
    }

    fn optional_time(&self, name: &str) -> Result<Option<DateTime<Utc>>, Rejection> {
        self.optional_str(name)?
            .map(|raw| {
                DateTime::parse_from_rfc3339(raw.trim())
                    .map(|t| t.to_utc())
                    .map_err(|_| Rejection::invalid(name, format!("{raw:?} is not an RFC 3339 instant")))
            })
            .transpose()
    }

    fn required_time(&self, name: &str) -> Result<DateTime<Utc>, Rejection> {
        self.optional_time(name)?
            .ok_or_else(|| Rejection::invalid(name, "required"))
    }

    fn optional_date(&self, name: &str) -> Result<Option<NaiveDate>, Rejection> {
        self.optional_str(name)?
            .map(|raw| {
                NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d")
                    .map_err(|_| Rejection::invalid(name, format!("{raw:?} is not a date (YYYY-MM-DD)")))
            })
            .transpose()
    }

    /// A decimal amount (a string, or a JSON number written exactly), as cents.
    fn amount(&self, name: &str) -> Result<i64, Rejection> {
        let text = match self.0.get(name) {
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            None | Some(Value::Null) => return Err(Rejection::invalid(name, "required")),
            Some(_) => {
                return Err(Rejection::invalid(
                    name,
                    "expected a decimal string such as \"125000.00\"",
                ));
            }
        };
        let decimal: Decimal = text
            .parse()
            .map_err(|_| Rejection::invalid(name, format!("{text:?} is not a decimal number")))?;
        values::amount_cents(name, decimal).map_err(from_app)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(line: &str) -> Rejection {
        parse_line(line).expect_err("rejected").1
    }

    #[test]
    fn every_record_type_parses() {
        let lines = [
            r#"{"type":"account","externalId":"A1","name":"Globex","domain":"globex.com","createdAt":"2026-01-05T09:00:00Z"}"#,
            r#"{"type":"contact","externalId":"C1","account":"A1","fullName":"Dana Ruiz","title":"Controller"}"#,
            r#"{"type":"opportunity","externalId":"O1","account":"A1","name":"Renewal","amount":"125000.50","currency":"USD","stage":"NEGOTIATION","expectedCloseDate":"2026-12-31"}"#,
            r#"{"type":"member","opportunity":"O1","contact":"C1","role":"ECONOMIC_BUYER","canVeto":true}"#,
            r#"{"type":"stage_change","opportunity":"O1","to":"DISCOVERY","at":"2026-02-01T00:00:00Z"}"#,
            r#"{"type":"close_date_change","opportunity":"O1","to":"2027-01-31","at":"2026-06-01T00:00:00Z"}"#,
            r#"{"type":"amount_change","opportunity":"O1","to":99000,"at":"2026-06-01T00:00:00Z"}"#,
            r#"{"type":"interaction","externalId":"I1","opportunity":"O1","kind":"MEETING","occurredAt":"2026-03-01T15:00:00Z","participants":["C1"]}"#,
        ];
        for line in lines {
            assert!(parse_line(line).is_ok(), "{line}: {:?}", parse_line(line));
        }
        let Ok(Record::Opportunity(o)) = parse_line(lines[2]) else {
            panic!("an opportunity");
        };
        assert_eq!((o.amount_cents, o.stage), (12_500_050, Stage::Negotiation));
    }

    #[test]
    fn bad_records_name_the_field_and_the_reason() {
        let e = rejected(
            r#"{"type":"opportunity","externalId":"O1","account":"A1","name":"x","amount":"1.005","currency":"USD","stage":"NEGOTIATION"}"#,
        );
        assert_eq!((e.field.as_deref(), e.code), (Some("amount"), INVALID));
        let e = rejected(
            r#"{"type":"opportunity","externalId":"O1","account":"A1","name":"x","amount":"1","currency":"USD","stage":"WON"}"#,
        );
        assert_eq!(e.field.as_deref(), Some("stage"));
        assert!(e.message.contains("WON"), "{}", e.message);
        let e = rejected(r#"{"type":"contact","externalId":"C1","account":"A1","fullname":"typo"}"#);
        assert_eq!(e.field.as_deref(), Some("fullname"), "a misspelt field is named");
        let e = rejected(r#"{"type":"deal"}"#);
        assert_eq!(e.field.as_deref(), Some("type"));
        let e = rejected("not json");
        assert_eq!(e.code, MALFORMED);
        let (external_id, _) = parse_line(r#"{"type":"account","externalId":"A9"}"#).expect_err("no name");
        assert_eq!(
            external_id.as_deref(),
            Some("A9"),
            "the external ID is reported when known"
        );
    }
}
