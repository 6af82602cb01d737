use super::*;
use crate::table::layout::{commit_key, segment_key};
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
/// built the way delivery builds it (from the running manifest); the segments written
/// with the checkpoints are in `SEGMENTS`' map, returned by `chain_and_segments`.
fn chain(epochs: &[u64], every: u64) -> (HashMap<String, Commit>, String) {
    let (commits, _, head) = chain_and_segments(epochs, every);
    (commits, head)
}

type Segments = HashMap<String, Segment>;

fn chain_and_segments(epochs: &[u64], every: u64) -> (HashMap<String, Commit>, Segments, String) {
    let mut m = Manifest::default();
    let mut segments = HashMap::new();
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
            let (cp, parts) = m.checkpoint_with(&c).unwrap();
            segments.extend(parts);
            c.checkpoint = Some(cp);
        }
        m.apply(&c).unwrap();
        let key = commit_key(SHARD, number, *epoch);
        out.insert(key.clone(), c);
        parent = Some(key);
    }
    (out, segments, parent.unwrap_or_default())
}

async fn read_from(walked: &mut Walked, segments: &Segments) -> Result<(), WalkError> {
    walked
        .read_segments(|k| {
            let s = segments.get(&k).cloned();
            async move { Ok(s) }
        })
        .await
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
    let (commits, segments, head) = chain_and_segments(&[1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3], 4);
    let (walked, reads) = walk_map(&commits, &head, None).await;
    let mut walked = walked.unwrap();
    assert_eq!(walked.end, End::Checkpoint);
    assert_eq!(reads, 4, "commits 11, 10, 9 and the checkpoint 8");
    // The checkpoint names its segments; its table is what they hold.
    assert_eq!(
        walked.manifest(None).unwrap_err().reason(),
        "broken_chain",
        "no manifest before the segments are read"
    );
    read_from(&mut walked, &segments).await.unwrap();
    let m = walked.manifest(None).unwrap();
    assert_eq!(
        m.segments,
        [segment_key(SHARD, 4, 0, 2), segment_key(SHARD, 8, 0, 3)]
    );
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
    let applied = walked.oldest_first().unwrap();
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

/// Found in review of issue 16: a checkpoint listed every object of the shard's table
/// inline in its commit, so the commit grew with the table; past ~65,000 objects (a day of
/// 1 s flushes) it outgrew the 16 MiB documents the catalog reads and a restarted query
/// service could not rebuild the shard. A checkpoint commit must stay small whatever the
/// table's size; each segment holds only what its checkpoint added.
#[tokio::test]
async fn a_checkpoint_commit_does_not_grow_with_the_table() {
    let (commits, segments, head) = chain_and_segments(&vec![1; 3_000], 1_000);
    let size = |n: u64| commits[&commit_key(SHARD, n, 1)].to_json().len();
    assert!(
        size(1_000) < 8 << 10,
        "checkpoint 1000: {} bytes",
        size(1_000)
    );
    assert!(
        size(3_000) < 8 << 10,
        "checkpoint 3000: {} bytes",
        size(3_000)
    );
    assert_eq!(segments.len(), 3);
    assert!(segments.values().all(|s| s.objects.len() == 1_000));
    // And the table is still whole: a reader from checkpoint 3000 sees all 3000 objects.
    let (walked, reads) = walk_map(&commits, &head, None).await;
    let mut walked = walked.unwrap();
    assert_eq!(reads, 1);
    read_from(&mut walked, &segments).await.unwrap();
    let m = walked.manifest(None).unwrap();
    let seqs: Vec<u64> = m
        .objects
        .iter()
        .map(|o| o.first_seq.0.parse().unwrap())
        .collect();
    assert_eq!(seqs, (1..=3_000).collect::<Vec<_>>());
}

/// A segment a checkpoint names and that is gone is an error, never a smaller table.
#[tokio::test]
async fn a_missing_segment_is_an_error_not_a_smaller_table() {
    let (commits, mut segments, head) = chain_and_segments(&[1; 8], 4);
    segments.retain(|k, _| !k.contains("0000000004"));
    let (walked, _) = walk_map(&commits, &head, None).await;
    let mut walked = walked.unwrap();
    let e = read_from(&mut walked, &segments).await.unwrap_err();
    assert_eq!(e.reason(), "segment_missing", "{e}");
}

/// A chain whose older checkpoints list their objects inline (written before segments)
/// reads as before, and the next checkpoint puts the whole table into its segment.
#[tokio::test]
async fn an_inline_checkpoint_still_reads_and_the_next_one_moves_it_into_a_segment() {
    let (mut commits, _, _) = chain_and_segments(&[1; 4], 0);
    let mut m = Manifest::default();
    for n in 1..=3 {
        m.apply(&commits[&commit_key(SHARD, n, 1)]).unwrap();
    }
    let c4 = commits.get_mut(&commit_key(SHARD, 4, 1)).unwrap();
    let mut whole = m.objects.clone();
    whole.extend(c4.objects.clone());
    c4.checkpoint = Some(Checkpoint {
        objects: whole,
        segments: vec![],
        epochs: vec![EpochSpan { from: 1, epoch: 1 }],
    });
    let (walked, _) = walk_map(&commits, &commit_key(SHARD, 4, 1), None).await;
    let mut walked = walked.unwrap();
    read_from(&mut walked, &HashMap::new()).await.unwrap();
    let m = walked.manifest(None).unwrap();
    assert_eq!((m.objects.len(), m.in_segments), (4, 0));
    let c5 = Commit {
        number: 5,
        parent: Some(commit_key(SHARD, 4, 1)),
        objects: vec![object(5)],
        checkpoint: None,
        ..commits[&commit_key(SHARD, 4, 1)].clone()
    };
    let (cp, parts) = m.checkpoint_with(&c5).unwrap();
    assert!(cp.objects.is_empty() && cp.segments.len() == 1);
    assert_eq!(
        parts[0].1.objects.len(),
        5,
        "the inline table and commit 5's object"
    );
}

/// Review: a segment held every object its checkpoint added, however many (e.g. the
/// whole table after an inline checkpoint), and could outgrow what readers take. A
/// checkpoint adding more than a part's worth writes several parts.
#[test]
fn a_checkpoint_adding_many_objects_writes_them_in_bounded_parts() {
    let (commits, _) = chain(&[1; 9], 0);
    let mut m = Manifest::default();
    for n in 1..=9 {
        m.apply(&commits[&commit_key(SHARD, n, 1)]).unwrap();
    }
    let c10 = Commit {
        number: 10,
        parent: Some(commit_key(SHARD, 9, 1)),
        objects: vec![object(10)],
        ..commits[&commit_key(SHARD, 9, 1)].clone()
    };
    let (cp, parts) = m.checkpoint_in_parts(&c10, 4).unwrap();
    let sizes: Vec<usize> = parts.iter().map(|(_, p)| p.objects.len()).collect();
    assert_eq!(sizes, [4, 4, 2]);
    assert_eq!(
        cp.segments,
        (0..3)
            .map(|p| segment_key(SHARD, 10, p, 1))
            .collect::<Vec<_>>()
    );
}

/// Review: nothing showed that an owner reading its history back from a segment
/// checkpoint writes its next checkpoint with only what came since (an `in_segments`
/// of 0 would repeat the whole table in every segment).
#[tokio::test]
async fn a_history_read_back_from_segments_puts_only_the_new_objects_in_the_next() {
    let (commits, segments, head) = chain_and_segments(&[1; 10], 4);
    let (walked, _) = walk_map(&commits, &head, None).await;
    let mut walked = walked.unwrap();
    read_from(&mut walked, &segments).await.unwrap();
    let m = walked.manifest(None).unwrap();
    assert_eq!((m.number, m.in_segments, m.objects.len()), (10, 8, 10));
    let c11 = Commit {
        number: 11,
        parent: Some(head.clone()),
        objects: vec![object(11)],
        ..commits[&head].clone()
    };
    let (cp, parts) = m.checkpoint_with(&c11).unwrap();
    let seqs: Vec<&str> = parts[0]
        .1
        .objects
        .iter()
        .map(|o| o.first_seq.0.as_str())
        .collect();
    assert_eq!(seqs, ["9", "10", "11"]);
    assert_eq!(cp.segments.len(), 3, "commits 1-4, 5-8, 9-11");
}

/// Review: a reader that knows a recent commit re-read the whole table from the
/// segments every time a checkpoint passed; it walks past checkpoints to what it knows,
/// and falls back to the newest checkpoint only when that is too far back.
#[tokio::test]
async fn a_reader_that_knows_a_commit_walks_past_checkpoints_to_it() {
    let (commits, head) = chain(&[1; 11], 4);
    let k6 = commit_key(SHARD, 6, 1);
    let (walked, reads) = walk_map(&commits, &head, Some((k6.as_str(), 6))).await;
    let walked = walked.unwrap();
    assert_eq!((walked.end, reads), (End::Known, 5), "commits 11 to 7");
    // No segment read: the known manifest extended by commits 7-11 (checkpoint 8 too).
    let (short, _) = chain(&[1; 6], 4);
    let (w6, _) = walk_map(&short, &k6, None).await;
    let mut w6 = w6.unwrap();
    let (_, seg6, _) = chain_and_segments(&[1; 6], 4);
    read_from(&mut w6, &seg6).await.unwrap();
    let known = w6.manifest(None).unwrap();
    let m = walked.manifest(Some(&known)).unwrap();
    assert_eq!(
        (m.number, m.checkpoint_number, m.objects.len()),
        (11, 8, 11)
    );
    // Known too far back for `max`: the walk ends at the newest checkpoint it passed.
    let far = walk(Some(head.as_str()), Some((k6.as_str(), 6)), 4, |k| {
        let c = commits.get(&k).cloned();
        async move { Ok(c) }
    })
    .await
    .unwrap();
    assert_eq!(far.end, End::Checkpoint);
    assert_eq!(far.commits.last().unwrap().1.number, 8);
}
