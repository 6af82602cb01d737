//! What was measured during each fault and in as long a time after it, from the SLI
//! timeline: the reports show these beside each fault's start and end.

use super::engine::{FaultRecord, FaultState};
use crate::evidence::{FaultWindow, WindowFigures};
use crate::monitor::Sample;

pub fn windows(records: &[FaultRecord], timeline: &[Sample]) -> Vec<FaultWindow> {
    let last = timeline.last().map(|s| s.t_ms).unwrap_or(0);
    records
        .iter()
        .filter(|r| r.state != FaultState::Scheduled)
        .filter_map(|r| {
            let start = r.started_ms?;
            let end = r.ended_ms.filter(|e| *e > start);
            let stop = end.unwrap_or(last);
            let after_end = stop + (stop - start).max(1_000);
            Some(FaultWindow {
                id: r.id,
                verb: r.verb.to_string(),
                target: r.target.clone(),
                start_ms: start,
                end_ms: end,
                during: figures(timeline, start, stop),
                after: if end.is_some() {
                    figures(timeline, stop, after_end)
                } else {
                    WindowFigures::default()
                },
            })
        })
        .collect()
}

/// Figures over the samples in (from, to]; counts are differences of the cumulative ones.
pub fn figures(timeline: &[Sample], from: u64, to: u64) -> WindowFigures {
    let before = timeline.iter().rev().find(|s| s.t_ms <= from);
    let inside: Vec<&Sample> = timeline
        .iter()
        .filter(|s| s.t_ms > from && s.t_ms <= to)
        .collect();
    let Some(end) = inside.last() else {
        return WindowFigures::default();
    };
    let base = |f: fn(&Sample) -> u64| before.map(f).unwrap_or(0);
    let worst_fresh = inside
        .iter()
        .filter_map(|s| s.load.freshness_now_ms)
        .reduce(f64::max);
    WindowFigures {
        seconds: (end.t_ms.saturating_sub(from)) as f64 / 1000.0,
        acked_per_sec_mean: inside.iter().map(|s| s.load.acked_per_sec).sum::<f64>()
            / inside.len() as f64,
        throttled_429: end
            .load
            .throttled_429
            .saturating_sub(base(|s| s.load.throttled_429)),
        server_5xx: end
            .load
            .server_5xx
            .saturating_sub(base(|s| s.load.server_5xx)),
        worst_ttfb_p99_ms: inside
            .iter()
            .map(|s| s.load.ttfb_p99_ms)
            .fold(0.0, f64::max),
        worst_freshness_p99_ms: worst_fresh,
        max_iterator_age_ms: inside
            .iter()
            .flat_map(|s| s.iterator_age_ms.values().copied())
            .fold(0.0, f64::max),
    }
}
