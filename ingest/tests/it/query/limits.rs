//! Limits a tenant meets: the row cap truncates and says so, a query past its deadline
//! gets 504 with a reason, a tenant with every query slot busy gets 429 + Retry-After.

use super::fixture::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_row_limit_truncates_and_says_so() {
    let mut fx = Fixture::start().await;
    let obj = metrics(A, "shardId-000000000000", 1, &samples(5, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    let s = fx.service_with(|c| c.limits.max_rows = 2).await;
    let (status, v) = fx
        .query(&s, KEY_A, "SELECT value FROM metrics ORDER BY value")
        .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["row_count"], 2);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["rows"], serde_json::json!([[0.0], [1.0]]));
    // Exactly at the limit: not truncated.
    let (_, v) = fx
        .query(
            &s,
            KEY_A,
            "SELECT value FROM metrics ORDER BY value LIMIT 2",
        )
        .await;
    assert_eq!(
        (v["row_count"].as_i64(), v["truncated"].as_bool()),
        (Some(2), Some(false))
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_past_its_deadline_gets_504_with_a_reason() {
    let fx = Fixture::start().await;
    let s = fx.service_with(|c| c.limits.timeout_ms = 300).await;
    let (status, v) = fx
        .query(
            &s,
            KEY_A,
            "SELECT count(*) FROM generate_series(1, 1000000000000) a",
        )
        .await;
    assert_eq!(status, 504, "{v}");
    assert_eq!(v["error"], "timeout");
    assert!(
        v["detail"].as_str().unwrap_or_default().contains("300 ms"),
        "{v}"
    );
    // The slot is free again and the service answers.
    assert_eq!(fx.scalar(&s, KEY_A, "SELECT 1").await, 1);
    let text = fx.metrics_text(&s).await;
    assert!(
        text.contains(r#"query_queries_total{tenant="studio-a",outcome="timeout"} 1"#),
        "{text}"
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_with_every_slot_busy_gets_429_with_retry_after() {
    let fx = Fixture::start().await;
    let s = fx
        .service_with(|c| c.limits.concurrency_per_tenant = 2)
        .await;
    // Hold both of A's slots as two running queries would.
    let held: Vec<_> = (0..2).map(|_| s.svc.permit(A).expect("slot")).collect();
    let r = fx
        .http
        .post(s.url("/v1/query"))
        .header("x-api-key", KEY_A)
        .json(&serde_json::json!({"sql": "SELECT 1"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get("retry-after").is_some());
    // Another tenant is not affected.
    assert_eq!(fx.scalar(&s, KEY_B, "SELECT 1").await, 1);
    drop(held);
    assert_eq!(fx.scalar(&s, KEY_A, "SELECT 1").await, 1);
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_over_the_memory_cap_fails_with_a_reason() {
    let mut fx = Fixture::start().await;
    let obj = metrics(A, "shardId-000000000000", 1, &samples(5, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    let s = fx.service_with(|c| c.limits.memory_bytes = 64 << 10).await;
    let (status, v) = fx
        .query(
            &s,
            KEY_A,
            "SELECT a.value, count(*) FROM generate_series(1, 2000000) g \
             CROSS JOIN metrics a GROUP BY a.value, g.value ORDER BY 2 DESC",
        )
        .await;
    assert_eq!(
        (status, v["error"].as_str()),
        (422, Some("memory_limit")),
        "{v}"
    );
    s.stop();
}
