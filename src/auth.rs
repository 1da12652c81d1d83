//! Token verification: the only way to obtain a [`TenantCtx`].
//!
//! One key source is configured (HS256 secret, a PEM public key, or a JWKS file). The
//! algorithm is pinned to the key, so `alg: none` and algorithm-confusion tokens fail.
//! With no key configured the server runs in development mode with a random HS256 secret
//! kept in a file, never accepting unsigned tokens.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::domain::model::Role;
use crate::domain::values::TenantId;
use crate::domain::{AppError, TenantCtx};

/// Seconds of clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECS: u64 = 5;

/// The claims dealgraph reads.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub tid: String,
    #[serde(default, deserialize_with = "roles_from_string_or_list")]
    pub roles: Vec<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
}

/// Accepts `"roles": "admin"` as well as `"roles": ["admin"]` (identity providers differ).
fn roles_from_string_or_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<OneOrMany>::deserialize(d)? {
        None => Vec::new(),
        Some(OneOrMany::One(role)) => vec![role],
        Some(OneOrMany::Many(roles)) => roles,
    })
}

enum Keys {
    Single(Algorithm, DecodingKey),
    /// By `kid`; a set with one key also verifies tokens without `kid`.
    Set(HashMap<String, (Algorithm, DecodingKey)>),
}

/// Verifies bearer tokens against the configured key.
pub struct Verifier {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
    /// Present when tokens can also be minted here (HS256 secret or development mode).
    signer: Option<EncodingKey>,
    pub dev_mode: bool,
}

