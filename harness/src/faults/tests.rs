//! The engine against a fake target that records every action: timelines, durations,
//! clearing, repair, restores, seeded choices, unsupported verbs; entry checks; stop
//! conditions.

use super::fake::Fake;
use super::stop::{StopCondition, StopMetric, StopWatch};
use super::*;
use crate::monitor::Sample;
use std::sync::Arc;
use std::time::Duration;

fn entry(toml_text: &str) -> FaultEntry {
    toml::from_str(toml_text).expect("entry parses")
}

fn engine(hooks: bool, seed: u64) -> (Arc<FaultEngine>, Arc<Fake>) {
    let fake = Arc::new(Fake {
        hooks,
        ..Fake::default()
    });
    let e = FaultEngine::new(fake.clone(), Arc::new(EventLog::new()), seed);
    (e, fake)
}

#[tokio::test]
async fn a_timeline_starts_and_ends_each_fault_in_order_with_events() {
    let (e, fake) = engine(true, 7);
    let entries = vec![
        entry(
            "verb = \"worker-stall\"\ntarget = \"delivery-b\"\nat_secs = 0.2\nduration_secs = 0.2",
        ),
        entry(
            "verb = \"shard-pause\"\nshards = [1, 2]\nmode = \"reads\"\nat_secs = 0.1\nduration_secs = 0.6",
        ),
    ];
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let timeline = tokio::spawn(e.clone().run_timeline(entries, rx));
    tokio::task::yield_now().await;
    let listed = e.list();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|r| r.state == FaultState::Scheduled),
        "{listed:?}"
    );
    timeline.await.unwrap();
    // Both started; wait (bounded) for both durations to end them.
    for _ in 0..100 {
        if e.active().is_empty() && e.list().iter().all(|r| r.state == FaultState::Ended) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let targets: Vec<_> = e
        .list()
        .into_iter()
        .map(|r| (r.verb, r.target, r.state))
        .collect();
    assert_eq!(
        targets,
        vec![
            (
                FaultVerb::WorkerStall,
                "delivery-b".to_string(),
                FaultState::Ended
            ),
            (
                FaultVerb::ShardPause,
                "shards 1,2 (reads)".to_string(),
                FaultState::Ended
            )
        ]
    );
    let log = fake.log.lock().clone();
    assert_eq!(
        log[0],
        "emu+1 ShardPause { stream: \"telemetry\", shard_id: \"shardId-000000000001\", mode: Reads }"
    );
    assert_eq!(log[2], "Stop delivery-b");
    let cont = log.iter().position(|l| l == "Cont delivery-b").unwrap();
    let cleared = log.iter().position(|l| l == "emu-1").unwrap();
    assert!(
        cont < cleared,
        "the stall (0.2 + 0.2 s) ends before the pause (0.1 + 0.6 s): {log:?}"
    );
    let kinds: Vec<(EventKind, Option<String>)> = e
        .events()
        .snapshot()
        .iter()
        .map(|ev| (ev.kind, ev.verb.clone()))
        .collect();
    let pause = Some("shard-pause".to_string());
    let stall = Some("worker-stall".to_string());
    assert_eq!(
        kinds,
        vec![
            (EventKind::FaultStarted, pause.clone()),
            (EventKind::FaultStarted, stall.clone()),
            (EventKind::FaultEnded, stall),
            (EventKind::FaultEnded, pause),
        ]
    );
}

#[tokio::test]
async fn clear_and_repair_undo_and_a_restore_ends_the_loss() {
    let (e, fake) = engine(true, 1);
    let kill = e
        .inject(
            entry("verb = \"gateway-kill\"\ntarget = \"gateway-a\"\nduration_secs = 60"),
            Source::Api,
        )
        .await
        .unwrap();
    let loss = e
        .inject(entry("verb = \"az-loss\"\ntarget = \"b\""), Source::Api)
        .await
        .unwrap();
    assert_eq!(loss.target, "az b");
    assert_eq!(e.active().len(), 2);
    // az-restore ends the az-loss (its undo runs once) and is itself one action.
    e.inject(entry("verb = \"az-restore\"\ntarget = \"b\""), Source::Api)
        .await
        .unwrap();
    assert_eq!(e.active().len(), 1);
    assert_eq!(
        e.clear(loss.id, "again").await.unwrap_err(),
        FaultError::NotActive(loss.id)
    );
    let log = fake.log.lock().clone();
    let conts = log
        .iter()
        .filter(|l| l.as_str() == "Cont delivery-b")
        .count();
    assert_eq!(
        conts, 2,
        "undo of the loss, then the restore's own actions: {log:?}"
    );
    assert_eq!(log[1], "az b Blackhole");
    assert_eq!(e.repair_all("repair").await, 1);
    assert_eq!(fake.log.lock().last().unwrap(), "restart gateway-a");
    assert_eq!(
        e.list()
            .iter()
            .find(|r| r.id == kill.id)
            .unwrap()
            .end_reason
            .as_deref(),
        Some("repair")
    );
    assert_eq!(
        e.clear(99, "x").await.unwrap_err(),
        FaultError::NotFound(99)
    );
}

