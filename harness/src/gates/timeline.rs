//! What the fault gates share: finding a fault on the run's timeline, the samples around
//! it, and when a gate cannot be judged at all (its fault unsupported by the backend).

use crate::evidence::RunEvidence;
use crate::faults::{FaultRecord, FaultState, FaultVerb};
use crate::gates::GateId;
use crate::monitor::Sample;

/// The verbs a fault gate is about.
pub fn verbs_of(id: GateId) -> &'static [FaultVerb] {
    match id {
        GateId::T5 => &[FaultVerb::ShardPause, FaultVerb::WorkerKill],
        GateId::T6 => &[FaultVerb::GatewayKill],
        GateId::T7 => &[FaultVerb::AzLoss],
        _ => &[],
    }
}

/// A fault gate whose fault the backend could not inject is not run (never green).
pub fn fault_not_run(id: GateId, ev: &RunEvidence) -> Option<String> {
    verbs_of(id).iter().find_map(|v| {
        ev.faults
            .records
            .iter()
            .find(|r| r.verb == *v && r.state == FaultState::Failed)
            .and_then(|r| r.error.as_deref())
            .filter(|e| e.contains("not supported"))
            .map(|e| format!("{v}: {e}"))
    })
}

/// The first fault of `verb` that started, with its start and end (ms since the load
/// started; the end is the last sample when it never ended).
pub fn first_started(ev: &RunEvidence, verb: FaultVerb) -> Option<(&FaultRecord, u64, u64)> {
    let last = ev.faults.timeline.last().map(|s| s.t_ms).unwrap_or(0);
    ev.faults
        .records
        .iter()
        .filter(|r| r.verb == verb && r.state != FaultState::Failed)
        .find_map(|r| Some((r, r.started_ms?, r.ended_ms.unwrap_or(last))))
}

pub fn samples_between(ev: &RunEvidence, from: u64, to: u64) -> impl Iterator<Item = &Sample> {
    ev.faults
        .timeline
        .iter()
        .filter(move |s| s.t_ms >= from && s.t_ms <= to)
}

/// The last sample at or before `t`.
pub fn sample_at(ev: &RunEvidence, t: u64) -> Option<&Sample> {
    ev.faults.timeline.iter().rev().find(|s| s.t_ms <= t)
}

/// Seconds with one decimal.
pub fn secs(ms: u64) -> String {
    super::checks::num(ms as f64 / 1000.0) + " s"
}
