//! Kinesis through aws-sdk-kinesis: every operation, its errors, AWS's limits and the
//! shard faults.

use crate::common::{self, code};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use mocks::{EmulatorConfig, Fault, KinesisLimits, PauseMode, Service};
use std::time::Duration;

fn entry(data: &[u8], key: &str) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .data(Blob::new(data))
        .partition_key(key)
        .build()
        .expect("entry has data and key")
}

async fn create(k: &Client, name: &str, shards: i32) {
    k.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
}

async fn iterator(k: &Client, stream: &str, shard: &str, ty: ShardIteratorType) -> String {
    k.get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ty)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator present")
        .to_string()
}

/// Every record of a shard from TRIM_HORIZON, as (partition key, data).
async fn drain(k: &Client, stream: &str, shard: &str) -> Vec<(String, Vec<u8>)> {
    let mut it = iterator(k, stream, shard, ShardIteratorType::TrimHorizon).await;
    let mut out = Vec::new();
    loop {
        let r = k
            .get_records()
            .shard_iterator(&it)
            .send()
            .await
            .expect("get records");
        if r.records().is_empty() {
            return out;
        }
        out.extend(r.records().iter().map(|x| {
            (
                x.partition_key().unwrap_or_default().to_string(),
                x.data().as_ref().to_vec(),
            )
        }));
        it = r
            .next_shard_iterator()
            .expect("open shard has a next iterator")
            .to_string();
    }
}

#[tokio::test]
async fn stream_lifecycle_and_errors() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "telemetry", 3).await;
    let e = k
        .create_stream()
        .stream_name("telemetry")
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceInUseException");
    let e = k
        .create_stream()
        .stream_name("bad name!")
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = k
        .create_stream()
        .stream_name("zero")
        .shard_count(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");

    let d = k
        .describe_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    let d = d.stream_description().unwrap();
    assert_eq!(d.stream_status().as_str(), "ACTIVE");
    assert_eq!(d.shards().len(), 3);
    assert_eq!(d.retention_period_hours(), 24);
    let s = k
        .describe_stream_summary()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.stream_description_summary().unwrap().open_shard_count(),
        3
    );
    // StreamARN works wherever StreamName does.
    let arn = d.stream_arn().to_string();
    let shards = k.list_shards().stream_arn(&arn).send().await.unwrap();
    assert_eq!(shards.shards().len(), 3);

    let paged = k
        .list_shards()
        .stream_name("telemetry")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.shards().len(), 2);
    let rest = k
        .list_shards()
        .next_token(paged.next_token().expect("more shards"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.shards().len(), 1);
    assert_eq!(rest.shards()[0].shard_id(), "shardId-000000000002");

    create(&k, "other", 1).await;
    let l = k.list_streams().send().await.unwrap();
    assert_eq!(l.stream_names(), ["other", "telemetry"]);
    let l = k.list_streams().limit(1).send().await.unwrap();
    assert!(l.has_more_streams());

    k.increase_stream_retention_period()
        .stream_name("telemetry")
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    let e = k
        .increase_stream_retention_period()
        .stream_name("telemetry")
        .retention_period_hours(30)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");

    k.delete_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    let e = k
        .describe_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = k
        .put_records()
        .stream_name("telemetry")
        .records(entry(b"x", "k"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
}

#[tokio::test]
async fn put_records_route_by_md5_and_read_back_in_order() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 4).await;
    let shards = k.list_shards().stream_name("s").send().await.unwrap();
    let ranges: Vec<(u128, u128, String)> = shards
        .shards()
        .iter()
        .map(|s| {
            let r = s.hash_key_range().unwrap();
            (
                r.starting_hash_key().parse().unwrap(),
                r.ending_hash_key().parse().unwrap(),
                s.shard_id().to_string(),
            )
        })
        .collect();
    let records: Vec<_> = (0..400)
        .map(|i| entry(format!("payload-{i}").as_bytes(), &format!("key-{i}")))
        .collect();
    let out = k
        .put_records()
        .stream_name("s")
        .set_records(Some(records))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(0));
    assert_eq!(out.records().len(), 400);
    let mut last_seq: std::collections::HashMap<String, String> = Default::default();
    for (i, r) in out.records().iter().enumerate() {
        let hash = mocks::kinesis::hash_key(format!("key-{i}").as_bytes());
        let expect = ranges
            .iter()
            .find(|(a, b, _)| *a <= hash && hash <= *b)
            .unwrap();
        assert_eq!(
            r.shard_id(),
            Some(expect.2.as_str()),
            "record {i} routed by MD5"
        );
        let seq = r.sequence_number().unwrap().to_string();
        assert!(seq.chars().all(|c| c.is_ascii_digit()));
        if let Some(prev) = last_seq.insert(expect.2.clone(), seq.clone()) {
            assert!(
                seq.len() == prev.len() && seq > prev,
                "strictly increasing per shard"
            );
        }
    }
    let mut total = 0;
    for (_, _, shard) in &ranges {
        let got = drain(&k, "s", shard).await;
        let idx: Vec<usize> = got
            .iter()
            .map(|(key, _)| key[4..].parse().unwrap())
            .collect();
        assert!(
            idx.windows(2).all(|w| w[0] < w[1]),
            "order kept within shard {shard}"
        );
        for (key, data) in &got {
            assert_eq!(data, format!("payload-{}", &key[4..]).as_bytes());
        }
        total += got.len();
    }
    assert_eq!(total, 400);

    // ExplicitHashKey overrides the partition key's hash.
    let r = k
        .put_record()
        .stream_name("s")
        .data(Blob::new("x"))
        .partition_key("anything")
        .explicit_hash_key(ranges[3].0.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.shard_id(), ranges[3].2);
    let e = k
        .put_record()
        .stream_name("s")
        .data(Blob::new("x"))
        .partition_key("k")
        .explicit_hash_key("not-a-number")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");
}

