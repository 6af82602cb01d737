use super::*;
use crate::table::layout::commit_key;
use crate::table::{Resume, SeqNo};
use std::collections::HashMap;

const SHARD: &str = "shardId-0";

fn object(n: u64) -> CommittedObject {
    CommittedObject {
        key: format!("events/tenant=a/dt=2026-11-26/hour=10/{SHARD}-{n}-e1.parquet"),
        rows: 1,
        bytes: 1,
        first_seq: SeqNo::new(n.to_string()),
        last_seq: SeqNo::new(n.to_string()),
        min_ingest_ms: 0,
        max_ingest_ms: 0,
    }
}

/// A chain of `epochs.len()` commits (commit i+1 written under `epochs[i]`), one object
/// each, a checkpoint on every commit whose number is a multiple of `every` (0: none),
/// built the way delivery builds it (from the running manifest).
fn chain(epochs: &[u64], every: u64) -> (HashMap<String, Commit>, String) {
    let mut m = Manifest::default();
    let mut out = HashMap::new();
    let mut parent = None;
    for (i, epoch) in epochs.iter().enumerate() {
        let number = i as u64 + 1;
        let mut c = Commit {
            shard_id: SHARD.into(),
            epoch: *epoch,
            number,
            parent: parent.clone(),
            created_ms: 0,
            objects: vec![object(number)],
            durable: Default::default(),
            resume: Resume::TrimHorizon,
            checkpoint: None,
        };
        if every > 0 && number.is_multiple_of(every) {
            c.checkpoint = Some(m.checkpoint_with(&c).unwrap());
        }
        m.apply(&c).unwrap();
        let key = commit_key(SHARD, number, *epoch);
        out.insert(key.clone(), c);
        parent = Some(key);
    }
    (out, parent.unwrap_or_default())
}

async fn walk_map(
    commits: &HashMap<String, Commit>,
    head: &str,
    known: Option<(&str, u64)>,
) -> (Result<Walked, WalkError>, usize) {
    let reads = std::cell::Cell::new(0);
    let r = walk(Some(head), known, 1_000, |k| {
        reads.set(reads.get() + 1);
        let c = commits.get(&k).cloned();
        async move { Ok(c) }
    })
    .await;
    (r, reads.get())
}

#[tokio::test]
async fn a_walk_stops_at_the_newest_checkpoint_and_still_sees_every_object() {
    let (commits, head) = chain(&[1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], 4);
    let (walked, reads) = walk_map(&commits, &head, None).await;
    let walked = walked.unwrap();
    assert_eq!(walked.end, End::Checkpoint);
    assert_eq!(reads, 4, "commits 11, 10, 9 and the checkpoint 8");
    let m = walked.manifest(None).unwrap();
    assert_eq!(m.number, 11);
    assert_eq!(m.checkpoint_number, 8);
    let keys: Vec<u64> = m
        .objects
        .iter()
        .map(|o| o.first_seq.0.parse().unwrap())
        .collect();
    assert_eq!(keys, (1..=11).collect::<Vec<_>>());
    // Chain commits are told from orphans of the same number by their epoch.
    assert!(m.has_commit(3, 1) && m.has_commit(4, 2) && m.has_commit(11, 3));
    assert!(!m.has_commit(4, 1) && !m.has_commit(8, 2) && !m.has_commit(12, 3));
    // The catalog's order: the checkpoint stands for commits 1..=8.
    let applied = walked.oldest_first();
    assert_eq!(applied.len(), 4);
    assert_eq!(applied[0].objects.len(), 8);
    assert_eq!(applied[3].number, 11);
}

#[tokio::test]
async fn a_walk_without_checkpoints_reads_to_the_first_commit_or_the_known_head() {
    let (commits, head) = chain(&[1, 1, 2, 2, 2], 0);
    let (walked, reads) = walk_map(&commits, &head, None).await;
    let walked = walked.unwrap();
    assert_eq!((walked.end, reads), (End::First, 5));
    let full = walked.manifest(None).unwrap();
    assert_eq!(full.objects.len(), 5);
    assert_eq!(full.epoch_of(2), Some(1));
    assert_eq!(full.epoch_of(3), Some(2));

    // Known commit 3: only 5 and 4 are read, and the known manifest is extended.
    let (short, _) = chain(&[1, 1, 2], 0);
    let known = walk_map(&short, &commit_key(SHARD, 3, 2), None)
        .await
        .0
        .unwrap()
        .manifest(None)
        .unwrap();
    let k3 = commit_key(SHARD, 3, 2);
    let (walked, reads) = walk_map(&commits, &head, Some((k3.as_str(), 3))).await;
    let walked = walked.unwrap();
    assert_eq!((walked.end, reads), (End::Known, 2));
    assert_eq!(walked.manifest(Some(&known)).unwrap(), full);
}

#[tokio::test]
async fn a_missing_or_unreadable_commit_is_an_error_not_a_shorter_chain() {
    let (mut commits, head) = chain(&[1, 1, 1], 0);
    commits.remove(&commit_key(SHARD, 2, 1));
    let (walked, _) = walk_map(&commits, &head, None).await;
    assert_eq!(walked.unwrap_err().reason(), "commit_missing");

    let (commits, head) = chain(&[1, 1, 1], 0);
    let failing = walk(Some(head.as_str()), None, 10, |k| {
        let c = commits.get(&k).cloned();
        async move {
            match c {
                Some(c) if c.number == 2 => Err(WalkError::Read {
                    key: k,
                    detail: "503".into(),
                }),
                c => Ok(c),
            }
        }
    })
    .await;
    assert_eq!(failing.unwrap_err().reason(), "s3_read");
    let too_long = walk(Some(head.as_str()), None, 2, |k| {
        let c = commits.get(&k).cloned();
        async move { Ok(c) }
    })
    .await;
    assert_eq!(too_long.unwrap_err().reason(), "chain_too_long");
}

/// Review of issue 16: a walk that meets a commit at or below the known number under
/// another key ended as `Known`, and `manifest` extended the known manifest — which came
/// from another chain — so the sweeper would have taken the wrong objects as referenced.
#[tokio::test]
async fn a_known_commit_that_is_not_an_ancestor_gives_no_manifest() {
    let (commits, head) = chain(&[1, 1, 2, 2, 2], 0);
    let (other, other_head) = chain(&[1, 1, 7], 0);
    let known = walk_map(&other, &other_head, None)
        .await
        .0
        .unwrap()
        .manifest(None)
        .unwrap();
    let (walked, reads) = walk_map(&commits, &head, Some((other_head.as_str(), 3))).await;
    let walked = walked.unwrap();
    assert_eq!((walked.end, reads), (End::Diverged, 3));
    let e = walked.manifest(Some(&known)).unwrap_err();
    assert_eq!(e.reason(), "broken_chain", "{e}");
}

#[tokio::test]
async fn malformed_numbers_are_a_broken_chain_not_a_panic() {
    let (mut commits, head) = chain(&[1, 1], 0);
    let first = commit_key(SHARD, 1, 1);
    commits.get_mut(&first).unwrap().number = u64::MAX;
    let (walked, _) = walk_map(&commits, &head, None).await;
    assert_eq!(walked.unwrap_err().reason(), "broken_chain");
}
