//! How the gateway packs a request into Kinesis records: with the stream's shard map
//! (listed at start), one record per shard the request's series land on, each series on
//! the shard its own partition key hashes to; without it (`shard_map_refresh_ms = 0`),
//! one record per partition key. Read back per shard with GetRecords.

use crate::gateway::common::{KEY_A, STREAM, Stack, now_ms, read_shard};
use crate::gateway::rw::{encode, series};
use ingest::envelope::Envelope;
use ingest::gateway::inputs::remote_write::WriteRequest;
use ingest::keys::{series_partition_key, shard_for};

/// 200 series of one sample each, in one remote_write request.
fn body(t: i64) -> Vec<u8> {
    let ids: Vec<String> = (0..200).map(|i| format!("gs-{i}")).collect();
    encode(&WriteRequest {
        timeseries: ids
            .iter()
            .map(|id| series(&[("__name__", "tick_rate"), ("shard_id", id)], &[(t, 1.0)]))
            .collect(),
        metadata: vec![],
    })
}

/// Per open shard (hash-key order): its range and the envelopes read from it.
async fn per_shard(stack: &Stack) -> Vec<((u128, u128), Vec<Envelope>)> {
    let k = &stack.kinesis;
    let shards = ingest::aws::open_shards(k, STREAM)
        .await
        .expect("ListShards");
    let mut out = Vec::new();
    for (id, start, end) in shards {
        let envs = read_shard(k, &id).await;
        out.push(((start, end), envs));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_shard_map_a_request_is_one_record_per_shard() {
    let stack = Stack::start().await;
    assert!(
        stack
            .metrics_text()
            .await
            .contains("gateway_shard_map_shards 4"),
        "the map lists the stream's 4 shards at start"
    );
    let resp = stack.post("/api/v1/write", KEY_A, body(now_ms())).await;
    assert_eq!(resp.status(), 204);
    let shards = per_shard(&stack).await;
    let ranges: Vec<(u128, u128)> = shards.iter().map(|(r, _)| *r).collect();
    let mut samples = 0;
    for (i, (_, envs)) in shards.iter().enumerate() {
        assert_eq!(envs.len(), 1, "shard {i}: one record for the request");
        for s in &envs[0].samples {
            let key = series_partition_key("studio-a", &s.labels);
            assert_eq!(shard_for(&key, &ranges), Some(i), "{key} on shard {i}");
            samples += 1;
        }
    }
    assert_eq!(samples, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_shard_map_a_request_is_one_record_per_partition_key() {
    let stack = Stack::start_with(|c| c.kinesis.shard_map_refresh_ms = 0).await;
    let resp = stack.post("/api/v1/write", KEY_A, body(now_ms())).await;
    assert_eq!(resp.status(), 204);
    let mut keys = std::collections::BTreeSet::new();
    let mut records = 0;
    for (_, envs) in per_shard(&stack).await {
        for env in envs {
            records += 1;
            let first = series_partition_key("studio-a", &env.samples[0].labels);
            assert!(
                env.samples
                    .iter()
                    .all(|s| series_partition_key("studio-a", &s.labels) == first)
            );
            assert!(keys.insert(first), "one record per key");
        }
    }
    // 200 series over 64 keys per tenant reach nearly all of them.
    assert!(records > 40, "{records} records");
}
