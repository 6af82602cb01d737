//! Model test: random sequences of puts, iterator requests and reads through
//! aws-sdk-kinesis, checked against a plain in-memory model — no record lost or
//! invented, order kept per shard, exact iterator semantics.

use crate::common;
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};
use mocks::{EmulatorConfig, KinesisLimits};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A PutRecords of (partition key index, payload length) pairs.
    Put(Vec<(u8, u8)>),
    /// A new iterator into `slot`: shard, kind, and which record for AT/AFTER.
    Iter {
        slot: usize,
        shard: usize,
        kind: u8,
        pick: usize,
    },
    /// GetRecords on the iterator in `slot` with this Limit.
    Read { slot: usize, limit: i32 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => prop::collection::vec((0u8..16, 0u8..40), 1..25).prop_map(Op::Put),
        2 => (0usize..3, 0usize..3, 0u8..4, any::<usize>())
            .prop_map(|(slot, shard, kind, pick)| Op::Iter { slot, shard, kind, pick }),
        4 => (0usize..3, 1i32..12).prop_map(|(slot, limit)| Op::Read { slot, limit }),
    ]
}

#[derive(Clone)]
struct Rec {
    seq: String,
    key: String,
    data: Vec<u8>,
}

/// The model: each shard's records in order; an iterator is (shard, position).
struct Model {
    shards: Vec<Vec<Rec>>,
    slots: Vec<Option<(usize, usize, String)>>,
}

async fn run(ops: Vec<Op>, shard_count: usize) -> Result<(), TestCaseError> {
    let emu = common::start_with(EmulatorConfig {
        kinesis: KinesisLimits::unlimited(),
        ..Default::default()
    })
    .await;
    let k: Client = common::kinesis(&emu).await;
    k.create_stream()
        .stream_name("m")
        .shard_count(shard_count as i32)
        .send()
        .await
        .unwrap();
    let ids: Vec<String> = k
        .list_shards()
        .stream_name("m")
        .send()
        .await
        .unwrap()
        .shards()
        .iter()
        .map(|s| s.shard_id().to_string())
        .collect();
    let mut m = Model {
        shards: vec![Vec::new(); shard_count],
        slots: vec![None, None, None],
    };
    let mut counter = 0u32;
    for op in ops {
        match op {
            Op::Put(entries) => {
                let recs: Vec<(String, Vec<u8>)> = entries
                    .iter()
                    .map(|(key, len)| {
                        counter += 1;
                        (
                            format!("key-{key}"),
                            format!("{counter}:{}", "x".repeat(*len as usize)).into_bytes(),
                        )
                    })
                    .collect();
                let req: Vec<_> = recs
                    .iter()
                    .map(|(key, data)| {
                        PutRecordsRequestEntry::builder()
                            .data(Blob::new(data.clone()))
                            .partition_key(key)
                            .build()
                            .unwrap()
                    })
                    .collect();
                let out = k
                    .put_records()
                    .stream_name("m")
                    .set_records(Some(req))
                    .send()
                    .await
                    .unwrap();
                prop_assert_eq!(out.failed_record_count(), Some(0));
                for ((key, data), r) in recs.into_iter().zip(out.records()) {
                    let shard = ids
                        .iter()
                        .position(|s| Some(s.as_str()) == r.shard_id())
                        .unwrap();
                    let seq = r.sequence_number().unwrap().to_string();
                    if let Some(prev) = m.shards[shard].last() {
                        prop_assert!(seq > prev.seq, "sequence numbers increase per shard");
                    }
                    m.shards[shard].push(Rec { seq, key, data });
                }
            }
            Op::Iter {
                slot,
                shard,
                kind,
                pick,
            } => {
                let shard = shard % shard_count;
                let recs = &m.shards[shard];
                let mut req = k
                    .get_shard_iterator()
                    .stream_name("m")
                    .shard_id(&ids[shard]);
                let position = match (kind, recs.is_empty()) {
                    (0, _) | (2..=3, true) => {
                        req = req.shard_iterator_type(ShardIteratorType::TrimHorizon);
                        0
                    }
                    (1, _) => {
                        req = req.shard_iterator_type(ShardIteratorType::Latest);
                        recs.len()
                    }
                    (2, false) => {
                        let i = pick % recs.len();
                        req = req
                            .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                            .starting_sequence_number(&recs[i].seq);
                        i
                    }
                    _ => {
                        let i = pick % recs.len();
                        req = req
                            .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                            .starting_sequence_number(&recs[i].seq);
                        i + 1
                    }
                };
                let it = req
                    .send()
                    .await
                    .unwrap()
                    .shard_iterator()
                    .unwrap()
                    .to_string();
                m.slots[slot] = Some((shard, position, it));
            }
            Op::Read { slot, limit } => {
                let Some((shard, position, it)) = m.slots[slot].clone() else {
                    continue;
                };
                let out = k
                    .get_records()
                    .shard_iterator(&it)
                    .limit(limit)
                    .send()
                    .await
                    .unwrap();
                let expect = &m.shards[shard]
                    [position..(position + limit as usize).min(m.shards[shard].len())];
                let got: Vec<(String, String, Vec<u8>)> = out
                    .records()
                    .iter()
                    .map(|r| {
                        (
                            r.sequence_number().to_string(),
                            r.partition_key().unwrap_or_default().to_string(),
                            r.data().as_ref().to_vec(),
                        )
                    })
                    .collect();
                let want: Vec<(String, String, Vec<u8>)> = expect
                    .iter()
                    .map(|r| (r.seq.clone(), r.key.clone(), r.data.clone()))
                    .collect();
                prop_assert_eq!(got, want);
                let next = out.next_shard_iterator().unwrap().to_string();
                m.slots[slot] = Some((shard, position + expect.len(), next));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn kinesis_matches_model(ops in prop::collection::vec(op(), 1..40), shards in 1usize..4) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(run(ops, shards))?;
    }
}
