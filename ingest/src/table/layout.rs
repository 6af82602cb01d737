//! Where everything lives in the bucket.
//!
//! ```text
//! _leases/<shard>.json                                   one lease object per shard
//! _commits/<shard>/<number:010>-e<epoch>.json            the shard's commit chain
//! <kind>/tenant=<t>/dt=<YYYY-MM-DD>/hour=<HH>/<shard>-<first seq>-e<epoch>.parquet
//! errors/<shard>/<seq>.json                              undecodable records + reason
//! ```
//!
//! Data objects are invisible until a commit reachable from a lease head lists them.

use crate::envelope::Kind;
use std::cmp::Ordering;
use std::fmt;

pub const LEASES_PREFIX: &str = "_leases/";
pub const COMMITS_PREFIX: &str = "_commits/";
/// Checkpoint segments ([`super::checkpoint::Segment`]):
/// `_segments/<shard>/<number>-p<part>-e<epoch>.json`.
pub const SEGMENTS_PREFIX: &str = "_segments/";
pub const ERRORS_PREFIX: &str = "errors/";

/// Table name of a kind (`metrics` / `events`), also the first path segment.
pub fn table_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Events => "events",
        _ => "metrics",
    }
}

pub fn lease_key(shard_id: &str) -> String {
    format!("{LEASES_PREFIX}{shard_id}.json")
}

/// The shard a lease key belongs to (`None` for keys that are not lease objects).
pub fn shard_of_lease_key(key: &str) -> Option<&str> {
    key.strip_prefix(LEASES_PREFIX)?.strip_suffix(".json")
}

pub fn commit_key(shard_id: &str, number: u64, epoch: u64) -> String {
    format!("{COMMITS_PREFIX}{shard_id}/{number:010}-e{epoch}.json")
}

/// Part `part` of the segment written with the checkpoint of commit `number` under
/// `epoch` (the epoch last, as on every key the sweeper reads it from).
pub fn segment_key(shard_id: &str, number: u64, part: usize, epoch: u64) -> String {
    format!("{SEGMENTS_PREFIX}{shard_id}/{number:010}-p{part:03}-e{epoch}.json")
}

pub fn error_key(shard_id: &str, seq: &SeqNo) -> String {
    format!("{ERRORS_PREFIX}{shard_id}/{seq}.json")
}

/// The prefix holding every object of one tenant in one table.
pub fn tenant_prefix(kind: Kind, tenant: &str) -> String {
    format!("{}/tenant={tenant}/", table_name(kind))
}

/// The shard of a commit key (`_commits/<shard>/…`).
pub fn shard_of_commit_key(key: &str) -> Option<&str> {
    key.strip_prefix(COMMITS_PREFIX)?
        .split_once('/')
        .map(|(s, _)| s)
}

/// The number of a commit key (`…/<number:010>-e<epoch>.json`).
pub fn commit_number_of_key(key: &str) -> Option<u64> {
    let stem = key.strip_prefix(COMMITS_PREFIX)?.rsplit('/').next()?;
    stem.split_once("-e")?.0.parse().ok()
}

/// The epoch a data or commit key was written under (`…-e<epoch>.<ext>`), for the sweeper.
pub fn epoch_of_key(key: &str) -> Option<u64> {
    let stem = key.rsplit('/').next()?;
    let stem = stem.rsplit_once('.')?.0;
    stem.rsplit_once("-e")?.1.parse().ok()
}

/// A buffer's partition: kind, tenant, and the UTC day and hour of the envelope's ingest
/// time (never the worker's clock, so a replay lands where the first delivery did).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Partition {
    pub kind: Kind,
    pub tenant: String,
    /// `YYYY-MM-DD`
    pub dt: String,
    /// `00`..`23`
    pub hour: String,
}

