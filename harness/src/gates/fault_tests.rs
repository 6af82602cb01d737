//! T5 and T7 over timelines built by hand: green when the fault took effect and the
//! pipeline recovered; red, with the figure, when the fault did nothing, data was lost,
//! the takeover was too slow, the zombie was never fenced, or nothing recovered; not run
//! when the backend could not inject the fault.

use super::fixtures::{passing, thresholds};
use super::{GateId, evaluate};
use crate::evidence::RunEvidence;
use crate::faults::{FaultEntry, FaultRecord, FaultState, FaultVerb, Source};
use crate::monitor::{LeaseView, Sample};

const SHARD: &str = "shardId-000000000000";

fn record(id: u64, verb: FaultVerb, target: &str, start: u64, end: u64) -> FaultRecord {
    FaultRecord {
        id,
        verb,
        target: target.into(),
        shards: if verb == FaultVerb::ShardPause {
            vec![SHARD.into()]
        } else {
            vec![]
        },
        source: Source::Timeline,
        state: FaultState::Ended,
        entry: FaultEntry::new(verb),
        scheduled_ms: Some(start),
        started_ms: Some(start),
        planned_end_ms: Some(end),
        ended_ms: Some(end),
        end_reason: Some("duration elapsed".into()),
        error: None,
    }
}

fn lease(worker: &str, epoch: u64, commits: u64) -> LeaseView {
    LeaseView {
        worker: worker.into(),
        epoch,
        commits,
    }
}

/// A pause of shard 0 from 10 s to 50 s, its owner killed at 15 s and back at 25 s; the
/// shard taken over at 20 s; the backlog drains by 55 s.
fn t5_evidence() -> RunEvidence {
    let mut ev = passing();
    ev.faults.records = vec![
        record(1, FaultVerb::ShardPause, "shards 0 (reads)", 10_000, 50_000),
        record(2, FaultVerb::WorkerKill, "delivery-a", 15_000, 25_000),
    ];
    ev.faults.timeline = (0..=80)
        .map(|s| {
            let t = s * 1000;
            let age = if (10_000..50_000).contains(&t) {
                (t - 10_000) as f64
            } else if (50_000..55_000).contains(&t) {
                40_000.0 - (t - 50_000) as f64 * 8.0
            } else {
                0.0
            };
            let l = if t < 20_000 {
                lease("delivery-a", 1, 10)
            } else {
                lease(
                    "delivery-b",
                    2,
                    if t < 50_000 {
                        10
                    } else {
                        10 + (t - 50_000) / 1000
                    },
                )
            };
            Sample {
                t_ms: t,
                iterator_age_ms: [(SHARD.to_string(), age)].into_iter().collect(),
                leases: [(SHARD.to_string(), l)].into_iter().collect(),
                load: crate::load::Progress {
                    freshness_now_ms: Some(1500.0),
                    ..Default::default()
                },
                ..Sample::default()
            }
        })
        .collect();
    ev
}

fn failing<'a>(r: &'a super::GateResult, what: &str) -> &'a super::Check {
    r.checks
        .iter()
        .find(|c| c.what.contains(what) && !c.passed)
        .unwrap_or_else(|| panic!("no failing check {what:?}: {:#?}", r.details))
}

#[test]
fn t5_passes_when_the_backlog_built_was_replayed_and_drained() {
    let r = evaluate(GateId::T5, &t5_evidence(), &thresholds());
    assert!(r.passed, "{:#?}", r.details);
}

#[test]
fn t5_is_red_when_the_pause_did_nothing() {
    let mut ev = t5_evidence();
    for s in &mut ev.faults.timeline {
        s.iterator_age_ms.insert(SHARD.into(), 200.0);
    }
    let r = evaluate(GateId::T5, &ev, &thresholds());
    let c = failing(&r, "peak iterator age");
    assert_eq!(c.measured, "0.2 s on shards 0 (reads)");
    assert_eq!(c.threshold, "≥ 35 s (the pause minus 5 s)");
}

#[test]
fn t5_is_red_with_the_lost_count_and_when_nothing_recovers() {
    let mut ev = t5_evidence();
    if let Some(a) = &mut ev.audit {
        a.lost = 1234;
    }
    for s in ev.faults.timeline.iter_mut().filter(|s| s.t_ms >= 50_000) {
        s.iterator_age_ms.insert(SHARD.into(), 30_000.0);
    }
    let r = evaluate(GateId::T5, &ev, &thresholds());
    assert!(
        failing(&r, "acked records lost")
            .measured
            .starts_with("1234")
    );
    let c = failing(&r, "iterator age < 10 s after the pause ends");
    assert_eq!(
        c.measured,
        "not recovered in the 30 s observed after the pause"
    );
}

#[test]
fn t5_is_red_when_no_worker_restarted_and_the_shard_never_changed_hands() {
    let mut ev = t5_evidence();
    ev.faults.records.truncate(1);
    for s in &mut ev.faults.timeline {
        s.leases
            .insert(SHARD.into(), lease("delivery-a", 1, 10 + s.t_ms / 1000));
    }
    let r = evaluate(GateId::T5, &ev, &thresholds());
    assert_eq!(failing(&r, "killed and restarted").measured, "none");
    assert!(
        failing(&r, "taken over and replayed")
            .measured
            .starts_with("0 of 1 shards")
    );
}

