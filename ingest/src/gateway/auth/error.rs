//! The failures of authentication: why a request was refused (internal reason codes the
//! gateway counts in metrics) and the single, hint-free answer a client sees; the
//! configuration errors that stop the gateway from starting.

use axum::response::{IntoResponse, Response};
use http::{StatusCode, header};

/// Why a request's credentials were refused. The variant is for metrics and tests
/// only: every variant answers the same bare 401 ([`Unauthorized::response`]) or the
/// same UNAUTHENTICATED status ([`Unauthorized::status`]), so a client learns nothing
/// about which check failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unauthorized {
    /// No `Authorization` and no `x-api-key` header.
    #[error("no credentials")]
    Missing,
    /// More than one credential (two headers, or a token and an API key): a request
    /// must resolve to exactly one tenant.
    #[error("more than one credential")]
    MultipleCredentials,
    /// An `Authorization` scheme other than `Bearer` or `ApiKey`.
    #[error("unsupported authorization scheme")]
    UnsupportedScheme,
    /// Not a parsable credential: non-ASCII, empty, oversize, not three base64url
    /// segments, header or claims not JSON.
    #[error("malformed credential")]
    Malformed,
    /// The JWT header names an algorithm other than HS256 (`none`, HS384, RS256, ...).
    #[error("algorithm not allowed")]
    BadAlg,
    /// The JWT header carries `crit` (or another extension we do not implement).
    #[error("unsupported JWT header")]
    UnsupportedHeader,
    /// The JWT header has no `kid`.
    #[error("no key id")]
    MissingKid,
    /// The `kid` names no configured signing key (never configured, or rotated out).
    #[error("unknown key id")]
    UnknownKid,
    /// The HMAC does not match (other secret, or header/payload changed after signing).
    #[error("bad signature")]
    BadSignature,
    /// A required claim (`exp`, `nbf`, `aud`, `iss`, `sub`) is absent.
    #[error("required claim missing")]
    MissingClaim,
    /// A claim has the wrong type (e.g. `aud` an array, `exp` a string).
    #[error("claim has the wrong type")]
    BadClaims,
    #[error("token expired")]
    Expired,
    #[error("token not yet valid")]
    NotYetValid,
    /// `iat` lies in the future (beyond the leeway).
    #[error("token issued in the future")]
    IssuedInFuture,
    #[error("wrong audience")]
    WrongAudience,
    #[error("wrong issuer")]
    WrongIssuer,
    /// A valid token whose `sub` is no configured tenant.
    #[error("unknown tenant")]
    UnknownTenant,
    /// An API key whose SHA-256 matches no tenant.
    #[error("bad API key")]
    BadApiKey,
}

impl Unauthorized {
    /// Reason code for metrics (`rejections{reason=...}`). Stable strings.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::MultipleCredentials => "multiple_credentials",
            Self::UnsupportedScheme => "unsupported_scheme",
            Self::Malformed => "malformed",
            Self::BadAlg => "bad_alg",
            Self::UnsupportedHeader => "unsupported_header",
            Self::MissingKid => "missing_kid",
            Self::UnknownKid => "unknown_kid",
            Self::BadSignature => "bad_signature",
            Self::MissingClaim => "missing_claim",
            Self::BadClaims => "bad_claims",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::IssuedInFuture => "issued_in_future",
            Self::WrongAudience => "wrong_audience",
            Self::WrongIssuer => "wrong_issuer",
            Self::UnknownTenant => "unknown_tenant",
            Self::BadApiKey => "bad_api_key",
        }
    }

    /// The HTTP answer: ALWAYS the same bare 401 with `WWW-Authenticate: Bearer`, an
    /// empty body and no hint which check failed, whatever `self` is.
    pub fn response(&self) -> Response {
        (
            StatusCode::UNAUTHORIZED,
            [
                (header::WWW_AUTHENTICATE, "Bearer"),
                (header::CACHE_CONTROL, "no-store"),
            ],
        )
            .into_response()
    }

    /// The gRPC answer: UNAUTHENTICATED with a fixed message, whatever `self` is.
    pub fn status(&self) -> tonic::Status {
        tonic::Status::unauthenticated("unauthenticated")
    }
}

/// A configuration the authenticator refuses to start with. The message names the
/// offending tenant or key id, never a secret.
#[derive(Debug, thiserror::Error)]
#[error("auth config: {0}")]
pub struct AuthConfigError(pub String);

/// A refused `POST /token`, answered as RFC 6749 §5.2 JSON `{error, error_description}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// A required parameter is missing, repeated or malformed, the body is not
    /// form-urlencoded, or the client used two authentication methods at once.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `grant_type` is not `client_credentials`.
    #[error("unsupported_grant_type")]
    UnsupportedGrantType,
    /// Unknown client, wrong secret or no client authentication: one answer for all.
    #[error("invalid_client")]
    InvalidClient,
    /// `audience` is not the gateway's audience (RFC 8707 `invalid_target`).
    #[error("invalid_target")]
    InvalidTarget,
    /// Signing failed (should not happen with a validated config).
    #[error("server_error")]
    ServerError,
}

impl TokenError {
    /// Reason code for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "token_invalid_request",
            Self::UnsupportedGrantType => "token_unsupported_grant_type",
            Self::InvalidClient => "token_invalid_client",
            Self::InvalidTarget => "token_invalid_target",
            Self::ServerError => "token_server_error",
        }
    }

    /// The RFC 6749 §5.2 `error` code.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidClient => "invalid_client",
            Self::InvalidTarget => "invalid_target",
            Self::ServerError => "server_error",
        }
    }

    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::InvalidClient => StatusCode::UNAUTHORIZED,
            Self::ServerError => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn description(&self) -> &'static str {
        match self {
            Self::InvalidRequest(what) => what,
            Self::UnsupportedGrantType => "only grant_type=client_credentials is supported",
            // Deliberately the same text for an unknown client and a wrong secret.
            Self::InvalidClient => "client authentication failed",
            Self::InvalidTarget => "audience is not served here",
            Self::ServerError => "token could not be issued",
        }
    }

    /// The JSON answer (`Cache-Control: no-store` as RFC 6749 §5.1 asks; a 401 also
    /// carries `WWW-Authenticate: Basic` as §5.2 asks).
    pub fn response(&self) -> Response {
        let body = serde_json::json!({
            "error": self.error_code(),
            "error_description": self.description(),
        });
        let mut resp = (
            self.http_status(),
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            axum::Json(body),
        )
            .into_response();
        if *self == Self::InvalidClient {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                http::HeaderValue::from_static("Basic realm=\"token\""),
            );
        }
        resp
    }
}
