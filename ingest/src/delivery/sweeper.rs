//! The sweeper: deletes data, commit and checkpoint-segment objects of the shards this
//! worker owns that the shard's chain does not reference, whose epoch is below the lease's current epoch (so no
//! live writer can still make them reachable) and which are older than the grace period.
//!
//! It runs as its own task ([`spawn`]), never inside the lease loop. Per owned shard it
//! walks the chain from the lease head down to the newest checkpoint (or the first commit,
//! or the head it walked completely last time) and keeps the resulting manifest. A shard
//! whose walk did not reach its end this sweep has nothing deleted (counted by reason) and
//! keeps its last complete manifest: "referenced" is only ever what a complete walk saw.
//! The bucket is listed a page at a time from a cursor that carries over to the next
//! sweep (`pages_per_sweep`), so every object is visited however large the bucket.

use super::history::{read_commit, read_segment};
use super::lease;
use super::metrics::{self, KindLabels, Metrics};
use super::store::{Store, StoreError};
use super::worker::Inner;
use crate::table::Manifest;
use crate::table::checkpoint::{self, WalkError};
use crate::table::layout::{COMMITS_PREFIX, SEGMENTS_PREFIX, commit_number_of_key, epoch_of_key};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The prefixes swept, in cursor order.
const PREFIXES: [&str; 4] = [COMMITS_PREFIX, SEGMENTS_PREFIX, "metrics/", "events/"];

/// What one sweep works with.
pub struct Scope<'a> {
    pub store: &'a Store,
    pub worker_id: &'a str,
    pub grace_ms: u64,
    pub now_ms: i64,
    pub metrics: &'a Metrics,
    /// Keys per listing page, and pages listed per sweep.
    pub page_keys: i32,
    pub pages_per_sweep: usize,
}

/// What a complete walk of one shard's chain found.
struct Reach {
    head: String,
    manifest: Manifest,
    /// Data objects and checkpoint segments the chain references.
    data: HashSet<String>,
}

/// What an object key is, for the sweeper.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Commit,
    Segment,
    Data,
}

impl KeyKind {
    fn label(self) -> &'static str {
        match self {
            KeyKind::Commit => "commit",
            KeyKind::Segment => "segment",
            KeyKind::Data => "data",
        }
    }
}

/// Where the listing resumes.
#[derive(Default, Clone, Debug, PartialEq, Eq)]
struct Cursor {
    prefix: usize,
    after: Option<String>,
}

#[derive(Default)]
pub struct Sweeper {
    reach: HashMap<String, Reach>,
    cursor: Cursor,
}

/// The outcome of one sweep.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Swept {
    pub deleted: u64,
    /// Owned shards whose chain was walked to its end this sweep.
    pub walked: Vec<String>,
    /// Owned shards left alone, with the reason.
    pub skipped: Vec<(String, &'static str)>,
    /// Listing pages read.
    pub pages: usize,
}

/// The shard a data, commit or segment key belongs to, and what it is.
pub fn shard_of_key(key: &str) -> Option<(&str, KeyKind)> {
    if let Some(rest) = key.strip_prefix(COMMITS_PREFIX) {
        return rest.split_once('/').map(|(s, _)| (s, KeyKind::Commit));
    }
    if let Some(rest) = key.strip_prefix(SEGMENTS_PREFIX) {
        return rest.split_once('/').map(|(s, _)| (s, KeyKind::Segment));
    }
    crate::table::Partition::of_data_key(key)?;
    let file = key.rsplit('/').next()?.strip_suffix(".parquet")?;
    let (rest, _epoch) = file.rsplit_once("-e")?;
    let (shard, _seq) = rest.rsplit_once('-')?;
    Some((shard, KeyKind::Data))
}

/// Runs the sweeper of `w` every `sweeper.interval_ms` until the handle is dropped.
pub fn spawn(w: Arc<Inner>) -> Handle {
    Handle(tokio::spawn(run(w)))
}

/// Aborts the sweeper task when dropped.
pub struct Handle(tokio::task::JoinHandle<()>);

impl Drop for Handle {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn run(w: Arc<Inner>) {
    let every = Duration::from_millis(w.config.sweeper.interval_ms);
    if every.is_zero() {
        return;
    }
    let mut sweeper = Sweeper::default();
    loop {
        tokio::time::sleep(every).await;
        let owned = w.owned_shards();
        if owned.is_empty() {
            continue;
        }
        let scope = Scope {
            store: &w.store,
            worker_id: &w.config.worker_id,
            grace_ms: w.config.sweeper.grace_ms,
            now_ms: w.now_ms(),
            metrics: &w.metrics,
            page_keys: w.config.sweeper.page_keys,
            pages_per_sweep: w.config.sweeper.pages_per_sweep,
        };
        match sweeper.sweep(&scope, &owned).await {
            Ok(s) if s.deleted > 0 || !s.skipped.is_empty() => {
                tracing::info!(deleted = s.deleted, skipped = ?s.skipped, "sweep done");
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(%e, "sweep listing failed; resumes there next sweep"),
        }
    }
}

impl Sweeper {
    /// Walks `shard`'s chain from the lease head; records the manifest only if the walk
    /// reached its end.
    async fn walk(
        &mut self,
        s: &Scope<'_>,
        shard: &str,
        head: Option<&str>,
        commits: u64,
    ) -> Result<(), WalkError> {
        let cached = self.reach.get(shard);
        if let (Some(r), Some(h)) = (cached, head)
            && r.head == h
        {
            return Ok(());
        }
        let known = cached.map(|r| (r.head.as_str(), r.manifest.number));
        let store = s.store;
        let max = usize::try_from(commits)
            .unwrap_or(usize::MAX)
            .saturating_add(1);
        let mut walked = checkpoint::walk(head, known, max, |k| read_commit(store, k)).await?;
        walked.read_segments(|k| read_segment(store, k)).await?;
        let manifest = walked.manifest(cached.map(|r| &r.manifest))?;
        let data = manifest
            .objects
            .iter()
            .map(|o| o.key.clone())
            .chain(manifest.segments.iter().cloned())
            .collect();
        self.reach.insert(
            shard.to_string(),
            Reach {
                head: head.unwrap_or_default().to_string(),
                manifest,
                data,
            },
        );
        Ok(())
    }

