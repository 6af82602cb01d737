//! Credential tables built once from configuration: the HS256 key ring (current key
//! first, previous keys still accepted), the tenants by id, OAuth clients by id and API
//! keys by SHA-256. Owns the config checks that refuse an unsafe or ambiguous setup and
//! the constant-time digest comparison.

use super::error::AuthConfigError;
use crate::gateway::config::{AuthConfig, TenantConfig};
use jsonwebtoken::{DecodingKey, EncodingKey};
use sha2::{Digest, Sha256};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;
use subtle::ConstantTimeEq;

/// RFC 7518 §3.2: an HS256 key MUST be at least as long as the hash output (256 bits).
pub(super) const MIN_SECRET_BYTES: usize = 32;

/// Upper bound for `token_ttl_secs` (one day): longer-lived bearer tokens are refused.
pub(super) const MAX_TOKEN_TTL_SECS: u64 = 24 * 60 * 60;

pub(super) type Sha256Digest = [u8; 32];

pub(super) fn sha256(data: &[u8]) -> Sha256Digest {
    Sha256::digest(data).into()
}

/// Constant-time equality of two digests.
pub(super) fn digest_eq(a: &Sha256Digest, b: &Sha256Digest) -> bool {
    a.ct_eq(b).into()
}

/// One HS256 signing key. The secret only lives inside the jsonwebtoken key types
/// (which zeroize on drop and redact their Debug); `Debug` here shows the kid only.
pub(super) struct Key {
    pub kid: String,
    pub encoding: EncodingKey,
    pub decoding: DecodingKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// An OAuth client (`POST /token`).
pub(super) struct Client {
    pub tenant: Arc<str>,
    pub secret_sha256: Sha256Digest,
}

/// Everything the authenticator looks up, validated.
pub(super) struct Tables {
    /// Current key first.
    pub keys: Vec<Key>,
    pub tenants: HashMap<String, Arc<str>>,
    pub clients: HashMap<String, Client>,
    pub api_keys: HashMap<Sha256Digest, Arc<str>>,
}

fn err(msg: impl Into<String>) -> AuthConfigError {
    AuthConfigError(msg.into())
}

/// Parse a 64-hex-digit SHA-256 digest (either case).
fn parse_digest(hex_digest: &str, what: &str) -> Result<Sha256Digest, AuthConfigError> {
    let mut out = [0u8; 32];
    if hex_digest.len() != 64 {
        return Err(err(format!(
            "{what}: expected 64 hex digits (SHA-256), got {} characters",
            hex_digest.len()
        )));
    }
    hex::decode_to_slice(hex_digest, &mut out)
        .map_err(|_| err(format!("{what}: not a hex SHA-256 digest")))?;
    Ok(out)
}

fn build_keys(auth: &AuthConfig) -> Result<Vec<Key>, AuthConfigError> {
    if auth.keys.is_empty() {
        return Err(err("no signing keys ([[auth.keys]] with kid and secret)"));
    }
    let mut seen = HashSet::new();
    let mut keys = Vec::with_capacity(auth.keys.len());
    for k in &auth.keys {
        if k.kid.is_empty() {
            return Err(err("a signing key has an empty kid"));
        }
        if !seen.insert(k.kid.as_str()) {
            return Err(err(format!("duplicate signing key id {:?}", k.kid)));
        }
        let secret = k.secret.expose().as_bytes();
        if secret.is_empty() {
            return Err(err(format!("signing key {:?} has an empty secret", k.kid)));
        }
        if secret.len() < MIN_SECRET_BYTES {
            return Err(err(format!(
                "signing key {:?}: secret shorter than {MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)",
                k.kid
            )));
        }
        keys.push(Key {
            kid: k.kid.clone(),
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        });
    }
    Ok(keys)
}

pub(super) fn build(
    auth: &AuthConfig,
    tenants: &[TenantConfig],
) -> Result<Tables, AuthConfigError> {
    if auth.issuer.is_empty() {
        return Err(err("auth.issuer is empty"));
    }
    if auth.audience.is_empty() {
        return Err(err("auth.audience is empty"));
    }
    if auth.token_ttl_secs == 0 || auth.token_ttl_secs > MAX_TOKEN_TTL_SECS {
        return Err(err(format!(
            "auth.token_ttl_secs must be between 1 and {MAX_TOKEN_TTL_SECS}"
        )));
    }
    let keys = build_keys(auth)?;

    let mut by_id = HashMap::new();
    let mut clients = HashMap::new();
    let mut api_keys: HashMap<Sha256Digest, Arc<str>> = HashMap::new();
    for t in tenants {
        if t.id.is_empty() {
            return Err(err("a tenant has an empty id"));
        }
        let id: Arc<str> = Arc::from(t.id.as_str());
        if by_id.insert(t.id.clone(), id.clone()).is_some() {
            return Err(err(format!("duplicate tenant id {:?}", t.id)));
        }
        match (&t.client_id, &t.client_secret_sha256) {
            (None, None) => {}
            (Some(cid), Some(hash)) => {
                if cid.is_empty() {
                    return Err(err(format!("tenant {:?}: empty client_id", t.id)));
                }
                let what = format!("tenant {:?} client_secret_sha256", t.id);
                let secret_sha256 = parse_digest(hash, &what)?;
                let client = Client {
                    tenant: id.clone(),
                    secret_sha256,
                };
                if clients.insert(cid.clone(), client).is_some() {
                    return Err(err(format!("duplicate client_id {cid:?}")));
                }
            }
            _ => {
                return Err(err(format!(
                    "tenant {:?}: client_id and client_secret_sha256 go together",
                    t.id
                )));
            }
        }
        for (i, hash) in t.api_key_sha256.iter().enumerate() {
            let what = format!("tenant {:?} api_key_sha256[{i}]", t.id);
            let digest = parse_digest(hash, &what)?;
            if let Some(other) = api_keys.insert(digest, id.clone()) {
                return Err(err(if other == id {
                    format!("tenant {:?} lists the same API-key hash twice", t.id)
                } else {
                    format!(
                        "an API-key hash is shared by tenants {other:?} and {:?}",
                        t.id
                    )
                }));
            }
        }
    }
    Ok(Tables {
        keys,
        tenants: by_id,
        clients,
        api_keys,
    })
}
