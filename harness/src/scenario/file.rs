//! The scenario file as written: TOML shapes with `deny_unknown_fields` and the defaults
//! of DESIGN.md (1× = 20,000 samples/s + 1,000 events/s over 3 tenants, quotas at 4× of
//! each tenant's share, delivery buffer interval 1 s). Values that cannot be right are
//! refused while parsing (so the error carries the line); rules that span fields are
//! checked in `validate.rs`.

use crate::gates::GateId;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use toml::Spanned;

/// One scenario: what to boot, what load to drive, which faults, which gates to judge.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Defaults to the file's stem.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: String,
    /// Seed of every random choice (load, credentials, planted PII). Unset: a random seed,
    /// printed so that the run can be replayed.
    #[serde(default)]
    pub seed: Option<u64>,
    /// Thresholds file, relative to the scenario file's folder.
    #[serde(default = "default_thresholds")]
    pub thresholds: PathBuf,
    /// Gates this scenario judges (T0–T3 for now).
    pub gates: Spanned<Vec<GateId>>,
    #[serde(default)]
    pub stack: StackSection,
    #[serde(default)]
    pub tenants: TenantsSection,
    #[serde(default)]
    pub load: LoadSection,
    /// Faults on the load's timeline (see docs/scenarios.md, "Faults").
    #[serde(default)]
    pub faults: Vec<Spanned<FaultEntry>>,
    /// Abort conditions (as AWS FIS has): a run that trips one is stopped and reported
    /// as aborted.
    #[serde(default)]
    pub stop_conditions: Vec<Spanned<crate::faults::stop::StopCondition>>,
}

fn default_thresholds() -> PathBuf {
    PathBuf::from("thresholds.toml")
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct StackSection {
    /// Simulated availability zones; one gateway and one delivery worker in each.
    pub azs: Vec<String>,
    /// Kinesis shards; unset = what the capacity plan needs.
    pub shards: Option<Positive<u32>>,
    /// Delivery workers' buffer interval (Firehose-like buffering hint).
    pub delivery_buffer_interval_ms: Positive<u64>,
    /// An AWS-compatible endpoint to use instead of the embedded backend (LocalStack).
    pub endpoint: Option<String>,
}

impl Default for StackSection {
    fn default() -> Self {
        Self {
            azs: ["a", "b", "c"].map(String::from).to_vec(),
            shards: None,
            delivery_buffer_interval_ms: Positive(1_000),
            endpoint: None,
        }
    }
}

/// Tenants share the base load equally; each tenant's quota is `quota_multiplier` times
/// its share of 1×.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct TenantsSection {
    /// Tenant ids; their number is the number of tenants.
    pub ids: Vec<String>,
    pub quota_multiplier: Positive<f64>,
    /// Seconds of rate each token bucket holds.
    pub burst_secs: Positive<f64>,
    /// Request-body bytes budgeted per sample and per event for the bytes/s quota (so
    /// that the samples/s and events/s quotas are the binding ones).
    pub bytes_per_sample: Positive<f64>,
    pub bytes_per_event: Positive<f64>,
    /// Active series a tenant may have (above it: 400, high cardinality).
    pub active_series_budget: Positive<u64>,
    /// Whether the tenants may send `job`/`instance` labels.
    pub allow_job_instance: bool,
}

impl Default for TenantsSection {
    fn default() -> Self {
        Self {
            ids: ["studio-a", "studio-b", "studio-c"]
                .map(String::from)
                .to_vec(),
            quota_multiplier: Positive(4.0),
            burst_secs: Positive(1.0),
            bytes_per_sample: Positive(128.0),
            bytes_per_event: Positive(1024.0),
            active_series_budget: Positive(50_000),
            allow_job_instance: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSection {
    /// 1×: samples/s and events/s over all tenants.
    pub base_samples_per_sec: Positive<f64>,
    pub base_events_per_sec: NonNegative,
    pub steps: Spanned<Vec<StepEntry>>,
    pub mix: MixEntry,
    pub bad: BadEntry,
    pub samples_per_request: Positive<usize>,
    pub events_per_request: Positive<usize>,
    /// How often each tenant/shard canary writes a marker.
    pub canary_interval_ms: Positive<u64>,
    /// Bounded send queue of the open-model producers (drops are counted).
    pub send_queue: Positive<usize>,
    /// After the last step: how long to wait for everything acked to become visible.
    pub drain_timeout_secs: Positive<f64>,
}

impl Default for LoadSection {
    fn default() -> Self {
        Self {
            base_samples_per_sec: Positive(20_000.0),
            base_events_per_sec: NonNegative(1_000.0),
            steps: Spanned::new(
                0..0,
                vec![StepEntry {
                    name: "1x".into(),
                    multiplier: Positive(1.0),
                    secs: Positive(30.0),
                    settle: false,
                }],
            ),
            mix: MixEntry::default(),
            bad: BadEntry::default(),
            samples_per_request: Positive(500),
            events_per_request: Positive(50),
            canary_interval_ms: Positive(1_000),
            send_queue: Positive(256),
            drain_timeout_secs: Positive(30.0),
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepEntry {
    pub name: String,
    /// Multiple of the base rate.
    pub multiplier: Positive<f64>,
    pub secs: Positive<f64>,
    /// A settling step: load runs and is reported, but the after-the-burst checks skip
    /// it (the burst's retry backlog and emptied token buckets recover here).
    #[serde(default)]
    pub settle: bool,
}

/// Share of metric requests per protocol (normalised; both 0 is refused).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MixEntry {
    pub remote_write: NonNegative,
    pub otlp: NonNegative,
}

impl Default for MixEntry {
    fn default() -> Self {
        Self {
            remote_write: NonNegative(0.5),
            otlp: NonNegative(0.5),
        }
    }
}

/// Share of requests carrying each class of bad traffic; all 0 = a clean run.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BadEntry {
    pub pii: Share,
    pub unknown_label: Share,
    pub high_cardinality: Share,
    pub bad_schema: Share,
}

impl BadEntry {
    pub fn total(&self) -> f64 {
        self.pii.0 + self.unknown_label.0 + self.high_cardinality.0 + self.bad_schema.0
    }
}

pub use crate::faults::FaultEntry;

/// A number > 0 (refused while parsing, so the error names the line).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize)]
#[serde(transparent)]
pub struct Positive<T>(pub T);

impl<'de, T> Deserialize<'de> for Positive<T>
where
    T: Deserialize<'de> + PartialOrd + Default + Copy + std::fmt::Display,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = T::deserialize(d)?;
        if v > T::default() {
            Ok(Positive(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "must be greater than 0, got {v}"
            )))
        }
    }
}

/// A finite number ≥ 0.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct NonNegative(pub f64);

impl<'de> Deserialize<'de> for NonNegative {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if v.is_finite() && v >= 0.0 {
            Ok(NonNegative(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "must be a number ≥ 0, got {v}"
            )))
        }
    }
}

/// A share in 0..=1.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize)]
#[serde(transparent)]
pub struct Share(pub f64);

impl<'de> Deserialize<'de> for Share {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = f64::deserialize(d)?;
        if (0.0..=1.0).contains(&v) {
            Ok(Share(v))
        } else {
            Err(serde::de::Error::custom(format!(
                "must be a share between 0 and 1, got {v}"
            )))
        }
    }
}
