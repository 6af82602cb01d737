//! T2: the burst — 3× absorbed (no 429); 5× goodput ≥ 95 % of min(offered, quota) with
//! the excess shed by 429 + Retry-After; no 5xx of any kind (503 included) and no
//! transport error in T2's window (the first step above 1× through the recovery step);
//! zero acked loss; SLIs back within thresholds after the burst.

use super::checks::{Check, num, pct};
use super::steps::{absorbed, after_peak, burst_window, names, peak, totals};
use crate::evidence::{RunEvidence, StepEvidence};
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let b = &th.burst;
    let mut out = Vec::new();

    let mid = absorbed(&ev.steps);
    if mid.is_empty() {
        out.push(Check::missing(
            "absorbed step (3×)",
            "no step between 1× and the peak",
            "a 3× step".into(),
        ));
    } else {
        let t = totals(mid.iter().copied());
        let which = names(&mid);
        out.push(Check::ratio_at_least(
            format!("2xx at [{which}]"),
            t.ok_2xx,
            t.answered,
            b.absorbed_success_ratio_min,
        ));
        out.push(Check::count_at_most(
            format!("429 at [{which}] (absorbed)"),
            t.throttled_429,
            b.absorbed_throttled_max,
            "",
        ));
    }

    let top = peak(&ev.steps);
    if top.is_empty() {
        out.push(Check::missing(
            "peak step (5×)",
            "no step above 1×",
            "a 5× step".into(),
        ));
    } else {
        out.extend(peak_checks(&top, th));
    }

    let window = burst_window(&ev.steps);
    let span = names(&window);
    let all = totals(window.iter().copied());
    out.push(Check::count_at_most(
        format!("429 without Retry-After [{span}]"),
        all.throttled_429
            .saturating_sub(all.throttled_with_retry_after),
        b.throttled_without_retry_after_max,
        &format!("of {} 429s", all.throttled_429),
    ));
    out.push(Check::count_at_most(
        format!("5xx of any kind [{span}]"),
        all.server_5xx,
        b.server_errors_max,
        &format!(
            "503: {}, with Retry-After: {}",
            all.server_503, all.server_with_retry_after
        ),
    ));
    out.push(Check::count_at_most(
        format!("transport errors [{span}]"),
        all.transport_errors,
        b.transport_errors_max,
        "refused, reset or timed out",
    ));
    out.extend(storage(ev, th));

    let after = after_peak(&ev.steps);
    if after.is_empty() {
        out.push(Check::missing(
            "after the burst",
            "no step at ≤ 1× after the peak",
            "a recovery step".into(),
        ));
    } else {
        out.extend(recovery_checks(&after, ev, th));
    }
    out
}

fn peak_checks(top: &[&StepEvidence], th: &Thresholds) -> Vec<Check> {
    let b = &th.burst;
    let t = totals(top.iter().copied());
    let which = names(top);
    let ratio = if t.goodput_reference > 0 {
        t.items_acked as f64 / t.goodput_reference as f64
    } else {
        0.0
    };
    let reference = if t.quota_known {
        "min(offered, quota)"
    } else {
        "offered (quota unknown)"
    };
    let goodput = if t.goodput_reference == 0 {
        Check::missing(
            format!("goodput at [{which}]"),
            "no items offered",
            format!("≥ {} of min(offered, quota)", pct(b.peak_goodput_ratio_min)),
        )
    } else {
        Check::new(
            format!("goodput at [{which}]"),
            format!(
                "{} ({} items acked of {reference} = {}; offered {})",
                pct(ratio),
                t.items_acked,
                t.goodput_reference,
                t.items_offered
            ),
            format!("≥ {} of min(offered, quota)", pct(b.peak_goodput_ratio_min)),
            ratio >= b.peak_goodput_ratio_min,
        )
    };
    let excess = t.items_offered.saturating_sub(t.goodput_reference);
    let shed = Check::new(
        format!("excess shed by 429 at [{which}]"),
        format!(
            "{} items over quota, {} 429s ({} with Retry-After)",
            excess, t.throttled_429, t.throttled_with_retry_after
        ),
        "429s with Retry-After when offered exceeds quota".into(),
        excess == 0 || (t.throttled_429 > 0 && t.throttled_with_retry_after == t.throttled_429),
    );
    let ttfb = Check::ms_at_most(
        format!("TTFB p99 of admitted requests at [{which}]"),
        t.ttfb_admitted_p99_ms,
        b.peak_ttfb_p99_ms_max,
        "no request admitted",
    );
    vec![goodput, shed, ttfb]
}

fn recovery_checks(after: &[&StepEvidence], ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let t = totals(after.iter().copied());
    let which = names(after);
    let mut out = vec![
        Check::ratio_at_least(
            format!("2xx after the burst [{which}]"),
            t.ok_2xx,
            t.answered,
            th.ingest.success_ratio_min,
        ),
        Check::count_at_most(
            format!("429 after the burst [{which}]"),
            t.throttled_429,
            th.ingest.throttled_max,
            "",
        ),
        Check::ms_at_most(
            format!("gateway TTFB p99 after the burst [{which}]"),
            t.ttfb_all_p99_ms,
            th.ingest.ttfb_p99_ms_max,
            "no request answered",
        ),
    ];
    // Freshness of the recovery steps when the probes split it by step, else the run's.
    let per_step: Vec<f64> = after
        .iter()
        .filter_map(|s| s.freshness.as_ref())
        .filter(|f| f.count > 0)
        .map(|f| f.p99_ms)
        .collect();
    if per_step.is_empty() {
        let mut c = super::t1::freshness(ev, th);
        c.what = "freshness p99 (whole run)".into();
        out.push(c);
    } else {
        let worst = per_step.iter().copied().fold(0.0, f64::max);
        out.push(Check::new(
            format!("freshness p99 after the burst [{which}]"),
            format!("{} ms", num(worst)),
            format!("≤ {} ms", num(th.freshness.p99_ms_max)),
            worst <= th.freshness.p99_ms_max,
        ));
    }
    out
}

/// Zero acked loss, no delivery duplicates, no phantoms — from the ledger's audit.
pub fn storage(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let s = &th.storage;
    let Some(a) = &ev.audit else {
        return vec![Check::missing(
            "acked records lost",
            "no storage audit",
            format!("≤ {}", s.lost_max),
        )];
    };
    vec![
        Check::count_at_most(
            "acked records lost",
            a.lost,
            s.lost_max,
            &format!("of {} acked", a.acked),
        )
        .figure(a.lost as f64, Some(a.acked as f64)),
        Check::count_at_most(
            "delivery duplicates",
            a.delivery_duplicates,
            s.delivery_duplicates_max,
            "same shard + sequence number stored twice",
        )
        .figure(a.delivery_duplicates as f64, Some(a.stored_rows as f64)),
        Check::count_at_most("phantoms", a.phantoms, s.phantoms_max, "stored, never sent")
            .figure(a.phantoms as f64, Some(a.stored_rows as f64)),
    ]
}
