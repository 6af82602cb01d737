//! One status snapshot of a running GameDay: what the console shows and a script reads,
//! built from the SLI timeline's last samples, the fault engine's records and the event
//! log. The control API streams it once a second; the TUI renders nothing else.

use crate::faults::{Event, FaultRecord, FaultState, FaultVerb};
use crate::gates::live::GateLive;
use crate::monitor::{LeaseView, Sample};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Snapshot {
    /// Milliseconds since the load started.
    pub t_ms: u64,
    pub scenario: String,
    pub step: String,
    pub offered_per_sec: f64,
    pub acked_per_sec: f64,
    /// Over the last sample interval.
    pub throttled_429_per_sec: f64,
    pub server_5xx_per_sec: f64,
    pub ttfb_p50_ms: f64,
    pub ttfb_p99_ms: f64,
    /// Freshness now (pending canaries at their age so far), ms.
    pub freshness_ms: Option<f64>,
    /// Freshness p99 per tenant since the load started, ms.
    pub freshness_p99_by_tenant_ms: BTreeMap<String, f64>,
    /// The query service's latency (the canary probes' queries), ms.
    pub query_p95_ms: Option<f64>,
    pub query_p99_ms: Option<f64>,
    pub iterator_age_ms: BTreeMap<String, f64>,
    /// Shards whose reads or writes are paused by an active fault.
    pub paused_shards: Vec<String>,
    pub leases: BTreeMap<String, LeaseView>,
    /// Per component: up, down, unreachable, stalled, blackholed.
    pub components: BTreeMap<String, String>,
    pub faults: Vec<FaultRecord>,
    /// The newest events, oldest first.
    pub events: Vec<Event>,
    /// The scenario's gates: live status, then the verdicts once judged.
    pub gates: Vec<GateLive>,
}

impl Snapshot {
    /// From the timeline's last two samples (rates need two), the faults and the events.
    pub fn build(
        scenario: &str,
        prev: Option<&Sample>,
        last: Option<&Sample>,
        faults: Vec<FaultRecord>,
        events: &[Event],
    ) -> Snapshot {
        let Some(s) = last else {
            return Snapshot {
                scenario: scenario.to_string(),
                faults,
                events: tail(events),
                ..Snapshot::default()
            };
        };
        let per_sec = |f: fn(&Sample) -> u64| prev.and_then(|p| s.rate_since(p, f)).unwrap_or(0.0);
        let active: Vec<&FaultRecord> = faults
            .iter()
            .filter(|f| f.state == FaultState::Active)
            .collect();
        let mut components = s.components.clone();
        for f in &active {
            match f.verb {
                FaultVerb::WorkerStall => {
                    components.insert(f.target.clone(), "stalled".into());
                }
                FaultVerb::AzLoss => {
                    let az = f.target.trim_start_matches("az ");
                    for (name, state) in components.iter_mut() {
                        if name.ends_with(&format!("-{az}")) {
                            *state = "blackholed".into();
                        }
                    }
                }
                _ => {}
            }
        }
        Snapshot {
            t_ms: s.t_ms,
            scenario: scenario.to_string(),
            step: s.load.step.clone(),
            offered_per_sec: s.load.offered_per_sec,
            acked_per_sec: s.load.acked_per_sec,
            throttled_429_per_sec: per_sec(|s| s.load.throttled_429),
            server_5xx_per_sec: per_sec(|s| s.load.server_5xx),
            ttfb_p50_ms: s.load.ttfb_p50_ms,
            ttfb_p99_ms: s.load.ttfb_p99_ms,
            freshness_ms: s.load.freshness_now_ms,
            freshness_p99_by_tenant_ms: s.load.freshness_p99_by_tenant_ms.clone(),
            query_p95_ms: s.load.query_p95_ms,
            query_p99_ms: s.load.query_p99_ms,
            iterator_age_ms: s.iterator_age_ms.clone(),
            paused_shards: active
                .iter()
                .filter(|f| f.verb == FaultVerb::ShardPause)
                .flat_map(|f| f.shards.iter().cloned())
                .collect(),
            leases: s.leases.clone(),
            components,
            faults,
            events: tail(events),
            gates: Vec::new(),
        }
    }
}

fn tail(events: &[Event]) -> Vec<Event> {
    events[events.len().saturating_sub(20)..].to_vec()
}
