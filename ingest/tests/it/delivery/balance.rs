//! Ownership is balanced when workers join, moves on a graceful stop (hand-off) and on a
//! death (within the lease period + 5 s), and storage stays exactly once throughout.

use super::common::*;
use ingest::delivery::Exit;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_four_shards_and_a_graceful_stop_hands_off() {
    let env = Env::start().await;
    let a = Running::start(env.config("delivery-a-1"), None).await;
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.worker.owned().len() == SHARDS
        })
        .await,
        "the only worker owns every shard"
    );
    let mut expected = put_mixed(&env, 1).await;
    let b = Running::start(env.config("delivery-b-1"), None).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.worker.owned().len() == 2 && b.worker.owned().len() == 2
        })
        .await,
        "2/2 after b joins: a {:?}, b {:?}",
        a.worker.owned(),
        b.worker.owned()
    );
    expected.extend(put_mixed(&env, 2).await);
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);

    assert_eq!(b.stop().await, Exit::Stopped);
    assert!(
        eventually(Duration::from_secs(10), || async {
            a.worker.owned().len() == SHARDS
        })
        .await,
        "a owns all four after b's hand-off"
    );
    expected.extend(put_mixed(&env, 3).await);
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert_eq!(a.stop().await, Exit::Stopped);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_workers_shards_are_taken_within_the_lease_period_plus_5s() {
    let env = Env::start().await;
    let cfg = env.config("delivery-a-1");
    let lease = Duration::from_millis(cfg.lease.duration_ms);
    let a = Running::start(cfg, None).await;
    let b = Running::start(env.config("delivery-b-1"), None).await;
    assert!(
        eventually(Duration::from_secs(15), || async {
            a.worker.owned().len() == 2 && b.worker.owned().len() == 2
        })
        .await,
        "2/2"
    );
    let mut expected = put_mixed(&env, 1).await;
    // b dies: no flush, no release.
    b.worker.crash();
    let died = Instant::now();
    assert_eq!(b.join().await, Exit::Crashed);
    assert!(
        eventually(lease + Duration::from_secs(5), || async {
            a.worker.owned().len() == SHARDS
        })
        .await,
        "a owns all four within lease + 5 s (after {:?})",
        died.elapsed()
    );
    expected.extend(put_mixed(&env, 2).await);
    let rows = env.wait_rows(expected.len(), Duration::from_secs(20)).await;
    assert_exactly(&rows, &expected);
    assert_eq!(a.stop().await, Exit::Stopped);
}
