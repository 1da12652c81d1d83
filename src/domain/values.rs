//! Validated value types. Each `parse` names the offending field in its error, so the
//! GraphQL edge can report `BAD_USER_INPUT` with the field a client must fix.

use rust_decimal::Decimal;

use super::error::AppError;

/// Longest accepted name (accounts, contacts, opportunities, titles).
pub const MAX_NAME_CHARS: usize = 200;
/// Longest accepted free text (notes, interaction summaries).
pub const MAX_TEXT_CHARS: usize = 10_000;
/// Largest accepted deal amount, in currency units: keeps any tenant's sums inside `i64` cents.
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000_000_000;

/// Most members one buying group may hold (SPEC §5).
pub const MAX_GROUP_SIZE: u64 = 200;
/// Most distinct members one interaction may name in `participants` and `about` together.
pub const MAX_INTERACTION_MEMBERS: usize = 100;
/// Default and largest `last` of a history list (`riskHistory`, `stageHistory`).
pub const MAX_HISTORY_POINTS: usize = 1_000;

/// How many of a history's newest points to list: `last` as a client sent it (default and
/// most: [`MAX_HISTORY_POINTS`]).
pub fn history_points(field: &str, last: Option<i32>) -> Result<usize, AppError> {
    match last {
        None => Ok(MAX_HISTORY_POINTS),
        Some(n) if n < 0 => Err(AppError::bad_input(field, "must not be negative")),
        Some(n) if n as usize > MAX_HISTORY_POINTS => Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_HISTORY_POINTS}"),
        )),
        Some(n) => Ok(n as usize),
    }
}

/// A tenant identifier from a token's `tid` claim: `[A-Za-z0-9_-]{1,64}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(raw: &str) -> Result<TenantId, AppError> {
        let ok =
            (1..=64).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if ok {
            Ok(TenantId(raw.to_owned()))
        } else {
            Err(AppError::bad_input(
                "tid",
                "tenant ids are 1 to 64 characters of A-Z, a-z, 0-9, _ and -",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A required, trimmed, non-empty name of at most 200 characters.
pub fn name(field: &str, raw: &str) -> Result<String, AppError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(AppError::bad_input(field, "must not be empty"));
    }
    if trimmed.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_NAME_CHARS} characters"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// An optional short text (title, industry, domain): trimmed, empty becomes `None`.
pub fn optional_short(field: &str, raw: Option<&str>) -> Result<Option<String>, AppError> {
    optional_text_limited(field, raw, MAX_NAME_CHARS)
}

/// Most characters of an external ID.
pub const MAX_EXTERNAL_ID_CHARS: usize = 255;

/// An optional external ID (the client's own id of a record): trimmed, at most 255 characters.
pub fn external_id(field: &str, raw: Option<&str>) -> Result<Option<String>, AppError> {
    optional_text_limited(field, raw, MAX_EXTERNAL_ID_CHARS)
}

/// Most external IDs one filter may name.
pub const MAX_EXTERNAL_IDS_PER_FILTER: usize = 1_000;

/// The external IDs a filter names: at most 1,000.
pub fn external_id_list(field: &str, ids: Vec<String>) -> Result<Vec<String>, AppError> {
    if ids.len() > MAX_EXTERNAL_IDS_PER_FILTER {
        return Err(AppError::bad_input(
            field,
            format!(
                "names {} external IDs; the limit is {MAX_EXTERNAL_IDS_PER_FILTER}",
                ids.len()
            ),
        ));
    }
    Ok(ids.into_iter().map(|id| id.trim().to_owned()).collect())
}

/// Optional free text (notes, summaries) of at most 10,000 characters.
pub fn optional_long(field: &str, raw: Option<&str>) -> Result<Option<String>, AppError> {
    optional_text_limited(field, raw, MAX_TEXT_CHARS)
}

fn optional_text_limited(field: &str, raw: Option<&str>, max: usize) -> Result<Option<String>, AppError> {
    match raw.map(str::trim) {
        None | Some("") => Ok(None),
        Some(text) if text.chars().count() > max => {
            Err(AppError::bad_input(field, format!("must be at most {max} characters")))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// An optional e-mail address: one `@` with text on both sides, no spaces, ≤ 320 characters.
pub fn optional_email(field: &str, raw: Option<&str>) -> Result<Option<String>, AppError> {
    let Some(text) = optional_text_limited(field, raw, 320)? else {
        return Ok(None);
    };
    let valid = match text.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@') && !text.contains(char::is_whitespace)
        }
        None => false,
    };
    if valid {
        Ok(Some(text))
    } else {
        Err(AppError::bad_input(field, "is not an e-mail address"))
    }
}

/// An ISO-4217-shaped currency code: exactly three upper-case ASCII letters.
pub fn currency(field: &str, raw: &str) -> Result<String, AppError> {
    if raw.len() == 3 && raw.bytes().all(|b| b.is_ascii_uppercase()) {
        Ok(raw.to_owned())
    } else {
        Err(AppError::bad_input(field, "must be three upper-case letters, e.g. USD"))
    }
}

/// A non-negative amount with at most two decimal places, as integer cents.
pub fn amount_cents(field: &str, amount: Decimal) -> Result<i64, AppError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(AppError::bad_input(field, "must not be negative"));
    }
    let normalized = amount.normalize();
    if normalized.scale() > 2 {
        return Err(AppError::bad_input(field, "must have at most two decimal places"));
    }
    if normalized > Decimal::from(MAX_AMOUNT_UNITS) {
        return Err(AppError::bad_input(
            field,
            format!("must be at most {MAX_AMOUNT_UNITS}"),
        ));
    }
    let cents = normalized * Decimal::ONE_HUNDRED;
    i64::try_from(cents).map_err(|_| AppError::bad_input(field, "is out of range"))
}

