//! HTTP endpoints: `POST /v1/query`, `GET /v1/freshness`, `/metrics`, `/healthz`,
//! `/readyz`. Every request but the health probes and `/metrics` is authenticated like
//! the gateway's (same tokens and API keys, same bare 401).

use super::QueryService;
use super::encode::{self, ARROW_STREAM};
use super::exec::{self, QueryFailure};
use crate::gateway::auth::Unauthorized;
use crate::gateway::pipeline::now_ms;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http::{HeaderMap, StatusCode, header};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub fn router(svc: Arc<QueryService>) -> Router {
    Router::new()
        .route("/v1/query", post(query_handler))
        .route("/v1/freshness", get(freshness_handler))
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz_handler))
        .with_state(svc)
        .layer(axum::extract::DefaultBodyLimit::disable())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    pub sql: String,
    #[serde(default)]
    pub dedupe: bool,
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn authenticate(svc: &QueryService, headers: &HeaderMap) -> Result<Arc<str>, Unauthorized> {
    let now = (now_ms() / 1000).max(0) as u64;
    svc.auth.authenticate(headers, now).inspect_err(|e| {
        svc.metrics
            .unauthorized
            .get_or_create(&super::metrics::ReasonLabels { reason: e.reason() })
            .inc();
    })
}

fn wants_arrow(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.split(',').any(|t| t.trim().starts_with(ARROW_STREAM)))
}

async fn query_handler(
    State(svc): State<Arc<QueryService>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let start = Instant::now();
    let tenant = match authenticate(&svc, &headers) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let result = answer(&svc, &tenant, &headers, &body).await;
    let elapsed = start.elapsed().as_secs_f64();
    match result {
        Ok(r) => {
            svc.metrics.query(&tenant, "ok", elapsed);
            r
        }
        Err(f) => {
            svc.metrics.query(&tenant, f.reason(), elapsed);
            f.response()
        }
    }
}

async fn answer(
    svc: &Arc<QueryService>,
    tenant: &Arc<str>,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Response, QueryFailure> {
    let limits = &svc.config.limits;
    if body.len() > limits.max_body_bytes {
        return Err(QueryFailure::Invalid(format!(
            "request body larger than {} bytes",
            limits.max_body_bytes
        )));
    }
    let req: QueryRequest = serde_json::from_slice(body)
        .map_err(|e| QueryFailure::Invalid(format!("request body: {e}")))?;
    let permit = svc.permit(tenant).ok_or(QueryFailure::Busy)?;
    let arrow = wants_arrow(headers);
    let max_rows = limits.max_rows;
    let task_svc = svc.clone();
    let task_tenant = tenant.clone();
    // The query runs in its own task so that a timeout answers at once and aborts it.
    let task = tokio::spawn(async move {
        let _permit = permit;
        let a = exec::execute(
            &task_svc.sessions,
            &task_tenant,
            &req.sql,
            req.dedupe,
            max_rows,
        )
        .await?;
        let body = if arrow {
            encode::arrow_ipc(&a)
        } else {
            encode::json(&a)
        }
        .map_err(|e| QueryFailure::Internal(e.to_string()))?;
        Ok::<_, QueryFailure>((body, a.rows, a.truncated))
    });
    let abort = task.abort_handle();
    let (body, rows, truncated) =
        match tokio::time::timeout(Duration::from_millis(limits.timeout_ms), task).await {
            Ok(Ok(r)) => r?,
            Ok(Err(join)) => return Err(QueryFailure::Internal(join.to_string())),
            Err(_) => {
                abort.abort();
                return Err(QueryFailure::Timeout(limits.timeout_ms));
            }
        };
    let content_type = if arrow {
        ARROW_STREAM
    } else {
        "application/json"
    };
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (
                header::HeaderName::from_static("x-row-count"),
                rows.to_string(),
            ),
            (
                header::HeaderName::from_static("x-truncated"),
                truncated.to_string(),
            ),
        ],
        body,
    )
        .into_response())
}

async fn freshness_handler(State(svc): State<Arc<QueryService>>, headers: HeaderMap) -> Response {
    let tenant = match authenticate(&svc, &headers) {
        Ok(t) => t,
        Err(e) => return e.response(),
    };
    let now = now_ms();
    let newest = svc.catalog.newest_ingest(&tenant);
    let mut shards = serde_json::Map::new();
    let mut worst: Option<i64> = None;
    for (shard, newest_ms) in newest {
        let age = now - newest_ms;
        worst = Some(worst.map_or(age, |w| w.max(age)));
        shards.insert(
            shard,
            serde_json::json!({"newest_ingest_ms": newest_ms, "freshness_ms": age}),
        );
    }
    json(
        StatusCode::OK,
        serde_json::json!({
            "tenant": &*tenant,
            "now_ms": now,
            "worst_ms": worst,
            "shards": shards,
        }),
    )
}

async fn metrics_handler(State(svc): State<Arc<QueryService>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        svc.metrics.render(&svc.catalog),
    )
        .into_response()
}

async fn readyz_handler(State(svc): State<Arc<QueryService>>) -> Response {
    if svc.catalog.is_ready() {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "rebuilding the catalog").into_response()
    }
}
