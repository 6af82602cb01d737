//! Canary probes against stubs: a gateway stub that remembers when each marker arrived
//! and a query-service stub that shows a marker only 300 ms after it arrived. Every
//! tenant × shard canary is sent, becomes visible, and freshness is at least that delay.

use super::fixture::{key_tenant, serve, spec, target};
use axum::Json;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Seen = Arc<Mutex<Vec<(u64, Instant)>>>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_canary_becomes_visible_and_freshness_is_what_a_user_waits() {
    let seen: Seen = Default::default();
    let (w, q) = (seen.clone(), seen.clone());
    let app = axum::Router::new()
        .route(
            "/api/v1/write",
            post(move |body: Bytes| {
                let w = w.clone();
                async move {
                    let req = ingest::gateway::inputs::remote_write::decode(&body, 1 << 20).unwrap();
                    let now = Instant::now();
                    for ts in req.timeseries {
                        for s in ts.samples {
                            w.lock().unwrap().push((s.value as u64, now));
                        }
                    }
                    StatusCode::NO_CONTENT
                }
            }),
        )
        .route(
            "/v1/query",
            post(move |Json(v): Json<serde_json::Value>| {
                let q = q.clone();
                async move {
                    assert!(v["sql"].as_str().unwrap().contains("gameday_canary"));
                    let rows: Vec<serde_json::Value> = q
                        .lock()
                        .unwrap()
                        .iter()
                        .filter(|(_, at)| at.elapsed() >= Duration::from_millis(300))
                        .map(|(m, _)| serde_json::json!([*m as f64]))
                        .collect();
                    Json(serde_json::json!({"columns": ["value"], "row_count": rows.len(), "rows": rows, "truncated": false}))
                }
            }),
        );
    let (url, _stop) = serve(app).await;
    let mut t = target(vec![url.clone()], vec![key_tenant(1), key_tenant(3)]);
    t.query = Some(url);
    let mut s = spec(5, 0.0, 0.0, 1.2);
    s.canary_interval_ms = 400;
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = crate::load::run(&t, &s, tx).await.unwrap();
    let p = &out.probes;
    // 2 tenants × 2 shards per round, 3 rounds in 1.2 s.
    assert!(p.canaries_sent >= 8 && p.canaries_sent % 4 == 0, "{p:?}");
    assert_eq!(p.canaries_visible, p.canaries_sent, "{p:?}");
    assert!(p.freshness.p50_ms >= 300.0, "{p:?}");
    assert_eq!(p.per_shard_ms.len(), 4);
    assert!(
        p.per_shard_ms
            .values()
            .all(|v| v.is_some_and(|ms| ms >= 300)),
        "{p:?}"
    );
    // Canary markers are in the ledger like any sample.
    assert_eq!(out.ledger.counts.samples_acked, p.canaries_sent);
}
