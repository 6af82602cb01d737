//! Quotas through HTTPS and gRPC: over the samples/s bucket → 429 with Retry-After
//! (whole seconds ≥ 1) and `x-retry-after-ms`, nothing of the refused request stored;
//! gRPC RESOURCE_EXHAUSTED; larger than the bucket → 413; an oversize body → 413.

use crate::gateway::common::{KEY_A, KEY_C, Stack, now_ms};
use crate::gateway::edges::gauge_points;
use crate::gateway::rw::gauge_body;
use ingest::gateway::config::QuotaConfig;

fn small_quota(cfg: &mut ingest::gateway::GatewayConfig) {
    cfg.limits.max_body_bytes = 64 << 10;
    for t in &mut cfg.tenants {
        if t.id == "studio-c" {
            t.quota = QuotaConfig {
                samples_per_sec: 10.0,
                burst_secs: 1.0,
                ..QuotaConfig::default()
            };
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quota_breach_is_429_with_retry_after_and_nothing_written() {
    let stack = Stack::start_with(small_quota).await;
    let t = now_ms();
    let resp = stack
        .post("/api/v1/write", KEY_C, gauge_body("q", t, 8))
        .await;
    assert_eq!(resp.status(), 204);
    let resp = stack
        .post("/api/v1/write", KEY_C, gauge_body("q", t + 100, 8))
        .await;
    assert_eq!(resp.status(), 429);
    let secs: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!(secs >= 1);
    let ms: u64 = resp
        .headers()
        .get("x-retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("x-retry-after-ms");
    // 6 samples short at 10/s: about 600 ms, never more than the whole bucket.
    assert!(ms > 0 && ms <= 1000, "{ms}");
    assert!(secs * 1000 >= ms);

    let got = stack.samples("studio-c").await;
    assert_eq!(got.len(), 8, "only the admitted request is stored");
    assert!(got.iter().all(|s| s.timestamp_ms < t + 100));

    // gRPC: RESOURCE_EXHAUSTED (the bucket is still short).
    let mut client = stack.grpc().await;
    let mut req = tonic::Request::new(gauge_points("quota.probe", 8, vec![]));
    req.metadata_mut()
        .insert("x-api-key", KEY_C.parse().expect("ascii"));
    let err = client.export(req).await.expect_err("over quota");
    assert_eq!(err.code(), tonic::Code::ResourceExhausted);
    let retry = tonic_types::StatusExt::get_error_details(&err)
        .retry_info()
        .and_then(|r| r.retry_delay)
        .expect("RESOURCE_EXHAUSTED carries google.rpc.RetryInfo");
    assert!(retry > std::time::Duration::ZERO);

    // Larger than the bucket can ever hold → 413.
    let resp = stack
        .post("/api/v1/write", KEY_C, gauge_body("q", t + 200, 20))
        .await;
    assert_eq!(resp.status(), 413);
    assert_eq!(stack.samples("studio-c").await.len(), 8);

    let text = stack.metrics_text().await;
    assert!(
        text.lines().any(|l| l.starts_with("gateway_requests_total")
            && l.contains("studio-c")
            && l.contains("status=\"429\"")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_body_is_413() {
    let stack = Stack::start_with(small_quota).await;
    let resp = stack
        .post("/api/v1/write", KEY_A, vec![0u8; 100 << 10])
        .await;
    assert_eq!(resp.status(), 413);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"], "body_too_large");
    assert!(stack.envelopes().await.is_empty());
}
