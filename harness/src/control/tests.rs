//! The control API over real gRPC on 127.0.0.1, against a fault engine whose target
//! records actions (no stack): inject, list, clear, set load, the status stream, stop,
//! the token refused, every call in the audit log.

use super::client::connect;
use super::pb;
use super::server::{RunHandle, serve};
use crate::audit::{AuditLog, verify};
use crate::faults::fake::Fake;
use crate::faults::{EventLog, FaultEngine};
use crate::gates::{GateId, GateResult};
use crate::load::knob::LoadKnob;
use crate::monitor::{Sample, Timeline};
use std::sync::Arc;

pub(crate) struct Rig {
    pub(crate) addr: String,
    pub(crate) run: Arc<RunHandle>,
    pub(crate) fake: Arc<Fake>,
    audit: std::path::PathBuf,
    _served: super::server::Served,
}

pub(crate) async fn rig(name: &str) -> Rig {
    let dir = std::env::temp_dir().join(format!("gameday-control-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fake = Arc::new(Fake {
        hooks: true,
        ..Fake::default()
    });
    let engine = FaultEngine::new(fake.clone(), Arc::new(EventLog::new()), 7);
    let timeline = Arc::new(Timeline::default());
    for (t_ms, server_5xx) in [(1_000, 0), (2_000, 30)] {
        timeline.push(Sample {
            t_ms,
            load: crate::load::Progress {
                elapsed_secs: t_ms as f64 / 1000.0,
                step: "3x".into(),
                offered_per_sec: 2_000.0,
                acked_per_sec: 1_900.0,
                server_5xx,
                ttfb_p50_ms: 3.5,
                ttfb_p99_ms: 12.5,
                freshness_now_ms: Some(1_500.0),
                freshness_p99_by_tenant_ms: [("t1".to_string(), 1_250.0)].into(),
                query_p95_ms: Some(40.0),
                query_p99_ms: Some(90.0),
                ..Default::default()
            },
            components: [("gateway-a".to_string(), "up".to_string())].into(),
            ..Sample::default()
        });
    }
    let gates = crate::gates::live::GateWatch {
        ids: vec![GateId::T0, GateId::T2],
        thresholds: crate::gates::fixtures::thresholds(),
        steps: vec![crate::evidence::StepEvidence {
            name: "3x".into(),
            multiplier: 3.0,
            ..Default::default()
        }],
    };
    let run = RunHandle::judging(
        "test",
        engine,
        timeline,
        Some(Arc::new(LoadKnob::default())),
        Some(gates),
    );
    let audit = dir.join("audit.jsonl");
    let log = Arc::new(AuditLog::open(&audit).unwrap());
    let served = serve("127.0.0.1:0".parse().unwrap(), "s3cret", run.clone(), log)
        .await
        .unwrap();
    Rig {
        addr: served.addr.to_string(),
        run,
        fake,
        audit,
        _served: served,
    }
}