/// Why the server could not set up token verification.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl Verifier {
    /// Builds the verifier from configuration. In development mode the secret lives in
    /// `dev_secret_path(config)` and is created on first start.
    pub fn from_config(config: &Config) -> Result<Verifier, KeyError> {
        let configured = [
            config.jwt_secret.is_some(),
            config.jwt_public_key.is_some(),
            config.jwks_path.is_some(),
        ];
        if configured.iter().filter(|c| **c).count() > 1 {
            return Err(KeyError(
                "configure only one of DEALGRAPH_JWT_SECRET, DEALGRAPH_JWT_PUBLIC_KEY and DEALGRAPH_JWKS_PATH".into(),
            ));
        }
        let public_key = config.jwt_public_key.is_some() || config.jwks_path.is_some();
        if public_key && config.jwt_audience.as_deref().is_none_or(str::is_empty) {
            // Identity providers sign tokens for all their applications with the same keys.
            return Err(KeyError(
                "DEALGRAPH_JWT_AUDIENCE is required with DEALGRAPH_JWT_PUBLIC_KEY or DEALGRAPH_JWKS_PATH: \
                 the identity provider's keys also sign tokens minted for other applications"
                    .into(),
            ));
        }
        let (keys, signer, dev_mode) = if let Some(secret) = &config.jwt_secret {
            if secret.len() < 32 {
                return Err(KeyError("DEALGRAPH_JWT_SECRET must be at least 32 bytes".into()));
            }
            hs256(secret.as_bytes(), false)
        } else if let Some(path) = &config.jwt_public_key {
            let (alg, key) = pem_algorithm_and_key(path)?;
            (Keys::Single(alg, key), None, false)
        } else if let Some(path) = &config.jwks_path {
            (Keys::Set(jwks(path)?), None, false)
        } else {
            let secret = dev_secret(&dev_secret_path(config))?;
            hs256(secret.as_bytes(), true)
        };
        Ok(Verifier {
            keys,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            signer,
            dev_mode,
        })
    }

    /// Verifies a bearer token and builds the caller's context. Every failure is
    /// `UNAUTHENTICATED` with a reason that reveals nothing about the key.
    pub fn verify(&self, token: &str) -> Result<TenantCtx, AppError> {
        self.verify_until(token).map(|(ctx, _)| ctx)
    }

    /// Like [`verify`](Self::verify), with the instant the token stops being accepted (its
    /// `exp` plus the tolerated skew): a live connection authenticated by it ends then.
    pub fn verify_until(&self, token: &str) -> Result<(TenantCtx, std::time::SystemTime), AppError> {
        let unauthenticated = |why: &str| AppError::Unauthenticated(format!("invalid token: {why}"));
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthenticated("malformed"))?;
        let (alg, key) = match &self.keys {
            Keys::Single(alg, key) => (*alg, key),
            Keys::Set(keys) => {
                let entry = match &header.kid {
                    Some(kid) => keys.get(kid),
                    None if keys.len() == 1 => keys.values().next(),
                    None => None,
                };
                let (alg, key) = entry.ok_or_else(|| unauthenticated("unknown key id"))?;
                (*alg, key)
            }
        };
        if header.alg != alg {
            return Err(unauthenticated("unexpected algorithm"));
        }
        let mut validation = Validation::new(alg);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "sub"]);
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
            validation.required_spec_claims.insert("iss".into());
        }
        match &self.audience {
            Some(aud) => {
                validation.set_audience(&[aud]);
                validation.required_spec_claims.insert("aud".into());
            }
            None => validation.validate_aud = false,
        }
        let data = jsonwebtoken::decode::<Claims>(token, key, &validation).map_err(|err| {
            use jsonwebtoken::errors::ErrorKind;
            match err.kind() {
                ErrorKind::ExpiredSignature => unauthenticated("expired"),
                ErrorKind::ImmatureSignature => unauthenticated("not yet valid"),
                ErrorKind::InvalidIssuer => unauthenticated("wrong issuer"),
                ErrorKind::InvalidAudience => unauthenticated("wrong audience"),
                ErrorKind::InvalidSignature => unauthenticated("bad signature"),
                ErrorKind::MissingRequiredClaim(claim) => unauthenticated(&format!("missing {claim}")),
                _ => unauthenticated("malformed"),
            }
        })?;
        let claims = data.claims;
        let tenant = TenantId::parse(&claims.tid).map_err(|_| unauthenticated("bad tid"))?;
        if claims.sub.trim().is_empty() || claims.sub.len() > 200 {
            return Err(unauthenticated("bad sub"));
        }
        // Unknown role names grant nothing.
        let roles = claims.roles.iter().filter_map(|r| r.parse::<Role>().ok()).collect();
        let lifetime = std::time::Duration::from_secs(claims.exp.saturating_add(LEEWAY_SECS));
        // An `exp` beyond what the clock can represent: as good as never.
        let until = std::time::UNIX_EPOCH
            .checked_add(lifetime)
            .unwrap_or_else(|| std::time::SystemTime::now() + std::time::Duration::from_secs(u64::from(u32::MAX)));
        Ok((TenantCtx::from_verified_claims(tenant, claims.sub, roles), until))
    }

    /// Mints a token (HS256 secret or development mode only).
    pub fn mint(&self, tenant: &str, sub: &str, roles: &[String], ttl_secs: u64) -> Result<String, KeyError> {
        let key = self.signer.as_ref().ok_or_else(|| {
            KeyError(
                "tokens can only be minted with DEALGRAPH_JWT_SECRET or in development mode; \
                      with a public key, mint them with your identity provider"
                    .into(),
            )
        })?;
        TenantId::parse(tenant).map_err(|_| KeyError(format!("{tenant:?} is not a valid tenant id")))?;
        for role in roles {
            role.parse::<Role>()
                .map_err(|_| KeyError(format!("unknown role {role:?}: use admin, seller or analyst")))?;
        }
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: sub.to_owned(),
            tid: tenant.to_owned(),
            roles: roles.to_vec(),
            exp: now + ttl_secs,
            nbf: None,
            iat: Some(now),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, key).map_err(|e| KeyError(e.to_string()))
    }
}

