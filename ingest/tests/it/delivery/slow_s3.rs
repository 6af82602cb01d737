//! Delivery against a slow, failing or blackholed S3: every call is bounded, so a
//! blackhole cannot hang the worker (it shuts down and counts the timeouts); a flush
//! slower than the lease keeps its lease renewed instead of being fenced; and a lease that
//! cannot be read makes only its own shard sit a balancing round out.

use super::common::*;
use ingest::delivery::Exit;
use ingest::envelope::Envelope;
use mocks::{Fault, Service};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Puts `envs` on shard `i` in one PutRecords call, so one GetRecords reads them all and
/// they are flushed together (one commit with one object per partition).
async fn put_together(
    env: &Env,
    i: usize,
    envs: &[Envelope],
) -> BTreeMap<RowKey, serde_json::Value> {
    let (shard, hash) = &env.shard_keys[i];
    let mut req = env.kinesis.put_records().stream_name(STREAM);
    for e in envs {
        req = req.records(
            aws_sdk_kinesis::types::PutRecordsRequestEntry::builder()
                .partition_key("p")
                .explicit_hash_key(hash)
                .data(aws_sdk_kinesis::primitives::Blob::new(e.encode_record()))
                .build()
                .expect("entry"),
        );
    }
    let out = req.send().await.expect("PutRecords");
    assert_eq!(out.failed_record_count(), Some(0));
    let mut expected = BTreeMap::new();
    for (r, e) in out.records().iter().zip(envs) {
        assert_eq!(r.shard_id(), Some(shard.as_str()));
        let seq = r.sequence_number().expect("sequence number");
        expected.extend(expected_items(shard, seq, e));
    }
    expected
}

