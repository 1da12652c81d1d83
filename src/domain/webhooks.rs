//! Webhooks (SPEC §9): which change events a webhook is told about, the message it gets,
//! its signature, the retry schedule, and which addresses it may never be sent to (SSRF).
//!
//! The message is fixed when the change commits (an outbox row holds its exact bytes), so
//! every attempt sends, and signs, the same body.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha2::Sha256;
use uuid::Uuid;

use super::events::{ChangeEvent, RiskMove, RiskState};
use super::model::{ChangeKind, FactorSet, RiskFactorCode, RiskLevel, Stage, WebhookEvent};
use super::values::{self, cents_to_decimal};

/// The longest webhook URL accepted.
pub const MAX_URL_CHARS: usize = 2048;
/// How long a delivery is retried after its change (then it is given up).
pub const RETRY_FOR: Duration = Duration::from_secs(24 * 3600);
/// The longest pause between two attempts.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(3600);
/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A tenant's webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub id: Uuid,
    pub url: String,
    /// In declaration order, without repeats.
    pub events: Vec<WebhookEvent>,
    /// `RISK_CHANGED` only when the old or the new level is at least this.
    pub min_level: RiskLevel,
    pub description: Option<String>,
    /// The HMAC key (shown once, at creation).
    pub secret: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl Webhook {
    /// What this webhook is told about `change`, in declaration order.
    pub fn wants(&self, change: &ChangeEvent) -> Vec<WebhookEvent> {
        self.events
            .iter()
            .copied()
            .filter(|event| match event {
                WebhookEvent::OpportunityChanged => true,
                WebhookEvent::RiskChanged => change.risk.is_some_and(|m| m.reaches(self.min_level)),
            })
            .collect()
    }
}

/// One event on its way to one webhook, and how its attempts went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: Uuid,
    pub event: WebhookEvent,
    /// When the change was made.
    pub at: DateTime<Utc>,
    /// When the change committed (the outbox row was written).
    pub enqueued_at: DateTime<Utc>,
    pub attempts: u32,
    /// The last answer's HTTP status (none: no answer yet, or none came).
    pub status_code: Option<u16>,
    pub last_error: Option<String>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// When the next attempt is due; `None` once delivered or given up.
    pub next_retry_at: Option<DateTime<Utc>>,
}

/// A delivery claimed by the sender: where it goes and what it sends.
#[derive(Debug, Clone)]
pub struct Outgoing {
    pub tenant: String,
    pub id: Uuid,
    /// The webhook it goes to.
    pub webhook: Uuid,
    pub url: String,
    pub secret: String,
    pub body: String,
    pub enqueued_at: DateTime<Utc>,
    /// Attempts made before this one.
    pub attempts: u32,
}

/// What the message says about the deal (as it was right after the change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DealSummary {
    pub id: Uuid,
    pub external_id: Option<String>,
    pub name: String,
    pub stage: Stage,
    pub amount_cents: i64,
    pub currency: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Message<'a> {
    id: String,
    event: &'static str,
    at: String,
    tenant_id: &'a str,
    data: Data<'a>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Data<'a> {
    #[serde(rename_all = "camelCase")]
    Risk {
        opportunity: Opportunity<'a>,
        previous: Option<Snapshot>,
        current: Snapshot,
        new_factors: Vec<&'static str>,
        cleared_factors: Vec<&'static str>,
    },
    Change {
        opportunity: Opportunity<'a>,
        kind: &'static str,
    },
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Opportunity<'a> {
    id: String,
    external_id: Option<&'a str>,
    name: &'a str,
    stage: &'static str,
    amount: String,
    currency: &'a str,
}

/// A `RiskSnapshot` as the API answers it.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Snapshot {
    at: String,
    score: u32,
    level: &'static str,
    factor_codes: Vec<&'static str>,
}

fn codes(set: FactorSet) -> Vec<&'static str> {
    set.iter().map(RiskFactorCode::as_str).collect()
}

fn snapshot(state: RiskState) -> Snapshot {
    Snapshot {
        at: values::timestamp_text(state.at),
        score: state.score,
        level: state.level.as_str(),
        factor_codes: codes(state.factors),
    }
}

