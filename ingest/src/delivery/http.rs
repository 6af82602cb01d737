//! HTTP endpoints of a delivery worker: `/metrics` (Prometheus text), `/healthz`,
//! `/readyz` (ready once leases were evaluated and S3 and Kinesis answered).

use super::worker::Worker;
use axum::Router;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::get;
use http::{StatusCode, header};
use std::sync::Arc;

pub fn router(worker: Arc<Worker>) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(worker)
}

async fn metrics(State(w): State<Arc<Worker>>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        w.metrics().render(),
    )
}

async fn readyz(State(w): State<Arc<Worker>>) -> impl IntoResponse {
    if w.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}
