//! Backpressure: Kinesis throttling or down past the deadline → 503 + Retry-After, and
//! whatever was acknowledged (2xx) is all in Kinesis; `/readyz` follows the stream;
//! `/metrics` shows requests by status and rejections by reason.

use crate::gateway::common::{KEY_A, STREAM, Stack, now_ms};
use crate::gateway::rw::gauge_body;
use mocks::{Fault, PauseMode, Service};
use std::time::{Duration, Instant};

fn fast_deadline(cfg: &mut ingest::gateway::GatewayConfig) {
    cfg.kinesis.deadline_ms = 300;
    cfg.kinesis.retry_base_ms = 10;
}

async fn assert_503(stack: &Stack, body: Vec<u8>) {
    let start = Instant::now();
    let resp = stack.post("/api/v1/write", KEY_A, body).await;
    assert_eq!(resp.status(), 503);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "answered within the deadline (plus slack), took {:?}",
        start.elapsed()
    );
    let secs: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("a 503 carries Retry-After");
    assert!(secs >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttled_or_down_kinesis_is_503_and_acked_data_is_stored() {
    let stack = Stack::start_with(fast_deadline).await;
    let faults = &stack.emu.emulator.ctx.faults;
    let t = now_ms();
    let mut acked = 0usize;

    let resp = stack
        .post("/api/v1/write", KEY_A, gauge_body("bp", t, 5))
        .await;
    assert_eq!(resp.status(), 204);
    acked += 5;

    // Every PutRecords record throttled.
    let id = faults
        .inject(Fault::Throttle {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            probability: 1.0,
        })
        .expect("inject");
    assert_503(&stack, gauge_body("bp", t + 100, 5)).await;
    faults.clear(id);

    // Writes paused on every shard.
    let shards = stack
        .kinesis
        .list_shards()
        .stream_name(STREAM)
        .send()
        .await
        .expect("ListShards");
    let ids: Vec<_> = shards
        .shards()
        .iter()
        .map(|s| {
            faults
                .inject(Fault::ShardPause {
                    stream: STREAM.into(),
                    shard_id: s.shard_id().to_string(),
                    mode: PauseMode::Writes,
                })
                .expect("inject")
        })
        .collect();
    assert_503(&stack, gauge_body("bp", t + 200, 5)).await;
    for id in ids {
        faults.clear(id);
    }

    let resp = stack
        .post("/api/v1/write", KEY_A, gauge_body("bp", t + 300, 5))
        .await;
    assert_eq!(resp.status(), 204);
    acked += 5;

    // Kinesis down: every PutRecords answered 503.
    let id = faults
        .inject(Fault::Fail {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            status: 503,
            code: None,
            probability: 1.0,
        })
        .expect("inject");
    assert_503(&stack, gauge_body("bp", t + 400, 5)).await;
    faults.clear(id);

    // Everything acked is stored; refused requests may or may not have landed (a 503
    // promises nothing), but no acked sample is missing.
    let got = stack.samples("studio-a").await;
    for ts in (t..t + 5).chain(t + 300..t + 305) {
        assert!(
            got.iter().any(|s| s.timestamp_ms == ts),
            "acked sample at {ts} missing"
        );
    }
    assert!(got.len() >= acked);
    // Neither fault kind let anything of the fully-refused requests in.
    assert!(
        got.iter()
            .all(|s| !(t + 100..t + 105).contains(&s.timestamp_ms))
    );
    assert!(
        got.iter()
            .all(|s| !(t + 200..t + 205).contains(&s.timestamp_ms))
    );
    assert!(
        got.iter()
            .all(|s| !(t + 400..t + 405).contains(&s.timestamp_ms))
    );

    let text = stack.metrics_text().await;
    let has = |needle: &[&str]| text.lines().any(|l| needle.iter().all(|n| l.contains(n)));
    assert!(has(&["gateway_requests_total", "status=\"503\""]), "{text}");
    assert!(has(&["gateway_requests_total", "status=\"204\""]), "{text}");
    assert!(
        has(&[
            "gateway_rejected_items_total",
            "reason=\"kinesis_deadline\""
        ]),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_follows_the_stream() {
    let stack = Stack::start().await;
    let r = stack
        .http
        .get(stack.url("/readyz"))
        .send()
        .await
        .expect("readyz");
    assert_eq!(r.status(), 200);
    let r = stack
        .http
        .get(stack.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(r.status(), 200);
    stack
        .kinesis
        .delete_stream()
        .stream_name(STREAM)
        .send()
        .await
        .expect("DeleteStream");
    let mut status = 0;
    for _ in 0..50 {
        status = stack
            .http
            .get(stack.url("/readyz"))
            .send()
            .await
            .expect("readyz")
            .status()
            .as_u16();
        if status == 503 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(40)).await;
    }
    assert_eq!(status, 503);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_throttling_never_acks_a_sample_that_is_not_stored() {
    let stack = Stack::start().await;
    stack
        .emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Throttle {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            probability: 0.4,
        })
        .expect("inject");
    let t = now_ms();
    let mut acked = Vec::new();
    for r in 0..6i64 {
        // 40 series per request: records on every shard, some throttled each call.
        let series = (0..40)
            .map(|i| {
                let shard = format!("s{i}");
                crate::gateway::rw::series(
                    &[("__name__", "spread"), ("shard_id", &shard)],
                    &[(t + r, i as f64)],
                )
            })
            .collect();
        let body =
            crate::gateway::rw::encode(&ingest::gateway::inputs::remote_write::WriteRequest {
                timeseries: series,
                metadata: vec![],
            });
        let resp = stack.post("/api/v1/write", KEY_A, body).await;
        match resp.status().as_u16() {
            204 => acked.push(t + r),
            503 => assert!(resp.headers().contains_key("retry-after")),
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(
        !acked.is_empty(),
        "retries inside the deadline get most through"
    );
    stack.emu.emulator.ctx.faults.clear_all();
    let got = stack.samples("studio-a").await;
    for ts in acked {
        let n = got.iter().filter(|s| s.timestamp_ms == ts).count();
        assert_eq!(
            n, 40,
            "request at {ts} was acked: all 40 samples must be stored"
        );
    }
    let text = stack.metrics_text().await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("gateway_putrecords_records_retried") && !l.ends_with(" 0")),
        "{text}"
    );
}
