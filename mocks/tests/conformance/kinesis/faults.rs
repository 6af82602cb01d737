//! Shard pauses and injected throttling.

use super::{create, entry, iterator};
use crate::common::{self};
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use mocks::{Fault, PauseMode, Service};
use std::time::Duration;

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
