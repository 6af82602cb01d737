//! Authentication. STUB with the final signatures: replaced by the auth work (see
//! /work/notes/auth-brief.md). Refuses everything.

use super::config::{AuthConfig, TenantConfig};
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, StatusCode};
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unauthorized {
    Missing,
}

impl Unauthorized {
    pub fn reason(&self) -> &'static str {
        "missing"
    }

    pub fn response(&self) -> Response {
        (StatusCode::UNAUTHORIZED, [("www-authenticate", "Bearer")]).into_response()
    }

    pub fn status(&self) -> tonic::Status {
        tonic::Status::unauthenticated("unauthenticated")
    }
}

#[derive(Debug, thiserror::Error)]
#[error("auth config: {0}")]
pub struct AuthConfigError(pub String);

pub struct Authenticator {}

impl Authenticator {
    pub fn new(_auth: &AuthConfig, _tenants: &[TenantConfig]) -> Result<Self, AuthConfigError> {
        Ok(Self {})
    }

    pub fn authenticate(
        &self,
        _headers: &HeaderMap,
        _now_secs: u64,
    ) -> Result<Arc<str>, Unauthorized> {
        Err(Unauthorized::Missing)
    }

    pub fn authenticate_grpc(
        &self,
        _metadata: &tonic::metadata::MetadataMap,
        _now_secs: u64,
    ) -> Result<Arc<str>, Unauthorized> {
        Err(Unauthorized::Missing)
    }
}

pub async fn token_handler(
    axum::extract::State(_auth): axum::extract::State<Arc<Authenticator>>,
    _headers: HeaderMap,
    _body: bytes::Bytes,
) -> Response {
    (StatusCode::UNAUTHORIZED, "{\"error\":\"invalid_client\"}").into_response()
}
