//! The contract's scalars: `DateTime` (RFC 3339, UTC), `Date` (`YYYY-MM-DD`) and `Decimal`
//! (a decimal string such as `"125000.00"`).

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use std::str::FromStr;

/// The standards the scalars follow, as their `specified_by_url` attributes give them (for the
/// SDL export; a test keeps the two the same).
pub const SPECIFIED_BY: [(&str, &str); 2] = [
    ("DateTime", "https://datatracker.ietf.org/doc/html/rfc3339"),
    ("Date", "https://www.iso.org/iso-8601-date-and-time-format.html"),
];

/// An instant. Accepts any RFC 3339 offset; always answers in UTC (`…Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The text the API answers (flat exports write the same).
    pub fn text(&self) -> String {
        crate::domain::values::timestamp_text(self.0)
    }
}

#[Scalar(
    name = "DateTime",
    specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339"
)]
/// An instant in RFC 3339 form, answered in UTC, e.g. `2026-11-26T09:30:00Z`.
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| Timestamp(t.with_timezone(&Utc)))
                .map_err(|_| {
                    InputValueError::custom(format!("{s:?} is not an RFC 3339 date-time, e.g. 2026-11-26T09:30:00Z"))
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.text())
    }
}

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day(pub NaiveDate);

impl Day {
    /// `YYYY-MM-DD`, strictly (what the API accepts).
    pub fn parse_text(s: &str) -> Option<Day> {
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|_| s.len() == 10)
            .map(Day)
    }

    /// The text the API answers (flat exports write the same).
    pub fn text(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }
}

#[Scalar(
    name = "Date",
    specified_by_url = "https://www.iso.org/iso-8601-date-and-time-format.html"
)]
/// A calendar date, `YYYY-MM-DD`.
impl ScalarType for Day {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Day::parse_text(s)
                .ok_or_else(|| InputValueError::custom(format!("{s:?} is not a date in YYYY-MM-DD form"))),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.text())
    }
}

/// An exact decimal amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money(pub Decimal);

impl Money {
    /// A decimal string as the API accepts it: digits, one optional point, an optional minus;
    /// no exponent, no spaces inside.
    pub fn parse_text(text: &str) -> Option<Money> {
        let plain = !text.is_empty()
            && text.chars().all(|c| c.is_ascii_digit() || c == '.' || c == '-')
            && text.matches('.').count() <= 1;
        plain.then(|| Decimal::from_str(text).ok().map(Money)).flatten()
    }

    /// The text the API answers, e.g. `125000.00` (flat exports write the same).
    pub fn text(&self) -> String {
        self.0.to_string()
    }
}

#[Scalar(name = "Decimal")]
/// An exact decimal number, answered as a string, e.g. `"125000.00"`. Input may be a string or
/// a JSON number written exactly (`125000.5`).
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        let text = match &value {
            Value::String(s) => s.trim().to_owned(),
            // The shortest form that reads back as the same number: what the client wrote, for
            // any amount of up to 15 significant digits. An exponent is refused below.
            Value::Number(n) => n.to_string(),
            _ => return Err(InputValueError::expected_type(value)),
        };
        Money::parse_text(&text)
            .ok_or_else(|| InputValueError::custom(format!("{text:?} is not a decimal number such as \"125000.00\"")))
    }

    fn to_value(&self) -> Value {
        Value::String(self.text())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sdl_names_the_standards_introspection_names() {
        let sdl = crate::graphql::sdl();
        let schema = crate::graphql::build_schema(crate::graphql::Limits::default());
        for (scalar, url) in SPECIFIED_BY {
            assert!(
                sdl.contains(&format!("scalar {scalar} @specifiedBy(url: \"{url}\")")),
                "{scalar}"
            );
            let query = format!("{{ __type(name: \"{scalar}\") {{ specifiedByURL }} }}");
            let answer = block_on(schema.execute(query.as_str()));
            assert_eq!(
                answer.data.to_string(),
                format!("{{__type: {{specifiedByURL: \"{url}\"}}}}")
            );
        }
    }

    fn block_on<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn datetimes_are_answered_in_utc() {
        let parsed = Timestamp::parse(Value::String("2026-11-26T10:30:00+01:00".into())).expect("valid");
        assert_eq!(parsed.to_value(), Value::String("2026-11-26T09:30:00Z".into()));
        assert!(Timestamp::parse(Value::String("2026-11-26".into())).is_err());
    }

    #[test]
    fn dates_are_strict() {
        assert!(Day::parse(Value::String("2026-02-28".into())).is_ok());
        assert!(Day::parse(Value::String("2026-02-30".into())).is_err());
        assert!(Day::parse(Value::String("2026-2-3".into())).is_err());
    }

    #[test]
    fn decimals_are_strings() {
        let m = Money::parse(Value::String("125000.00".into())).expect("valid");
        assert_eq!(m.to_value(), Value::String("125000.00".into()));
        assert!(Money::parse(Value::String("1e5".into())).is_err());
        assert!(Money::parse(Value::String("abc".into())).is_err());
    }

    #[test]
    fn decimals_may_be_json_numbers_written_exactly() {
        let number: Value = serde_json::from_str::<serde_json::Value>("125000.5")
            .map(|v| Value::from_json(v).expect("a value"))
            .expect("json");
        let m = Money::parse(number).expect("valid");
        assert_eq!(m.0, Decimal::from_str("125000.5").expect("decimal"));
        let cents = Value::from_json(serde_json::json!(19.99)).expect("a value");
        assert_eq!(Money::parse(cents).expect("valid").0.to_string(), "19.99");
        let huge = Value::from_json(serde_json::json!(1e300)).expect("a value");
        assert!(Money::parse(huge).is_err(), "no exponent");
    }
}
