//! The storage reader on a table written by hand into the embedded backend: lease head →
//! commit chain → Parquet objects. Orphans (objects no commit lists) are not the table.

use crate::load::ledger::{Fate, Ledger, sample_id};
use crate::load::shapes::Catalog;
use crate::load::{events::event_id, ledger::event_key};
use arrow::array::{
    ArrayRef, MapBuilder, RecordBatch, StringArray, StringBuilder, TimestampMillisecondArray,
    UInt32Array,
};
use ingest::aws::AwsConfig;
use ingest::table::layout::{commit_key, lease_key};
use ingest::table::{Commit, CommittedObject, Lease, Resume, SeqNo};
use parquet::arrow::ArrowWriter;
use std::sync::Arc;
use std::time::Duration;

const SHARD: &str = "shardId-000000000000";

/// (catalog row, ts, seq, sub_seq)
fn metrics_parquet(c: &Catalog, rows: &[(usize, i64, &str, u32)]) -> Vec<u8> {
    let mut labels = MapBuilder::new(None, StringBuilder::new(), StringBuilder::new());
    for (r, ..) in rows {
        for (k, v) in &c.rows[*r].labels {
            labels.keys().append_value(k);
            labels.values().append_value(v);
        }
        labels.append(true).unwrap();
    }
    type Row<'a> = (usize, i64, &'a str, u32);
    let s = |f: &dyn Fn(&Row) -> String| -> ArrayRef {
        Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
    };
    let batch = RecordBatch::try_from_iter(vec![
        ("tenant", s(&|_| "studio-a".to_string())),
        ("metric", s(&|r| c.rows[r.0].metric.clone())),
        ("labels", Arc::new(labels.finish()) as ArrayRef),
        (
            "timestamp",
            Arc::new(
                TimestampMillisecondArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>())
                    .with_timezone("UTC"),
            ) as ArrayRef,
        ),
        (
            "exemplars",
            Arc::new(StringArray::from(vec![None::<&str>; rows.len()])) as ArrayRef,
        ),
        ("kinesis_shard", s(&|_| SHARD.to_string())),
        ("kinesis_seq", s(&|r| r.2.to_string())),
        (
            "sub_seq",
            Arc::new(UInt32Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    write(batch)
}

fn events_parquet(ids: &[(&str, &str, u32)]) -> Vec<u8> {
    let s = |v: Vec<String>| -> ArrayRef { Arc::new(StringArray::from(v)) };
    let batch = RecordBatch::try_from_iter(vec![
        (
            "tenant",
            s(ids.iter().map(|_| "studio-a".to_string()).collect()),
        ),
        ("event_id", s(ids.iter().map(|i| i.0.to_string()).collect())),
        (
            "event_data",
            s(ids.iter().map(|_| "{}".to_string()).collect()),
        ),
        (
            "kinesis_shard",
            s(ids.iter().map(|_| SHARD.to_string()).collect()),
        ),
        (
            "kinesis_seq",
            s(ids.iter().map(|i| i.1.to_string()).collect()),
        ),
        (
            "sub_seq",
            Arc::new(UInt32Array::from(
                ids.iter().map(|i| i.2).collect::<Vec<_>>(),
            )) as ArrayRef,
        ),
    ])
    .unwrap();
    write(batch)
}

fn write(batch: RecordBatch) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut w = ArrowWriter::try_new(&mut buf, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    buf
}

fn object(key: &str, rows: u64) -> CommittedObject {
    CommittedObject {
        key: key.into(),
        rows,
        bytes: 1,
        first_seq: SeqNo::new("1"),
        last_seq: SeqNo::new("9"),
        min_ingest_ms: 0,
        max_ingest_ms: 0,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reader_follows_lease_heads_and_commit_chains_only() {
    let emu = mocks::Emulator::start(
        mocks::EmulatorConfig::default(),
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let aws = AwsConfig::local(emu.endpoint());
    let s3 = aws.s3().await;
    s3.create_bucket().bucket("telemetry").send().await.unwrap();
    let put = |key: String, body: Vec<u8>| {
        let s3 = s3.clone();
        async move {
            s3.put_object()
                .bucket("telemetry")
                .key(key)
                .body(body.into())
                .send()
                .await
                .unwrap();
        }
    };
    let c = Catalog::build(9, 100, 1.0);
    let base = 1_795_690_107_000;
    let mut l = Ledger::new("runx".into(), base, vec!["studio-a".into()]);
    l.index_catalog(0, &c);
    let ids: Vec<u64> = (0..4).map(|r| sample_id(0, r, 1_000)).collect();
    l.record_samples(&Fate::Acked, &ids);
    l.record_events(&[(event_key(0, 0, 1), Fate::Acked)]);
    let ts = base + 1_000;

    let prefix = "metrics/tenant=studio-a/dt=2026-11-26/hour=10/";
    let a = format!("{prefix}{SHARD}-1-e1.parquet");
    let b = format!("{prefix}{SHARD}-5-e1.parquet");
    let orphan = format!("{prefix}{SHARD}-7-e1.parquet");
    let ev = format!("events/tenant=studio-a/dt=2026-11-26/hour=10/{SHARD}-1-e1.parquet");
    put(
        a.clone(),
        metrics_parquet(&c, &[(0, ts, "1", 0), (1, ts, "1", 1)]),
    )
    .await;
    // Row 2, and row 0's record read again (a delivery duplicate).
    put(
        b.clone(),
        metrics_parquet(&c, &[(2, ts, "5", 0), (0, ts, "1", 0)]),
    )
    .await;
    // Never committed: a phantom that is not part of the table.
    put(orphan, metrics_parquet(&c, &[(9, ts, "7", 0)])).await;
    put(
        ev.clone(),
        events_parquet(&[(&event_id("runx", 0, 0, 1), "2", 0)]),
    )
    .await;
    let c1 = Commit {
        shard_id: SHARD.into(),
        epoch: 1,
        number: 1,
        parent: None,
        created_ms: 0,
        objects: vec![object(&a, 2), object(&ev, 1)],
        durable: Default::default(),
        resume: Resume::TrimHorizon,
        checkpoint: None,
    };
    let c2 = Commit {
        number: 2,
        parent: Some(commit_key(SHARD, 1, 1)),
        objects: vec![object(&b, 2)],
        ..c1.clone()
    };
    put(commit_key(SHARD, 1, 1), c1.to_json()).await;
    put(commit_key(SHARD, 2, 1), c2.to_json()).await;
    let lease = Lease {
        shard_id: SHARD.into(),
        owner: "delivery-a-1".into(),
        epoch: 1,
        expires_at_ms: 0,
        head: Some(commit_key(SHARD, 2, 1)),
        commits: 2,
        resume: Resume::TrimHorizon,
    };
    put(lease_key(SHARD), lease.to_json()).await;

    let mut t = super::fixture::target(vec!["http://127.0.0.1:1".into()], vec![]);
    t.aws = aws;
    t.shards = vec![
        (SHARD.into(), 0, u128::MAX / 2),
        ("shardId-000000000001".into(), u128::MAX / 2 + 1, u128::MAX),
    ];
    // 5 committed rows ≥ 5 acked: the drain ends without waiting for the timeout.
    let store = crate::load::storage::Store::new(&t).await;
    assert!(store.wait_drained(5, Duration::from_secs(5)).await);
    let ev = crate::load::audit(&t, &l, Duration::from_secs(1))
        .await
        .unwrap();
    assert_eq!(ev.stored_rows, 5, "{ev:?}");
    assert_eq!(ev.delivery_duplicates, 1, "{ev:?}");
    assert_eq!(ev.lost, 1, "row 3 was acked and never committed: {ev:?}");
    assert_eq!(ev.phantoms, 0, "the orphan is not in the table: {ev:?}");
    assert_eq!(ev.acked, 5);
    // The committed events as plain rows: the one committed events object, not the orphan.
    assert_eq!(
        store.events().await.unwrap(),
        vec![crate::load::storage::StoredEvent {
            tenant: "studio-a".into(),
            event_id: event_id("runx", 0, 0, 1),
            shard: SHARD.into(),
            seq: "2".into(),
            sub_seq: 0,
        }]
    );
}
