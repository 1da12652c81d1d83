//! Persisted documents (SPEC §5): Apollo's automatic persisted queries, or — with
//! `DEALGRAPH_TRUSTED_DOCUMENTS` — only the documents a locked-down front end shipped with.
//!
//! A request names its document by `extensions.persistedQuery.sha256Hash` (hex SHA-256 of the
//! document text). Automatic mode: a hash alone runs the document registered under it, else
//! answers `PERSISTED_QUERY_NOT_FOUND` (the client then sends hash and text, which registers
//! it). Trusted mode: only the file's documents run, named by hash or sent in full; nothing
//! registers, and anything else is `PERSISTED_QUERY_NOT_FOUND` with HTTP 400.

use std::collections::{HashMap, VecDeque};
use std::path::Path;
use std::sync::Mutex;

use anyhow::Context as _;
use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

/// Bytes of document text the automatic cache keeps; the oldest go first.
const CACHE_BYTES: usize = 16 * 1024 * 1024;

pub enum Documents {
    /// Automatic persisted queries: any client registers the documents it uses.
    Automatic(Mutex<Cache>),
    /// Only these documents run, by their hash.
    Trusted(HashMap<String, String>),
}

/// Why a request's document was not found or not accepted.
pub struct Refused {
    pub error: Box<ServerError>,
    /// True when the refusal is HTTP 400 under either media type (trusted documents).
    pub always_400: bool,
}

impl Documents {
    pub fn automatic() -> Documents {
        Documents::Automatic(Mutex::new(Cache::default()))
    }

    /// Reads the trusted documents: a JSON object of SHA-256 hash → document text (Relay's
    /// `persisted-queries.json`), or an Apollo persisted query manifest (`operations` with
    /// `id` and `body`). Every hash must be its document's.
    pub fn trusted_from_file(path: &Path) -> anyhow::Result<Documents> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read DEALGRAPH_TRUSTED_DOCUMENTS at {}", path.display()))?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("DEALGRAPH_TRUSTED_DOCUMENTS at {} is not JSON", path.display()))?;
        let pairs: Vec<(String, String)> = match json.get("operations").and_then(|o| o.as_array()) {
            Some(operations) => operations
                .iter()
                .map(|op| match (op["id"].as_str(), op["body"].as_str()) {
                    (Some(id), Some(body)) => Ok((id.to_owned(), body.to_owned())),
                    _ => anyhow::bail!("every operation of the manifest needs a string `id` and `body`"),
                })
                .collect::<anyhow::Result<_>>()?,
            None => json
                .as_object()
                .context("expected an object of sha256 hash → document")?
                .iter()
                .map(|(hash, doc)| match doc.as_str() {
                    Some(doc) => Ok((hash.clone(), doc.to_owned())),
                    None => anyhow::bail!("the document of {hash} is not a string"),
                })
                .collect::<anyhow::Result<_>>()?,
        };
        let mut documents = HashMap::with_capacity(pairs.len());
        for (hash, doc) in pairs {
            let hash = hash.to_ascii_lowercase();
            if sha256_hex(&doc) != hash {
                anyhow::bail!("trusted document {hash} does not hash to its name (SHA-256 of its text)");
            }
            documents.insert(hash, doc);
        }
        Ok(Documents::Trusted(documents))
    }

    /// Fills in or checks the request's document.
    pub fn resolve(&self, request: &mut Request) -> Result<(), Refused> {
        let hash = persisted_hash(request)?;
        match self {
            Documents::Trusted(documents) => {
                let hash = hash.unwrap_or_else(|| sha256_hex(&request.query));
                match documents.get(&hash) {
                    Some(doc) if request.query.is_empty() || request.query == *doc => {
                        doc.clone_into(&mut request.query);
                        Ok(())
                    }
                    _ => Err(Refused {
                        error: Box::new(coded(
                            "PERSISTED_QUERY_NOT_FOUND",
                            "This server runs trusted documents only, and this is not one of them".into(),
                        )),
                        always_400: true,
                    }),
                }
            }
            Documents::Automatic(cache) => {
                let Some(hash) = hash else {
                    return Ok(());
                };
                let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
                if request.query.is_empty() {
                    return match cache.get(&hash) {
                        Some(doc) => {
                            doc.clone_into(&mut request.query);
                            Ok(())
                        }
                        // The message Apollo's clients look for.
                        None => Err(request_error(
                            "PERSISTED_QUERY_NOT_FOUND",
                            "PersistedQueryNotFound".into(),
                        )),
                    };
                }
                if sha256_hex(&request.query) != hash {
                    return Err(request_error(
                        "BAD_USER_INPUT",
                        "extensions.persistedQuery.sha256Hash: provided sha does not match query".into(),
                    ));
                }
                cache.insert(hash, request.query.clone());
                Ok(())
            }
        }
    }
}

