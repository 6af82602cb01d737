//! AWS's size and per-shard rate limits.

use super::{create, drain, entry, iterator};
use crate::common::{self, code};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::ShardIteratorType;
use mocks::{EmulatorConfig, KinesisLimits};

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
