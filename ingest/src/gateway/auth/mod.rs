//! Gateway authentication: resolves a request's credentials (an HS256 bearer JWT or an
//! API key, over HTTP headers or gRPC metadata) to exactly one tenant, and issues
//! tokens on `POST /token` (OAuth 2.0 client credentials). Every refusal carries an
//! internal reason code for metrics and the same hint-free 401 / UNAUTHENTICATED
//! outside. Secrets (signing keys, client secrets, API keys, tokens) never appear in
//! `Debug` output or logs.
//!
//! Accepted credentials:
//! - `Authorization: Bearer <jwt>`: HS256 only; `kid` required and must name a
//!   configured key (current or previous, so a secret can rotate); signature; `exp` and
//!   `nbf` required; `iat` (if present) not in the future; `aud` and `iss` equal to the
//!   configured ones; `sub` a configured tenant. Leeway on times: [`LEEWAY_SECS`] (5 s).
//! - `x-api-key: <key>` or `Authorization: ApiKey <key>`: the SHA-256 of the key is
//!   looked up among the tenants' `api_key_sha256` (keys are never stored in clear).
//!
//! More than one credential in one request is refused.

mod error;
mod jwt;
mod keys;
mod token;

#[cfg(test)]
mod tests;

pub use error::{AuthConfigError, TokenError, Unauthorized};
pub use jwt::LEEWAY_SECS;
pub use token::{TokenRequest, TokenResponse, respond as token_respond, token_handler};

use super::config::{AuthConfig, TenantConfig};
use http::HeaderMap;
use jsonwebtoken::Validation;
use std::fmt;
use std::sync::Arc;

/// Longest API key looked at.
const MAX_API_KEY_BYTES: usize = 512;

/// Checks credentials and issues tokens; built once from config, shared by the HTTP
/// and gRPC servers.
pub struct Authenticator {
    tables: keys::Tables,
    validation: Validation,
    issuer: String,
    audience: String,
    token_ttl_secs: u64,
}

impl fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kids: Vec<&str> = self.tables.keys.iter().map(|k| k.kid.as_str()).collect();
        f.debug_struct("Authenticator")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("token_ttl_secs", &self.token_ttl_secs)
            .field("kids", &kids)
            .field("tenants", &self.tables.tenants.len())
            .field("clients", &self.tables.clients.len())
            .field("api_keys", &self.tables.api_keys.len())
            .finish()
    }
}

/// One presented credential.
enum Credential<'a> {
    Bearer(&'a str),
    ApiKey(&'a str),
}

fn header_text(v: &[u8]) -> Result<&str, Unauthorized> {
    let s = std::str::from_utf8(v).map_err(|_| Unauthorized::Malformed)?;
    if !s
        .bytes()
        .all(|b| b == b' ' || b == b'\t' || b.is_ascii_graphic())
    {
        return Err(Unauthorized::Malformed);
    }
    let s = s.trim();
    if s.is_empty() {
        return Err(Unauthorized::Malformed);
    }
    Ok(s)
}

fn parse_authorization(value: &[u8]) -> Result<Credential<'_>, Unauthorized> {
    let s = header_text(value)?;
    let Some((scheme, rest)) = s.split_once([' ', '\t']) else {
        return Err(
            if s.eq_ignore_ascii_case("bearer") || s.eq_ignore_ascii_case("apikey") {
                Unauthorized::Malformed
            } else {
                Unauthorized::UnsupportedScheme
            },
        );
    };
    let rest = rest.trim();
    if rest.is_empty() || rest.contains([' ', '\t']) {
        return Err(Unauthorized::Malformed);
    }
    // RFC 9110 §11.1: the scheme is case-insensitive.
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Credential::Bearer(rest))
    } else if scheme.eq_ignore_ascii_case("apikey") {
        Ok(Credential::ApiKey(rest))
    } else {
        Err(Unauthorized::UnsupportedScheme)
    }
}

