//! Opaque global IDs: `base64url("Kind:uuid")`. Clients must not parse them.

use async_graphql::ID;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use uuid::Uuid;

/// The node types that have global IDs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Account,
    Contact,
    Opportunity,
    BuyingGroupMember,
    Interaction,
    Webhook,
}

impl Kind {
    fn prefix(self) -> &'static str {
        match self {
            Kind::Account => "Account",
            Kind::Contact => "Contact",
            Kind::Opportunity => "Opportunity",
            Kind::BuyingGroupMember => "BuyingGroupMember",
            Kind::Interaction => "Interaction",
            Kind::Webhook => "Webhook",
        }
    }

    const ALL: [Kind; 6] = [
        Kind::Account,
        Kind::Contact,
        Kind::Opportunity,
        Kind::BuyingGroupMember,
        Kind::Interaction,
        Kind::Webhook,
    ];
}

pub fn encode(kind: Kind, id: Uuid) -> ID {
    ID(crate::domain::values::global_id(kind.prefix(), id))
}

/// The kind and uuid an ID names, if it is one of ours.
pub fn decode_any(id: &str) -> Option<(Kind, Uuid)> {
    let bytes = URL_SAFE_NO_PAD.decode(id.trim()).ok()?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let (prefix, raw) = text.split_once(':')?;
    let kind = Kind::ALL.into_iter().find(|k| k.prefix() == prefix)?;
    Some((kind, Uuid::try_parse(raw).ok()?))
}

/// The uuid behind an ID of the expected kind; anything else names nothing (`None`).
pub fn decode(kind: Kind, id: &str) -> Option<Uuid> {
    decode_any(id).filter(|(k, _)| *k == kind).map(|(_, uuid)| uuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_keep_their_kind() {
        let uuid = Uuid::now_v7();
        let id = encode(Kind::Opportunity, uuid);
        assert_eq!(decode(Kind::Opportunity, &id), Some(uuid));
        assert_eq!(decode(Kind::Account, &id), None);
        assert_eq!(decode_any("not-an-id"), None);
        assert_eq!(decode_any(""), None);
    }
}
