//! Authentication: every bad token kind is HTTP 401 with `UNAUTHENTICATED`, and asymmetric
//! keys (PEM, JWKS) verify tokens signed by their private halves only.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::elliptic_curve::sec1::ToEncodedPoint;
use p256::pkcs8::{EncodePrivateKey, EncodePublicKey, LineEnding};
use serde_json::{Value, json};

use crate::helpers::{SECRET, TestApp, now_secs, sign, sign_with, token_for};

const VIEWER: &str = "{ viewer { userId tenantId } }";

async fn status_and_code(app: &TestApp, authorization: Option<String>) -> (u16, Value) {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.url))
        .json(&json!({ "query": VIEWER }));
    if let Some(value) = authorization {
        request = request.header("authorization", value);
    }
    let response = request.send().await.expect("sent");
    let status = response.status().as_u16();
    let body: Value = response.json().await.expect("json");
    (status, body["errors"][0]["extensions"]["code"].clone())
}

fn unsigned(claims: Value) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{header}.{payload}.")
}

#[tokio::test]
async fn every_bad_token_is_rejected_with_401() {
    let app = TestApp::spawn().await;
    let now = now_secs();
    let good = json!({ "sub": "u", "tid": "acme", "roles": ["admin"], "exp": now + 600 });
    let hs512 = jsonwebtoken::encode(
        &Header::new(Algorithm::HS512),
        &good,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .expect("sign");
    let cases: Vec<(&str, Option<String>)> = vec![
        ("missing header", None),
        ("not bearer", Some(format!("Basic {}", sign(good.clone())))),
        ("empty bearer", Some("Bearer ".into())),
        ("malformed", Some("Bearer not.a.jwt".into())),
        ("garbage", Some("Bearer abc".into())),
        (
            "expired",
            Some(format!(
                "Bearer {}",
                sign(json!({ "sub": "u", "tid": "acme", "exp": now - 120 }))
            )),
        ),
        (
            "bad signature",
            Some(format!(
                "Bearer {}",
                sign_with(good.clone(), "another-secret-another-secret-xx")
            )),
        ),
        ("alg none", Some(format!("Bearer {}", unsigned(good.clone())))),
        ("other algorithm", Some(format!("Bearer {hs512}"))),
        (
            "no tid",
            Some(format!("Bearer {}", sign(json!({ "sub": "u", "exp": now + 600 })))),
        ),
        (
            "bad tid",
            Some(format!(
                "Bearer {}",
                sign(json!({ "sub": "u", "tid": "a/b", "exp": now + 600 }))
            )),
        ),
        (
            "no exp",
            Some(format!("Bearer {}", sign(json!({ "sub": "u", "tid": "acme" })))),
        ),
        (
            "no sub",
            Some(format!("Bearer {}", sign(json!({ "tid": "acme", "exp": now + 600 })))),
        ),
        (
            "not yet valid",
            Some(format!(
                "Bearer {}",
                sign(json!({ "sub": "u", "tid": "acme", "exp": now + 600, "nbf": now + 300 }))
            )),
        ),
    ];
    for (what, header) in cases {
        let (status, code) = status_and_code(&app, header).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(code, "UNAUTHENTICATED", "{what}");
    }
    let (status, _) = status_and_code(&app, Some(format!("Bearer {}", sign(good)))).await;
    assert_eq!(status, 200, "the good token passes");
}

#[tokio::test]
async fn issuer_and_audience_are_checked_when_configured() {
    let app = TestApp::spawn_with(|c| {
        c.jwt_issuer = Some("https://id.example".into());
        c.jwt_audience = Some("dealgraph".into());
    })
    .await;
    let now = now_secs();
    let base = |iss: &str, aud: &str| json!({ "sub": "u", "tid": "acme", "exp": now + 600, "iss": iss, "aud": aud });
    let (status, _) = status_and_code(
        &app,
        Some(format!("Bearer {}", sign(base("https://id.example", "dealgraph")))),
    )
    .await;
    assert_eq!(status, 200);
    for claims in [
        base("https://evil.example", "dealgraph"),
        base("https://id.example", "other"),
        json!({ "sub": "u", "tid": "acme", "exp": now + 600 }),
    ] {
        let (status, code) = status_and_code(&app, Some(format!("Bearer {}", sign(claims.clone())))).await;
        assert_eq!((status, code), (401, json!("UNAUTHENTICATED")), "{claims}");
    }
}

/// The audience public-key mode requires; tokens the tests mint carry it.
const AUDIENCE: &str = "dealgraph-api";

fn es256_key(seed: u8) -> (String, String, p256::PublicKey) {
    let secret = p256::SecretKey::from_slice(&[seed; 32]).expect("valid scalar");
    let private_pem = secret.to_pkcs8_pem(LineEnding::LF).expect("pem").to_string();
    let public_pem = secret.public_key().to_public_key_pem(LineEnding::LF).expect("pem");
    (private_pem, public_pem, secret.public_key())
}

fn es256_token(private_pem: &str, kid: Option<&str>, tenant: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    let claims = json!({ "sub": "u", "tid": tenant, "roles": ["admin"], "exp": now_secs() + 600, "aud": AUDIENCE });
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign")
}

#[tokio::test]
async fn a_pem_public_key_verifies_es256_and_refuses_hs256() {
    let dir = tempfile::tempdir().expect("dir");
    let (private_pem, public_pem, _) = es256_key(7);
    let (other_private, _, _) = es256_key(9);
    let path = dir.path().join("public.pem");
    std::fs::write(&path, public_pem).expect("write key");
    let app = TestApp::spawn_with(|c| {
        c.jwt_secret = None;
        c.jwt_public_key = Some(path.clone());
        c.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    let (status, _) = status_and_code(
        &app,
        Some(format!("Bearer {}", es256_token(&private_pem, None, "acme"))),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = status_and_code(
        &app,
        Some(format!("Bearer {}", es256_token(&other_private, None, "acme"))),
    )
    .await;
    assert_eq!(status, 401, "signed by another key");
    let (status, _) = status_and_code(&app, Some(format!("Bearer {}", token_for("acme", "u", &["admin"])))).await;
    assert_eq!(status, 401, "HS256 is not the configured algorithm");
    // The same identity provider, the same key, a token minted for another application.
    let mut header = Header::new(Algorithm::ES256);
    header.kid = None;
    let claims = json!({ "sub": "u", "tid": "acme", "roles": ["admin"], "exp": now_secs() + 600, "aud": "crm-app" });
    let other_app = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(private_pem.as_bytes()).expect("key"),
    )
    .expect("sign");
    let (status, _) = status_and_code(&app, Some(format!("Bearer {other_app}"))).await;
    assert_eq!(status, 401, "minted for another application");
}

#[tokio::test]
async fn a_public_key_without_an_audience_refuses_to_start() {
    let dir = tempfile::tempdir().expect("dir");
    let (_, public_pem, _) = es256_key(7);
    let path = dir.path().join("public.pem");
    std::fs::write(&path, public_pem).expect("write key");
    let mut config = crate::helpers::default_config();
    config.database_url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    config.addr = "127.0.0.1:0".parse().expect("addr");
    config.jwt_public_key = Some(path);
    let err = dealgraph::startup::Server::build(&config).await.err().expect("refused");
    assert!(err.to_string().contains("DEALGRAPH_JWT_AUDIENCE"), "{err}");
}

#[tokio::test]
async fn development_mode_refuses_postgres_and_exposed_addresses_unless_asked() {
    let dir = tempfile::tempdir().expect("dir");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.path().join("dev.db").display());
    let build = |url: &str, addr: &str, dev: bool| {
        let mut config = crate::helpers::default_config();
        config.database_url = url.to_owned();
        config.addr = addr.parse().expect("addr");
        config.dev = dev;
        config.demo = Some(false);
        config.risk_sweep_secs = 0;
        async move { dealgraph::startup::Server::build(&config).await.map(|_| ()) }
    };
    // Refused before any connection is tried: nothing listens on port 1.
    for (url, addr) in [
        ("postgres://postgres@127.0.0.1:1/none", "127.0.0.1:0"),
        (sqlite.as_str(), "0.0.0.0:0"),
    ] {
        let err = build(url, addr, false).await.expect_err("refused");
        let text = err.to_string();
        assert!(
            text.contains("DEALGRAPH_JWT_SECRET") && text.contains("DEALGRAPH_DEV"),
            "{text}"
        );
    }
    build(&sqlite, "0.0.0.0:0", true)
        .await
        .expect("DEALGRAPH_DEV=1 says so explicitly");
    build(&sqlite, "127.0.0.1:0", false)
        .await
        .expect("a laptop: SQLite on loopback");
}

#[tokio::test]
async fn a_jwks_file_selects_the_key_by_kid() {
    let dir = tempfile::tempdir().expect("dir");
    let (first_private, _, first_public) = es256_key(3);
    let (second_private, _, second_public) = es256_key(5);
    let jwk = |kid: &str, key: &p256::PublicKey| {
        let point = key.to_encoded_point(false);
        json!({ "kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
                "x": URL_SAFE_NO_PAD.encode(point.x().expect("x")), "y": URL_SAFE_NO_PAD.encode(point.y().expect("y")) })
    };
    let path = dir.path().join("jwks.json");
    std::fs::write(
        &path,
        json!({ "keys": [jwk("one", &first_public), jwk("two", &second_public)] }).to_string(),
    )
    .expect("write");
    let app = TestApp::spawn_with(|c| {
        c.jwt_secret = None;
        c.jwks_path = Some(path.clone());
        c.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    for (private, kid) in [(&first_private, "one"), (&second_private, "two")] {
        let (status, _) = status_and_code(
            &app,
            Some(format!("Bearer {}", es256_token(private, Some(kid), "acme"))),
        )
        .await;
        assert_eq!(status, 200, "kid {kid}");
    }
    let (status, _) = status_and_code(
        &app,
        Some(format!("Bearer {}", es256_token(&first_private, Some("two"), "acme"))),
    )
    .await;
    assert_eq!(status, 401, "the key named by kid did not sign it");
    let (status, _) = status_and_code(
        &app,
        Some(format!("Bearer {}", es256_token(&first_private, Some("nope"), "acme"))),
    )
    .await;
    assert_eq!(status, 401, "unknown kid");
}

#[tokio::test]
async fn a_pem_public_key_verifies_rs256_and_refuses_other_keys_and_algorithms() {
    use rsa::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _};
    let mut rng = rsa::rand_core::OsRng;
    let key = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("rsa key");
    let other = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("rsa key");
    let pem = |k: &rsa::RsaPrivateKey| k.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).expect("pem").to_string();
    let public_pem = key
        .to_public_key()
        .to_public_key_pem(rsa::pkcs8::LineEnding::LF)
        .expect("pem");
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("public.pem");
    std::fs::write(&path, &public_pem).expect("write key");
    let app = TestApp::spawn_with(|c| {
        c.jwt_secret = None;
        c.jwt_public_key = Some(path.clone());
        c.jwt_audience = Some(AUDIENCE.into());
    })
    .await;
    let claims = json!({ "sub": "u", "tid": "acme", "roles": ["admin"], "exp": now_secs() + 600, "aud": AUDIENCE });
    let rs256 = |private_pem: &str, alg: Algorithm| {
        jsonwebtoken::encode(
            &Header::new(alg),
            &claims,
            &EncodingKey::from_rsa_pem(private_pem.as_bytes()).expect("key"),
        )
        .expect("sign")
    };
    let (status, _) = status_and_code(&app, Some(format!("Bearer {}", rs256(&pem(&key), Algorithm::RS256)))).await;
    assert_eq!(status, 200, "signed by the key's private half");
    let (status, _) = status_and_code(&app, Some(format!("Bearer {}", rs256(&pem(&other), Algorithm::RS256)))).await;
    assert_eq!(status, 401, "signed by another key");
    let (status, _) = status_and_code(&app, Some(format!("Bearer {}", rs256(&pem(&key), Algorithm::RS512)))).await;
    assert_eq!(status, 401, "RS512 is not the configured algorithm");
    // The classic confusion: HS256 with the public key's text as the shared secret.
    let confused = sign_with(claims.clone(), &public_pem);
    let (status, code) = status_and_code(&app, Some(format!("Bearer {confused}"))).await;
    assert_eq!(
        (status, code),
        (401, json!("UNAUTHENTICATED")),
        "HS256 signed with the public key"
    );
}
