//! Lease objects as delivery writes them: create (`If-None-Match: *`, epoch 1), take
//! (epoch + 1, `If-Match` on the ETag last seen), renew / move the head / release
//! (`If-Match`). Also the balancing plan (KCL-like): live workers are the distinct owners
//! of unexpired leases plus self; a worker takes free or expired leases up to its fair
//! share, then steals the rest of its deficit from workers above the share (most loaded
//! first), so a fleet that boots together balances in a round or two.

use super::store::{Store, StoreError};
use crate::table::layout::lease_key;
use crate::table::{Lease, Resume};
use std::collections::{BTreeMap, BTreeSet};

/// A lease as this worker last saw (or wrote) it, with its ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// Replaces the held lease by `next`, conditional on the ETag last seen. A refused
/// condition is settled by reading the lease back, since neither a 409
/// ConditionalRequestConflict nor a 412 after an unanswered attempt says whose write is
/// there: the ETag we hold still there means nothing landed (transient, retried); our
/// owner and epoch there mean an earlier attempt of ours landed unanswered — `next`
/// itself (expiry aside) is done, anything else refreshes the held ETag and is retried;
/// any other writer's lease is a lost race (`Precondition`: fenced).
pub async fn write(store: &Store, held: &mut Held, next: Lease) -> Result<(), StoreError> {
    let key = lease_key(&held.lease.shard_id);
    let etag = match store.put_match(&key, next.to_json(), &held.etag).await {
        Ok(etag) => etag,
        Err(StoreError::Precondition(p)) => {
            let Some((there, etag)) = store.get(&key).await? else {
                return Err(StoreError::Precondition(p));
            };
            let transient = |detail: &str| StoreError::Transient {
                op: "PutObject",
                key: key.clone(),
                detail: detail.into(),
            };
            if etag == held.etag {
                return Err(transient(
                    "condition refused, the lease unchanged: nothing landed",
                ));
            }
            match Lease::from_json(&there) {
                Ok(found) if found.owner == held.lease.owner && found.epoch == held.lease.epoch => {
                    let landed = Lease {
                        expires_at_ms: next.expires_at_ms,
                        ..found.clone()
                    } == next;
                    *held = Held { lease: found, etag };
                    if landed {
                        return Ok(());
                    }
                    return Err(transient("an earlier write of ours landed unanswered"));
                }
                _ => return Err(StoreError::Precondition(p)),
            }
        }
        Err(e) => return Err(e),
    };
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
    // it), then free and expired ones — from an offset derived from this worker's id, so
    // that the survivors of a dead worker, planning on the same snapshot, mostly take
    // different shards (a collision costs the loser a failed conditional write and a
    // second look; see `Worker::evaluate`).
    let (mut own, mut others): (Vec<&String>, Vec<&String>) = (Vec::new(), Vec::new());
    for s in shards.iter().filter(|s| !held.contains(*s)) {
        match leases.get(s) {
            Some(v) if v.owner == me => own.push(s),
            None => others.push(s),
            Some(v) if !live(v) => others.push(s),
            _ => {}
        }
    }
    own.sort();
    others.sort();
    let at = offset_of(me, others.len());
    others.rotate_left(at);
    let mut out: Vec<Take> = own
        .into_iter()
        .chain(others)
        .take(want)
        .map(|s| Take::Free(s.clone()))
        .collect();
    want -= out.len();
    // Then steal the rest of the deficit from workers above the share, the most loaded
    // first, never taking a worker below the share. Each thief starts its pick at an
    // offset derived from its id, so joiners stealing at once mostly pick different
    // shards (a collision only costs the loser a failed conditional write).
    let mut victims: Vec<(&str, usize)> = load.iter().map(|(o, n)| (*o, *n)).collect();
    victims.sort_by_key(|(o, n)| (std::cmp::Reverse(*n), *o));
    let start = offset_of(me, shards.len());
    for (victim, n) in victims {
        if want == 0 || n <= target {
            break;
        }
        let give = (n - target).min(want);
        let picks = (0..shards.len())
            .map(|i| &shards[(start + i) % shards.len()])
            .filter(|s| leases.get(*s).is_some_and(|v| live(v) && v.owner == victim))
            .take(give);
        for s in picks {
            out.push(Take::Steal(s.clone()));
            want -= 1;
        }
    }
    out
}