/// The JSON body of delivery `id` telling `event` about `change` to `deal`; `None` when
/// `change` has nothing of the kind (a `RISK_CHANGED` without a move of risk).
pub fn message(id: Uuid, event: WebhookEvent, change: &ChangeEvent, deal: &DealSummary) -> Option<String> {
    let opportunity = Opportunity {
        id: values::global_id("Opportunity", deal.id),
        external_id: deal.external_id.as_deref(),
        name: &deal.name,
        stage: deal.stage.as_str(),
        amount: cents_to_decimal(deal.amount_cents).to_string(),
        currency: &deal.currency,
    };
    let data = match event {
        WebhookEvent::RiskChanged => {
            let moved: RiskMove = change.risk?;
            Data::Risk {
                opportunity,
                previous: moved.previous.map(snapshot),
                current: snapshot(moved.current),
                new_factors: codes(moved.new_factors()),
                cleared_factors: codes(moved.cleared_factors()),
            }
        }
        WebhookEvent::OpportunityChanged => Data::Change {
            opportunity,
            kind: ChangeKind::as_str(change.kind),
        },
    };
    let message = Message {
        id: id.to_string(),
        event: event.as_str(),
        at: values::timestamp_text(change.at),
        tenant_id: &change.tenant,
        data,
    };
    serde_json::to_string(&message).ok()
}

/// `X-Dealgraph-Signature`: `sha256=` and the hex HMAC-SHA256 of `body` keyed with the
/// secret's UTF-8 bytes.
pub fn signature(secret: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256=");
    for byte in digest {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// A new webhook secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    let bytes: [u8; 32] = rand::random();
    let mut out = String::from("whsec_");
    for byte in bytes {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// When to try again after the `failed`-th failed attempt (1 s, 2 s, 4 s … at most 1 h
/// apart); `None` once the change is more than [`RETRY_FOR`] old: the delivery is given up.
pub fn next_attempt(enqueued_at: DateTime<Utc>, now: DateTime<Utc>, failed: u32) -> Option<DateTime<Utc>> {
    let doubling = 2u64.saturating_pow(failed.saturating_sub(1).min(32));
    let delay = Duration::from_secs(doubling).min(MAX_RETRY_DELAY);
    let next = now + chrono::Duration::from_std(delay).ok()?;
    let give_up = enqueued_at + chrono::Duration::from_std(RETRY_FOR).ok()?;
    (now < give_up).then_some(next.min(give_up))
}

/// Why a webhook may not be sent to `ip`, if it may not: loopback, private, link-local,
/// unspecified, metadata and other non-public ranges, also when spelled inside an IPv6
/// address (IPv4-mapped, -compatible, NAT64, 6to4).
pub fn forbidden_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = match (a, b, c) {
        (0, ..) => "an unspecified address",
        (127, ..) => "a loopback address",
        (10, ..) | (172, 16..=31, _) | (192, 168, _) => "a private address",
        (100, 64..=127, _) => "a shared (carrier-grade NAT) address",
        (169, 254, _) => "a link-local (metadata) address",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, ..) => "a multicast address",
        (240..=255, ..) => "a reserved address",
        _ => return None,
    };
    Some(reason)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    let embedded = |high: u16, low: u16| Ipv4Addr::new((high >> 8) as u8, high as u8, (low >> 8) as u8, low as u8);
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // ::ffff:a.b.c.d (mapped) and ::a.b.c.d (compatible) are IPv4 addresses.
    if s[..5] == [0; 5] && (s[5] == 0xffff || s[5] == 0) {
        return forbidden_v4(embedded(s[6], s[7]));
    }
    // NAT64 (64:ff9b::a.b.c.d) reaches the IPv4 address it embeds.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded(s[6], s[7]));
    }
    // 6to4 (2002:AABB:CCDD::) embeds an IPv4 address too.
    if s[0] == 0x2002 {
        return forbidden_v4(embedded(s[1], s[2]));
    }
    let reason = match s[0] {
        0x0064 if s[1] == 0xff9b => "a local-use NAT64 address",
        0x0100 if s[1..4] == [0, 0, 0] => "a discard address",
        0x2001 if s[1] == 0 => "a Teredo address",
        0x2001 if s[1] == 0x0db8 => "a documentation address",
        x if x & 0xfe00 == 0xfc00 => "a unique-local (private) address",
        x if x & 0xffc0 == 0xfe80 => "a link-local address",
        x if x & 0xffc0 == 0xfec0 => "a site-local address",
        x if x & 0xff00 == 0xff00 => "a multicast address",
        _ => return None,
    };
    Some(reason)
}

