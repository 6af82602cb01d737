//! Stop conditions, as AWS FIS has them: a scenario may declare that a run which burns
//! its error budget is aborted — a figure of the SLI timeline above (or below) a bound
//! for N consecutive seconds. The first condition that trips stops the faults and the
//! load, is written to the event log and makes the run "aborted" (exit code 4).

use crate::monitor::Sample;
use serde::{Deserialize, Serialize};

/// The timeline figure a condition watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopMetric {
    /// 5xx answers per second (from the cumulative count between samples).
    ServerErrorsPerSec,
    /// Worst-of-canaries freshness over the last second (pending canaries at their
    /// age so far), ms.
    FreshnessP99Ms,
    /// Gateway TTFB p99, ms.
    TtfbP99Ms,
    /// Items acked / items offered over the last second.
    AckedRatio,
    /// The largest iterator age of any shard, ms.
    IteratorAgeMs,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct StopCondition {
    /// Defaults to a description of the condition.
    #[serde(default)]
    pub name: Option<String>,
    pub metric: StopMetric,
    /// Trips when the figure is above this …
    #[serde(default)]
    pub above: Option<f64>,
    /// … or below this …
    #[serde(default)]
    pub below: Option<f64>,
    /// … for this many consecutive seconds.
    pub for_secs: f64,
}

impl StopCondition {
    pub fn label(&self) -> String {
        if let Some(n) = &self.name {
            return n.clone();
        }
        let bound = match (self.above, self.below) {
            (Some(a), _) => format!("> {a}"),
            (_, Some(b)) => format!("< {b}"),
            _ => "?".into(),
        };
        format!("{:?} {bound} for {} s", self.metric, self.for_secs)
    }

    /// Exactly one of `above`/`below`, and a positive duration.
    pub fn check(&self) -> Result<(), String> {
        if self.above.is_some() == self.below.is_some() {
            return Err("give exactly one of `above` or `below`".into());
        }
        if !(self.for_secs > 0.0 && self.for_secs.is_finite()) {
            return Err(format!("for_secs must be > 0, got {}", self.for_secs));
        }
        Ok(())
    }
}

/// A condition that tripped: which, the figure, and when (ms since the load started).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Tripped {
    pub condition: String,
    pub figure: f64,
    pub at_ms: u64,
    pub since_ms: u64,
}

/// Watches samples in order; pure, so it is tested without a stack.
pub struct StopWatch {
    conditions: Vec<StopCondition>,
    /// Per condition: since when (ms) its bound has been broken.
    breached_since: Vec<Option<u64>>,
    prev: Option<Sample>,
}

impl StopWatch {
    pub fn new(conditions: Vec<StopCondition>) -> StopWatch {
        let n = conditions.len();
        StopWatch {
            conditions,
            breached_since: vec![None; n],
            prev: None,
        }
    }

    /// Feeds the next sample; returns the first condition that trips.
    pub fn observe(&mut self, s: &Sample) -> Option<Tripped> {
        let mut out = None;
        for (i, c) in self.conditions.iter().enumerate() {
            let Some(v) = figure(c.metric, self.prev.as_ref(), s) else {
                continue;
            };
            let broken = c.above.is_some_and(|a| v > a) || c.below.is_some_and(|b| v < b);
            if !broken {
                self.breached_since[i] = None;
                continue;
            }
            let since = *self.breached_since[i].get_or_insert(s.t_ms);
            if out.is_none() && s.t_ms.saturating_sub(since) as f64 >= c.for_secs * 1000.0 {
                out = Some(Tripped {
                    condition: c.label(),
                    figure: v,
                    at_ms: s.t_ms,
                    since_ms: since,
                });
            }
        }
        self.prev = Some(s.clone());
        out
    }
}

fn figure(m: StopMetric, prev: Option<&Sample>, s: &Sample) -> Option<f64> {
    match m {
        StopMetric::ServerErrorsPerSec => s.rate_since(prev?, |s| s.load.server_5xx),
        StopMetric::FreshnessP99Ms => s.load.freshness_now_ms,
        StopMetric::TtfbP99Ms => Some(s.load.ttfb_p99_ms),
        StopMetric::AckedRatio => {
            (s.load.offered_per_sec > 0.0).then(|| s.load.acked_per_sec / s.load.offered_per_sec)
        }
        StopMetric::IteratorAgeMs => s.iterator_age_ms.values().copied().reduce(f64::max),
    }
}
