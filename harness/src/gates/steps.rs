//! Which load steps a gate looks at (1×, absorbed, peak, after the peak) and their totals.

use crate::evidence::StepEvidence;

const EPS: f64 = 1e-9;

pub fn at_1x(steps: &[StepEvidence]) -> Vec<&StepEvidence> {
    steps
        .iter()
        .filter(|s| (s.multiplier - 1.0).abs() < EPS)
        .collect()
}

/// The highest multiplier of the run.
pub fn peak_multiplier(steps: &[StepEvidence]) -> f64 {
    steps.iter().map(|s| s.multiplier).fold(0.0, f64::max)
}

/// Steps above 1× and below the peak (3× in the burst scenario): must be absorbed.
pub fn absorbed(steps: &[StepEvidence]) -> Vec<&StepEvidence> {
    let peak = peak_multiplier(steps);
    steps
        .iter()
        .filter(|s| s.multiplier > 1.0 + EPS && s.multiplier < peak - EPS)
        .collect()
}

/// Steps at the peak multiplier (5×), when the peak is above 1×.
pub fn peak(steps: &[StepEvidence]) -> Vec<&StepEvidence> {
    let peak = peak_multiplier(steps);
    steps
        .iter()
        .filter(|s| peak > 1.0 + EPS && (s.multiplier - peak).abs() < EPS)
        .collect()
}

/// The recovery: the first step at ≤ 1× after the last peak step that is not a
/// settling step (later steps belong to other phases of a longer scenario, e.g. the
/// `gameday` scenario's AZ loss, and are judged by their own gates).
pub fn after_peak(steps: &[StepEvidence]) -> Vec<&StepEvidence> {
    let peak = peak_multiplier(steps);
    let Some(last) = steps
        .iter()
        .rposition(|s| peak > 1.0 + EPS && (s.multiplier - peak).abs() < EPS)
    else {
        return Vec::new();
    };
    steps[last + 1..]
        .iter()
        .find(|s| s.multiplier <= 1.0 + EPS && !s.settle)
        .into_iter()
        .collect()
}

/// T2's window: from the first step above 1× through the recovery step (settling steps
/// included). Errors outside it belong to other gates' windows.
pub fn burst_window(steps: &[StepEvidence]) -> Vec<&StepEvidence> {
    let Some(first) = steps.iter().position(|s| s.multiplier > 1.0 + EPS) else {
        return Vec::new();
    };
    let end = after_peak(steps)
        .first()
        .and_then(|r| steps.iter().position(|s| std::ptr::eq(s, *r)))
        .unwrap_or(steps.len() - 1);
    steps[first..=end.max(first)].iter().collect()
}

/// Sums over some steps; latencies are the worst step's p99 (HDR summaries do not add).
#[derive(Debug, Default, Clone)]
pub struct Totals {
    /// Attempts answered (any status, transport errors as 0).
    pub answered: u64,
    pub ok_2xx: u64,
    pub throttled_429: u64,
    pub throttled_with_retry_after: u64,
    pub server_5xx: u64,
    pub server_503: u64,
    pub server_with_retry_after: u64,
    pub transport_errors: u64,
    pub items_offered: u64,
    pub items_acked: u64,
    /// Σ min(items offered, quota items/s × duration) — T2's goodput reference.
    pub goodput_reference: u64,
    /// Whether every step carried its admitted capacity (else offered is the reference).
    pub quota_known: bool,
    pub ttfb_all_p99_ms: Option<f64>,
    pub ttfb_admitted_p99_ms: Option<f64>,
}

pub fn totals<'a>(steps: impl IntoIterator<Item = &'a StepEvidence>) -> Totals {
    let mut t = Totals {
        quota_known: true,
        ..Totals::default()
    };
    for s in steps {
        let answered: u64 = s.status_counts.values().sum();
        t.answered += answered.max(s.requests_sent);
        for (&status, &n) in &s.status_counts {
            match status {
                0 => t.transport_errors += n,
                200..=299 => t.ok_2xx += n,
                429 => t.throttled_429 += n,
                500..=599 => {
                    t.server_5xx += n;
                    if status == 503 {
                        t.server_503 += n;
                    }
                }
                _ => {}
            }
        }
        t.throttled_with_retry_after += s.throttled_with_retry_after;
        t.server_with_retry_after += s.server_errors_with_retry_after;
        t.items_offered += s.items_offered;
        t.items_acked += s.items_acked;
        if s.quota_items_per_sec > 0.0 {
            let quota_items = (s.quota_items_per_sec * s.duration_secs).round() as u64;
            t.goodput_reference += s.items_offered.min(quota_items);
        } else {
            t.quota_known = false;
            t.goodput_reference += s.items_offered;
        }
        if s.ttfb_all.count > 0 {
            t.ttfb_all_p99_ms = Some(t.ttfb_all_p99_ms.unwrap_or(0.0).max(s.ttfb_all.p99_ms));
        }
        if s.ttfb_admitted.count > 0 {
            t.ttfb_admitted_p99_ms = Some(
                t.ttfb_admitted_p99_ms
                    .unwrap_or(0.0)
                    .max(s.ttfb_admitted.p99_ms),
            );
        }
    }
    t
}

/// "1x, 3x" — the steps a check is about.
pub fn names(steps: &[&StepEvidence]) -> String {
    steps
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
