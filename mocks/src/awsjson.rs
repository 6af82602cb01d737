//! The awsJson 1.0 / 1.1 protocols shared by Kinesis and SQS: content types, success
//! bodies and AWS's error shape (`{"__type": ..., "message": ...}` plus
//! `x-amzn-ErrorType`), so SDKs map every error to its modeled type.

use axum::body::Body;
use axum::response::Response;
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// SQS.
    Json10,
    /// Kinesis.
    Json11,
}

impl Protocol {
    pub fn content_type(self) -> &'static str {
        match self {
            Protocol::Json10 => "application/x-amz-json-1.0",
            Protocol::Json11 => "application/x-amz-json-1.1",
        }
    }
}

/// An error as a JSON service answers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub status: StatusCode,
    /// The modeled error name, e.g. `ResourceNotFoundException`.
    pub code: String,
    pub message: String,
    /// SQS also sends its legacy query error code (`x-amzn-query-error`).
    pub query_code: Option<String>,
}

impl JsonError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
            query_code: None,
        }
    }

    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn with_query_code(mut self, code: impl Into<String>) -> Self {
        self.query_code = Some(code.into());
        self
    }

    pub fn into_response(self, protocol: Protocol) -> Response {
        #[derive(Serialize)]
        struct Shape<'a> {
            #[serde(rename = "__type")]
            ty: &'a str,
            message: &'a str,
        }
        let body = serde_json::to_vec(&Shape {
            ty: &self.code,
            message: &self.message,
        })
        .unwrap_or_default();
        let mut resp = raw(protocol, self.status, body);
        if let Ok(v) = HeaderValue::from_str(&self.code) {
            resp.headers_mut().insert("x-amzn-errortype", v);
        }
        if let Some(q) = self
            .query_code
            .as_deref()
            .and_then(|q| HeaderValue::from_str(q).ok())
        {
            resp.headers_mut().insert("x-amzn-query-error", q);
        }
        resp
    }
}

/// A 200 with a JSON body serialized from `value`.
pub fn ok<T: Serialize>(protocol: Protocol, value: &T) -> Response {
    match serde_json::to_vec(value) {
        Ok(body) => raw(protocol, StatusCode::OK, body),
        Err(e) => JsonError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            format!("response serialization failed: {e}"),
        )
        .into_response(protocol),
    }
}

/// A response with an already serialized body (hot paths write their JSON by hand).
pub fn raw(protocol: Protocol, status: StatusCode, body: impl Into<Body>) -> Response {
    let mut resp = Response::new(body.into());
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(protocol.content_type()),
    );
    resp.headers_mut().insert("x-amzn-requestid", request_id());
    resp
}

/// A request id shaped like AWS's (a UUID), unique per process: a counter, not a
/// random draw, so the hot path makes no system call for it.
fn request_id() -> HeaderValue {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let id = format!("00000000-0000-4000-8000-{:012x}", n & 0xffff_ffff_ffff);
    HeaderValue::from_str(&id).unwrap_or(HeaderValue::from_static("0"))
}

/// Parses a request body, mapping malformed JSON and wrong types to AWS's
/// SerializationException as the real services do.
pub fn parse<'a, T: serde::Deserialize<'a>>(body: &'a [u8]) -> Result<T, JsonError> {
    let body = if body.is_empty() {
        b"{}".as_slice()
    } else {
        body
    };
    serde_json::from_slice(body).map_err(|e| {
        let text = e.to_string();
        if e.is_data() && text.starts_with("missing field") {
            // AWS validates required members after parsing.
            JsonError::bad_request(
                "ValidationException",
                format!("1 validation error detected: {text}: Member must not be null"),
            )
        } else if e.is_data() {
            JsonError::bad_request("SerializationException", text)
        } else {
            JsonError::bad_request(
                "SerializationException",
                format!("Malformed request body: {e}"),
            )
        }
    })
}
