//! The catalog follows the lease heads: only committed objects are visible, a new commit
//! becomes visible through the queue (no listing), a restart rebuilds from the lease
//! heads, and a poison notification ends in the dead-letter queue after 5 receives.

use super::fixture::*;
use std::time::Duration;

const COUNT_A: &str = "SELECT count(*) FROM metrics";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_committed_objects_are_visible_and_new_commits_arrive_over_sqs() {
    let mut fx = Fixture::start().await;
    let s = fx.service().await;
    assert_eq!(fx.scalar(&s, KEY_A, COUNT_A).await, 0);

    // An object in A's prefix that no commit lists: never visible.
    let orphan = metrics(A, "shardId-000000000000", 1, &samples(7, T0));
    fx.committer.orphan("shardId-000000000000", orphan).await;
    let obj = metrics(A, "shardId-000000000000", 2, &samples(5, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    assert_eq!(fx.eventually(&s, KEY_A, COUNT_A, 5).await, 5);

    // A second commit on another shard, then one more on the first.
    let obj = metrics(A, "shardId-000000000001", 3, &samples(3, T0 + 1000));
    fx.committer.commit("shardId-000000000001", vec![obj]).await;
    let obj = metrics(A, "shardId-000000000000", 4, &samples(2, T0 + 2000));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    assert_eq!(fx.eventually(&s, KEY_A, COUNT_A, 10).await, 10);
    // Still no orphan rows, and the table was never listed after start-up.
    let text = fx.metrics_text(&s).await;
    assert!(text.contains("query_catalog_rebuilds_total 1"), "{text}");
    assert!(
        text.contains(r#"query_catalog_messages_total{outcome="applied",reason="ok"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"query_table_objects{tenant="studio-a",table="metrics"} 3"#),
        "{text}"
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_rebuilds_from_the_lease_heads() {
    let mut fx = Fixture::start().await;
    for i in 0..3 {
        let obj = metrics(A, "shardId-000000000000", i, &samples(4, T0));
        fx.committer.commit("shardId-000000000000", vec![obj]).await;
    }
    let s = fx.service().await;
    assert_eq!(fx.scalar(&s, KEY_A, COUNT_A).await, 12, "rebuilt at start");
    s.stop();

    // While the service is down: one more commit, and its notification is lost.
    let obj = events(
        A,
        "shardId-000000000001",
        9,
        &[E {
            event_id: "e1".into(),
            name: "match_end",
            ts_ms: T0,
            ingest_ms: T0,
        }],
    );
    fx.committer.commit("shardId-000000000001", vec![obj]).await;
    fx.sqs
        .purge_queue()
        .queue_url(&fx.wiring.queue_url)
        .send()
        .await
        .expect("purge");
    let s = fx.service().await;
    assert_eq!(fx.scalar(&s, KEY_A, COUNT_A).await, 12);
    assert_eq!(fx.scalar(&s, KEY_A, "SELECT count(*) FROM events").await, 1);
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_notification_lands_in_the_dlq_after_five_receives() {
    let fx = Fixture::start().await;
    let s = fx.service().await;
    // A lease object that does not parse: S3 notifies, the catalog cannot apply it.
    fx.committer
        .put(
            "_leases/shardId-000000000009.json",
            b"{ not a lease".to_vec(),
        )
        .await;
    // And a message that is not an S3 event at all.
    fx.sqs
        .send_message()
        .queue_url(&fx.wiring.queue_url)
        .message_body("garbage")
        .send()
        .await
        .expect("send");
    // Distinct messages by id: the DLQ is read without hiding what was already seen.
    let mut by_id = std::collections::BTreeMap::new();
    for _ in 0..100 {
        by_id.extend(fx.dlq_messages().await);
        if by_id.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let dead: Vec<String> = by_id.into_values().collect();
    assert_eq!(dead.len(), 2, "{dead:?}");
    assert!(dead.iter().any(|b| b == "garbage"), "{dead:?}");
    assert!(
        dead.iter()
            .any(|b| b.contains("_leases/shardId-000000000009.json"))
    );
    assert_eq!(fx.emu.emulator.ctx.counters.get("sqs.dead_lettered"), 2);
    let text = fx.metrics_text(&s).await;
    // Five receives each, every one counted as a failure with its reason.
    for reason in ["unparseable_message", "unparseable_object"] {
        let line =
            format!(r#"query_catalog_messages_total{{outcome="failed",reason="{reason}"}} 5"#);
        assert!(text.contains(&line), "{line} missing in\n{text}");
    }
    // The service still answers.
    assert_eq!(fx.scalar(&s, KEY_A, COUNT_A).await, 0);
    s.stop();
}

/// Issue 16, bug 5: a shard whose chain cannot be rebuilt at start keeps the catalog not
/// ready (counted, with its reason) instead of serving without that shard's data; once its
/// chain reads again the catalog applies it and becomes ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_that_cannot_be_rebuilt_keeps_the_catalog_not_ready() {
    let mut fx = Fixture::start().await;
    for i in 0..2 {
        let obj = metrics(A, "shardId-000000000000", i, &samples(4, T0));
        fx.committer.commit("shardId-000000000000", vec![obj]).await;
    }
    let obj = metrics(A, "shardId-000000000001", 7, &samples(3, T0));
    let broken = fx.committer.commit("shardId-000000000001", vec![obj]).await;
    let body = fx
        .s3
        .get_object()
        .bucket(BUCKET)
        .key(&broken)
        .send()
        .await
        .expect("GetObject")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec();
    fx.s3
        .delete_object()
        .bucket(BUCKET)
        .key(&broken)
        .send()
        .await
        .expect("DeleteObject");

    let svc = ingest::query::QueryService::start(config(&fx.emu.endpoint()))
        .await
        .expect("query service starts");
    let mut missing = Vec::new();
    for _ in 0..150 {
        missing = svc.catalog.missing();
        if !missing.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        missing,
        vec![("shardId-000000000001".to_string(), "s3_read")],
        "the shard whose head commit cannot be read is reported missing"
    );
    assert!(
        !svc.catalog.is_ready(),
        "not ready while a shard is missing"
    );
    assert_eq!(svc.metrics.shards_missing.get(), 1);
    // The other shard was applied all the same.
    assert_eq!(svc.catalog.snapshot(A).metrics.len(), 2);

    // The commit reads again: the consumer's retry applies the shard.
    fx.committer.put(&broken, body).await;
    assert!(
        svc.wait_ready(Duration::from_secs(20)).await,
        "ready once every shard is applied"
    );
    assert_eq!(svc.catalog.snapshot(A).metrics.len(), 3);
    assert!(svc.catalog.missing().is_empty());
    svc.stop();
}