#[tokio::test]
async fn the_seed_replays_the_same_random_targets() {
    let pick = |seed| async move {
        let (e, _) = engine(true, seed);
        let mut out = Vec::new();
        for _ in 0..4 {
            let r = e
                .inject(
                    entry("verb = \"worker-stall\"\ntarget = \"random\""),
                    Source::Api,
                )
                .await
                .unwrap();
            let s = e
                .inject(
                    entry("verb = \"shard-pause\"\nshard_fraction = 0.25"),
                    Source::Api,
                )
                .await
                .unwrap();
            out.push((r.target, s.target));
        }
        out
    };
    let a = pick(42).await;
    assert_eq!(a, pick(42).await);
    assert_ne!(a, pick(43).await, "another seed picks other targets");
    assert!(
        a.iter().all(|(_, s)| s.split(',').count() == 2),
        "a quarter of 8 shards: {a:?}"
    );
}

#[tokio::test]
async fn a_backend_without_hooks_refuses_backend_faults_and_logs_it() {
    let (e, _) = engine(false, 1);
    let err = e
        .inject(
            entry("verb = \"s3-errors\"\nprobability = 0.1"),
            Source::Api,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, FaultError::Unsupported(_)), "{err:?}");
    assert_eq!(e.list()[0].state, FaultState::Failed);
    assert_eq!(e.events().snapshot()[0].kind, EventKind::FaultFailed);
    // Process and proxy faults work on every backend.
    e.inject(
        entry("verb = \"worker-kill\"\ntarget = \"owner-of-shard:1\""),
        Source::Api,
    )
    .await
    .unwrap();
    assert_eq!(e.active()[0].target, "delivery-b");
    let np = e
        .inject(
            entry("verb = \"network-partition\"\ntarget = \"delivery-c\"\npeer = \"backend\""),
            Source::Api,
        )
        .await
        .unwrap();
    assert_eq!(np.target, "delivery-c <-> backend");
}

#[test]
fn entries_name_the_field_that_is_wrong() {
    let azs: Vec<String> = ["a", "b"].map(String::from).to_vec();
    let err = |t: &str| entry(t).check(&azs).unwrap_err();
    assert_eq!(
        err("verb = \"gateway-kill\"\ntarget = \"gateway-z\"").field,
        "target"
    );
    assert_eq!(err("verb = \"gateway-kill\"").field, "target");
    assert_eq!(err("verb = \"shard-throttle\"").field, "probability");
    assert_eq!(
        err("verb = \"shard-pause\"\nprobability = 0.5").field,
        "probability"
    );
    assert_eq!(
        err("verb = \"latency\"\nservice = \"s3\"\np50_ms = 50\np99_ms = 10").field,
        "p99_ms"
    );
    assert_eq!(
        err("verb = \"az-restore\"\ntarget = \"a\"\nduration_secs = 3").field,
        "duration_secs"
    );
    assert_eq!(
        err("verb = \"sqs-errors\"\nprobability = 0.1\nerror = \"slowdown\"").field,
        "error"
    );
    let e = err("verb = \"network-partition\"\ntarget = \"gateway-a\"\npeer = \"delivery-b\"");
    assert!(e.message.contains("no traffic flows"), "{e:?}");
    assert_eq!(err("verb = \"shard-pause\"\nat_secs = -1").field, "at_secs");
    entry("verb = \"latency\"\nservice = \"s3\"\noperation = \"PutObject\"\np50_ms = 20\np99_ms = 200")
        .check(&azs)
        .unwrap();
    let unknown = toml::from_str::<FaultEntry>("verb = \"unplug\"")
        .unwrap_err()
        .to_string();
    assert!(unknown.contains("shard-pause"), "{unknown}");
}

fn sample(t_ms: u64, server_5xx: u64, freshness: Option<f64>) -> Sample {
    Sample {
        t_ms,
        load: crate::load::Progress {
            elapsed_secs: t_ms as f64 / 1000.0,
            server_5xx,
            freshness_now_ms: freshness,
            ..Default::default()
        },
        ..Sample::default()
    }
}

#[test]
fn a_stop_condition_trips_only_after_its_duration_and_resets_when_healthy() {
    let mut w = StopWatch::new(vec![
        StopCondition {
            name: None,
            metric: StopMetric::ServerErrorsPerSec,
            above: Some(10.0),
            below: None,
            for_secs: 2.0,
        },
        StopCondition {
            name: Some("stale".into()),
            metric: StopMetric::FreshnessP99Ms,
            above: Some(5000.0),
            below: None,
            for_secs: 3.0,
        },
    ]);
    assert_eq!(w.observe(&sample(0, 0, Some(1000.0))), None);
    assert_eq!(w.observe(&sample(1000, 50, Some(1000.0))), None);
    assert_eq!(w.observe(&sample(2000, 100, None)), None);
    // Healthy for a second: the breach starts over.
    assert_eq!(w.observe(&sample(3000, 100, None)), None);
    assert_eq!(w.observe(&sample(4000, 200, None)), None);
    assert_eq!(w.observe(&sample(5000, 300, None)), None);
    let t = w
        .observe(&sample(6000, 400, None))
        .expect("5xx for 2 s trips");
    assert_eq!((t.since_ms, t.at_ms, t.figure), (4000, 6000, 100.0));
    assert!(
        t.condition.contains("ServerErrorsPerSec > 10"),
        "{}",
        t.condition
    );
    let bad = StopCondition {
        name: None,
        metric: StopMetric::TtfbP99Ms,
        above: Some(1.0),
        below: Some(2.0),
        for_secs: 1.0,
    };
    assert!(bad.check().is_err());
}
