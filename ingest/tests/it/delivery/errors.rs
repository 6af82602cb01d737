//! Records that are not envelopes land in `errors/` with their reason and are counted;
//! a throttled stream is survived with counters, never a crash.

use super::common::*;
use ingest::delivery::Exit;
use mocks::{Fault, Service};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn undecodable_records_land_in_errors_with_their_reason() {
    let env = Env::start().await;
    let w = Running::start(env.config("delivery-a-1"), None).await;
    let mut expected = env
        .put(1, &metrics_envelope("studio-a", HOUR_10, 3, 1))
        .await;
    let (shard, seq) = env.put_raw(1, b"{\"not\":\"an envelope\"}".to_vec()).await;
    let (_, seq2) = env.put_raw(1, b"GDE\x09future".to_vec()).await;
    expected.extend(
        env.put(1, &events_envelope("studio-a", HOUR_10, 2, 1))
            .await,
    );
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);

    let key = ingest::table::layout::error_key(&shard, &ingest::table::SeqNo::new(seq.clone()));
    assert!(
        eventually(Duration::from_secs(10), || async {
            env.get(&key).await.is_some()
        })
        .await,
        "{key} written"
    );
    let body: serde_json::Value =
        serde_json::from_slice(&env.get(&key).await.expect("error object")).expect("JSON");
    assert_eq!(body["reason"], "bad_magic");
    assert_eq!(body["sequence_number"], seq.as_str());
    let data = base64::Engine::decode(
        &base64::engine::general_purpose::STANDARD,
        body["data_base64"].as_str().expect("data"),
    )
    .expect("base64");
    assert_eq!(data, b"{\"not\":\"an envelope\"}");
    let key2 = ingest::table::layout::error_key(&shard, &ingest::table::SeqNo::new(seq2));
    let body2: serde_json::Value =
        serde_json::from_slice(&env.get(&key2).await.expect("error object")).expect("JSON");
    assert_eq!(body2["reason"], "unknown_version");
    assert_eq!(
        w.metric("delivery_decode_errors_total", "bad_magic").await,
        1.0
    );
    assert_eq!(
        w.metric("delivery_decode_errors_total", "unknown_version")
            .await,
        1.0
    );
    assert_eq!(w.stop().await, Exit::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_stream_is_survived_with_counters() {
    let env = Env::start().await;
    let fault = env
        .emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Throttle {
            service: Service::Kinesis,
            operation: Some("GetRecords".into()),
            probability: 0.6,
        })
        .expect("fault");
    let w = Running::start(env.config("delivery-a-1"), None).await;
    let mut expected = put_mixed(&env, 1).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            w.metric(
                "delivery_read_throttles_total",
                "provisioned_throughput_exceeded",
            )
            .await
                > 0.0
        })
        .await,
        "throttled reads are counted"
    );
    expected.extend(put_mixed(&env, 2).await);
    // 60 % of GetRecords throttled: mostly done in 2–12 s. The wait has a heavy tail by
    // design, not a stall: the backoff doubles from 100 ms to its 5 s cap and resets on a
    // success, so k throttles in a row cost 0.1 + 0.2 + … + 5 + 5 … s with probability
    // 0.6^k (0.6 × 2 > 1: below the cap the expected wait grows with every doubling); 9
    // in a row (1 % of reads) cost 21 s on one shard. 30 s ran out once in ~19 runs; 60 s
    // needs ~16 in a row (0.03 % of reads).
    let rows = env.wait_rows(expected.len(), Duration::from_secs(60)).await;
    assert_exactly(&rows, &expected);
    env.emu.emulator.ctx.faults.clear(fault);
    assert_eq!(w.worker.owned().len(), SHARDS, "still running every shard");
    assert_eq!(w.stop().await, Exit::Stopped);
}

/// S3 answers 409 ConditionalRequestConflict to a conditional write that raced another
/// one in flight; the 409 does not say which won. A worker whose every PutObject gets it
/// for a second settles each one by reading the key back: nothing there (or its lease
/// unchanged) is a transient error, retried, never "fenced". Before, a 409 on a data
/// object or a lease renewal fenced the worker: it dropped its buffers and shards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conditional_conflicts_are_retried_not_fenced_and_nothing_is_lost() {
    let env = Env::start().await;
    let w = Running::start(env.config("delivery-a-1"), None).await;
    let mut expected = put_mixed(&env, 1).await;
    let fault = env
        .emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Fail {
            service: Service::S3,
            operation: Some("PutObject".into()),
            status: 409,
            code: Some(mocks::FailCode::ConditionalRequestConflict),
            probability: 1.0,
        })
        .expect("fault");
    expected.extend(put_mixed(&env, 2).await);
    // Flushes (300 ms) and renewals (400 ms) meet the 409 for 1.2 s, under the lease (2 s).
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    env.emu.emulator.ctx.faults.clear(fault);
    let rows = env.wait_rows(expected.len(), Duration::from_secs(30)).await;
    assert_exactly(&rows, &expected);
    let text = w.metrics().await;
    assert_eq!(
        sum_metric(&text, "delivery_fenced_writes_total", ""),
        0.0,
        "no write was fenced:\n{text}"
    );
    assert!(
        sum_metric(&text, "delivery_flush_failures_total", "") > 0.0
            || sum_metric(&text, "delivery_lease_errors_total", "") > 0.0,
        "the 409s were met and counted:\n{text}"
    );
    assert_eq!(w.worker.owned().len(), SHARDS, "still running every shard");
    assert_eq!(w.stop().await, Exit::Stopped);
}