/// Four partitions (two tenants, two kinds, two hours) on every shard.
async fn put_four_partitions(env: &Env, round: u32) -> BTreeMap<RowKey, serde_json::Value> {
    let mut expected = BTreeMap::new();
    for shard in 0..SHARDS {
        let tag = round * 100 + shard as u32;
        let envs = [
            metrics_envelope("studio-a", HOUR_10 + 1_000, 5, tag),
            events_envelope("studio-a", HOUR_10 + 1_000, 3, tag),
            metrics_envelope("studio-b", HOUR_11 + 2_000, 5, tag),
            events_envelope("studio-b", HOUR_11 + 2_000, 3, tag),
        ];
        expected.extend(put_together(env, shard, &envs).await);
    }
    expected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_s3_blackholed_the_worker_shuts_down_and_counts_timeouts() {
    let env = Env::start().await;
    let a = Running::start(env.config("delivery-a-1"), None).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.worker.owned().len() == SHARDS
        })
        .await,
        "the only worker owns every shard"
    );
    let mut expected = put_mixed(&env, 1).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);

    // S3 reads requests and never answers: lease reads, renewals and flushes all hang
    // unless they are bounded.
    let faults = &env.emu.emulator.ctx.faults;
    let hole = faults
        .inject(Fault::Blackhole {
            service: Service::S3,
            operation: None,
        })
        .expect("fault");
    expected.extend(put_mixed(&env, 2).await);
    // Round 2's flushes (buffer interval 300 ms) fail one of two ways, both correct and
    // racing each other: the data PutObject times out, or the lease's renewal timed out
    // first and the flush refuses to write under an expired lease. Wait until every
    // shard's flush has failed and been counted, then stop.
    let worker = a.worker.clone();
    let flush_failures = |reason: &str| {
        sum_metric(
            &worker.metrics().render(),
            "delivery_flush_failures_total",
            &format!("reason=\"{reason}\""),
        )
    };
    let failed = || flush_failures("timeout") + flush_failures("lease_expired");
    assert!(
        eventually(Duration::from_secs(15), || async {
            failed() >= SHARDS as f64
        })
        .await,
        "every shard's flush into the blackhole fails and is counted within 15 s: {}",
        worker.metrics().render()
    );
    let asked = Instant::now();
    let exit = tokio::time::timeout(Duration::from_secs(20), a.stop())
        .await
        .expect("the worker shuts down within 20 s with S3 blackholed");
    assert_eq!(exit, Exit::Stopped);
    let took = asked.elapsed();
    let text = worker.metrics().render();
    let lease_timeouts = sum_metric(&text, "delivery_lease_errors_total", "reason=\"timeout\"");
    let all_failures = sum_metric(&text, "delivery_flush_failures_total", "");
    assert!(
        lease_timeouts > 0.0 && all_failures == failed(),
        "lease calls time out and every flush failure has a blackhole reason: lease timeouts \
         {lease_timeouts}, flush failures {all_failures}, of which timeout or lease_expired \
         {} (stop took {took:?})",
        failed()
    );
    // S3 back: the shards move to a new worker once the unreleased leases expire, and
    // round 2, never committed by the first worker, is stored exactly once.
    assert!(faults.clear(hole));
    let b = Running::start(env.config("delivery-b-1"), None).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert_eq!(b.stop().await, Exit::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flush_slower_than_the_lease_keeps_its_lease_and_is_not_fenced() {
    let env = Env::start().await;
    let config = |id: &str| {
        let mut c = env.config(id);
        c.lease.duration_ms = 3_000;
        c.lease.renew_ms = 300;
        c
    };
    let a = Running::start(config("delivery-a-1"), None).await;
    let b = Running::start(config("delivery-b-1"), None).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.worker.owned().len() == 2 && b.worker.owned().len() == 2
        })
        .await,
        "2/2"
    );
    // Balancing fenced the first worker's tasks of the two stolen shards: count from here.
    let fenced = || async {
        a.metric("delivery_fenced_writes_total", "").await
            + b.metric("delivery_fenced_writes_total", "").await
    };
    let fenced_before = fenced().await;
    let mut epochs = BTreeMap::new();
    for i in 0..SHARDS {
        let s = env.shard_id(i).to_string();
        epochs.insert(s.clone(), env.lease(&s).await.expect("lease").epoch);
    }
    // Every PutObject takes 600 ms: a flush of four data objects, its commit and the
    // lease update takes 3.6 s, longer than the 3 s lease (each call stays within the
    // workers' call timeout, (3000 - 300) / 3 = 900 ms).
    let faults = &env.emu.emulator.ctx.faults;
    let slow = faults
        .inject(Fault::Latency {
            service: Service::S3,
            operation: Some("PutObject".into()),
            delay_ms: mocks::Delay::Constant(600),
        })
        .expect("fault");
    let expected = put_four_partitions(&env, 1).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(30)).await;
    assert_eq!(
        fenced().await - fenced_before,
        0.0,
        "no flush is fenced: the lease stays renewed"
    );
    assert_exactly(&rows, &expected);
    for (s, epoch) in &epochs {
        assert_eq!(
            env.lease(s).await.expect("lease").epoch,
            *epoch,
            "no lease of {s} moved during the slow flushes"
        );
    }
    assert!(faults.clear(slow));
    assert_eq!(a.stop().await, Exit::Stopped);
    assert_eq!(b.stop().await, Exit::Stopped);
    assert_exactly(&env.table().await, &expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_lease_skips_only_its_shard_in_a_takeover() {
    let env = Env::start().await;
    let cfg = env.config("delivery-a-1");
    let lease = Duration::from_millis(cfg.lease.duration_ms);
    let a = Running::start(cfg, None).await;
    let b = Running::start(env.config("delivery-b-1"), None).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.worker.owned().len() == 2 && b.worker.owned().len() == 2
        })
        .await,
        "2/2"
    );
    let dead: Vec<String> = b.worker.owned().into_iter().collect();
    b.worker.crash();
    assert_eq!(b.join().await, Exit::Crashed);
    // One of the dead worker's two leases cannot be read (every read of it fails).
    let unreadable = dead[0].clone();
    let key = ingest::table::layout::lease_key(&unreadable);
    let original = env.get(&key).await.expect("lease");
    put_body(&env, &key, b"not a lease".to_vec()).await;
    let died = Instant::now();
    assert!(
        eventually(lease + Duration::from_secs(5), || async {
            a.worker.owned().contains(&dead[1])
        })
        .await,
        "the dead worker's readable shard {} is taken within lease + 5 s although the lease \
         of {unreadable} fails to read every round (after {:?}, a owns {:?})",
        dead[1],
        died.elapsed(),
        a.worker.owned()
    );
    assert!(!a.worker.owned().contains(&unreadable));
    assert!(
        a.metric("delivery_lease_errors_total", &unreadable).await > 0.0,
        "the failed reads are counted for {unreadable}"
    );
    // Readable again: that shard is taken too, and every shard delivers exactly once.
    put_body(&env, &key, original).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.worker.owned().len() == SHARDS
        })
        .await,
        "a owns all four once the lease reads again"
    );
    let expected = put_mixed(&env, 1).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert_eq!(a.stop().await, Exit::Stopped);
}

async fn put_body(env: &Env, key: &str, body: Vec<u8>) {
    env.s3
        .put_object()
        .bucket(BUCKET)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from(body))
        .send()
        .await
        .expect("PutObject");
}