fn hs256(secret: &[u8], dev_mode: bool) -> (Keys, Option<EncodingKey>, bool) {
    (
        Keys::Single(Algorithm::HS256, DecodingKey::from_secret(secret)),
        Some(EncodingKey::from_secret(secret)),
        dev_mode,
    )
}

fn pem_algorithm_and_key(path: &Path) -> Result<(Algorithm, DecodingKey), KeyError> {
    let pem = std::fs::read(path).map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((Algorithm::ES256, key));
    }
    Err(KeyError(format!(
        "{} is not an RSA or EC public key in PEM form",
        path.display()
    )))
}

fn jwks(path: &Path) -> Result<HashMap<String, (Algorithm, DecodingKey)>, KeyError> {
    let text = std::fs::read_to_string(path).map_err(|e| KeyError(format!("cannot read {}: {e}", path.display())))?;
    let set: JwkSet =
        serde_json::from_str(&text).map_err(|e| KeyError(format!("{} is not a JWKS: {e}", path.display())))?;
    let mut keys = HashMap::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        let alg = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(ec), None | Some(KeyAlgorithm::ES256))
                if ec.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            _ => {
                tracing::warn!(index = i, "skipping a JWKS key that is not RS256 or ES256 (P-256)");
                continue;
            }
        };
        let key = DecodingKey::from_jwk(jwk).map_err(|e| KeyError(format!("JWKS key {i}: {e}")))?;
        let kid = jwk.common.key_id.clone().unwrap_or_else(|| format!("#{i}"));
        keys.insert(kid, (alg, key));
    }
    if keys.is_empty() {
        return Err(KeyError(format!("{} holds no RS256 or ES256 key", path.display())));
    }
    Ok(keys)
}

/// Beside the SQLite database (`dealgraph.db.jwt-secret`), else `.dealgraph-dev-secret` here.
pub fn dev_secret_path(config: &Config) -> PathBuf {
    match config.sqlite_path() {
        Some(db) => {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(".jwt-secret");
            db.with_file_name(name)
        }
        None => PathBuf::from(".dealgraph-dev-secret"),
    }
}

/// Reads the development secret, creating it (owner-only permissions) on first use.
fn dev_secret(path: &Path) -> Result<String, KeyError> {
    if let Ok(existing) = std::fs::read_to_string(path) {
        let existing = existing.trim().to_owned();
        if existing.len() >= 32 {
            return Ok(existing);
        }
    }
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    write_private(path, &secret).map_err(|e| KeyError(format!("cannot write {}: {e}", path.display())))?;
    Ok(secret)
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)?.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(secret: &str) -> Verifier {
        let (keys, signer, dev_mode) = hs256(secret.as_bytes(), false);
        Verifier {
            keys,
            issuer: None,
            audience: None,
            signer,
            dev_mode,
        }
    }

    #[test]
    fn minted_tokens_verify_with_the_same_secret_only() {
        let v = verifier("0123456789abcdef0123456789abcdef");
        let token = v.mint("acme", "sam", &["seller".into()], 60).expect("mint");
        let ctx = v.verify(&token).expect("verify");
        assert_eq!(ctx.tenant().as_str(), "acme");
        assert_eq!(ctx.roles(), &[Role::Seller]);
        let other = verifier("fedcba9876543210fedcba9876543210");
        assert!(matches!(other.verify(&token), Err(AppError::Unauthenticated(_))));
    }

    #[test]
    fn unknown_roles_grant_nothing() {
        let v = verifier("0123456789abcdef0123456789abcdef");
        let claims = Claims {
            sub: "x".into(),
            tid: "t".into(),
            roles: vec!["root".into()],
            exp: u64::MAX / 2,
            nbf: None,
            iat: None,
        };
        let key = EncodingKey::from_secret(b"0123456789abcdef0123456789abcdef");
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).expect("encode");
        assert_eq!(v.verify(&token).expect("verify").roles(), &[Role::Analyst]);
    }
}