/// Exactly one credential from the `authorization` and `x-api-key` values.
fn credential<'a>(
    authorization: impl Iterator<Item = &'a [u8]>,
    api_key: impl Iterator<Item = &'a [u8]>,
) -> Result<Credential<'a>, Unauthorized> {
    let mut found = None;
    for v in authorization {
        if found.replace(parse_authorization(v)?).is_some() {
            return Err(Unauthorized::MultipleCredentials);
        }
    }
    for v in api_key {
        let key = header_text(v)?;
        if found.replace(Credential::ApiKey(key)).is_some() {
            return Err(Unauthorized::MultipleCredentials);
        }
    }
    found.ok_or(Unauthorized::Missing)
}

impl Authenticator {
    /// Build from config. Refuses: no signing keys, an empty or duplicate kid, an empty
    /// or short (< 32 bytes, RFC 7518 §3.2) secret, an empty issuer or audience, a
    /// `token_ttl_secs` of 0 or over a day, an empty or duplicate tenant id, a duplicate
    /// `client_id`, a `client_id` without `client_secret_sha256` (or the reverse), a
    /// digest that is not 64 hex digits, an API-key hash listed twice (in particular one
    /// shared by two tenants).
    pub fn new(auth: &AuthConfig, tenants: &[TenantConfig]) -> Result<Self, AuthConfigError> {
        let tables = keys::build(auth, tenants)?;
        Ok(Self {
            tables,
            validation: jwt::validation(&auth.issuer, &auth.audience),
            issuer: auth.issuer.clone(),
            audience: auth.audience.clone(),
            token_ttl_secs: auth.token_ttl_secs,
        })
    }

    /// The tenant behind an HTTP request's `Authorization` / `x-api-key` header, at time
    /// `now_secs` (Unix seconds).
    pub fn authenticate(
        &self,
        headers: &HeaderMap,
        now_secs: u64,
    ) -> Result<Arc<str>, Unauthorized> {
        let c = credential(
            headers
                .get_all(http::header::AUTHORIZATION)
                .iter()
                .map(|v| v.as_bytes()),
            headers.get_all("x-api-key").iter().map(|v| v.as_bytes()),
        )?;
        self.resolve(c, now_secs)
    }

    /// The same for a gRPC call's `authorization` / `x-api-key` metadata.
    pub fn authenticate_grpc(
        &self,
        metadata: &tonic::metadata::MetadataMap,
        now_secs: u64,
    ) -> Result<Arc<str>, Unauthorized> {
        let c = credential(
            metadata
                .get_all("authorization")
                .iter()
                .map(|v| v.as_encoded_bytes()),
            metadata
                .get_all("x-api-key")
                .iter()
                .map(|v| v.as_encoded_bytes()),
        )?;
        self.resolve(c, now_secs)
    }

    fn resolve(&self, c: Credential<'_>, now_secs: u64) -> Result<Arc<str>, Unauthorized> {
        match c {
            Credential::Bearer(token) => {
                let expect = jwt::Expect {
                    keys: &self.tables.keys,
                    validation: &self.validation,
                    issuer: &self.issuer,
                    audience: &self.audience,
                };
                let sub = jwt::verify(token, &expect, now_secs)?;
                self.tables
                    .tenants
                    .get(&sub)
                    .cloned()
                    .ok_or(Unauthorized::UnknownTenant)
            }
            Credential::ApiKey(key) => {
                if key.len() > MAX_API_KEY_BYTES {
                    return Err(Unauthorized::Malformed);
                }
                let presented = keys::sha256(key.as_bytes());
                match self.tables.api_keys.get_key_value(&presented) {
                    Some((stored, tenant)) if keys::digest_eq(stored, &presented) => {
                        Ok(tenant.clone())
                    }
                    _ => Err(Unauthorized::BadApiKey),
                }
            }
        }
    }
}
