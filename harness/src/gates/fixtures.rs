//! Hand-built evidence for the gate tests: a burst run that passes T0–T3, to be broken one
//! figure at a time.

use crate::evidence::*;
use crate::scenario::Thresholds;
use std::collections::BTreeMap;
use std::path::Path;

pub fn thresholds() -> Thresholds {
    Thresholds::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/thresholds.toml"))
        .unwrap()
}

fn latency(p99_ms: f64) -> Latency {
    Latency {
        count: 1_000,
        p50_ms: p99_ms / 3.0,
        p99_ms,
        max_ms: p99_ms * 2.0,
    }
}

/// A step at `multiplier` × 40 requests/s of 500 items for `secs`; `quota_x` is the quota
/// as a multiple of 1× (4 in DESIGN.md's defaults).
pub fn step(name: &str, multiplier: f64, secs: f64, quota_x: f64) -> StepEvidence {
    let requests = (40.0 * multiplier * secs) as u64;
    let items = requests * 500;
    let quota_items_per_sec = 20_000.0 * multiplier.min(quota_x);
    let admitted_items = items.min((quota_items_per_sec * secs) as u64);
    let admitted = admitted_items / 500;
    let throttled = requests - admitted;
    let mut status_counts = BTreeMap::new();
    status_counts.insert(200, admitted);
    if throttled > 0 {
        status_counts.insert(429, throttled);
    }
    StepEvidence {
        name: name.into(),
        multiplier,
        duration_secs: secs,
        settle: false,
        requests_offered: requests,
        requests_sent: requests,
        requests_dropped: 0,
        status_counts,
        throttled_with_retry_after: throttled,
        server_errors_with_retry_after: 0,
        items_offered: items,
        items_acked: admitted * 500,
        items_dropped: 0,
        items_rejected: BTreeMap::new(),
        retries: 0,
        quota_items_per_sec,
        ttfb_admitted: latency(if multiplier > 4.0 { 60.0 } else { 12.0 }),
        ttfb_all: latency(if multiplier > 4.0 { 60.0 } else { 12.0 }),
        freshness: Some(latency(1_800.0)),
    }
}

pub fn passing() -> RunEvidence {
    let steps = vec![
        step("1x", 1.0, 20.0, 4.0),
        step("3x", 3.0, 30.0, 4.0),
        step("5x", 5.0, 30.0, 4.0),
        step("after", 1.0, 20.0, 4.0),
    ];
    let acked: u64 = steps.iter().map(|s| s.items_acked).sum();
    let classes = ["pii", "unknown_label", "high_cardinality", "bad_schema"];
    let bad: BTreeMap<String, u64> = classes.iter().map(|c| (c.to_string(), 50)).collect();
    let per_shard = ["studio-a", "studio-b", "studio-c"]
        .iter()
        .flat_map(|t| (0..4).map(move |s| (format!("{t}/shardId-00000000000{s}"), Some(1_500))))
        .collect();
    RunEvidence {
        scenario: "burst".into(),
        seed: 42,
        boot_ms: 1_200,
        stack_booted: true,
        steps,
        audit: Some(AuditEvidence {
            acked,
            stored_rows: acked,
            ..AuditEvidence::default()
        }),
        hygiene: HygieneEvidence {
            bad_sent: bad.clone(),
            bad_rejected: bad,
            clean_sent: 1_000_000,
            clean_rejected: 0,
            planted_pii: 50,
        },
        probes: ProbeEvidence {
            canaries_sent: 120,
            canaries_visible: 120,
            freshness: latency(1_900.0),
            per_shard_ms: per_shard,
        },
        self_check: SelfCheck {
            scheduling_lag: latency(3.0),
            cpu_share: 0.4,
            machine_cpu_utilisation: 0.7,
            invalid: false,
            invalid_reason: None,
        },
        component_counters: BTreeMap::new(),
        ..RunEvidence::default()
    }
}
