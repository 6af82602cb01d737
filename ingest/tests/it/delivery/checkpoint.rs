//! Checkpoints in the commit chain (issue 16, bug 5): a worker with a small checkpoint
//! interval writes them (each with its segment), and a catalog rebuilt from the lease
//! heads reads each chain only back to its newest checkpoint, then that checkpoint's
//! segments, yet sees every committed object.

use super::common::*;
use ingest::table::{Commit, Segment};
use std::collections::BTreeSet;
use std::time::Duration;

/// Commit keys of `shard`'s chain from the head back to the newest checkpoint (included).
async fn down_to_checkpoint(env: &Env, shard: &str) -> (Vec<String>, Option<Commit>) {
    let lease = env.lease(shard).await.expect("lease");
    let mut keys = Vec::new();
    let mut next = lease.head;
    for _ in 0..=lease.commits {
        let Some(k) = next.take() else { break };
        let c = Commit::from_json(&env.get(&k).await.expect("commit")).expect("parses");
        keys.push(k);
        if c.checkpoint.is_some() {
            return (keys, Some(c));
        }
        next = c.parent;
    }
    (keys, None)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebuild_reads_back_only_to_the_newest_checkpoint_and_sees_every_object() {
    let env = Env::start().await;
    let mut cfg = env.config("delivery-a-1");
    cfg.checkpoint.every_commits = 3;
    let w = Running::start(cfg, None).await;
    let mut expected = std::collections::BTreeMap::new();
    for round in 0..7 {
        expected.extend(put_mixed(&env, round).await);
        let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
        assert_eq!(rows.len(), expected.len(), "round {round} committed");
    }
    assert_eq!(w.stop().await, ingest::delivery::Exit::Stopped);
    assert!(
        w_checkpoints(&env).await >= SHARDS,
        "every shard has a checkpoint"
    );
    // Every object the full chains reference (the independent reader walks to commit 1).
    let all: BTreeSet<String> = env
        .reachable()
        .await
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    // Below the newest checkpoint the history becomes unreadable: a rebuild that still
    // needed it would fail.
    let mut removed = 0;
    for (shard, _) in &env.shard_keys {
        let (walked, cp) = down_to_checkpoint(&env, shard).await;
        let cp = cp.expect("a checkpoint on every chain");
        assert!(walked.len() <= 3, "checkpoints at most 3 commits apart");
        // The checkpoint names its segments, not its objects; the newest segment holds
        // its own commit's objects.
        let checkpoint = cp.checkpoint.as_ref().expect("checkpoint");
        assert!(checkpoint.objects.is_empty(), "no inline table");
        let newest = checkpoint.segments.last().expect("a segment");
        let segment = Segment::from_json(&env.get(newest).await.expect("segment")).unwrap();
        let listed: BTreeSet<String> = segment.objects.iter().map(|o| o.key.clone()).collect();
        assert!(
            cp.objects.iter().all(|o| listed.contains(&o.key)),
            "the newest segment lists the checkpoint commit's own objects"
        );
        for k in env.keys(&format!("_commits/{shard}/")).await {
            if !walked.contains(&k) {
                env.s3
                    .delete_object()
                    .bucket(BUCKET)
                    .key(&k)
                    .send()
                    .await
                    .expect("DeleteObject");
                removed += 1;
            }
        }
    }
    assert!(
        removed > 0,
        "commits older than the checkpoints were removed"
    );
    let seen = rebuilt_catalog(&env, &all).await;
    assert_eq!(
        seen, all,
        "the rebuilt catalog holds every committed object"
    );
}

/// Commits carrying a checkpoint, over all shards, from the chains back to commit 1.
async fn w_checkpoints(env: &Env) -> usize {
    let mut n = 0;
    for k in env.keys("_commits/").await {
        let c = Commit::from_json(&env.get(&k).await.expect("commit")).expect("parses");
        n += usize::from(c.checkpoint.is_some());
    }
    n
}