/// `extensions.persistedQuery.sha256Hash`, lower-cased, when the request names one.
fn persisted_hash(request: &Request) -> Result<Option<String>, Refused> {
    let Some(persisted) = request.extensions.get("persistedQuery") else {
        return Ok(None);
    };
    let Value::Object(fields) = persisted else {
        return Err(request_error(
            "BAD_USER_INPUT",
            "extensions.persistedQuery: expected an object with version and sha256Hash".into(),
        ));
    };
    let version_ok = match fields.get("version") {
        None => true,
        Some(Value::Number(n)) => n.as_u64() == Some(1),
        Some(_) => false,
    };
    if !version_ok {
        return Err(request_error(
            "BAD_USER_INPUT",
            "extensions.persistedQuery.version: only version 1 is supported".into(),
        ));
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash)) if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(Some(hash.to_ascii_lowercase()))
        }
        _ => Err(request_error(
            "BAD_USER_INPUT",
            "extensions.persistedQuery.sha256Hash: expected 64 hex digits (SHA-256 of the document)".into(),
        )),
    }
}

fn coded(code: &str, message: String) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions.get_or_insert_with(Default::default).set("code", code);
    err
}

fn request_error(code: &str, message: String) -> Refused {
    Refused {
        error: Box::new(coded(code, message)),
        always_400: false,
    }
}

/// Lower-case hex SHA-256 of `text`.
pub fn sha256_hex(text: &str) -> String {
    use std::fmt::Write as _;
    Sha256::digest(text.as_bytes())
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// Registered documents by hash, within [`CACHE_BYTES`], oldest evicted first.
#[derive(Default)]
pub struct Cache {
    documents: HashMap<String, String>,
    order: VecDeque<String>,
    bytes: usize,
}

impl Cache {
    fn get(&self, hash: &str) -> Option<&String> {
        self.documents.get(hash)
    }

    fn insert(&mut self, hash: String, doc: String) {
        if self.documents.contains_key(&hash) || doc.len() > CACHE_BYTES {
            return;
        }
        self.bytes += doc.len();
        self.order.push_back(hash.clone());
        self.documents.insert(hash, doc);
        while self.bytes > CACHE_BYTES {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(doc) = self.documents.remove(&oldest) {
                self.bytes -= doc.len();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_hash(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        let persisted = serde_json::json!({ "version": 1, "sha256Hash": hash });
        request
            .extensions
            .0
            .insert("persistedQuery".into(), Value::from_json(persisted).expect("a value"));
        request
    }

    fn code(refused: &Refused) -> String {
        refused
            .error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|c| c.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn the_hash_is_sha256_in_hex() {
        assert_eq!(
            sha256_hex("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }

    #[test]
    fn automatic_persisted_queries_register_then_run_by_hash() {
        let documents = Documents::automatic();
        let query = "{ viewer { userId } }";
        let hash = sha256_hex(query);
        let miss = documents.resolve(&mut with_hash("", &hash)).expect_err("unknown yet");
        assert_eq!(code(&miss), "\"PERSISTED_QUERY_NOT_FOUND\"");
        assert_eq!(miss.error.message, "PersistedQueryNotFound");
        assert!(documents.resolve(&mut with_hash(query, &hash)).is_ok());
        let mut by_hash = with_hash("", &hash);
        assert!(documents.resolve(&mut by_hash).is_ok());
        assert_eq!(by_hash.query, query);
        let wrong = documents
            .resolve(&mut with_hash("{ __typename }", &hash))
            .expect_err("mismatch");
        assert_eq!(code(&wrong), "\"BAD_USER_INPUT\"");
    }

    #[test]
    fn trusted_documents_are_the_only_ones_that_run() {
        let query = "{ viewer { userId } }";
        let hash = sha256_hex(query);
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("trusted.json");
        std::fs::write(&file, serde_json::json!({ hash.clone(): query }).to_string()).expect("write");
        let documents = Documents::trusted_from_file(&file).expect("loads");
        let mut by_hash = with_hash("", &hash);
        assert!(documents.resolve(&mut by_hash).is_ok());
        assert_eq!(by_hash.query, query);
        assert!(
            documents.resolve(&mut Request::new(query)).is_ok(),
            "the same text, sent in full"
        );
        let other = documents
            .resolve(&mut Request::new("{ __typename }"))
            .expect_err("untrusted");
        assert!(other.always_400);
        assert_eq!(code(&other), "\"PERSISTED_QUERY_NOT_FOUND\"");
        let registering = documents
            .resolve(&mut with_hash("{ __typename }", &sha256_hex("{ __typename }")))
            .err();
        assert!(registering.is_some(), "nothing registers in trusted mode");
        // A manifest whose hash is not its document's is refused at start-up.
        std::fs::write(&file, serde_json::json!({ hash: "{ __typename }" }).to_string()).expect("write");
        assert!(Documents::trusted_from_file(&file).is_err());
    }

    #[test]
    fn the_cache_keeps_within_its_bytes() {
        let mut cache = Cache::default();
        let big = "x".repeat(CACHE_BYTES / 3 + 1);
        for i in 0..5 {
            cache.insert(format!("{i}"), big.clone());
        }
        assert!(cache.bytes <= CACHE_BYTES);
        assert!(cache.get("0").is_none() && cache.get("4").is_some());
    }
}
