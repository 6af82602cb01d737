//! The thresholds file (`scenarios/thresholds.toml`): DESIGN.md's SLI table and the rig's
//! self-check limits. Gates read their limits only from here, never from code, so every
//! field is required: a missing one is an error naming it. Tests shorten load and
//! duration but keep these thresholds.

use super::error::{ScenarioError, parse_toml};
use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    pub ingest: IngestThresholds,
    pub burst: BurstThresholds,
    pub freshness: FreshnessThresholds,
    pub storage: StorageThresholds,
    pub hygiene: HygieneThresholds,
    pub canary: CanaryThresholds,
    pub dashboard: DashboardThresholds,
    pub faults: FaultThresholds,
    pub self_check: SelfCheckThresholds,
    pub e2e: E2eThresholds,
}

/// Ingest at 1× (T1) and the recovery step after a burst (T2).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IngestThresholds {
    /// 2xx of all requests at 1×.
    pub success_ratio_min: f64,
    /// 429s at 1× (any 429 at 1× is a failure).
    pub throttled_max: u64,
    /// Gateway TTFB p99 at 1×, all requests.
    pub ttfb_p99_ms_max: f64,
}

/// The burst (T2): absorbed steps, the peak step, and the whole scenario.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BurstThresholds {
    /// 2xx of all requests in the steps between 1× and the peak (3×).
    pub absorbed_success_ratio_min: f64,
    /// 429s in those steps (absorbed = none).
    pub absorbed_throttled_max: u64,
    /// Items acked at the peak / min(offered, quota).
    pub peak_goodput_ratio_min: f64,
    /// TTFB p99 of admitted (2xx) requests at the peak.
    pub peak_ttfb_p99_ms_max: f64,
    /// 429s without a usable Retry-After, whole scenario.
    pub throttled_without_retry_after_max: u64,
    /// 5xx of any kind (503 with Retry-After included), whole scenario.
    pub server_errors_max: u64,
    /// Connection errors and timeouts, whole scenario.
    pub transport_errors_max: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FreshnessThresholds {
    /// Worst-of-canaries freshness p99 (delivery buffer interval 1 s).
    pub p99_ms_max: f64,
    /// Back within `p99_ms_max` this long after a fault ends (fault gates).
    pub recovery_secs_max: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StorageThresholds {
    pub lost_max: u64,
    pub delivery_duplicates_max: u64,
    pub phantoms_max: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct HygieneThresholds {
    /// Share of each bad class rejected at the edge.
    pub bad_rejected_ratio_min: f64,
    /// Clean items rejected / clean items sent.
    pub false_reject_ratio_max: f64,
    /// Planted PII strings found verbatim in storage.
    pub pii_found_max: u64,
    /// Label names in storage outside allowlist ∪ structural ∪ tenant-permitted.
    pub labels_outside_allowlist_max: u64,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CanaryThresholds {
    /// Share of tenant/shard canaries that must become visible through the query service.
    pub visible_ratio_min: f64,
}

/// Dashboard replay (T4, arrives with its issue).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DashboardThresholds {
    pub viewers: u32,
    pub query_p95_ms_max: f64,
    pub query_p99_ms_max: f64,
}

/// Fault gates (T5–T7, arrive with the fault verbs).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FaultThresholds {
    /// T5: the paused shards' iterator age after the pause (a bound to be back under).
    pub iterator_age_secs_max: f64,
    /// T5: how long after the pause ends it may take to get back under it.
    pub iterator_age_recovery_secs_max: f64,
    /// T5: the peak iterator age must reach the pause's length minus this (the pause
    /// took effect).
    pub pause_effect_slack_secs: f64,
    /// Lease takeover after AZ loss: lease period + this (DESIGN.md).
    pub lease_takeover_slack_secs: f64,
    /// T7: lease takeover after AZ loss, absolute bound.
    pub takeover_secs_max: f64,
    /// T6: first to last failed request of the killed gateway's traffic.
    pub gateway_kill_error_window_secs_max: f64,
}

/// The rig itself: beyond these the run is invalid (exit 3), not red.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SelfCheckThresholds {
    /// The harness runtime's timer overshoot p99.
    pub scheduling_lag_p99_ms_max: f64,
    /// Requests the producers' bounded send queue dropped / requests offered.
    pub send_queue_drop_ratio_max: f64,
    /// Whole-machine CPU utilisation (0..=1 of all cores) over the run.
    pub machine_cpu_utilisation_max: f64,
}

/// `gameday bench e2e`: when an offered rate counts as sustained end to end (besides a
/// valid self-check, `[self_check]`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct E2eThresholds {
    /// Samples the producers offered / the step's rate × its seconds (below it, the rig
    /// did not offer what the step claims).
    pub offered_ratio_min: f64,
    /// Samples acked (2xx) / samples offered in the step.
    pub acked_ratio_min: f64,
    /// Samples refused 429 `quota_exceeded` (the quotas sit above the offered rate).
    pub quota_rejected_max: u64,
    /// Worst-of-canaries freshness p99 through the query service.
    pub freshness_p99_ms_max: f64,
    /// Acked samples the independent audit did not find in committed Parquet.
    pub lost_max: u64,
    /// The highest sustained samples/s this machine should reach (the bench's target).
    pub max_sustained_target: f64,
}

impl Thresholds {
    pub fn load(path: &Path) -> Result<Thresholds, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        parse_toml(path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shipped_path() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/thresholds.toml")
    }

    #[test]
    fn shipped_thresholds_are_design_md_table() {
        let t = Thresholds::load(&shipped_path()).unwrap();
        assert_eq!(t.ingest.success_ratio_min, 0.999);
        assert_eq!(t.ingest.throttled_max, 0);
        assert_eq!(t.ingest.ttfb_p99_ms_max, 25.0);
        assert_eq!(t.burst.peak_ttfb_p99_ms_max, 100.0);
        assert_eq!(t.burst.peak_goodput_ratio_min, 0.95);
        assert_eq!(t.burst.server_errors_max, 0);
        assert_eq!(t.freshness.p99_ms_max, 3_000.0);
        assert_eq!(t.storage.lost_max, 0);
        assert_eq!(t.hygiene.false_reject_ratio_max, 0.0001);
        assert_eq!(t.hygiene.pii_found_max, 0);
    }

    #[test]
    fn a_missing_threshold_is_named() {
        let text = std::fs::read_to_string(shipped_path()).unwrap();
        let cut: String = text
            .lines()
            .filter(|l| !l.starts_with("peak_goodput_ratio_min"))
            .map(|l| format!("{l}\n"))
            .collect();
        let e = parse_toml::<Thresholds>(Path::new("t.toml"), &cut)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("t.toml:"), "{e}");
        assert!(e.contains("burst"), "{e}");
        assert!(e.contains("peak_goodput_ratio_min"), "{e}");
    }
}
