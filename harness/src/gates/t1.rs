//! T1: 1× baseline — 2xx ≥ 99.9 % of all requests, a 429 at 1× is a failure, gateway TTFB
//! p99 and freshness p99 within SLO.

use super::checks::Check;
use super::steps::{at_1x, names, totals};
use crate::evidence::RunEvidence;
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let steps = at_1x(&ev.steps);
    if steps.is_empty() {
        return vec![Check::missing(
            "1× load",
            "the run has no step at 1×",
            "a 1× step".into(),
        )];
    }
    let t = totals(steps.iter().copied());
    let which = names(&steps);
    vec![
        Check::ratio_at_least(
            format!("2xx at 1× [{which}]"),
            t.ok_2xx,
            t.answered,
            th.ingest.success_ratio_min,
        ),
        Check::count_at_most(
            format!("429 at 1× [{which}]"),
            t.throttled_429,
            th.ingest.throttled_max,
            "",
        ),
        Check::ms_at_most(
            format!("gateway TTFB p99 at 1× [{which}]"),
            t.ttfb_all_p99_ms,
            th.ingest.ttfb_p99_ms_max,
            "no request answered",
        ),
        freshness(ev, th),
    ]
}

/// Worst-of-canaries freshness p99 over the run.
pub fn freshness(ev: &RunEvidence, th: &Thresholds) -> Check {
    let f = &ev.probes.freshness;
    Check::ms_at_most(
        "freshness p99",
        (f.count > 0).then_some(f.p99_ms),
        th.freshness.p99_ms_max,
        "no canary became visible",
    )
}
