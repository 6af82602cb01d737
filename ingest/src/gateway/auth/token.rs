//! `POST /token`: the OAuth 2.0 client-credentials grant (RFC 6749 §4.4). Parses the
//! form (and optional HTTP Basic client authentication, §2.3.1), authenticates the
//! client against its stored SHA-256, checks the audience and issues an HS256 JWT with
//! the current key. Errors are RFC 6749 §5.2 JSON.

use super::Authenticator;
use super::error::TokenError;
use super::keys::{Sha256Digest, digest_eq, sha256};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::sync::Arc;

/// Largest `/token` body read; a client-credentials form is a few hundred bytes.
const MAX_FORM_BYTES: usize = 8 << 10;

/// The `/token` form. Unknown fields (e.g. `scope`) are ignored; a repeated field is
/// refused (`invalid_request`), as RFC 6749 §3.2 asks. `Debug` redacts the secret.
#[derive(Clone, Default, Deserialize)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub audience: Option<String>,
}

impl fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .field("audience", &self.audience)
            .finish()
    }
}

/// The RFC 6749 §5.1 answer. `Debug` redacts the token.
#[derive(Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
}

impl fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenResponse")
            .field("access_token", &"<redacted>")
            .field("token_type", &self.token_type)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

fn non_empty(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.is_empty())
}

/// Compared against when the client id is unknown, so that an unknown client costs the
/// same hash-and-compare as a wrong secret.
const DUMMY_DIGEST: Sha256Digest = [0x5a; 32];

impl Authenticator {
    /// Answer a client-credentials request: checks `grant_type`, then the client
    /// (unknown client and wrong secret give the same `invalid_client`), then
    /// `audience`; signs with the current (first) key.
    pub fn issue(&self, form: &TokenRequest, now_secs: u64) -> Result<TokenResponse, TokenError> {
        let grant = non_empty(&form.grant_type)
            .ok_or(TokenError::InvalidRequest("grant_type is required"))?;
        if grant != "client_credentials" {
            return Err(TokenError::UnsupportedGrantType);
        }
        let (Some(client_id), Some(secret)) =
            (non_empty(&form.client_id), non_empty(&form.client_secret))
        else {
            return Err(TokenError::InvalidClient);
        };
        let presented = sha256(secret.as_bytes());
        let tenant = match self.tables.clients.get(client_id) {
            Some(c) if digest_eq(&c.secret_sha256, &presented) => c.tenant.clone(),
            Some(_) => return Err(TokenError::InvalidClient),
            None => {
                let _ = std::hint::black_box(digest_eq(&DUMMY_DIGEST, &presented));
                return Err(TokenError::InvalidClient);
            }
        };
        let audience =
            non_empty(&form.audience).ok_or(TokenError::InvalidRequest("audience is required"))?;
        if audience != self.audience {
            return Err(TokenError::InvalidTarget);
        }
        let key = self.tables.keys.first().ok_or(TokenError::ServerError)?;
        let signed = super::jwt::sign(
            key,
            &self.issuer,
            &self.audience,
            &tenant,
            self.token_ttl_secs,
            now_secs,
        )
        .map_err(|_| TokenError::ServerError)?;
        Ok(TokenResponse {
            access_token: signed.token,
            token_type: "Bearer",
            expires_in: signed.expires_in,
        })
    }
}

/// Decode one `application/x-www-form-urlencoded` component (`+` is a space, `%XX` a
/// byte), as RFC 6749 §2.3.1 asks for Basic credentials.
fn form_decode(s: &str) -> Option<String> {
    let mut out = Vec::with_capacity(s.len());
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = (bytes.next()? as char).to_digit(16)?;
                let lo = (bytes.next()? as char).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            _ => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// Credentials from `Authorization: Basic`, if that header is present.
fn basic_credentials(headers: &HeaderMap) -> Result<Option<(String, String)>, TokenError> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(TokenError::InvalidRequest(
            "more than one Authorization header",
        ));
    }
    let value = value.to_str().map_err(|_| TokenError::InvalidClient)?;
    let (scheme, rest) = value.split_once(' ').ok_or(TokenError::InvalidClient)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::InvalidClient);
    }
    let raw = STANDARD
        .decode(rest.trim())
        .map_err(|_| TokenError::InvalidClient)?;
    let raw = String::from_utf8(raw).map_err(|_| TokenError::InvalidClient)?;
    let (id, secret) = raw.split_once(':').ok_or(TokenError::InvalidClient)?;
    match (form_decode(id), form_decode(secret)) {
        (Some(id), Some(secret)) => Ok(Some((id, secret))),
        _ => Err(TokenError::InvalidClient),
    }
}

/// Parse the request into a [`TokenRequest`], merging Basic credentials.
pub(super) fn parse_request(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, TokenError> {
    let form_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(TokenError::InvalidRequest(
            "body must be application/x-www-form-urlencoded",
        ));
    }
    if body.len() > MAX_FORM_BYTES {
        return Err(TokenError::InvalidRequest("request body too large"));
    }
    let mut form: TokenRequest = serde_urlencoded::from_bytes(body)
        .map_err(|_| TokenError::InvalidRequest("malformed or repeated form parameter"))?;
    if let Some((id, secret)) = basic_credentials(headers)? {
        if form.client_secret.is_some() {
            return Err(TokenError::InvalidRequest(
                "use one client authentication method, not two",
            ));
        }
        if form.client_id.as_deref().is_some_and(|f| f != id) {
            return Err(TokenError::InvalidRequest(
                "client_id differs from the Basic credentials",
            ));
        }
        form.client_id = Some(id);
        form.client_secret = Some(secret);
    }
    Ok(form)
}

/// `POST /token` (form-urlencoded). 200 with `{access_token, token_type, expires_in}`
/// and `Cache-Control: no-store`, or an RFC 6749 §5.2 error.
pub async fn token_handler(
    State(auth): State<Arc<Authenticator>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&auth, &headers, &body).unwrap_or_else(|e| e.response())
}

/// `POST /token`: the success answer, or the refusal (whose `reason()` callers count).
pub fn respond(
    auth: &Authenticator,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    let now = crate::gateway::http::now_secs();
    let token = parse_request(headers, body).and_then(|form| auth.issue(&form, now))?;
    Ok((
        StatusCode::OK,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        axum::Json(token),
    )
        .into_response())
}