fn spec(verb: &str) -> pb::FaultSpec {
    pb::FaultSpec {
        verb: verb.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn inject_list_clear_and_set_load_round_trip_and_are_audited() {
    let r = rig("roundtrip").await;
    let mut c = connect(&r.addr, "s3cret").await.unwrap();

    let f = c
        .inject_fault(pb::InjectFaultRequest {
            fault: Some(pb::FaultSpec {
                target: Some("gateway-b".into()),
                ..spec("gateway-kill")
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (f.verb.as_str(), f.target.as_str(), f.state.as_str()),
        ("gateway-kill", "gateway-b", "active")
    );
    assert_eq!(f.source, "api");
    assert!(
        r.fake.log.lock().iter().any(|l| l.contains("gateway-b")),
        "the kill reached the target: {:?}",
        r.fake.log.lock()
    );

    let paused = c
        .inject_fault(pb::InjectFaultRequest {
            fault: Some(pb::FaultSpec {
                shards: vec![1],
                mode: Some("reads".into()),
                duration_secs: Some(30.0),
                ..spec("shard-pause")
            }),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(paused.shards, vec!["shardId-000000000001"]);
    assert!(paused.planned_end_ms.is_some());

    let listed = c
        .list_faults(pb::ListFaultsRequest {})
        .await
        .unwrap()
        .into_inner();
    let ids: Vec<u64> = listed.faults.iter().map(|f| f.id).collect();
    assert_eq!(ids, vec![f.id, paused.id]);

    let one = c
        .clear_fault(pb::ClearFaultRequest {
            id: f.id,
            all: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(one.cleared.len(), 1);
    assert_eq!(one.cleared[0].state, "ended");
    let again = c
        .clear_fault(pb::ClearFaultRequest {
            id: f.id,
            all: false,
        })
        .await
        .unwrap_err();
    assert_eq!(again.code(), tonic::Code::FailedPrecondition, "{again:?}");
    let all = c
        .clear_fault(pb::ClearFaultRequest { id: 0, all: true })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        all.cleared.iter().map(|f| f.id).collect::<Vec<_>>(),
        vec![paused.id]
    );
    assert!(r.run.engine.active().is_empty());

    let set = c
        .set_load(pb::SetLoadRequest { multiplier: 2.5 })
        .await
        .unwrap()
        .into_inner();
    assert_eq!((set.previous, set.multiplier), (1.0, 2.5));
    assert_eq!(r.run.knob.as_ref().unwrap().get(), 2.5);
    let bad = c
        .set_load(pb::SetLoadRequest { multiplier: -1.0 })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);

    let unknown = c
        .inject_fault(pb::InjectFaultRequest {
            fault: Some(spec("shard-explode")),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::InvalidArgument);
    assert!(
        unknown.message().contains("shard-pause"),
        "the known verbs are listed: {unknown:?}"
    );

    // Every call is in the audit log, in order, and the chain holds.
    let text = std::fs::read_to_string(&r.audit).unwrap();
    let actions: Vec<String> = text
        .lines()
        .map(|l| serde_json::from_str::<crate::audit::Entry>(l).unwrap())
        .map(|e| format!("{} {}", e.action, e.outcome.split(':').next().unwrap()))
        .collect();
    assert_eq!(
        actions,
        [
            "InjectFault ok",
            "InjectFault ok",
            "ListFaults ok",
            "ClearFault ok",
            "ClearFault ok",
            "ClearFault failed",
            "ClearFault ok",
            "SetLoad ok",
            "SetLoad ok",
            "SetLoad failed",
            "InjectFault ok",
            "InjectFault failed",
        ]
    );
    assert_eq!(verify(&r.audit).unwrap().unwrap().seq, 11);
}

#[tokio::test]
async fn without_the_token_every_call_is_refused_and_the_refusal_audited() {
    let r = rig("auth").await;
    let mut wrong = connect(&r.addr, "guess").await.unwrap();
    let e = wrong
        .inject_fault(pb::InjectFaultRequest {
            fault: Some(pb::FaultSpec {
                target: Some("gateway-a".into()),
                ..spec("gateway-kill")
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    assert!(r.fake.log.lock().is_empty(), "nothing reached the stack");
    let e = wrong
        .stop(pb::StopRequest { reason: "x".into() })
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);
    assert!(r.run.stop.borrow().is_none(), "the run was not stopped");

    // No header at all: a plain client.
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", r.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut bare = pb::control_client::ControlClient::new(channel);
    let e = bare
        .list_faults(pb::ListFaultsRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::Unauthenticated);

    let outcomes: Vec<String> = std::fs::read_to_string(&r.audit)
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<crate::audit::Entry>(l)
                .unwrap()
                .outcome
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            "refused: wrong token",
            "refused: wrong token",
            "refused: no bearer token"
        ]
    );
}

#[tokio::test]
async fn the_status_stream_carries_the_timeline_and_ends_with_the_run() {
    let r = rig("status").await;
    let mut c = connect(&r.addr, "s3cret").await.unwrap();
    c.inject_fault(pb::InjectFaultRequest {
        fault: Some(pb::FaultSpec {
            target: Some("delivery-c".into()),
            ..spec("worker-stall")
        }),
    })
    .await
    .unwrap();
    let mut stream = c
        .status(pb::StatusRequest { interval_ms: 200 })
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().expect("a snapshot at once");
    assert!(first.running);
    assert_eq!(first.scenario, "test");
    assert_eq!(first.t_ms, 2_000);
    assert_eq!(first.acked_per_sec, 1_900.0);
    assert_eq!(
        first.server_5xx_per_sec, 30.0,
        "30 more 5xx over the last second"
    );
    assert_eq!((first.ttfb_p50_ms, first.ttfb_p99_ms), (3.5, 12.5));
    assert_eq!(first.freshness_ms, Some(1_500.0));
    assert_eq!(first.freshness_p99_by_tenant_ms.get("t1"), Some(&1_250.0));
    assert_eq!(
        (first.query_p95_ms, first.query_p99_ms),
        (Some(40.0), Some(90.0))
    );
    // The gates so far: T0 waits for the audit; T2 already saw 30 5xx.
    let board: Vec<(&str, &str)> = first
        .gates
        .iter()
        .map(|g| (g.id.as_str(), g.state.as_str()))
        .collect();
    assert_eq!(board, [("T0", "pending"), ("T2", "at risk")]);
    assert!(
        first.gates[1].detail.contains("5xx in the burst 30 (≤ 0)"),
        "{:?}",
        first.gates[1]
    );
    assert_eq!(first.load_multiplier, 1.0);
    assert_eq!(
        first.components.get("delivery-c").map(String::as_str),
        Some("stalled")
    );
    assert_eq!(first.faults.len(), 1);
    assert!(first.events.iter().any(|e| e.kind == "fault_started"));

    // Once a scenario's load is over (draining), new faults and stops are refused.
    r.run
        .load_over
        .store(true, std::sync::atomic::Ordering::Release);
    let late = c
        .inject_fault(pb::InjectFaultRequest {
            fault: Some(spec("gateway-restart")),
        })
        .await
        .unwrap_err();
    assert_eq!(late.code(), tonic::Code::FailedPrecondition, "{late:?}");
    assert_eq!(
        c.stop(pb::StopRequest::default()).await.unwrap_err().code(),
        tonic::Code::FailedPrecondition
    );
    assert!(r.run.stop.borrow().is_none());
    r.run
        .load_over
        .store(false, std::sync::atomic::Ordering::Release);

    // Stop: the run is asked to stop; once it ends, the stream's last snapshot says so.
    c.stop(pb::StopRequest {
        reason: "drill over".into(),
    })
    .await
    .unwrap();
    assert_eq!(r.run.stop_requested().await, "drill over");
    // The run is judged, then ends: the last snapshot carries the verdicts.
    let mut t2 = GateResult::not_run(GateId::T2, "");
    (t2.not_run, t2.checks) = (None, vec![]);
    *r.run.judged.lock() = Some(crate::gates::live::judged(&[
        GateResult::not_run(GateId::T0, "run aborted: operator stop"),
        t2,
    ]));
    r.run.ended.send_replace(true);
    let mut last = None;
    while let Some(s) = tokio::time::timeout(std::time::Duration::from_secs(5), stream.message())
        .await
        .expect("the stream ends within 5 s of the run")
        .unwrap()
    {
        last = Some(s);
    }
    let last = last.expect("a last snapshot");
    assert!(!last.running);
    let board: Vec<(&str, &str)> = last
        .gates
        .iter()
        .map(|g| (g.id.as_str(), g.state.as_str()))
        .collect();
    assert_eq!(board, [("T0", "not run"), ("T2", "failed")]);
}
