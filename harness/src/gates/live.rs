//! Gate status while a run is under way, for the control API's `Status` stream and the
//! console: before the drain a gate is `watching` (the figures it judges that can be seen
//! live are within its thresholds so far), `at risk` (one of them is already past it — the
//! gate will fail unless the figure is a cumulative one that can still recover), or
//! `pending` (what it judges is only known after the drain: the storage audit, the
//! canaries' visibility, the fault windows). Once the run is judged the board shows the
//! verdicts (`passed`, `failed`, `not run`) of `gates::evaluate_all`, the same ones the
//! report carries.

use super::{GateId, GateResult};
use crate::faults::{FaultRecord, FaultState};
use crate::monitor::Sample;
use crate::scenario::Thresholds;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const WATCHING: &str = "watching";
pub const AT_RISK: &str = "at risk";
pub const PENDING: &str = "pending";

/// One gate on the board.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct GateLive {
    /// `T1`.
    pub id: String,
    pub name: String,
    /// watching | at risk | pending | passed | failed | not run.
    pub state: String,
    /// The live figures against their thresholds, or why it waits, or the verdict's reason.
    pub detail: String,
}

/// What a run judges: its gates, their thresholds, and each load step's multiplier (the
/// live checks of T1 look only at the 1× steps, as T1 does).
#[derive(Clone, Debug)]
pub struct GateWatch {
    pub ids: Vec<GateId>,
    pub thresholds: Thresholds,
    pub step_multipliers: BTreeMap<String, f64>,
}

impl GateWatch {
    /// The board from the timeline so far and the faults' records.
    pub fn board(&self, samples: &[Sample], faults: &[FaultRecord]) -> Vec<GateLive> {
        self.ids
            .iter()
            .map(|&id| self.gate(id, samples, faults))
            .collect()
    }

    fn gate(&self, id: GateId, samples: &[Sample], faults: &[FaultRecord]) -> GateLive {
        let th = &self.thresholds;
        let live = |checks: Vec<(String, bool)>| {
            let risk = checks.iter().any(|(_, ok)| !ok);
            let detail = checks
                .into_iter()
                .map(|(c, _)| c)
                .collect::<Vec<_>>()
                .join("; ");
            gate_live(id, if risk { AT_RISK } else { WATCHING }, detail)
        };
        if let Some(why) = id.not_built() {
            return gate_live(id, "not run", why);
        }
        let last = samples.last();
        match id {
            GateId::T1 => {
                let mut checks = Vec::new();
                if let Some(f) = last.and_then(|s| s.load.freshness_p99_ms) {
                    let max = th.freshness.p99_ms_max;
                    checks.push((format!("freshness p99 {f:.0} ms (≤ {max:.0})"), f <= max));
                }
                let n = self.throttled_at_1x(samples);
                let max = th.ingest.throttled_max;
                checks.push((format!("429 at 1× {n} (≤ {max})"), n <= max));
                live(checks)
            }
            GateId::T2 => {
                let n = last.map_or(0, |s| s.load.server_5xx);
                let max = th.burst.server_errors_max;
                live(vec![(format!("5xx {n} (≤ {max})"), n <= max)])
            }
            GateId::T5 | GateId::T6 | GateId::T7 => {
                let done = faults
                    .iter()
                    .filter(|f| matches!(f.state, FaultState::Ended | FaultState::Failed))
                    .count();
                let active = faults
                    .iter()
                    .filter(|f| f.state == FaultState::Active)
                    .count();
                gate_live(
                    id,
                    PENDING,
                    format!(
                        "judged on its fault windows after the drain: {done} ended, {active} active, {} scheduled",
                        faults.len() - done - active
                    ),
                )
            }
            GateId::T0 | GateId::T3 => gate_live(
                id,
                PENDING,
                "judged after the drain (canaries and the storage audit)",
            ),
            GateId::T4 | GateId::T8 => gate_live(id, "not run", "not built"),
        }
    }

