//! Records: routing, order, iterator types, expiry and retention.

use super::{create, drain, entry, iterator};
use crate::common::{self, code};
use aws_sdk_kinesis::primitives::{Blob, DateTime};
use aws_sdk_kinesis::types::ShardIteratorType;
use std::time::Duration;

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
    // Kinesis API reference, PutRecord: ExplicitHashKey "Pattern: 0|([1-9]\d{0,38})" —
    // a malformed key fails validation; one of the right form beyond 2^128-1 is an
    // invalid argument.
    assert_eq!(code(&e), "ValidationException");
    for malformed in ["", "-1", "007", "1e3"] {
        let e = k
            .put_record()
            .stream_name("s")
            .data(Blob::new("x"))
            .partition_key("k")
            .explicit_hash_key(malformed)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), "ValidationException", "{malformed:?}");
    }
    let e = k
        .put_record()
        .stream_name("s")
        .data(Blob::new("x"))
        .partition_key("k")
        .explicit_hash_key("9".repeat(39))
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
