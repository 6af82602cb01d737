//! S3 (restXml via s3s). STUB: replaced by the S3 work.

use crate::Ctx;
use crate::sqs::Sqs;
use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, Method, StatusCode, Uri};
use std::sync::Arc;

pub struct S3Backend {
    #[allow(dead_code)]
    ctx: Ctx,
    #[allow(dead_code)]
    sqs: Arc<Sqs>,
}

impl S3Backend {
    pub fn new(ctx: Ctx, sqs: Arc<Sqs>) -> Self {
        Self { ctx, sqs }
    }

    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}

#[derive(Clone)]
#[allow(dead_code)]
struct Shared(Arc<S3Backend>);

#[async_trait::async_trait]
impl s3s::S3 for Shared {}

/// The s3s service over the backend, with the emulator's credential table.
pub fn service(backend: Arc<S3Backend>, ctx: &Ctx) -> s3s::service::S3Service {
    let mut b = s3s::service::S3ServiceBuilder::new(Shared(backend));
    b.set_auth(crate::auth::S3Credentials(ctx.config.clone()));
    b.build()
}

/// The S3 operation a request is, for fault targeting (`PutObject`, `GetObject`, ...).
pub fn operation_name(_method: &Method, _uri: &Uri, _headers: &HeaderMap) -> &'static str {
    "Unknown"
}

/// An S3 XML error response (`<Error><Code>..</Code><Message>..</Message></Error>`).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}
