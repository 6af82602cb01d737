//! A worker stalled past its lease while another takes the shard over is fenced: its late
//! writes stay unreachable, add nothing to the table, and the sweeper deletes them.

use super::common::*;
use ingest::delivery::{Exit, Hook, HookAction, Point};
use ingest::table::layout::epoch_of_key;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_worker_is_fenced_and_its_orphans_are_swept() {
    let env = Env::start().await;
    let target = env.shard_id(0).to_string();
    let stalled = Arc::new(AtomicBool::new(false));
    let hook: Hook = {
        let (target, stalled) = (target.clone(), stalled.clone());
        Arc::new(move |p, shard| {
            if p == Point::AfterData && shard == target && !stalled.swap(true, Ordering::SeqCst) {
                // Well past the 2 s lease: another worker takes the shard meanwhile.
                HookAction::Stall(Duration::from_secs(5))
            } else {
                HookAction::Continue
            }
        })
    };
    let a = Running::start(env.config("delivery-a-1"), Some(hook)).await;
    let mut expected = put_mixed(&env, 1).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            stalled.load(Ordering::SeqCst)
        })
        .await,
        "worker a reached the stall point"
    );
    let mut cfg = env.config("delivery-b-1");
    cfg.sweeper.interval_ms = 300;
    cfg.sweeper.grace_ms = 0;
    let b = Running::start(cfg, None).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            b.worker.owned().contains(&target)
        })
        .await,
        "worker b takes the stalled shard over"
    );
    expected.extend(put_mixed(&env, 2).await);
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.metric("delivery_fenced_writes_total", &target).await > 0.0
        })
        .await,
        "the stalled worker's lease update is refused"
    );
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);

    // Everything of the old epoch that no commit reaches is swept.
    let epoch = env.lease(&target).await.expect("lease").epoch;
    assert!(epoch >= 2);
    let clean = eventually(Duration::from_secs(10), || async {
        let reachable = env.reachable().await;
        let mut all = env.keys("metrics/").await;
        all.extend(env.keys("events/").await);
        all.extend(env.keys(&format!("_commits/{target}/")).await);
        all.iter()
            .filter(|k| k.contains(&target) && epoch_of_key(k).is_some_and(|e| e < epoch))
            .all(|k| reachable.contains(k))
    })
    .await;
    assert!(clean, "orphans of the fenced epoch are deleted");
    assert!(b.metric("delivery_orphans_swept_total", "").await > 0.0);
    assert_exactly(&env.table().await, &expected);
    assert_eq!(a.stop().await, Exit::Stopped);
    assert_eq!(b.stop().await, Exit::Stopped);
    assert_exactly(&env.table().await, &expected);
}
