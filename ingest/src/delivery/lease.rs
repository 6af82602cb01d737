//! Lease objects as delivery writes them: create (`If-None-Match: *`, epoch 1), take
//! (epoch + 1, `If-Match` on the ETag last seen), renew / move the head / release
//! (`If-Match`). Also the balancing plan (KCL-like): live workers are the distinct owners
//! of unexpired leases plus self; a worker takes free or expired leases up to its fair
//! share, then steals one at a time from the most loaded worker.

use super::store::{Store, StoreError};
use crate::table::layout::lease_key;
use crate::table::{Lease, Resume};
use std::collections::{BTreeMap, BTreeSet};

/// A lease as this worker last saw (or wrote) it, with its ETag.
#[derive(Debug, Clone)]
pub struct Held {
    pub lease: Lease,
    pub etag: String,
}

pub async fn read(store: &Store, shard_id: &str) -> Result<Option<Held>, StoreError> {
    let key = lease_key(shard_id);
    let Some((body, etag)) = store.get(&key).await? else {
        return Ok(None);
    };
    let lease = Lease::from_json(&body).map_err(|e| StoreError::Transient {
        op: "ParseLease",
        key,
        detail: e.to_string(),
    })?;
    Ok(Some(Held { lease, etag }))
}

/// Takes the shard: epoch + 1 (1 when the lease does not exist yet), conditional on the
/// lease still being what `current` says.
pub async fn take(
    store: &Store,
    shard_id: &str,
    current: Option<&Held>,
    me: &str,
    now_ms: i64,
    duration_ms: u64,
) -> Result<Held, StoreError> {
    let key = lease_key(shard_id);
    let expires_at_ms = now_ms + duration_ms as i64;
    match current {
        None => {
            let lease = Lease {
                shard_id: shard_id.to_string(),
                owner: me.to_string(),
                epoch: 1,
                expires_at_ms,
                head: None,
                commits: 0,
                resume: Resume::TrimHorizon,
            };
            let etag = store.put_new(&key, lease.to_json()).await?;
            Ok(Held { lease, etag })
        }
        Some(cur) => {
            let lease = Lease {
                owner: me.to_string(),
                epoch: cur.lease.epoch + 1,
                expires_at_ms,
                ..cur.lease.clone()
            };
            let etag = store.put_match(&key, lease.to_json(), &cur.etag).await?;
            Ok(Held { lease, etag })
        }
    }
}

/// Replaces the held lease by `next`, conditional on the ETag last seen.
pub async fn write(store: &Store, held: &mut Held, next: Lease) -> Result<(), StoreError> {
    let etag = store
        .put_match(&lease_key(&held.lease.shard_id), next.to_json(), &held.etag)
        .await?;
    *held = Held { lease: next, etag };
    Ok(())
}

/// What one evaluation decides to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Take {
    /// No lease object yet, released, expired, or left by an earlier life of this worker.
    Free(String),
    /// Owned by a live worker holding more than its share.
    Steal(String),
}

/// What a lease looks like to the balancer.
#[derive(Debug, Clone)]
pub struct View {
    pub owner: String,
    pub expired: bool,
}

/// The balancing decision. `leases` has an entry per shard with a lease object; `held`
/// are the shards this worker runs.
pub fn plan(
    me: &str,
    shards: &[String],
    leases: &BTreeMap<String, View>,
    held: &BTreeSet<String>,
) -> Vec<Take> {
    if shards.is_empty() {
        return Vec::new();
    }
    let live = |v: &View| !v.expired && !v.owner.is_empty();
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    for s in shards {
        if let Some(v) = leases.get(s)
            && live(v)
            && v.owner != me
        {
            *load.entry(v.owner.as_str()).or_default() += 1;
        }
    }
    let workers = load.len() + 1;
    let target = shards.len().div_ceil(workers);
    let mine = held.len();
    if mine >= target {
        return Vec::new();
    }
    let mut want = target - mine;
    // Leases of an earlier life of this worker first (it is dead: nobody else writes for
    // it), then free and expired ones.
    let mut free: Vec<(bool, &String)> = shards
        .iter()
        .filter(|s| !held.contains(*s))
        .filter_map(|s| match leases.get(s) {
            None => Some((true, s)),
            Some(v) if v.owner == me => Some((false, s)),
            Some(v) if !live(v) => Some((true, s)),
            _ => None,
        })
        .collect();
    free.sort();
    let mut out: Vec<Take> = free
        .into_iter()
        .take(want)
        .map(|(_, s)| Take::Free(s.clone()))
        .collect();
    want -= out.len();
    if want > 0
        && let Some((victim, n)) = load
            .iter()
            .max_by_key(|(o, n)| (**n, std::cmp::Reverse(**o)))
        && *n > target
        && let Some(s) = shards.iter().find(|s| {
            leases
                .get(*s)
                .is_some_and(|v| live(v) && v.owner == *victim)
        })
    {
        out.push(Take::Steal(s.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("s{i}")).collect()
    }

    fn view(owner: &str, expired: bool) -> View {
        View {
            owner: owner.into(),
            expired,
        }
    }

    #[test]
    fn first_worker_takes_all_free_shards() {
        let p = plan("a", &shards(4), &BTreeMap::new(), &BTreeSet::new());
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|t| matches!(t, Take::Free(_))));
    }

    #[test]
    fn joiner_steals_one_at_a_time_down_to_a_fair_share() {
        let leases: BTreeMap<String, View> = shards(4)
            .into_iter()
            .map(|s| (s, view("a", false)))
            .collect();
        let p = plan("b", &shards(4), &leases, &BTreeSet::new());
        assert_eq!(p, vec![Take::Steal("s0".into())]);
        let mut leases = leases;
        leases.insert("s0".into(), view("b", false));
        leases.insert("s1".into(), view("b", false));
        let held: BTreeSet<String> = ["s0".into(), "s1".into()].into();
        assert!(plan("b", &shards(4), &leases, &held).is_empty());
        // b holds one, a three (> its share of 2): b steals one more.
        let held: BTreeSet<String> = ["s0".into()].into();
        leases.insert("s1".into(), view("a", false));
        assert_eq!(
            plan("b", &shards(4), &leases, &held),
            vec![Take::Steal("s1".into())]
        );
        // three workers, 2/2/0: nobody holds more than ceil(4/3) = 2, no steal.
        let mut leases: BTreeMap<String, View> = BTreeMap::new();
        for (s, o) in [("s0", "a"), ("s1", "a"), ("s2", "b"), ("s3", "b")] {
            leases.insert(s.into(), view(o, false));
        }
        assert!(plan("c", &shards(4), &leases, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn expired_released_and_own_leases_are_free() {
        let mut leases = BTreeMap::new();
        leases.insert("s0".to_string(), view("dead", true));
        leases.insert("s1".to_string(), view("", false));
        leases.insert("s2".to_string(), view("b", false));
        leases.insert("s3".to_string(), view("a", false));
        let p = plan("a", &shards(4), &leases, &BTreeSet::new());
        // live: b + a → target 2; a's own lease first, then an expired one.
        assert_eq!(p, vec![Take::Free("s3".into()), Take::Free("s0".into())]);
    }
}