    /// 429s answered while a 1× step ran (the counter is cumulative: deltas per sample).
    fn throttled_at_1x(&self, samples: &[Sample]) -> u64 {
        let at_1x = |s: &Sample| {
            self.step_multipliers
                .get(&s.load.step)
                .is_some_and(|m| (m - 1.0).abs() < 1e-9)
        };
        samples
            .windows(2)
            .filter(|w| at_1x(&w[1]))
            .map(|w| {
                w[1].load
                    .throttled_429
                    .saturating_sub(w[0].load.throttled_429)
            })
            .sum::<u64>()
            + samples
                .first()
                .filter(|s| at_1x(s))
                .map_or(0, |s| s.load.throttled_429)
    }
}

/// The board once the run is judged: the report's verdicts.
pub fn judged(results: &[GateResult]) -> Vec<GateLive> {
    results
        .iter()
        .map(|r| {
            let (state, detail) = match (&r.not_run, r.passed) {
                (Some(why), _) => ("not run", why.clone()),
                (None, true) => ("passed", r.measured.clone()),
                (None, false) => ("failed", r.failure_message().unwrap_or_default()),
            };
            gate_live(r.id, state, detail)
        })
        .collect()
}

fn gate_live(id: GateId, state: &str, detail: impl Into<String>) -> GateLive {
    GateLive {
        id: id.to_string(),
        name: id.name().to_string(),
        state: state.to_string(),
        detail: detail.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::Progress;

    fn watch(ids: &[GateId]) -> GateWatch {
        GateWatch {
            ids: ids.to_vec(),
            thresholds: crate::gates::fixtures::thresholds(),
            step_multipliers: [("1x".to_string(), 1.0), ("5x".to_string(), 5.0)].into(),
        }
    }

    fn sample(step: &str, throttled_429: u64, server_5xx: u64, fresh: f64) -> Sample {
        Sample {
            load: Progress {
                step: step.into(),
                throttled_429,
                server_5xx,
                freshness_p99_ms: Some(fresh),
                ..Progress::default()
            },
            ..Sample::default()
        }
    }

    #[test]
    fn t1_is_at_risk_with_a_429_at_1x_and_not_with_429s_of_a_burst() {
        let w = watch(&[GateId::T1]);
        let burst_only = [sample("1x", 0, 0, 900.0), sample("5x", 40, 0, 900.0)];
        let b = w.board(&burst_only, &[]);
        assert_eq!(b[0].state, WATCHING, "{:?}", b[0]);
        assert!(b[0].detail.contains("429 at 1× 0"), "{}", b[0].detail);
        let at_1x = [
            sample("1x", 0, 0, 900.0),
            sample("5x", 40, 0, 900.0),
            sample("1x", 43, 0, 900.0),
        ];
        let b = w.board(&at_1x, &[]);
        assert_eq!(b[0].state, AT_RISK);
        assert!(b[0].detail.contains("429 at 1× 3 (≤ 0)"), "{}", b[0].detail);
    }

    #[test]
    fn t1_is_at_risk_when_freshness_p99_is_past_its_bound() {
        let b = watch(&[GateId::T1]).board(&[sample("1x", 0, 0, 4_200.0)], &[]);
        assert_eq!(b[0].state, AT_RISK);
        assert!(
            b[0].detail.contains("freshness p99 4200 ms (≤ 3000)"),
            "{}",
            b[0].detail
        );
    }

    #[test]
    fn t2_counts_5xx_and_audit_gates_wait_for_the_drain() {
        let w = watch(&[GateId::T0, GateId::T2, GateId::T4]);
        let b = w.board(&[sample("5x", 10, 2, 900.0)], &[]);
        assert_eq!(b[0].state, PENDING);
        assert_eq!(b[1].state, AT_RISK);
        assert!(b[1].detail.contains("5xx 2 (≤ 0)"), "{}", b[1].detail);
        assert_eq!(b[2].state, "not run");
    }

    #[test]
    fn the_judged_board_carries_the_verdicts() {
        let mut ok = GateResult::not_run(GateId::T1, "x");
        ok.not_run = None;
        ok.passed = true;
        ok.measured = "freshness p99: 900 ms".into();
        let skipped = GateResult::not_run(GateId::T5, "run aborted");
        let b = judged(&[ok, skipped]);
        assert_eq!(
            (b[0].state.as_str(), b[0].detail.as_str()),
            ("passed", "freshness p99: 900 ms")
        );
        assert_eq!(
            (b[1].state.as_str(), b[1].detail.as_str()),
            ("not run", "run aborted")
        );
    }
}
