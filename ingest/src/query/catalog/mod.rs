//! The catalog: which data objects make up each tenant's `metrics` and `events` tables.
//! It follows the lease heads (the storage contract in [`crate::table`]): a data object
//! joins the table when a commit reachable from its shard's lease head lists it, never
//! before. State is in memory, rebuilt from the lease heads on start ([`follow`]) and kept
//! current by S3 notifications over SQS ([`sqs`]); [`wiring`] creates the bucket, queues
//! and notification configuration. A shard that could not be rebuilt is kept as missing
//! (with its reason) and the catalog is not ready until it is applied.
//!
//! Queries take a [`TenantSnapshot`]: cheap (`Arc` clones), immutable, so a commit applied
//! during a query does not change what the query reads.

pub mod follow;
pub mod sqs;
pub mod wiring;

use crate::Kind;
use crate::table::{Commit, CommittedObject, Partition};
use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// One committed data object as the query service needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct DataObject {
    pub key: String,
    pub rows: u64,
    /// Size of the object (where the Parquet footer is read from).
    pub bytes: u64,
    pub min_ingest_ms: i64,
    pub max_ingest_ms: i64,
    pub dt: String,
    pub hour: String,
    pub shard_id: String,
}

/// The objects of one table, oldest commit first.
pub type Objects = Arc<Vec<Arc<DataObject>>>;

/// What one tenant's queries read: both tables as of one moment.
#[derive(Debug, Clone, Default)]
pub struct TenantSnapshot {
    pub metrics: Objects,
    pub events: Objects,
}

impl TenantSnapshot {
    pub fn table(&self, kind: Kind) -> &Objects {
        match kind {
            Kind::Events => &self.events,
            _ => &self.metrics,
        }
    }
}

/// The head commit of a shard already applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedHead {
    pub key: String,
    pub number: u64,
}

/// What applying a chain segment did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Applied {
    pub commits: u64,
    pub objects: u64,
}

#[derive(Default)]
struct State {
    tenants: HashMap<String, TenantSnapshot>,
    /// Keys already in a table (a key listed twice joins once).
    known: HashSet<String>,
    heads: HashMap<String, AppliedHead>,
    /// tenant → shard → newest committed `max_ingest_ms`.
    newest: HashMap<String, BTreeMap<String, i64>>,
}

#[derive(Default)]
pub struct Catalog {
    state: RwLock<State>,
    ready: AtomicBool,
    /// Shards whose chain could not be applied since start, with the reason: while any
    /// is here the catalog is not ready (a query would silently miss their data).
    missing: RwLock<BTreeMap<String, &'static str>>,
}

impl Catalog {
    pub fn new() -> Self {
        Self::default()
    }

    /// The commit applied last for `shard` (where a chain walk stops).
    pub fn applied_head(&self, shard: &str) -> Option<AppliedHead> {
        self.state.read().heads.get(shard).cloned()
    }

    /// Applies `commits` of `shard` (oldest first, up to and including `head`). Objects
    /// already known are skipped, so applying a commit twice changes nothing; the shard's
    /// applied head only moves forward (by commit number).
    pub fn apply(&self, shard: &str, head: AppliedHead, commits: &[Commit]) -> Applied {
        let mut st = self.state.write();
        let mut done = Applied::default();
        for c in commits {
            for o in &c.objects {
                if st.known.contains(&o.key) {
                    continue;
                }
                let Some(p) = o.partition() else {
                    tracing::warn!(key = %o.key, "commit lists a key that is not a data object; skipped");
                    continue;
                };
                st.known.insert(o.key.clone());
                add_object(&mut st, shard, &p, o);
                done.objects += 1;
            }
            done.commits += 1;
        }
        if st.heads.get(shard).is_none_or(|h| h.number < head.number) {
            st.heads.insert(shard.to_string(), head);
        }
        done
    }

    pub fn snapshot(&self, tenant: &str) -> TenantSnapshot {
        self.state
            .read()
            .tenants
            .get(tenant)
            .cloned()
            .unwrap_or_default()
    }

    /// Per shard, the newest committed ingest time of `tenant`'s rows.
    pub fn newest_ingest(&self, tenant: &str) -> BTreeMap<String, i64> {
        self.state
            .read()
            .newest
            .get(tenant)
            .cloned()
            .unwrap_or_default()
    }