/// A global ID as the API shows it: `base64url("Kind:uuid")` (clients must not parse it).
pub fn global_id(kind: &str, id: uuid::Uuid) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{}", id.simple()))
}

/// An instant as the API shows it: RFC 3339 in UTC, with as many fraction digits as needed.
pub fn timestamp_text(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// Cents back to a decimal with two places (`12500000` → `125000.00`).
pub fn cents_to_decimal(cents: i64) -> Decimal {
    Decimal::new(cents, 2)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).expect("decimal literal")
    }

    #[test]
    fn tenant_ids_follow_the_claim_format() {
        for ok in ["a", "acme", "ACME_corp-2", &"x".repeat(64)] {
            assert!(TenantId::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "a b", "acme/other", "é", &"x".repeat(65)] {
            assert!(TenantId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "  Acme ").ok().as_deref(), Some("Acme"));
        assert!(name("name", "   ").is_err());
        assert!(name("name", &"n".repeat(200)).is_ok());
        let err = name("input.name", &"n".repeat(201)).expect_err("too long");
        assert!(matches!(err, AppError::BadInput { ref field, .. } if field == "input.name"));
    }

    #[test]
    fn currencies_are_three_upper_case_letters() {
        assert!(currency("c", "EUR").is_ok());
        for bad in ["eur", "EURO", "E1R", "", "ÉUR"] {
            assert!(currency("c", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn amounts_become_cents() {
        assert_eq!(amount_cents("a", dec("125000.00")).ok(), Some(12_500_000));
        assert_eq!(amount_cents("a", dec("0.5")).ok(), Some(50));
        assert_eq!(amount_cents("a", dec("7.100")).ok(), Some(710));
        assert_eq!(amount_cents("a", dec("0")).ok(), Some(0));
        assert!(amount_cents("a", dec("-1")).is_err());
        assert!(amount_cents("a", dec("1.005")).is_err());
        assert!(amount_cents("a", dec("1000000000001")).is_err());
        assert_eq!(cents_to_decimal(12_500_000).to_string(), "125000.00");
    }

    #[test]
    fn emails_need_an_at_sign() {
        assert_eq!(
            optional_email("e", Some(" dana@corp.example "))
                .ok()
                .flatten()
                .as_deref(),
            Some("dana@corp.example")
        );
        assert_eq!(optional_email("e", Some("")).ok(), Some(None));
        assert!(optional_email("e", Some("dana")).is_err());
        assert!(optional_email("e", Some("a@b@c")).is_err());
    }
}