/// AZ b lost from 20 s to 50 s; delivery-b held shard 0; delivery-c takes it at 33 s;
/// delivery-b is fenced once it is back; freshness recovers at 55 s; shard 0 goes back
/// to delivery-b at 70 s.
fn t7_evidence() -> RunEvidence {
    let mut ev = passing();
    ev.faults.lease_period_ms = 10_000;
    ev.faults.records = vec![record(1, FaultVerb::AzLoss, "az b", 20_000, 50_000)];
    ev.faults.timeline = (0..=80)
        .map(|s| {
            let t = s * 1000;
            let owner = match t {
                _ if t < 33_000 => "delivery-b",
                _ if t < 70_000 => "delivery-c",
                _ => "delivery-b",
            };
            let fenced = if t > 51_000 { 3.0 } else { 0.0 };
            Sample {
                t_ms: t,
                leases: [(SHARD.to_string(), lease(owner, t / 33_000 + 1, t / 1000))]
                    .into_iter()
                    .collect(),
                fenced_writes: [("delivery-b".to_string(), fenced)].into_iter().collect(),
                load: crate::load::Progress {
                    freshness_now_ms: Some(if (20_000..55_000).contains(&t) {
                        20_000.0
                    } else {
                        1_500.0
                    }),
                    ..Default::default()
                },
                ..Sample::default()
            }
        })
        .collect();
    ev
}

#[test]
fn t7_passes_when_leases_moved_in_time_and_the_zombie_was_fenced() {
    let r = evaluate(GateId::T7, &t7_evidence(), &thresholds());
    assert!(r.passed, "{:#?}", r.details);
}

#[test]
fn t7_is_red_on_the_takeover_figure_and_an_unfenced_zombie() {
    let mut ev = t7_evidence();
    for s in ev.faults.timeline.iter_mut() {
        if s.t_ms < 40_000 {
            s.leases.insert(SHARD.into(), lease("delivery-b", 1, 1));
        }
        s.fenced_writes.insert("delivery-b".into(), 0.0);
    }
    let r = evaluate(GateId::T7, &ev, &thresholds());
    let c = failing(&r, "leases moved off the lost AZ");
    assert_eq!(c.measured, "1 shards of delivery-b taken over after 20 s");
    assert_eq!(
        failing(&r, "zombie writes refused").measured,
        "0 by delivery-b"
    );
}

#[test]
fn a_fault_gate_whose_fault_the_backend_cannot_inject_is_not_run() {
    let mut ev = t5_evidence();
    ev.faults.records[0].state = FaultState::Failed;
    ev.faults.records[0].error =
        Some("shard-pause is not supported by this backend (it needs hooks)".into());
    let r = evaluate(GateId::T5, &ev, &thresholds());
    assert!(!r.passed);
    assert!(
        r.not_run.as_deref().unwrap().contains("not supported"),
        "{r:?}"
    );
    assert_eq!(r.failure_message(), None, "not run is not a failure");
    let r = evaluate(GateId::T4, &passing(), &thresholds());
    assert!(r.not_run.is_some() && r.checks.is_empty());
}

/// gateway-b killed from 20 s to 35 s; its clients saw failures from 20.1 s to 20.4 s
/// and moved to the others 0.3 s later; it rejoined at 35.5 s and took traffic again.
fn t6_evidence() -> RunEvidence {
    use crate::evidence::{FailoverEvidence, GatewayFailover, Outage};
    let mut ev = passing();
    ev.faults.load_started_unix_ms = 1_000_000;
    ev.faults.records = vec![record(
        1,
        FaultVerb::GatewayKill,
        "gateway-b",
        20_000,
        35_000,
    )];
    ev.component_counters.insert(
        "gameday_proxy_dial_errors_total{az=\"b\",route=\"gateway-b\"}".into(),
        12.0,
    );
    let outage = Outage {
        first_failure_ms: 20_050,
        last_failure_ms: 20_350,
        failed_requests: 9,
        failover_ms: Some(300),
        rerouted_requests: 240,
        rejoined_at_ms: Some(35_450),
    };
    ev.failover = Some(FailoverEvidence {
        enabled: true,
        load_started_unix_ms: 1_000_050,
        gateways: vec![GatewayFailover {
            name: Some("gateway-b".into()),
            outages: vec![outage],
            requests_after_rejoin: 500,
            ..GatewayFailover::default()
        }],
    });
    ev
}

#[test]
fn t6_passes_when_the_error_window_is_short_and_traffic_moved_and_came_back() {
    let r = evaluate(GateId::T6, &t6_evidence(), &thresholds());
    assert!(r.passed, "{:#?}", r.details);
}

#[test]
fn t6_is_red_on_the_error_window_when_clients_stay_on_the_dead_gateway() {
    let mut ev = t6_evidence();
    if let Some(f) = &mut ev.failover {
        let o = &mut f.gateways[0].outages[0];
        o.last_failure_ms = 34_950;
        o.failover_ms = None;
        o.rerouted_requests = 0;
    }
    let r = evaluate(GateId::T6, &ev, &thresholds());
    assert_eq!(
        failing(&r, "error window").measured,
        "14.9 s (9 failed requests)"
    );
    assert_eq!(
        failing(&r, "failed over").measured,
        "traffic never moved off it"
    );
}