#[tokio::test]
async fn iterator_types_limit_and_arrival_times() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let shard = "shardId-000000000000";
    let before = DateTime::from_millis(mocks::clock::system_now_ms() - 1);
    let mut seqs = Vec::new();
    for i in 0..10 {
        let r = k
            .put_record()
            .stream_name("s")
            .data(Blob::new(format!("r{i}")))
            .partition_key("p")
            .send()
            .await
            .unwrap();
        seqs.push(r.sequence_number().to_string());
    }
    let latest = iterator(&k, "s", shard, ShardIteratorType::Latest).await;
    let at = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .starting_sequence_number(&seqs[3])
        .send()
        .await
        .unwrap();
    let r = k
        .get_records()
        .shard_iterator(at.shard_iterator().unwrap())
        .limit(2)
        .send()
        .await
        .unwrap();
    let got: Vec<_> = r
        .records()
        .iter()
        .map(|x| x.sequence_number().to_string())
        .collect();
    assert_eq!(got, seqs[3..5]);
    assert!(r.millis_behind_latest().is_some());
    let ts = r.records()[0].approximate_arrival_timestamp().unwrap();
    assert!(ts.to_millis().unwrap() >= before.to_millis().unwrap());

    let after = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
        .starting_sequence_number(&seqs[8])
        .send()
        .await
        .unwrap();
    let r = k
        .get_records()
        .shard_iterator(after.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.records().len(), 1);
    assert_eq!(r.records()[0].sequence_number(), seqs[9]);
    assert_eq!(r.millis_behind_latest(), Some(0));

    let by_time = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtTimestamp)
        .timestamp(before)
        .send()
        .await
        .unwrap();
    let r = k
        .get_records()
        .shard_iterator(by_time.shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.records().len(), 10);

    // LATEST sees only what came after it.
    let r = k
        .get_records()
        .shard_iterator(&latest)
        .send()
        .await
        .unwrap();
    assert!(r.records().is_empty());
    k.put_record()
        .stream_name("s")
        .data(Blob::new("new"))
        .partition_key("p")
        .send()
        .await
        .unwrap();
    let r = k
        .get_records()
        .shard_iterator(r.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.records().len(), 1);
    assert_eq!(r.records()[0].data().as_ref(), b"new");

    let e = k
        .get_records()
        .shard_iterator(&latest)
        .limit(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = k
        .get_records()
        .shard_iterator("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");
    let e = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id("shardId-000000000009")
        .shard_iterator_type(ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = k
        .get_shard_iterator()
        .stream_name("s")
        .shard_id(shard)
        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");
}

#[tokio::test]
async fn iterators_expire_after_five_minutes_and_retention_trims() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let shard = "shardId-000000000000";
    k.put_record()
        .stream_name("s")
        .data(Blob::new("old"))
        .partition_key("p")
        .send()
        .await
        .unwrap();
    let it = iterator(&k, "s", shard, ShardIteratorType::TrimHorizon).await;
    emu.emulator.ctx.clock.advance(Duration::from_secs(301));
    let e = k
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ExpiredIteratorException");

    assert_eq!(
        drain(&k, "s", shard).await.len(),
        1,
        "minutes old: still retained"
    );
    emu.emulator
        .ctx
        .clock
        .advance(Duration::from_secs(24 * 3600));
    k.put_record()
        .stream_name("s")
        .data(Blob::new("new"))
        .partition_key("p")
        .send()
        .await
        .unwrap();
    let got = drain(&k, "s", shard).await;
    assert_eq!(got.len(), 1, "records older than 24 h are gone");
    assert_eq!(got[0].1, b"new");
}

