//! A worker that dies at any seam of the commit protocol and is restarted loses nothing
//! and stores nothing twice (by kinesis_shard, kinesis_seq, sub_seq).

use super::common::*;
use ingest::delivery::{Exit, Hook, HookAction, Point};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Crashes the worker the first time any shard reaches `at`.
fn crash_once(at: Point, fired: Arc<AtomicBool>) -> Hook {
    Arc::new(move |p, _shard| {
        if p == at && !fired.swap(true, Ordering::SeqCst) {
            HookAction::Crash
        } else {
            HookAction::Continue
        }
    })
}

/// Objects under data prefixes that no reachable commit lists.
async fn unreachable_data(env: &Env) -> Vec<String> {
    let reachable = env.reachable().await;
    let mut all = env.keys("metrics/").await;
    all.extend(env.keys("events/").await);
    all.into_iter().filter(|k| !reachable.contains(k)).collect()
}

async fn crash_and_restart(at: Point, restart_id: &str) -> (Env, Vec<String>) {
    let env = Env::start().await;
    let fired = Arc::new(AtomicBool::new(false));
    let w = Running::start(
        env.config("delivery-a-1"),
        Some(crash_once(at, fired.clone())),
    )
    .await;
    let mut expected = put_mixed(&env, 1).await;
    assert_eq!(w.join().await, Exit::Crashed, "the crash point fired");
    assert!(fired.load(Ordering::SeqCst));
    let orphans = unreachable_data(&env).await;
    // More records arrive while no worker runs.
    expected.extend(put_mixed(&env, 2).await);
    let w2 = Running::start(env.config(restart_id), None).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    // Settle a little longer: no late duplicate appears.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_exactly(&env.table().await, &expected);
    assert_eq!(w2.stop().await, Exit::Stopped);
    assert_exactly(&env.table().await, &expected);
    (env, orphans)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_data_before_commit_loses_and_duplicates_nothing() {
    // Restarted as a new process (new id): it takes the expired leases over.
    let (_env, orphans) = crash_and_restart(Point::AfterData, "delivery-a-2").await;
    assert!(
        !orphans.is_empty(),
        "the crashed flush left data objects no commit lists"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_commit_before_lease_update_loses_and_duplicates_nothing() {
    // Restarted under the same id: it reclaims its own leases at once (epoch + 1).
    let (env, orphans) = crash_and_restart(Point::AfterCommit, "delivery-a-1").await;
    assert!(
        !orphans.is_empty(),
        "the unreferenced commit's objects are orphans"
    );
    for i in 0..SHARDS {
        assert!(env.lease(env.shard_id(i)).await.expect("lease").epoch >= 2);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_lease_update_before_next_read_loses_and_duplicates_nothing() {
    crash_and_restart(Point::AfterLease, "delivery-a-2").await;
}

/// One partition flushed by size while an older one stays buffered: the commit's resume
/// point is the older record, so a restart re-reads the flushed partition's records and
/// must skip them by its durable mark.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_after_a_partial_flush_skips_what_is_already_durable() {
    let env = Env::start().await;
    let mut cfg = env.config("delivery-a-1");
    cfg.buffer.max_bytes = 2_000;
    cfg.buffer.interval_ms = 60_000;
    let fired = Arc::new(AtomicBool::new(false));
    let w = Running::start(cfg, Some(crash_once(Point::AfterLease, fired.clone()))).await;
    // Older and small (stays buffered), then large (due by size at once).
    let mut expected = env
        .put(0, &events_envelope("studio-q", HOUR_10, 1, 1))
        .await;
    let big = metrics_envelope("studio-p", HOUR_10, 400, 2);
    assert!(big.encode_record().len() > 2_000);
    expected.extend(env.put(0, &big).await);
    assert_eq!(w.join().await, Exit::Crashed);
    let lease = env.lease(env.shard_id(0)).await.expect("lease");
    assert!(
        matches!(lease.resume, ingest::table::Resume::At(_)),
        "resume at the still-buffered record: {:?}",
        lease.resume
    );
    assert_eq!(
        env.table().await.len(),
        big.len(),
        "only the big partition is committed"
    );

    let w2 = Running::start(env.config("delivery-a-2"), None).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert!(
        w2.metric("delivery_records_skipped_durable_total", "")
            .await
            >= 1.0
    );
    assert_eq!(w2.stop().await, Exit::Stopped);
    assert_exactly(&env.table().await, &expected);
}

/// Review of the segment checkpoints: a crash between a checkpoint's segment and its
/// commit (every commit carries a checkpoint here) leaves an orphan segment; the next
/// owner's checkpoints name only segments that exist, nothing is lost or stored twice,
/// and a catalog rebuilt from the lease heads (checkpoint and segments) sees every
/// committed object.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_between_a_checkpoints_segment_and_its_commit_loses_nothing() {
    let env = Env::start().await;
    let fired = Arc::new(AtomicBool::new(false));
    let mut cfg = env.config("delivery-a-1");
    cfg.checkpoint.every_commits = 1;
    let w = Running::start(cfg, Some(crash_once(Point::AfterData, fired.clone()))).await;
    let mut expected = put_mixed(&env, 1).await;
    assert_eq!(w.join().await, Exit::Crashed, "the crash point fired");
    let orphan_segments = env.keys("_segments/").await;
    assert!(
        !orphan_segments.is_empty(),
        "the crashed flush wrote its checkpoint's segment before dying"
    );
    expected.extend(put_mixed(&env, 2).await);
    let mut cfg = env.config("delivery-a-2");
    cfg.checkpoint.every_commits = 1;
    let w2 = Running::start(cfg, None).await;
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert_eq!(w2.stop().await, Exit::Stopped);
    let reachable: std::collections::BTreeSet<String> = env
        .reachable()
        .await
        .into_iter()
        .filter(|k| k.ends_with(".parquet"))
        .collect();
    let seen = rebuilt_catalog(&env, &reachable).await;
    assert_eq!(
        seen, reachable,
        "the rebuilt catalog holds every committed object"
    );
}
