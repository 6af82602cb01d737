//! The lease object of one shard (`_leases/<shard>.json`): who owns the shard, under
//! which epoch, until when, and which commit is the head of its chain. Every write of it
//! is conditional on the ETag the writer last saw (`If-Match`), the first one on absence
//! (`If-None-Match: *`); taking a lease increments the epoch. A writer whose condition
//! fails has been fenced and must stop writing for that shard.

use super::commit::Resume;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lease {
    pub shard_id: String,
    /// Worker id (`delivery-b-<pid>`); empty when released by a graceful hand-off.
    pub owner: String,
    /// Incremented by every take-over; data and commit keys carry it.
    pub epoch: u64,
    /// Until when the owner may write without renewing (ms since epoch). A lease whose
    /// expiry passed may be taken by anyone (conditionally, epoch + 1).
    pub expires_at_ms: i64,
    /// Key of the head commit; `None` before the first commit.
    pub head: Option<String>,
    /// Number of the head commit (0 before the first).
    pub commits: u64,
    /// The checkpoint: copy of the head commit's resume point.
    pub resume: Resume,
}

impl Lease {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec_pretty(self).expect("lease serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Lease, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        now_ms >= self.expires_at_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::SeqNo;

    #[test]
    fn lease_round_trips_and_refuses_unknown_fields() {
        let lease = Lease {
            shard_id: "shardId-000000000000".into(),
            owner: "delivery-a-1".into(),
            epoch: 3,
            expires_at_ms: 10_000,
            head: Some("_commits/shardId-000000000000/0000000002-e3.json".into()),
            commits: 2,
            resume: Resume::After(SeqNo::new("49")),
        };
        let back = Lease::from_json(&lease.to_json()).unwrap();
        assert_eq!(back, lease);
        assert!(back.is_expired(10_000) && !back.is_expired(9_999));
        let mut v: serde_json::Value = serde_json::from_slice(&lease.to_json()).unwrap();
        v["surprise"] = 1.into();
        assert!(Lease::from_json(v.to_string().as_bytes()).is_err());
    }
}
