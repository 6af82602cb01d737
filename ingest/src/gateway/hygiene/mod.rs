//! Edge hygiene: everything the gateway refuses before a byte reaches Kinesis, as
//! non-retryable 4xx with a reason code — label rules (allowlist, names, counts, sizes),
//! PII in label values, OTLP resource attributes and event data, and the per-tenant
//! active-series budget against high cardinality.
//!
//! Layout: [`detect`] (PII detectors), `series` (label rules), `cache` (per-series
//! verdicts), `budget` (active series), `event` (JSON walk), [`testgen`] (proptest
//! generators of clean telemetry and PII, also for the harness with feature `testgen`).

mod budget;
mod cache;
mod detect;
mod event;
mod rejection;
mod series;
#[cfg(any(test, feature = "testgen"))]
pub mod testgen;
#[cfg(test)]
mod tests;

pub use rejection::{AttributeVerdict, PiiKind, Rejection};

use super::config::{HygieneConfig, TenantConfig};
use crate::envelope::Label;
use std::collections::{HashMap, HashSet};

#[derive(Debug, thiserror::Error)]
#[error("hygiene config: {0}")]
pub struct HygieneConfigError(pub String);

/// One tenant's policy and its active series.
struct Tenant {
    index: u32,
    allow_job_instance: bool,
    promoted: HashSet<String>,
    active: budget::ActiveSeries,
}

pub struct Hygiene {
    detectors: detect::Detectors,
    /// Allowlist ∪ structural labels (`__name__`, `le`, `quantile`).
    allowed: HashSet<String>,
    max_labels: usize,
    max_value_bytes: usize,
    tenants: HashMap<String, Tenant>,
    verdicts: cache::VerdictCache,
}

impl Hygiene {
    pub fn new(cfg: &HygieneConfig, tenants: &[TenantConfig]) -> Result<Self, HygieneConfigError> {
        let mut allowed: HashSet<String> = cfg.allowlist.iter().cloned().collect();
        for name in ["__name__", "le", "quantile"] {
            allowed.insert(name.to_string());
        }
        if let Some(bad) = allowed.iter().find(|n| !series::valid_label_name(n)) {
            return Err(HygieneConfigError(format!(
                "allowlist entry `{bad}` is not a valid label name"
            )));
        }
        let window_ms =
            i64::try_from(cfg.active_series_window_secs.saturating_mul(1000)).unwrap_or(i64::MAX);
        let mut by_id = HashMap::new();
        for (i, t) in tenants.iter().enumerate() {
            let tenant = Tenant {
                index: u32::try_from(i)
                    .map_err(|_| HygieneConfigError("too many tenants".into()))?,
                allow_job_instance: t.allow_job_instance,
                promoted: t.promoted_resource_attributes.iter().cloned().collect(),
                active: budget::ActiveSeries::new(t.active_series_budget, window_ms),
            };
            if by_id.insert(t.id.clone(), tenant).is_some() {
                return Err(HygieneConfigError(format!(
                    "tenant `{}` is listed twice",
                    t.id
                )));
            }
        }
        Ok(Self {
            detectors: detect::Detectors::new(cfg)?,
            allowed,
            max_labels: cfg.max_labels_per_series,
            max_value_bytes: cfg.max_label_value_bytes,
            tenants: by_id,
            verdicts: cache::VerdictCache::new(cfg.verdict_cache_entries),
        })
    }

    /// Judges one series (labels sorted by name). Known series cost one hash and one
    /// lookup: verdicts, good and bad, are cached per (tenant, series fingerprint).
    pub fn check_series(&self, tenant: &str, labels: &[Label]) -> Result<(), Rejection> {
        self.check_series_fingerprinted(tenant, labels, crate::keys::series_fingerprint(labels))
    }

    /// [`Hygiene::check_series`] for a caller that already has the series fingerprint.
    pub fn check_series_fingerprinted(
        &self,
        tenant: &str,
        labels: &[Label],
        fp: u64,
    ) -> Result<(), Rejection> {
        let t = self.tenants.get(tenant).ok_or(Rejection::UnknownTenant)?;
        if let Some(v) = self.verdicts.get(t.index, fp) {
            return v;
        }
        let v = series::judge(self, t.allow_job_instance, labels);
        self.verdicts.insert(t.index, fp, v.clone());
        v
    }

    /// Per-tenant active-series budget: a series seen within the window always passes;
    /// a new one passes only while the tenant has fewer active series than its budget.
    pub fn admit_series(
        &self,
        tenant: &str,
        fingerprint: u64,
        now_ms: i64,
    ) -> Result<(), Rejection> {
        let t = self.tenants.get(tenant).ok_or(Rejection::UnknownTenant)?;
        t.active.admit(fingerprint, now_ms)
    }

    /// OTLP resource attributes: kept (as a label named with `.`→`_`, judged by
    /// [`Hygiene::check_series`]) only when the tenant promotes the key.
    pub fn check_resource_attribute(
        &self,
        tenant: &str,
        key: &str,
        _value: &str,
    ) -> AttributeVerdict {
        match self.tenants.get(tenant) {
            Some(t) if t.promoted.contains(key) => AttributeVerdict::Promote,
            _ => AttributeVerdict::Drop,
        }
    }

    /// The first kind of PII found in `text`, if any.
    pub fn check_text(&self, text: &str) -> Option<PiiKind> {
        self.detectors.check(text)
    }

    /// Every string, object key and card- or phone-like integer of an event's data.
    pub fn check_event_data(&self, value: &serde_json::Value) -> Result<(), Rejection> {
        event::check(&self.detectors, value)
    }
}
