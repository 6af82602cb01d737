//! HTTP endpoints: `/api/v1/write`, `/v1/metrics`, `/v1/events`, `/token`, `/metrics`,
//! `/healthz`, `/readyz`; the OTLP gRPC service is mounted beside them.

use super::Gateway;
use super::inputs::encoding::{self, EncodingError};
use super::inputs::{events, otlp, remote_write};
use super::pipeline::Failure;
use super::quota::retry_after_secs;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsPartialSuccess, ExportMetricsServiceResponse,
};
use std::sync::Arc;
use std::time::Instant;

pub fn router(gw: Arc<Gateway>) -> Router {
    let grpc = tonic::service::Routes::new(super::grpc::service(gw.clone())).into_axum_router();
    Router::new()
        .route("/api/v1/write", post(remote_write_handler))
        .route("/v1/metrics", post(otlp_http_handler))
        .route("/v1/events", post(events_handler))
        .route("/token", post(token_handler))
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz_handler))
        .with_state(gw)
        .merge(grpc)
        .layer(axum::extract::DefaultBodyLimit::disable())
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The HTTP answer to a failure, with Retry-After where retrying helps.
pub fn failure_response(f: &Failure) -> Response {
    match f {
        Failure::Invalid { reason, detail } => json(
            StatusCode::BAD_REQUEST,
            serde_json::json!({"error": reason, "detail": detail}),
        ),
        Failure::TooLarge { bucket } => json(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({"error": "too_large_for_quota", "detail": format!("the request needs more {bucket} than the tenant's quota can ever hold; split it")}),
        ),
        Failure::Quota { retry_after } | Failure::Unavailable { retry_after } => {
            let (status, error) = match f {
                Failure::Quota { .. } => (StatusCode::TOO_MANY_REQUESTS, "quota_exceeded"),
                _ => (StatusCode::SERVICE_UNAVAILABLE, "backpressure"),
            };
            let ms = retry_after.as_millis() as u64;
            let mut r = json(
                status,
                serde_json::json!({"error": error, "retry_after_ms": ms}),
            );
            let h = r.headers_mut();
            h.insert(
                header::RETRY_AFTER,
                HeaderValue::from(retry_after_secs(*retry_after)),
            );
            h.insert("x-retry-after-ms", HeaderValue::from(ms));
            r
        }
    }
}

fn bad(reason: &'static str, detail: impl Into<String>) -> Failure {
    Failure::Invalid {
        reason,
        detail: detail.into(),
    }
}