    /// Whether `key` (of `shard`) is referenced by the chain as last walked completely.
    fn referenced(&self, shard: &str, key: &str, kind: KeyKind, epoch: u64) -> bool {
        let Some(r) = self.reach.get(shard) else {
            return true;
        };
        match kind {
            // A commit key that does not parse is never deleted.
            KeyKind::Commit => {
                commit_number_of_key(key).is_none_or(|n| r.manifest.has_commit(n, epoch))
            }
            KeyKind::Segment | KeyKind::Data => r.data.contains(key),
        }
    }

    /// One sweep over `owned` shards. A listing failure ends the sweep (the cursor stays
    /// where it was); failures of single shards or deletes are counted and skipped.
    pub async fn sweep(&mut self, s: &Scope<'_>, owned: &[String]) -> Result<Swept, StoreError> {
        let mut out = Swept::default();
        let mut epochs: HashMap<String, u64> = HashMap::new();
        for shard in owned {
            let h = match lease::read(s.store, shard).await {
                Ok(Some(h)) if h.lease.owner == s.worker_id => h,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(shard, %e, "sweeper: lease read failed");
                    self.skip(s, &mut out, shard, "lease_read");
                    continue;
                }
            };
            match self
                .walk(s, shard, h.lease.head.as_deref(), h.lease.commits)
                .await
            {
                Ok(()) => {
                    epochs.insert(shard.clone(), h.lease.epoch);
                    out.walked.push(shard.clone());
                }
                Err(e) => {
                    tracing::warn!(shard, %e, "sweeper: chain not walked to its end; nothing deleted");
                    self.skip(s, &mut out, shard, e.reason());
                }
            }
        }
        if epochs.is_empty() {
            return Ok(out);
        }
        let grace = s.grace_ms as i64;
        while out.pages < s.pages_per_sweep.max(1) {
            let prefix = PREFIXES[self.cursor.prefix];
            let (page, truncated) = s
                .store
                .list_page(prefix, self.cursor.after.as_deref(), s.page_keys)
                .await?;
            out.pages += 1;
            for o in &page {
                let Some((shard, kind)) = shard_of_key(&o.key) else {
                    continue;
                };
                let (Some(current), Some(epoch)) = (epochs.get(shard), epoch_of_key(&o.key)) else {
                    continue;
                };
                if epoch >= *current
                    || s.now_ms - o.last_modified_ms < grace
                    || self.referenced(shard, &o.key, kind, epoch)
                {
                    continue;
                }
                if let Err(e) = s.store.delete(&o.key).await {
                    tracing::warn!(key = o.key, %e, "sweeper: delete failed");
                    self.skip(s, &mut out, "", "delete_failed");
                    continue;
                }
                out.deleted += 1;
                s.metrics
                    .orphans_swept
                    .get_or_create(&KindLabels { kind: kind.label() })
                    .inc();
                tracing::info!(key = o.key, "orphan swept");
            }
            match page.last() {
                Some(last) if truncated => self.cursor.after = Some(last.key.clone()),
                _ => {
                    self.cursor = Cursor {
                        prefix: (self.cursor.prefix + 1) % PREFIXES.len(),
                        after: None,
                    };
                    if self.cursor.prefix == 0 {
                        // One pass over the bucket ended: the next sweep starts over.
                        break;
                    }
                }
            }
        }
        Ok(out)
    }

    fn skip(&self, s: &Scope<'_>, out: &mut Swept, shard: &str, reason: &'static str) {
        s.metrics
            .sweep_skipped
            .get_or_create(&metrics::reason(shard, reason))
            .inc();
        out.skipped.push((shard.to_string(), reason));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_shard() {
        assert_eq!(
            shard_of_key("_commits/shardId-000000000001/0000000003-e2.json"),
            Some(("shardId-000000000001", KeyKind::Commit))
        );
        assert_eq!(
            shard_of_key("_segments/shardId-000000000001/0000001000-e2.json"),
            Some(("shardId-000000000001", KeyKind::Segment))
        );
        assert_eq!(
            shard_of_key(
                "metrics/tenant=a/dt=2026-11-26/hour=10/shardId-000000000001-4960-e3.parquet"
            ),
            Some(("shardId-000000000001", KeyKind::Data))
        );
        assert_eq!(shard_of_key("_leases/shardId-000000000001.json"), None);
        assert_eq!(shard_of_key("errors/shardId-1/5.json"), None);
    }
}
