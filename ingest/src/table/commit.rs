//! A commit object (`_commits/<shard>/<number>-e<epoch>.json`), written once with
//! `If-None-Match: *`. It names its parent, the data objects it adds, per partition the
//! last sequence number now durable, and the shard's resume point. It takes effect only
//! when the shard's lease is updated (conditionally) to point at it. Every so often a commit
//! also carries a checkpoint (the shard's whole table, [`super::checkpoint`]).

use super::checkpoint::Checkpoint;
use super::layout::{Partition, SeqNo};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a reader of the shard resumes: at the oldest record still only in a buffer, or
/// after the newest record read when nothing is buffered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resume {
    /// Nothing read yet: start at the trim horizon.
    TrimHorizon,
    /// `AT_SEQUENCE_NUMBER`
    At(SeqNo),
    /// `AFTER_SEQUENCE_NUMBER`
    After(SeqNo),
}

/// One data object a commit adds to the table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommittedObject {
    pub key: String,
    /// Rows (samples or events) in the object.
    pub rows: u64,
    /// Size of the stored object in bytes, exactly: the query service reads the Parquet
    /// footer relative to it without a HEAD request.
    pub bytes: u64,
    /// Sequence numbers of the first and last Kinesis record with rows in the object.
    pub first_seq: SeqNo,
    pub last_seq: SeqNo,
    /// Oldest and newest envelope ingest time in the object (ms since epoch): freshness is
    /// now minus the newest committed `max_ingest_ms` per tenant and shard.
    pub min_ingest_ms: i64,
    pub max_ingest_ms: i64,
}

impl CommittedObject {
    pub fn partition(&self) -> Option<Partition> {
        Partition::of_data_key(&self.key)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Commit {
    pub shard_id: String,
    pub epoch: u64,
    /// 1 for the first commit of the shard, parent's + 1 after.
    pub number: u64,
    /// Key of the parent commit (`None` for the first).
    pub parent: Option<String>,
    pub created_ms: i64,
    pub objects: Vec<CommittedObject>,
    /// Per partition (its prefix, e.g. `metrics/tenant=a/dt=…/hour=10/`), the last
    /// sequence number whose rows for that partition are durable, cumulative over the chain.
    /// On resume, records at or below their partition's mark are skipped.
    pub durable: BTreeMap<String, SeqNo>,
    pub resume: Resume,
    /// Every `checkpoint.every_commits` commits: the shard's whole table as of this commit,
    /// so readers stop walking here ([`super::checkpoint`]). Absent in other commits and in
    /// commits written before checkpoints existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

impl Commit {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("commit serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Commit, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_round_trips() {
        let c = Commit {
            shard_id: "shardId-000000000001".into(),
            epoch: 2,
            number: 5,
            parent: Some("_commits/shardId-000000000001/0000000004-e2.json".into()),
            created_ms: 1,
            objects: vec![CommittedObject {
                key: "events/tenant=a/dt=2026-11-26/hour=10/shardId-000000000001-7-e2.parquet"
                    .into(),
                rows: 10,
                bytes: 2048,
                first_seq: SeqNo::new("7"),
                last_seq: SeqNo::new("9"),
                min_ingest_ms: 5,
                max_ingest_ms: 6,
            }],
            durable: [(
                "events/tenant=a/dt=2026-11-26/hour=10/".to_string(),
                SeqNo::new("9"),
            )]
            .into(),
            resume: Resume::At(SeqNo::new("10")),
            checkpoint: None,
        };
        assert_eq!(Commit::from_json(&c.to_json()).unwrap(), c);
        assert_eq!(c.objects[0].partition().unwrap().tenant, "a");
        // Commits written before checkpoints existed have no such field.
        let json = String::from_utf8(c.to_json()).unwrap();
        assert!(!json.contains("checkpoint"));
        let with = Commit {
            checkpoint: Some(Checkpoint {
                objects: vec![],
                segments: vec!["_segments/shardId-000000000001/0000000005-e2.json".into()],
                epochs: vec![super::super::checkpoint::EpochSpan { from: 1, epoch: 2 }],
            }),
            ..c.clone()
        };
        assert_eq!(Commit::from_json(&with.to_json()).unwrap(), with);
        // A checkpoint written before segments (its table inline) still reads.
        let inline = Commit {
            checkpoint: Some(Checkpoint {
                objects: c.objects.clone(),
                segments: vec![],
                epochs: vec![super::super::checkpoint::EpochSpan { from: 1, epoch: 2 }],
            }),
            ..c.clone()
        };
        let json = String::from_utf8(inline.to_json()).unwrap();
        assert!(!json.contains("segments"), "{json}");
        assert_eq!(Commit::from_json(json.as_bytes()).unwrap(), inline);
    }
}