#[tokio::test]
async fn aws_size_limits() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let big = vec![0u8; (1 << 20) + 1];
    let e = k
        .put_records()
        .stream_name("s")
        .records(entry(&big, "k"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let many: Vec<_> = (0..501).map(|_| entry(b"x", "k")).collect();
    let e = k
        .put_records()
        .stream_name("s")
        .set_records(Some(many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let heavy: Vec<_> = (0..6).map(|_| entry(&vec![1u8; 1 << 20], "k")).collect();
    let e = k
        .put_records()
        .stream_name("s")
        .set_records(Some(heavy))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");
    let long_key = "k".repeat(257);
    let e = k
        .put_records()
        .stream_name("s")
        .records(entry(b"x", &long_key))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    // Nothing of the refused requests was written.
    assert!(drain(&k, "s", "shardId-000000000000").await.is_empty());
}

#[tokio::test]
async fn per_shard_write_limits_refuse_records_individually() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let batch = || {
        (0..500)
            .map(|i| entry(b"0123456789", &format!("k{i}")))
            .collect::<Vec<_>>()
    };
    let mut ok = 0;
    let mut failed = 0;
    for _ in 0..3 {
        let out = k
            .put_records()
            .stream_name("s")
            .set_records(Some(batch()))
            .send()
            .await
            .unwrap();
        for r in out.records() {
            match r.error_code() {
                None => ok += 1,
                Some(c) => {
                    assert_eq!(c, "ProvisionedThroughputExceededException");
                    assert!(
                        r.error_message()
                            .unwrap()
                            .contains("Rate exceeded for shard shardId-000000000000")
                    );
                    failed += 1;
                }
            }
        }
    }
    // One second of credit (1,000 records) plus what refilled while the calls ran.
    assert!((1000..1400).contains(&ok), "accepted {ok}");
    assert_eq!(ok + failed, 1500);
    let c = emu
        .emulator
        .ctx
        .counters
        .get("kinesis.limit.shard_write_records");
    assert_eq!(c, failed as u64, "every refusal counted");

    // 1 MiB/s of bytes: two 600 KiB records in a row, the second refused.
    create(&k, "b", 1).await;
    let r = k
        .put_records()
        .stream_name("b")
        .records(entry(&vec![1; 600 << 10], "a"))
        .records(entry(&vec![1; 600 << 10], "b"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.failed_record_count(), Some(1));
    assert!(
        emu.emulator
            .ctx
            .counters
            .get("kinesis.limit.shard_write_bytes")
            >= 1
    );

    // Single PutRecord over the limit is an error, not a partial result.
    let mut saw = false;
    for _ in 0..1200 {
        if let Err(e) = k
            .put_record()
            .stream_name("s")
            .data(Blob::new("x"))
            .partition_key("k")
            .send()
            .await
        {
            assert_eq!(code(&e), "ProvisionedThroughputExceededException");
            saw = true;
            break;
        }
    }
    assert!(saw, "PutRecord meets the limit");
}

#[tokio::test]
async fn per_shard_read_limits() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let it = iterator(
        &k,
        "s",
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
    )
    .await;
    let mut errors = 0;
    for _ in 0..8 {
        if let Err(e) = k.get_records().shard_iterator(&it).send().await {
            assert_eq!(code(&e), "ProvisionedThroughputExceededException");
            errors += 1;
        }
    }
    assert!(errors >= 2, "5 calls/s per shard: {errors} of 8 refused");
    assert_eq!(
        emu.emulator
            .ctx
            .counters
            .get("kinesis.limit.shard_read_calls"),
        errors
    );
}

#[tokio::test]
async fn read_bytes_limit_blocks_the_following_calls() {
    let limits = KinesisLimits {
        shard_write_bytes_per_sec: 64 << 20,
        ..Default::default()
    };
    let emu = common::start_with(EmulatorConfig {
        kinesis: limits,
        ..Default::default()
    })
    .await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let recs: Vec<_> = (0..4)
        .map(|i| entry(&vec![7u8; 1 << 20], &format!("k{i}")))
        .collect();
    k.put_records()
        .stream_name("s")
        .set_records(Some(recs))
        .send()
        .await
        .unwrap();
    let it = iterator(
        &k,
        "s",
        "shardId-000000000000",
        ShardIteratorType::TrimHorizon,
    )
    .await;
    let r = k.get_records().shard_iterator(&it).send().await.unwrap();
    assert_eq!(r.records().len(), 4, "one call may return more than 2 MiB");
    let e = k
        .get_records()
        .shard_iterator(r.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ProvisionedThroughputExceededException");
    assert_eq!(
        emu.emulator
            .ctx
            .counters
            .get("kinesis.limit.shard_read_bytes"),
        1
    );
}

#[tokio::test]
async fn limits_can_be_switched_off() {
    let emu = common::start_with(EmulatorConfig {
        kinesis: KinesisLimits::unlimited(),
        ..Default::default()
    })
    .await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    for _ in 0..6 {
        let recs: Vec<_> = (0..500)
            .map(|i| entry(b"0123456789", &format!("k{i}")))
            .collect();
        let out = k
            .put_records()
            .stream_name("s")
            .set_records(Some(recs))
            .send()
            .await
            .unwrap();
        assert_eq!(out.failed_record_count(), Some(0));
    }
    assert_eq!(drain(&k, "s", "shardId-000000000000").await.len(), 3000);
}

#[tokio::test]
async fn shard_pause_reads_keeps_accepting_writes_and_falls_behind() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 2).await;
    let shard = "shardId-000000000000";
    let it = iterator(&k, "s", shard, ShardIteratorType::TrimHorizon).await;
    let id = emu
        .emulator
        .ctx
        .faults
        .inject(Fault::ShardPause {
            stream: "s".into(),
            shard_id: shard.into(),
            mode: PauseMode::Reads,
        })
        .unwrap();
    let r = k
        .put_record()
        .stream_name("s")
        .data(Blob::new("during"))
        .partition_key("p")
        .explicit_hash_key("0")
        .send()
        .await
        .unwrap();
    assert_eq!(r.shard_id(), shard);
    emu.emulator.ctx.clock.advance(Duration::from_millis(1500));
    let first = k.get_records().shard_iterator(&it).send().await.unwrap();
    assert!(first.records().is_empty(), "paused reads return nothing");
    let behind1 = first.millis_behind_latest().unwrap();
    assert!(behind1 >= 1500, "behind {behind1}");
    emu.emulator.ctx.clock.advance(Duration::from_millis(1000));
    let second = k
        .get_records()
        .shard_iterator(first.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert!(
        second.millis_behind_latest().unwrap() > behind1,
        "MillisBehindLatest keeps growing"
    );
    assert!(emu.emulator.ctx.counters.get("fault.shard_pause.kinesis") >= 2);

    assert!(emu.emulator.ctx.faults.clear(id));
    let after = k
        .get_records()
        .shard_iterator(second.next_shard_iterator().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        after.records().len(),
        1,
        "replay after the pause: nothing lost"
    );
    assert_eq!(after.records()[0].data().as_ref(), b"during");
    assert_eq!(after.millis_behind_latest(), Some(0));
}

#[tokio::test]
async fn shard_pause_writes_and_injected_throttling() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 2).await;
    let faults = &emu.emulator.ctx.faults;
    let id = faults
        .inject(Fault::ShardPause {
            stream: "s".into(),
            shard_id: "shardId-000000000000".into(),
            mode: PauseMode::Writes,
        })
        .unwrap();
    let recs = vec![
        PutRecordsRequestEntry::builder()
            .data(Blob::new("a"))
            .partition_key("p")
            .explicit_hash_key("0")
            .build()
            .unwrap(),
        PutRecordsRequestEntry::builder()
            .data(Blob::new("b"))
            .partition_key("p")
            .explicit_hash_key(u128::MAX.to_string())
            .build()
            .unwrap(),
    ];
    let out = k
        .put_records()
        .stream_name("s")
        .set_records(Some(recs))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(1));
    assert_eq!(
        out.records()[0].error_code(),
        Some("ProvisionedThroughputExceededException")
    );
    assert!(
        out.records()[1].error_code().is_none(),
        "the other shard still takes writes"
    );
    faults.clear(id);

    faults
        .inject(Fault::Throttle {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            probability: 1.0,
        })
        .unwrap();
    let out = k
        .put_records()
        .stream_name("s")
        .records(entry(b"x", "k"))
        .records(entry(b"y", "j"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.failed_record_count(), Some(2));
    assert_eq!(emu.emulator.ctx.counters.get("fault.throttle.kinesis"), 2);
    // Other operations are not affected by an operation-scoped fault.
    k.put_record()
        .stream_name("s")
        .data(Blob::new("z"))
        .partition_key("k")
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn credentials_are_checked() {
    let emu = common::start().await;
    let bad_key = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "nobody", "x").await,
    );
    let e = bad_key.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "UnrecognizedClientException");
    let bad_secret = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "test", "wrong").await,
    );
    let e = bad_secret.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidSignatureException");
    assert_eq!(emu.emulator.ctx.counters.get("auth.rejected.signature"), 1);

    let mut config = EmulatorConfig::default();
    config
        .credentials
        .push(mocks::Credentials::new("AKIDGAMEDAY", "s3cret"));
    let emu = common::start_with(config).await;
    let other = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "AKIDGAMEDAY", "s3cret").await,
    );
    other.list_streams().send().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_aws_errors() {
    let emu = common::start_with(EmulatorConfig {
        verify_signatures: false,
        ..Default::default()
    })
    .await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let auth = common::unsigned_auth();
    let call = |target: &'static str, body: &'static str| {
        let addr = emu.addr;
        async move {
            common::raw_request(
                addr,
                "POST",
                "/",
                &[
                    ("x-amz-target", target),
                    ("content-type", "application/x-amz-json-1.1"),
                    ("authorization", auth),
                ],
                body.as_bytes(),
            )
            .await
        }
    };
    let (status, _, body) = call("Kinesis_20131202.PutRecords", "{not json").await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = call(
        "Kinesis_20131202.CreateStream",
        r#"{"StreamName":"x","ShardCount":"two"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = call("Kinesis_20131202.CreateStream", r#"{"ShardCount":1}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("ValidationException"), "{body}");
    let (status, headers, body) = call("Kinesis_20131202.FlyToTheMoon", "{}").await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "UnknownOperationException")
    );
    let (status, _, body) = call(
        "Kinesis_20131202.PutRecords",
        r#"{"StreamName":"s","Records":[{"Data":"!!!","PartitionKey":"k"}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = common::raw_request(
        emu.addr,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", auth),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("UnknownOperationException"),
        "missing target: {body}"
    );
    let (status, _, body) = common::raw_request(
        emu.addr,
        "POST",
        "/",
        &[
            ("x-amz-target", "Kinesis_20131202.ListStreams"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("MissingAuthenticationToken"), "{body}");
}