/// Auth, body size and timing shared by the ingest endpoints.
async fn guarded<F, Fut>(
    gw: &Gateway,
    endpoint: &'static str,
    headers: &HeaderMap,
    body: &Bytes,
    f: F,
) -> Response
where
    F: FnOnce(Arc<str>) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let start = Instant::now();
    let tenant = match gw.auth.authenticate(headers, now_secs()) {
        Ok(t) => t,
        Err(e) => {
            gw.metrics.reject("-", e.reason(), 1);
            gw.metrics
                .request("-", endpoint, 401, start.elapsed().as_secs_f64());
            return e.response();
        }
    };
    let admission = gw.writer.admit();
    let resp = if body.len() > gw.config.limits.max_body_bytes {
        gw.metrics.reject(&tenant, "body_too_large", 1);
        json(
            StatusCode::PAYLOAD_TOO_LARGE,
            serde_json::json!({"error": "body_too_large", "limit": gw.config.limits.max_body_bytes}),
        )
    } else if let Err(e) = &admission {
        gw.metrics.reject(&tenant, e.reason(), 1);
        failure_response(&Failure::Unavailable {
            retry_after: e.retry_after(),
        })
    } else {
        f(tenant.clone()).await
    };
    drop(admission);
    gw.metrics.request(
        &tenant,
        endpoint,
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

fn content_encoding(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The body after its Content-Encoding (gzip or identity); a refusal is counted.
fn decompress(
    gw: &Gateway,
    tenant: &str,
    encoding: Option<&str>,
    body: Bytes,
) -> Result<Bytes, EncodingError> {
    encoding::decode(encoding, body, gw.config.limits.max_decompressed_bytes).inspect_err(|e| {
        gw.metrics.reject(tenant, e.reason(), 1);
    })
}

fn encoding_response(e: &EncodingError) -> Response {
    let status = match e {
        EncodingError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        EncodingError::Unsupported(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
        EncodingError::BadGzip => StatusCode::BAD_REQUEST,
    };
    json(
        status,
        serde_json::json!({"error": e.reason(), "detail": e.to_string()}),
    )
}

pub fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

async fn remote_write_handler(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (g, b) = (gw.clone(), body.clone());
    guarded(&g, "remote_write", &headers, &b, |tenant| async move {
        let series = remote_write::decode(&body, gw.config.limits.max_decompressed_bytes)
            .and_then(remote_write::to_series);
        let series = match series {
            Ok(s) => s,
            Err(e) => {
                gw.metrics.reject(&tenant, e.reason(), 1);
                let status = if matches!(e, remote_write::DecodeError::TooLarge(_)) {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                return json(
                    status,
                    serde_json::json!({"error": e.reason(), "detail": e.to_string()}),
                );
            }
        };
        let r = gw.ingest_series(&tenant, series, body.len(), true).await;
        match r.failure {
            Some(f) => failure_response(&f),
            None => StatusCode::NO_CONTENT.into_response(),
        }
    })
    .await
}

async fn otlp_http_handler(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"));
    let encoding = content_encoding(&headers);
    let (g, b) = (gw.clone(), body.clone());
    guarded(&g, "otlp_http", &headers, &b, |tenant| async move {
        let body = match decompress(&gw, &tenant, encoding.as_deref(), body) {
            Ok(b) => b,
            Err(e) => return encoding_response(&e),
        };
        let req = if is_json {
            otlp::decode_json(&body)
        } else {
            otlp::decode_protobuf(&body)
        };
        let req = match req {
            Ok(r) => r,
            Err(detail) => {
                gw.metrics.reject(&tenant, "bad_schema", 1);
                return failure_response(&bad("bad_schema", detail));
            }
        };
        let (accepted, rejected, message, failure) = gw.ingest_otlp(&tenant, req, body.len()).await;
        let _ = accepted;
        if let Some(f) = failure {
            return failure_response(&f);
        }
        let resp = ExportMetricsServiceResponse {
            partial_success: (rejected > 0).then_some(ExportMetricsPartialSuccess {
                rejected_data_points: rejected as i64,
                error_message: message,
            }),
        };
        if is_json {
            match serde_json::to_string(&resp) {
                Ok(s) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/json")],
                    s,
                )
                    .into_response(),
                Err(_) => StatusCode::OK.into_response(),
            }
        } else {
            (
                StatusCode::OK,
                [(header::CONTENT_TYPE, "application/x-protobuf")],
                prost::Message::encode_to_vec(&resp),
            )
                .into_response()
        }
    })
    .await
}

async fn events_handler(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (g, b) = (gw.clone(), body.clone());
    let encoding = content_encoding(&headers);
    guarded(&g, "events", &headers, &b, |tenant| async move {
        let body = match decompress(&gw, &tenant, encoding.as_deref(), body) {
            Ok(b) => b,
            Err(e) => return encoding_response(&e),
        };
        let limits = &gw.config.limits;
        let parsed =
            match events::parse(&body, limits.max_events_per_request, limits.max_event_bytes) {
                Ok(p) => p,
                Err(e) => {
                    gw.metrics.reject(&tenant, e.reason(), 1);
                    return failure_response(&bad(e.reason(), e.to_string()));
                }
            };
        let (outcomes, failure) = gw.ingest_events(&tenant, parsed, body.len()).await;
        match failure {
            Some(f) => failure_response(&f),
            None => json(StatusCode::OK, events::response_body(&outcomes)),
        }
    })
    .await
}

/// `POST /token`, with every refusal counted by reason.
async fn token_handler(
    State(gw): State<Arc<Gateway>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let resp = super::auth::token_respond(&gw.auth, &headers, &body).unwrap_or_else(|e| {
        gw.metrics.reject("-", e.reason(), 1);
        e.response()
    });
    gw.metrics.request(
        "-",
        "token",
        resp.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    resp
}

async fn metrics_handler(State(gw): State<Arc<Gateway>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        gw.metrics.render(&gw.writer.stats),
    )
        .into_response()
}

async fn readyz_handler(State(gw): State<Arc<Gateway>>) -> Response {
    if gw.writer.sink().ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "kinesis unreachable").into_response()
    }
}
