//! Delivery and the query service together on one embedded backend: records put into
//! Kinesis become queryable rows through the real commit protocol and the catalog's SQS
//! notifications, and `/v1/freshness` per shard reflects the delivery buffer interval.
//! "Exactly once" is checked by the independent table reader (`delivery/reader.rs`: lease
//! heads → commit chains → Parquet), not by the query service's own count.

use crate::delivery::common::{Env, Running, assert_exactly};
use crate::delivery::envelopes::events_envelope;
use crate::query::fixture::{A, BUCKET, DLQ, KEY_A, QUEUE, config, now_ms};
use ingest::query::QueryService;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_records_become_queryable_and_freshness_follows_a_1s_buffer_interval() {
    round_trip(1_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshness_follows_a_3s_buffer_interval() {
    round_trip(3_000).await;
}

/// Puts 25 events on each of 4 shards, waits until all 100 are queryable exactly once,
/// and checks `/v1/freshness` per shard against the delivery buffer interval.
async fn round_trip(interval_ms: u64) {
    let env = Env::start().await;
    let aws = ingest::aws::AwsConfig::local(env.emu.endpoint());
    ingest::query::ensure_wiring(&env.s3, &aws.sqs().await, BUCKET, QUEUE, DLQ)
        .await
        .expect("wiring");

    let mut dc = env.config("delivery-e2e");
    dc.buffer.interval_ms = interval_ms;
    let worker = Running::start(dc, None).await;

    let svc = QueryService::start(config(&env.emu.endpoint()))
        .await
        .expect("query service starts");
    assert!(
        svc.wait_ready(Duration::from_secs(15)).await,
        "catalog ready"
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(ingest::query::run(listener, svc.clone(), async {
        std::future::pending::<()>().await
    }));
    let http = reqwest::Client::new();

    // 25 events on each of the 4 shards, ingest time = now.
    let sent_at = now_ms();
    let mut expected = std::collections::BTreeMap::new();
    for shard in 0..4 {
        expected.extend(
            env.put(shard, &events_envelope(A, sent_at, 25, 900 + shard as u32))
                .await,
        );
    }
    assert_eq!(expected.len(), 100);

    let mut count = 0;
    for _ in 0..400 {
        let v: serde_json::Value = http
            .post(format!("{base}/v1/query"))
            .header("x-api-key", KEY_A)
            .json(&serde_json::json!({"sql": "SELECT count(*) AS n FROM events"}))
            .send()
            .await
            .expect("query answered")
            .json()
            .await
            .expect("json");
        count = v["rows"][0][0].as_i64().unwrap_or(-1);
        if count == 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(count, 100, "every put event is queryable");
    let visible_after = now_ms() - sent_at;
    // Exactly once in storage, item by item, as the table's own reader sees it.
    let rows = env.wait_rows(expected.len(), Duration::from_secs(10)).await;
    assert_exactly(&rows, &expected);

    let f: serde_json::Value = http
        .get(format!("{base}/v1/freshness"))
        .header("x-api-key", KEY_A)
        .send()
        .await
        .expect("freshness answered")
        .json()
        .await
        .expect("json");
    let shards = f["shards"].as_object().expect("shards");
    assert_eq!(shards.len(), 4, "every shard reports: {f}");
    for (shard, s) in shards {
        assert_eq!(
            s["newest_ingest_ms"].as_i64(),
            Some(sent_at),
            "{shard}: {f}"
        );
        let fresh = s["freshness_ms"].as_i64().expect("freshness_ms");
        // Measured from the envelope's ingest time, so never negative and never older
        // than the moment we first saw the rows (plus the time to ask).
        assert!(
            fresh >= 0 && fresh <= visible_after + 1_000,
            "{shard}: freshness {fresh} ms, visible after {visible_after} ms"
        );
    }
    // Buffered for an interval before the commit: not visible sooner than the interval
    // minus the scheduler's slack.
    assert!(
        visible_after >= interval_ms as i64 / 2,
        "rows became visible after {visible_after} ms with a {interval_ms} ms buffer interval"
    );
    svc.stop();
    worker.stop().await;
}
