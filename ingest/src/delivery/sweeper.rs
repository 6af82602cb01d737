//! The sweeper: deletes data and commit objects of the shards this worker owns that no
//! commit reachable from the lease head lists, whose epoch is below the lease's current
//! epoch (so no live writer can still make them reachable) and which are older than the
//! grace period. The reachable set is cached per shard: commits are immutable and the
//! chain is append-only, so each sweep walks only the commits added since the last one.

use super::lease;
use super::metrics::KindLabels;
use super::store::StoreError;
use super::worker::Inner;
use crate::table::Commit;
use crate::table::layout::{COMMITS_PREFIX, epoch_of_key};
use std::collections::{HashMap, HashSet};

#[derive(Default)]
struct Chain {
    /// Commit keys and data keys reachable from the last head walked.
    reachable: HashSet<String>,
}

#[derive(Default)]
pub struct Sweeper {
    chains: HashMap<String, Chain>,
}

/// The shard a data or commit key belongs to, and whether it is a commit.
pub fn shard_of_key(key: &str) -> Option<(&str, bool)> {
    if let Some(rest) = key.strip_prefix(COMMITS_PREFIX) {
        return rest.split_once('/').map(|(s, _)| (s, true));
    }
    crate::table::Partition::of_data_key(key)?;
    let file = key.rsplit('/').next()?.strip_suffix(".parquet")?;
    let (rest, _epoch) = file.rsplit_once("-e")?;
    let (shard, _seq) = rest.rsplit_once('-')?;
    Some((shard, false))
}

impl Sweeper {
    /// Walks the chain back from `head` until a commit already known reachable.
    async fn walk(
        &mut self,
        w: &Inner,
        shard: &str,
        head: Option<&str>,
        max: u64,
    ) -> Result<(), StoreError> {
        let chain = self.chains.entry(shard.to_string()).or_default();
        let mut next = head.map(str::to_string);
        for _ in 0..=max {
            let Some(key) = next.take() else { break };
            if chain.reachable.contains(&key) {
                break;
            }
            let Some((body, _)) = w.store.get(&key).await? else {
                return Err(StoreError::Transient {
                    op: "GetObject",
                    key,
                    detail: "reachable commit missing".into(),
                });
            };
            let c = Commit::from_json(&body).map_err(|e| StoreError::Transient {
                op: "ParseCommit",
                key: key.clone(),
                detail: e.to_string(),
            })?;
            chain
                .reachable
                .extend(c.objects.iter().map(|o| o.key.clone()));
            chain.reachable.insert(key);
            next = c.parent;
        }
        Ok(())
    }

    /// One sweep over `owned` shards; returns how many orphans were deleted.
    pub async fn sweep(&mut self, w: &Inner, owned: &[String]) -> Result<u64, StoreError> {
        let me = w.config.worker_id.as_str();
        let mut epochs: HashMap<String, u64> = HashMap::new();
        for shard in owned {
            let Some(h) = lease::read(&w.store, shard).await? else {
                continue;
            };
            if h.lease.owner != me {
                continue;
            }
            self.walk(w, shard, h.lease.head.as_deref(), h.lease.commits)
                .await?;
            epochs.insert(shard.clone(), h.lease.epoch);
        }
        if epochs.is_empty() {
            return Ok(0);
        }
        let now = w.now_ms();
        let grace = w.config.sweeper.grace_ms as i64;
        let mut deleted = 0;
        for prefix in [COMMITS_PREFIX, "metrics/", "events/"] {
            for o in w.store.list(prefix, 10_000).await? {
                let Some((shard, is_commit)) = shard_of_key(&o.key) else {
                    continue;
                };
                let (Some(current), Some(epoch)) = (epochs.get(shard), epoch_of_key(&o.key)) else {
                    continue;
                };
                let reachable = self
                    .chains
                    .get(shard)
                    .is_some_and(|c| c.reachable.contains(&o.key));
                if epoch < *current && !reachable && now - o.last_modified_ms >= grace {
                    w.store.delete(&o.key).await?;
                    deleted += 1;
                    let kind = if is_commit { "commit" } else { "data" };
                    w.metrics
                        .orphans_swept
                        .get_or_create(&KindLabels { kind })
                        .inc();
                    tracing::info!(key = o.key, "orphan swept");
                }
            }
        }
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_name_their_shard() {
        assert_eq!(
            shard_of_key("_commits/shardId-000000000001/0000000003-e2.json"),
            Some(("shardId-000000000001", true))
        );
        assert_eq!(
            shard_of_key(
                "metrics/tenant=a/dt=2026-11-26/hour=10/shardId-000000000001-4960-e3.parquet"
            ),
            Some(("shardId-000000000001", false))
        );
        assert_eq!(shard_of_key("_leases/shardId-000000000001.json"), None);
        assert_eq!(shard_of_key("errors/shardId-1/5.json"), None);
    }
}