impl Partition {
    pub fn of(kind: Kind, tenant: &str, ingest_time_ms: i64) -> Partition {
        let secs = ingest_time_ms.div_euclid(1000);
        let t = time::OffsetDateTime::from_unix_timestamp(secs)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
        Partition {
            kind,
            tenant: tenant.to_string(),
            dt: format!("{:04}-{:02}-{:02}", t.year(), u8::from(t.month()), t.day()),
            hour: format!("{:02}", t.hour()),
        }
    }

    /// `metrics/tenant=a/dt=2026-11-26/hour=10/`
    pub fn prefix(&self) -> String {
        format!(
            "{}tenant={}/dt={}/hour={}/",
            self.table_prefix(),
            self.tenant,
            self.dt,
            self.hour
        )
    }

    fn table_prefix(&self) -> String {
        format!("{}/", table_name(self.kind))
    }

    /// The data object a flush of this partition writes.
    pub fn data_key(&self, shard_id: &str, first_seq: &SeqNo, epoch: u64) -> String {
        format!("{}{shard_id}-{first_seq}-e{epoch}.parquet", self.prefix())
    }

    /// Parses the prefix of a data key back (`None` when the key is not a data object).
    pub fn of_data_key(key: &str) -> Option<Partition> {
        let mut parts = key.split('/');
        let kind = match parts.next()? {
            "metrics" => Kind::Metrics,
            "events" => Kind::Events,
            _ => return None,
        };
        let tenant = parts.next()?.strip_prefix("tenant=")?;
        let dt = parts.next()?.strip_prefix("dt=")?;
        let hour = parts.next()?.strip_prefix("hour=")?;
        let file = parts.next()?;
        if parts.next().is_some() || !file.ends_with(".parquet") {
            return None;
        }
        Some(Partition {
            kind,
            tenant: tenant.to_string(),
            dt: dt.to_string(),
            hour: hour.to_string(),
        })
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.prefix())
    }
}

/// A Kinesis sequence number: a decimal string without leading zeros (AWS's are 56
/// digits today), ordered numerically: shorter is smaller, then lexicographic.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct SeqNo(pub String);

impl SeqNo {
    pub fn new(s: impl Into<String>) -> SeqNo {
        SeqNo(s.into())
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Ord for SeqNo {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.0.len(), &self.0).cmp(&(other.0.len(), &other.0))
    }
}

impl PartialOrd for SeqNo {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for SeqNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_comes_from_ingest_time_in_utc() {
        // 2026-11-26T10:48:27Z
        let p = Partition::of(Kind::Metrics, "acme", 1_795_690_107_000);
        assert_eq!(p.prefix(), "metrics/tenant=acme/dt=2026-11-26/hour=10/");
        let key = p.data_key("shardId-000000000001", &SeqNo::new("4960"), 3);
        assert_eq!(
            key,
            "metrics/tenant=acme/dt=2026-11-26/hour=10/shardId-000000000001-4960-e3.parquet"
        );
        assert_eq!(Partition::of_data_key(&key), Some(p));
        assert_eq!(epoch_of_key(&key), Some(3));
        assert_eq!(Partition::of_data_key("_leases/x.json"), None);
    }

    #[test]
    fn keys_round_trip() {
        assert_eq!(
            shard_of_lease_key(&lease_key("shardId-7")),
            Some("shardId-7")
        );
        assert_eq!(shard_of_lease_key("_commits/x.json"), None);
        let c = commit_key("shardId-7", 12, 4);
        assert_eq!(c, "_commits/shardId-7/0000000012-e4.json");
        assert_eq!(epoch_of_key(&c), Some(4));
        assert_eq!(commit_number_of_key(&c), Some(12));
        assert_eq!(shard_of_commit_key(&c), Some("shardId-7"));
        assert_eq!(commit_number_of_key("_commits/shardId-7/x-e4.json"), None);
    }

    #[test]
    fn sequence_numbers_order_numerically() {
        let small = SeqNo::new("999");
        let big = SeqNo::new("1000");
        assert!(small < big);
        assert!(SeqNo::new("42") < SeqNo::new("43"));
    }
}