/// Where a webhook URL points, once its form is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    /// An address written in the URL (any spelling the URL standard accepts, normalized).
    Ip(IpAddr),
    /// A name to resolve (each address it resolves to is checked too).
    Name(String),
}

/// A webhook URL's form: `https://` (or `http://` when private targets are allowed), a
/// host, no credentials, at most [`MAX_URL_CHARS`]; an address written in it must be
/// public unless `allow_private`. The error says what is wrong.
pub fn check_url(raw: &str, allow_private: bool) -> Result<(url::Url, Host), String> {
    let raw = raw.trim();
    if raw.chars().count() > MAX_URL_CHARS {
        return Err(format!("must be at most {MAX_URL_CHARS} characters"));
    }
    let url = url::Url::parse(raw).map_err(|e| format!("is not a URL ({e})"))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("must start with https://".into()),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry a user name or password".into());
    }
    if url.fragment().is_some() {
        return Err("must not have a #fragment".into());
    }
    let host = match url.host() {
        Some(url::Host::Ipv4(ip)) => Host::Ip(IpAddr::V4(ip)),
        Some(url::Host::Ipv6(ip)) => Host::Ip(IpAddr::V6(ip)),
        Some(url::Host::Domain(name)) => Host::Name(name.trim_end_matches('.').to_ascii_lowercase()),
        None => return Err("must name a host".into()),
    };
    if let Host::Ip(ip) = host
        && !allow_private
        && let Some(reason) = forbidden_address(ip)
    {
        return Err(format!("points at {reason}, which webhooks may not reach"));
    }
    if let Host::Name(name) = &host
        && !allow_private
        && (name == "localhost" || name.ends_with(".localhost"))
    {
        return Err("points at a loopback address, which webhooks may not reach".into());
    }
    Ok((url, host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::model::RiskFactorCode as F;

    fn at(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(secs, 0).unwrap_or_default()
    }

    fn refused(url: &str) -> String {
        match check_url(url, false) {
            Err(reason) => reason,
            Ok(_) => panic!("{url} was accepted"),
        }
    }

    #[test]
    fn private_and_special_addresses_are_refused_in_every_spelling() {
        for url in [
            "https://127.0.0.1/hook",
            "https://2130706433/", // 127.0.0.1 as one integer
            "https://0x7f.1/",     // hex and short forms
            "https://0177.0.0.1/", // octal
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[::ffff:7f00:1]/",
            "https://[::ffff:169.254.169.254]/",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00:ec2::254]/",
            "https://10.1.2.3/",
            "https://172.16.0.1/",
            "https://192.168.1.1/",
            "https://100.100.100.200/",
            "https://0.0.0.0/",
            "https://[::]/",
            "https://[fe80::1]/",
            "https://[64:ff9b::a00:1]/",
            "https://[2002:7f00:1::]/",
            "https://localhost/",
            "https://api.localhost/",
        ] {
            assert!(refused(url).contains("may not reach"), "{url}: {}", refused(url));
        }
        assert!(refused("http://example.com/").contains("https://"));
        assert!(refused("ftp://example.com/").contains("https://"));
        assert!(refused("https://user:pw@example.com/").contains("user name"));
        assert!(refused("not a url").contains("not a URL"));
        assert!(refused(&format!("https://example.com/{}", "a".repeat(2100))).contains("at most"));
    }

    #[test]
    fn public_addresses_and_names_pass() {
        assert_eq!(
            check_url("https://hooks.example.com/x?y=1", false).map(|(_, h)| h),
            Ok(Host::Name("hooks.example.com".into()))
        );
        assert_eq!(
            check_url("https://93.184.216.34/", false).map(|(_, h)| h),
            Ok(Host::Ip(
                "93.184.216.34".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))
            ))
        );
        for ip in [
            "8.8.8.8",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
        ] {
            let ip: IpAddr = ip.parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
            assert_eq!(forbidden_address(ip), None, "{ip}");
        }
        // Tests and single-host installs may send to themselves, over plain HTTP too.
        assert!(check_url("http://127.0.0.1:8080/hook", true).is_ok());
    }

    #[test]
    fn retries_double_up_to_an_hour_for_a_day() {
        let start = at(1_700_000_000);
        let delays: Vec<i64> = (1..=14)
            .map(|n| (next_attempt(start, start, n).unwrap_or(start) - start).num_seconds())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 3600, 3600]);
        let late = start + chrono::Duration::hours(23) + chrono::Duration::minutes(59);
        assert_eq!(next_attempt(start, late, 20), Some(start + chrono::Duration::hours(24)));
        assert_eq!(next_attempt(start, start + chrono::Duration::hours(24), 1), None);
    }

    #[test]
    fn signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_ne!(new_secret(), new_secret());
        assert_eq!(new_secret().len(), 6 + 64);
    }

    fn state(score: u32, level: RiskLevel, codes: &[F]) -> RiskState {
        RiskState {
            at: at(1_700_000_000),
            score,
            level,
            factors: codes.iter().copied().collect(),
        }
    }

    #[test]
    fn risk_changed_only_at_the_level_asked_for_and_messages_read_as_the_spec_says() {
        let hook = Webhook {
            id: Uuid::nil(),
            url: "https://example.com".into(),
            events: vec![WebhookEvent::RiskChanged, WebhookEvent::OpportunityChanged],
            min_level: RiskLevel::High,
            description: None,
            secret: "s".into(),
            created_at: at(0),
            created_by: "u".into(),
        };
        let mut change = ChangeEvent {
            tenant: "acme".into(),
            deal: Uuid::nil(),
            kind: ChangeKind::GroupChanged,
            at: at(1_700_000_100),
            risk: Some(RiskMove {
                previous: Some(state(30, RiskLevel::Medium, &[F::Stalled])),
                current: state(40, RiskLevel::Medium, &[F::Stalled, F::GoingDark]),
            }),
        };
        assert_eq!(hook.wants(&change), [WebhookEvent::OpportunityChanged]);
        change.risk = Some(RiskMove {
            previous: Some(state(30, RiskLevel::Medium, &[F::Stalled])),
            current: state(60, RiskLevel::High, &[F::GoingDark]),
        });
        assert_eq!(
            hook.wants(&change),
            [WebhookEvent::RiskChanged, WebhookEvent::OpportunityChanged]
        );
        let deal = DealSummary {
            id: Uuid::nil(),
            external_id: Some("006A".into()),
            name: "Renewal".into(),
            stage: Stage::Negotiation,
            amount_cents: 12_500_050,
            currency: "EUR".into(),
        };
        let body = message(Uuid::nil(), WebhookEvent::RiskChanged, &change, &deal).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(json["event"], "RISK_CHANGED");
        assert_eq!(json["tenantId"], "acme");
        assert_eq!(json["at"], "2023-11-14T22:15:00Z");
        assert_eq!(json["data"]["opportunity"]["amount"], "125000.50");
        assert_eq!(json["data"]["opportunity"]["externalId"], "006A");
        assert_eq!(json["data"]["opportunity"]["stage"], "NEGOTIATION");
        assert_eq!(json["data"]["previous"]["level"], "MEDIUM");
        assert_eq!(json["data"]["current"]["score"], 60);
        assert_eq!(json["data"]["newFactors"], serde_json::json!(["GOING_DARK"]));
        assert_eq!(json["data"]["clearedFactors"], serde_json::json!(["STALLED"]));
        let body = message(Uuid::nil(), WebhookEvent::OpportunityChanged, &change, &deal).unwrap_or_default();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        assert_eq!(json["data"]["kind"], "GROUP_CHANGED");
        assert!(json["data"].get("current").is_none());
        change.risk = None;
        assert_eq!(message(Uuid::nil(), WebhookEvent::RiskChanged, &change, &deal), None);
    }
}