/// Where worker `me` starts looking for shards to steal (FNV-1a of its id).
fn offset_of(me: &str, n: usize) -> usize {
    let h = me.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    (h % n.max(1) as u64) as usize
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

    fn steals(p: &[Take]) -> usize {
        p.iter().filter(|t| matches!(t, Take::Steal(_))).count()
    }

    #[test]
    fn joiner_steals_its_whole_deficit_in_one_round() {
        let leases: BTreeMap<String, View> = shards(4)
            .into_iter()
            .map(|s| (s, view("a", false)))
            .collect();
        // a holds 4 of 4; b joins: share 2, b steals 2 at once.
        let p = plan("b", &shards(4), &leases, &BTreeSet::new());
        assert_eq!(steals(&p), 2, "{p:?}");
        let mut leases = leases;
        leases.insert("s0".into(), view("b", false));
        leases.insert("s1".into(), view("b", false));
        let held: BTreeSet<String> = ["s0".into(), "s1".into()].into();
        assert!(plan("b", &shards(4), &leases, &held).is_empty());
        // b holds one, a three (> its share of 2): b steals one more, one of a's.
        let held: BTreeSet<String> = ["s0".into()].into();
        leases.insert("s1".into(), view("a", false));
        let p = plan("b", &shards(4), &leases, &held);
        assert_eq!(p.len(), 1, "{p:?}");
        let Take::Steal(s) = &p[0] else {
            panic!("{p:?}")
        };
        assert_eq!(leases[s].owner, "a");
        // three workers, 2/2/0: nobody holds more than ceil(4/3) = 2, no steal.
        let mut leases: BTreeMap<String, View> = BTreeMap::new();
        for (s, o) in [("s0", "a"), ("s1", "a"), ("s2", "b"), ("s3", "b")] {
            leases.insert(s.into(), view(o, false));
        }
        assert!(plan("c", &shards(4), &leases, &BTreeSet::new()).is_empty());
    }

    /// Simulates a fleet that booted together: the first worker took every shard, the
    /// others join; each round every worker plans on the same snapshot and the
    /// conditional writes let one thief win each shard.
    #[test]
    fn a_fleet_that_booted_together_balances_within_three_rounds() {
        let all = shards(31);
        let mut owner: BTreeMap<String, String> = all
            .iter()
            .map(|s| (s.clone(), "delivery-a".to_string()))
            .collect();
        let workers = ["delivery-a", "delivery-b", "delivery-c"];
        for _round in 0..3 {
            let snapshot: BTreeMap<String, View> = owner
                .iter()
                .map(|(s, o)| (s.clone(), view(o, false)))
                .collect();
            for w in workers {
                let held: BTreeSet<String> = owner
                    .iter()
                    .filter(|(_, o)| o.as_str() == w)
                    .map(|(s, _)| s.clone())
                    .collect();
                for t in plan(w, &all, &snapshot, &held) {
                    let (Take::Steal(s) | Take::Free(s)) = t;
                    // The write is conditional on the snapshot: it loses if another
                    // worker already moved the shard this round.
                    if owner[&s] == snapshot[&s].owner {
                        owner.insert(s, w.to_string());
                    }
                }
            }
        }
        let mut counts: Vec<usize> = workers
            .iter()
            .map(|w| owner.values().filter(|o| o.as_str() == *w).count())
            .collect();
        counts.sort();
        assert!(counts[0] >= 9 && counts[2] <= 11, "{counts:?}");
    }

    #[test]
    fn expired_released_and_own_leases_are_free() {
        let mut leases = BTreeMap::new();
        leases.insert("s0".to_string(), view("dead", true));
        leases.insert("s1".to_string(), view("", false));
        leases.insert("s2".to_string(), view("b", false));
        leases.insert("s3".to_string(), view("a", false));
        let p = plan("a", &shards(4), &leases, &BTreeSet::new());
        // live: b + a → target 2; a's own lease first, then the expired or the released one.
        assert_eq!(p.len(), 2, "{p:?}");
        assert_eq!(p[0], Take::Free("s3".into()));
        assert!(
            [Take::Free("s0".into()), Take::Free("s1".into())].contains(&p[1]),
            "{p:?}"
        );
    }

    /// Three workers hold 13 of 39 shards each; one dies. Both survivors plan on the same
    /// snapshot once its leases expired and write conditionally (one wins each shard);
    /// a worker that lost a write looks again at once (`Worker::evaluate`). Every dead
    /// worker's shard is taken in that one evaluation, and the survivors share them.
    #[test]
    fn survivors_take_a_dead_workers_shards_in_one_evaluation() {
        let all = shards(39);
        let workers = ["delivery-a-101", "delivery-b-102", "delivery-c-103"];
        let mut owner: BTreeMap<String, String> = all
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), workers[i % 3].to_string()))
            .collect();
        let views = |owner: &BTreeMap<String, String>| -> BTreeMap<String, View> {
            owner
                .iter()
                .map(|(s, o)| (s.clone(), view(o, o == workers[0])))
                .collect()
        };
        let held = |owner: &BTreeMap<String, String>, w: &str| -> BTreeSet<String> {
            owner
                .iter()
                .filter(|(_, o)| o.as_str() == w)
                .map(|(s, _)| s.clone())
                .collect()
        };
        let snapshot = views(&owner);
        let plans: Vec<Vec<Take>> = workers[1..]
            .iter()
            .map(|w| plan(w, &all, &snapshot, &held(&owner, w)))
            .collect();
        let mut lost_writes = 0;
        for (w, p) in workers[1..].iter().zip(&plans) {
            let mut lost = false;
            for t in p {
                let (Take::Steal(s) | Take::Free(s)) = t;
                if owner[s] == snapshot[s].owner {
                    owner.insert(s.clone(), w.to_string());
                } else {
                    lost = true;
                    lost_writes += 1;
                }
            }
            if lost {
                let again = views(&owner);
                for t in plan(w, &all, &again, &held(&owner, w)) {
                    let (Take::Steal(s) | Take::Free(s)) = t;
                    if owner[&s] == again[&s].owner {
                        owner.insert(s, w.to_string());
                    }
                }
            }
        }
        // Both starting at the first expired shard, the second would lose all 7 writes.
        assert!(lost_writes < 7, "{lost_writes} lost writes");
        assert_eq!(held(&owner, workers[0]).len(), 0, "{owner:?}");
        let (b, c) = (
            held(&owner, workers[1]).len(),
            held(&owner, workers[2]).len(),
        );
        assert_eq!(b + c, 39);
        assert!(b.abs_diff(c) <= 1, "{b} / {c}");
    }

    /// Review of issue 16's 409 settle: a renewal whose write landed but whose answer
    /// was lost is retried with a new expiry and refused (412); reading back found bytes
    /// other than the retry's and an ETag other than the held one, and called it another
    /// writer's — a false fence of a worker that still held its lease.
    #[tokio::test]
    async fn a_write_of_ours_that_landed_unanswered_is_not_taken_for_another_writer() {
        let (_emu, store) = crate::delivery::store::tests::store().await;
        let mut held = take(&store, "s0", None, "w-1", 1_000, 10_000)
            .await
            .unwrap();
        let stale = held.clone();
        // The first attempt of a renewal lands; its answer is lost.
        let first = Lease {
            expires_at_ms: 20_000,
            ..held.lease.clone()
        };
        write(&store, &mut held, first).await.unwrap();
        // The retry, from the state before it: the same renewal, a later expiry.
        let mut retrying = stale.clone();
        let again = Lease {
            expires_at_ms: 21_000,
            ..stale.lease.clone()
        };
        write(&store, &mut retrying, again)
            .await
            .expect("ours: done, not fenced");
        assert_eq!(retrying, held, "adopted what landed, with its ETag");
        // An older write of ours that differs (a head move) refreshes the ETag: retried.
        let mut behind = stale.clone();
        let head = Lease {
            head: Some("c1".into()),
            ..stale.lease.clone()
        };
        let e = write(&store, &mut behind, head.clone()).await.unwrap_err();
        assert!(matches!(e, StoreError::Transient { .. }), "{e:?}");
        write(&store, &mut behind, head)
            .await
            .expect("retried with the ETag");
        // Another worker's take is a lost race.
        let cur = behind.clone();
        take(&store, "s0", Some(&cur), "w-2", 99_000, 10_000)
            .await
            .unwrap();
        let next = Lease {
            expires_at_ms: 30_000,
            ..behind.lease.clone()
        };
        let e = write(&store, &mut behind, next).await.unwrap_err();
        assert!(matches!(e, StoreError::Precondition(_)), "{e:?}");
    }
}
