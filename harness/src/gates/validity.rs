//! Whether a run can be judged at all: the rig's self-check. A harness whose scheduler
//! lagged, whose producers dropped their own arrivals, or a machine pegged at 100 % CPU
//! measured itself, not the pipeline — such a run is INVALID (exit 3), not red.

use super::checks::{Check, num, pct};
use crate::evidence::RunEvidence;
use crate::scenario::Thresholds;
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Validity {
    pub valid: bool,
    /// Why not, one line per reason.
    pub reasons: Vec<String>,
    pub checks: Vec<Check>,
}

pub fn validity(ev: &RunEvidence, th: &Thresholds) -> Validity {
    let s = &ev.self_check;
    let l = &th.self_check;
    let mut checks = Vec::new();
    if s.scheduling_lag.count > 0 {
        checks.push(Check::new(
            "harness scheduling lag p99",
            format!("{} ms", num(s.scheduling_lag.p99_ms)),
            format!("≤ {} ms", num(l.scheduling_lag_p99_ms_max)),
            s.scheduling_lag.p99_ms <= l.scheduling_lag_p99_ms_max,
        ));
    }
    let offered: u64 = ev.steps.iter().map(|st| st.requests_offered).sum();
    let dropped: u64 = ev.steps.iter().map(|st| st.requests_dropped).sum();
    if offered > 0 {
        checks.push(Check::ratio_at_most(
            "requests dropped by the producers' send queue",
            dropped,
            offered,
            l.send_queue_drop_ratio_max,
        ));
    }
    if s.machine_cpu_utilisation > 0.0 {
        checks.push(Check::new(
            "machine CPU utilisation",
            pct(s.machine_cpu_utilisation),
            format!("≤ {}", pct(l.machine_cpu_utilisation_max)),
            s.machine_cpu_utilisation <= l.machine_cpu_utilisation_max,
        ));
    }
    // The sampler may have judged itself too (same figures): its verdict counts, but is
    // shown only when the checks above did not already say why.
    if s.invalid && checks.iter().all(|c| c.passed) {
        checks.push(Check::new(
            "rig self-check",
            s.invalid_reason
                .clone()
                .unwrap_or_else(|| "reported invalid".into()),
            "valid".into(),
            false,
        ));
    }
    let reasons: Vec<String> = checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| format!("{}: measured {}, limit {}", c.what, c.measured, c.threshold))
        .collect();
    Validity {
        valid: reasons.is_empty(),
        reasons,
        checks,
    }
}
