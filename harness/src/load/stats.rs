//! What the open-model driver observed, per load step and live: request and item counts,
//! answers by status, retries, drops, and TTFB in HDR histograms (microseconds, measured
//! from the *scheduled* send time so a slow server cannot hide its latency). Turned into
//! [`StepEvidence`] at the end and into a [`Progress`] line every second.

use super::Progress;
use super::client::Answer;
use crate::evidence::{Latency, StepEvidence};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Microseconds, 1 µs to one hour at 3 significant digits. Fixed bounds: an
/// auto-resizing histogram clamps `saturating_record` to its initial range (2 µs).
pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3)
        .unwrap_or_else(|_| unreachable!("1 µs..1 h at 3 significant digits is valid"))
}

pub fn latency(h: &Histogram<u64>) -> Latency {
    let ms = |us: u64| us as f64 / 1000.0;
    Latency {
        count: h.len(),
        p50_ms: ms(h.value_at_quantile(0.5)),
        p99_ms: ms(h.value_at_quantile(0.99)),
        max_ms: ms(h.max()),
    }
}

pub fn record(h: &mut Histogram<u64>, d: Duration) {
    let us = d.as_micros().min(u128::from(u64::MAX)) as u64;
    h.saturating_record(us.max(1));
}

pub struct StepStats {
    pub ev: StepEvidence,
    pub ttfb_admitted: Histogram<u64>,
    pub ttfb_all: Histogram<u64>,
}

impl StepStats {
    pub fn new(name: &str, multiplier: f64, secs: f64, quota_items_per_sec: f64) -> StepStats {
        StepStats {
            ev: StepEvidence {
                name: name.to_string(),
                multiplier,
                duration_secs: secs,
                quota_items_per_sec,
                ..Default::default()
            },
            ttfb_admitted: histogram(),
            ttfb_all: histogram(),
        }
    }

    pub fn evidence(&self) -> StepEvidence {
        let mut ev = self.ev.clone();
        ev.ttfb_admitted = latency(&self.ttfb_admitted);
        ev.ttfb_all = latency(&self.ttfb_all);
        ev
    }
}

/// Counters since the last progress line plus the run's totals.
pub struct Live {
    pub started: Instant,
    pub duration_secs: f64,
    pub step: String,
    /// Index of the running step (probes file canaries under it).
    pub step_index: usize,
    pub window_start: Instant,
    pub window_offered: u64,
    pub window_acked: u64,
    pub window_ttfb: Histogram<u64>,
    pub throttled_429: u64,
    pub server_5xx: u64,
}

impl Live {
    pub fn new(duration_secs: f64) -> Live {
        let now = Instant::now();
        Live {
            started: now,
            duration_secs,
            step: String::new(),
            step_index: 0,
            window_start: now,
            window_offered: 0,
            window_acked: 0,
            window_ttfb: histogram(),
            throttled_429: 0,
            server_5xx: 0,
        }
    }

    /// The progress line of the window just ended; starts the next window.
    pub fn progress(&mut self, freshness_p99_ms: Option<f64>) -> Progress {
        let now = Instant::now();
        let dt = now
            .duration_since(self.window_start)
            .as_secs_f64()
            .max(1e-3);
        let p = Progress {
            elapsed_secs: now.duration_since(self.started).as_secs_f64(),
            duration_secs: self.duration_secs,
            step: self.step.clone(),
            offered_per_sec: self.window_offered as f64 / dt,
            acked_per_sec: self.window_acked as f64 / dt,
            throttled_429: self.throttled_429,
            server_5xx: self.server_5xx,
            ttfb_p50_ms: self.window_ttfb.value_at_quantile(0.5) as f64 / 1000.0,
            ttfb_p99_ms: self.window_ttfb.value_at_quantile(0.99) as f64 / 1000.0,
            freshness_p99_ms,
            ..Progress::default()
        };
        self.window_start = now;
        self.window_offered = 0;
        self.window_acked = 0;
        self.window_ttfb.reset();
        p
    }
}

/// Records one attempt's answer (TTFB from `due`, the time it was scheduled to go, less
/// the time it waited for a token: that is the token endpoint's latency, not the call's).
pub fn attempt(step: &mut StepStats, live: &mut Live, due: Instant, a: &Answer) {
    let ttfb =
        a.at.saturating_duration_since(due)
            .saturating_sub(a.token_wait);
    *step.ev.status_counts.entry(a.status).or_default() += 1;
    record(&mut step.ttfb_all, ttfb);
    record(&mut live.window_ttfb, ttfb);
    if a.ok() {
        record(&mut step.ttfb_admitted, ttfb);
    }
    if a.status == 429 {
        live.throttled_429 += 1;
        if a.retry_after.is_some() {
            step.ev.throttled_with_retry_after += 1;
        }
    }
    if a.status >= 500 {
        live.server_5xx += 1;
        if a.retry_after.is_some() {
            step.ev.server_errors_with_retry_after += 1;
        }
    }
}

/// Items of a finished request: acked, or rejected with this reason.
pub fn items(step: &mut StepStats, live: &mut Live, acked: u64, rejected: &BTreeMap<String, u64>) {
    step.ev.items_acked += acked;
    live.window_acked += acked;
    for (r, n) in rejected {
        *step.ev.items_rejected.entry(r.clone()).or_default() += n;
    }
}
