//! HS256 JWTs: verifying a presented bearer token (alg pinned, kid → key, signature,
//! claims against the caller's clock) and signing the tokens `POST /token` issues.
//!
//! How jsonwebtoken 11 treats `alg`: `decode` parses the header, refuses it unless
//! `header.alg` is in `Validation::algorithms`, then builds a verifier for the
//! HEADER's alg and checks that every allowed algorithm is of that verifier's family.
//! So the header does choose the verifier, bounded by `Validation::algorithms`. We pin
//! it twice: our own header check refuses any `alg` other than the exact string
//! `"HS256"` (this is also where `alg: none` lands, which jsonwebtoken cannot even
//! parse), and `Validation::algorithms` is exactly `[HS256]` with HMAC-only
//! `DecodingKey`s, so an RS256 header "verified" with the HMAC secret as public key is
//! refused by the library too.
//!
//! jsonwebtoken's own `exp`/`nbf` checks read the system clock; the gateway passes its
//! clock in (`now_secs`), so those two are checked here instead (the library still
//! enforces their presence, `aud` and `iss`).

use super::error::Unauthorized;
use super::keys::Key;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp`, `nbf` and `iat`: at most 5 seconds. A token is
/// expired once `now >= exp + 5`, not yet valid while `now + 5 < nbf`.
pub const LEEWAY_SECS: u64 = 5;

/// Longest bearer token looked at; ours are about 400 bytes.
const MAX_TOKEN_BYTES: usize = 4096;

/// The claims a presented token is checked against. Every field is optional here so
/// that an absent claim is reported as `missing_claim` by the library's required-claims
/// check rather than as a parse error; a claim of the wrong type (an `aud` array, a
/// string `exp`) is `bad_claims`.
#[derive(Deserialize)]
struct Claims {
    sub: Option<String>,
    exp: Option<u64>,
    nbf: Option<u64>,
    iat: Option<u64>,
    /// A single string (an array is `bad_claims`), compared by the library and again here.
    aud: Option<String>,
    iss: Option<String>,
}

/// The claims of an issued token.
#[derive(Serialize)]
struct IssuedClaims<'a> {
    iss: &'a str,
    aud: &'a str,
    sub: &'a str,
    iat: u64,
    nbf: u64,
    exp: u64,
    jti: String,
}

/// The library-side validation: HS256 only, `exp`/`nbf`/`aud`/`iss`/`sub` required,
/// `aud`/`iss` compared; time checks done by [`verify`] with the caller's clock.
pub(super) fn validation(issuer: &str, audience: &str) -> Validation {
    let mut v = Validation::new(Algorithm::HS256);
    v.algorithms = vec![Algorithm::HS256];
    v.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.leeway = 0;
    v.validate_aud = true;
    v.set_audience(&[audience]);
    v.set_issuer(&[issuer]);
    v
}

fn is_b64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Check the JOSE header ourselves before the library sees the token: exactly HS256, no
/// `crit`, a `kid` naming a configured key. Returns that key.
fn pick_key<'k>(header_b64: &str, keys: &'k [Key]) -> Result<&'k Key, Unauthorized> {
    let raw = URL_SAFE_NO_PAD
        .decode(header_b64)
        .map_err(|_| Unauthorized::Malformed)?;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&raw).map_err(|_| Unauthorized::Malformed)?;
    match header.get("alg").and_then(|a| a.as_str()) {
        Some("HS256") => {}
        _ => return Err(Unauthorized::BadAlg),
    }
    if header.contains_key("crit") || header.contains_key("b64") || header.contains_key("zip") {
        return Err(Unauthorized::UnsupportedHeader);
    }
    let kid = match header.get("kid") {
        None => return Err(Unauthorized::MissingKid),
        Some(serde_json::Value::String(kid)) => kid,
        Some(_) => return Err(Unauthorized::Malformed),
    };
    keys.iter()
        .find(|k| k.kid == *kid)
        .ok_or(Unauthorized::UnknownKid)
}

fn map_library_error(kind: &ErrorKind) -> Unauthorized {
    match kind {
        ErrorKind::InvalidSignature => Unauthorized::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => Unauthorized::BadAlg,
        ErrorKind::InvalidAudience => Unauthorized::WrongAudience,
        ErrorKind::InvalidIssuer => Unauthorized::WrongIssuer,
        ErrorKind::MissingRequiredClaim(_) => Unauthorized::MissingClaim,
        ErrorKind::InvalidClaimFormat(_) | ErrorKind::Json(_) => Unauthorized::BadClaims,
        ErrorKind::ExpiredSignature => Unauthorized::Expired,
        ErrorKind::ImmatureSignature => Unauthorized::NotYetValid,
        _ => Unauthorized::Malformed,
    }
}

/// What a presented token is checked against.
pub(super) struct Expect<'a> {
    pub keys: &'a [Key],
    pub validation: &'a Validation,
    pub issuer: &'a str,
    pub audience: &'a str,
}

/// Verify a bearer token and return its `sub` (not yet resolved to a tenant).
pub(super) fn verify(
    token: &str,
    expect: &Expect<'_>,
    now_secs: u64,
) -> Result<String, Unauthorized> {
    if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
        return Err(Unauthorized::Malformed);
    }
    let mut parts = token.split('.');
    let (Some(header_b64), Some(payload_b64), Some(sig_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Unauthorized::Malformed);
    };
    if !(is_b64url(header_b64) && is_b64url(payload_b64) && is_b64url(sig_b64)) {
        return Err(Unauthorized::Malformed);
    }
    let key = pick_key(header_b64, expect.keys)?;
    if sig_b64.is_empty() {
        // `alg: none`-style stripped signature under an HS256 header.
        return Err(Unauthorized::BadSignature);
    }

    let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, expect.validation)
        .map_err(|e| map_library_error(e.kind()))?;
    // Belt and braces: the verified header must still say HS256.
    if data.header.alg != Algorithm::HS256 {
        return Err(Unauthorized::BadAlg);
    }
    let c = data.claims;
    let (Some(exp), Some(nbf), Some(sub), Some(aud), Some(iss)) =
        (c.exp, c.nbf, c.sub, c.aud, c.iss)
    else {
        return Err(Unauthorized::MissingClaim);
    };
    if iss != expect.issuer {
        return Err(Unauthorized::WrongIssuer);
    }
    if aud != expect.audience {
        return Err(Unauthorized::WrongAudience);
    }
    if now_secs >= exp.saturating_add(LEEWAY_SECS) {
        return Err(Unauthorized::Expired);
    }
    if nbf > now_secs.saturating_add(LEEWAY_SECS) {
        return Err(Unauthorized::NotYetValid);
    }
    if c.iat
        .is_some_and(|iat| iat > now_secs.saturating_add(LEEWAY_SECS))
    {
        return Err(Unauthorized::IssuedInFuture);
    }
    Ok(sub)
}

/// An issued token with its lifetime.
pub(super) struct Signed {
    pub token: String,
    pub expires_in: u64,
}

/// Sign an HS256 token for `tenant` with `key`: `iat = nbf = now`, `exp = now + ttl`,
/// a random 128-bit `jti` (from the OS-seeded thread RNG: it must be unpredictable,
/// so it is deliberately not from a replayable seed).
pub(super) fn sign(
    key: &Key,
    issuer: &str,
    audience: &str,
    tenant: &str,
    ttl_secs: u64,
    now_secs: u64,
) -> Result<Signed, jsonwebtoken::errors::Error> {
    let mut header = Header::new(Algorithm::HS256);
    header.kid = Some(key.kid.clone());
    header.typ = Some("JWT".into());
    let jti: [u8; 16] = rand::random();
    let claims = IssuedClaims {
        iss: issuer,
        aud: audience,
        sub: tenant,
        iat: now_secs,
        nbf: now_secs,
        exp: now_secs.saturating_add(ttl_secs),
        jti: hex::encode(jti),
    };
    let token = jsonwebtoken::encode(&header, &claims, &key.encoding)?;
    Ok(Signed {
        token,
        expires_in: ttl_secs,
    })
}