    /// `(tenant, table, objects)` for every tenant with objects.
    pub fn object_counts(&self) -> Vec<(String, &'static str, usize)> {
        let st = self.state.read();
        let mut out = Vec::new();
        for (t, snap) in &st.tenants {
            out.push((t.clone(), "metrics", snap.metrics.len()));
            out.push((t.clone(), "events", snap.events.len()));
        }
        out
    }

    /// Rebuilt from the lease heads, with no shard missing.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire) && self.missing.read().is_empty()
    }

    /// `shard` could not be brought up to its lease head; returns how many are missing.
    pub fn mark_missing(&self, shard: &str, reason: &'static str) -> usize {
        let mut m = self.missing.write();
        m.insert(shard.to_string(), reason);
        m.len()
    }

    /// `shard` is up to its lease head; returns how many are still missing.
    pub fn mark_present(&self, shard: &str) -> usize {
        let mut m = self.missing.write();
        m.remove(shard);
        m.len()
    }

    /// Shards missing, with the reason.
    pub fn missing(&self) -> Vec<(String, &'static str)> {
        self.missing
            .read()
            .iter()
            .map(|(s, r)| (s.clone(), *r))
            .collect()
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }
}

/// A short text for an AWS SDK error: `Code: message` when the service answered, the
/// error chain otherwise (never the raw response).
pub(crate) fn sdk_error<E>(e: &E) -> String
where
    E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error,
{
    match (e.code(), e.message()) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    }
}

fn add_object(st: &mut State, shard: &str, p: &Partition, o: &CommittedObject) {
    let obj = Arc::new(DataObject {
        key: o.key.clone(),
        rows: o.rows,
        bytes: o.bytes,
        min_ingest_ms: o.min_ingest_ms,
        max_ingest_ms: o.max_ingest_ms,
        dt: p.dt.clone(),
        hour: p.hour.clone(),
        shard_id: shard.to_string(),
    });
    let snap = st.tenants.entry(p.tenant.clone()).or_default();
    let table = match p.kind {
        Kind::Events => &mut snap.events,
        _ => &mut snap.metrics,
    };
    Arc::make_mut(table).push(obj);
    let newest = st
        .newest
        .entry(p.tenant.clone())
        .or_default()
        .entry(shard.to_string())
        .or_insert(i64::MIN);
    *newest = (*newest).max(o.max_ingest_ms);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Resume, SeqNo};

    fn commit(number: u64, keys: &[(&str, i64)]) -> Commit {
        Commit {
            shard_id: "shardId-0".into(),
            epoch: 1,
            number,
            parent: None,
            created_ms: 0,
            objects: keys
                .iter()
                .map(|(k, max)| CommittedObject {
                    key: (*k).into(),
                    rows: 1,
                    bytes: 10,
                    first_seq: SeqNo::new("1"),
                    last_seq: SeqNo::new("1"),
                    min_ingest_ms: max - 5,
                    max_ingest_ms: *max,
                })
                .collect(),
            durable: Default::default(),
            resume: Resume::TrimHorizon,
            checkpoint: None,
        }
    }

    #[test]
    fn objects_join_their_tenant_once_and_heads_only_move_forward() {
        let cat = Catalog::new();
        let a = "metrics/tenant=a/dt=2026-11-26/hour=10/shardId-0-1-e1.parquet";
        let b = "events/tenant=b/dt=2026-11-26/hour=10/shardId-0-1-e1.parquet";
        let head = |number| AppliedHead {
            key: format!("c{number}"),
            number,
        };
        let done = cat.apply("shardId-0", head(1), &[commit(1, &[(a, 100), (b, 50)])]);
        assert_eq!(
            done,
            Applied {
                commits: 1,
                objects: 2
            }
        );
        // The same commit again (a replayed notification) adds nothing.
        let again = cat.apply("shardId-0", head(1), &[commit(1, &[(a, 100)])]);
        assert_eq!(again.objects, 0);
        assert_eq!(cat.snapshot("a").metrics.len(), 1);
        assert!(cat.snapshot("a").events.is_empty());
        assert_eq!(cat.snapshot("b").events.len(), 1);
        assert_eq!(cat.newest_ingest("a")["shardId-0"], 100);
        assert_eq!(cat.applied_head("shardId-0").unwrap().number, 1);
        cat.apply("shardId-0", head(0), &[]);
        assert_eq!(cat.applied_head("shardId-0").unwrap().key, "c1");
    }
}
