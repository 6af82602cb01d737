//! Edge hygiene. STUB with the final signatures: replaced by the hygiene work
//! (see /work/notes/hygiene-brief.md). Passes everything.

use super::config::{HygieneConfig, TenantConfig};
use crate::envelope::Label;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PiiKind {
    Email,
    Phone,
    Ipv4,
    Ipv6,
    Card,
    DenyPattern,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    LabelNotAllowed(String),
    Cardinality,
}

impl Rejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::LabelNotAllowed(_) => "label_not_allowed",
            Rejection::Cardinality => "cardinality",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Rejection::LabelNotAllowed(l) => format!("label {l} is not allowed"),
            Rejection::Cardinality => "active-series budget exhausted".into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeVerdict {
    Promote,
    Drop,
}

#[derive(Debug, thiserror::Error)]
#[error("hygiene config: {0}")]
pub struct HygieneConfigError(pub String);

pub struct Hygiene {}

impl Hygiene {
    pub fn new(
        _cfg: &HygieneConfig,
        _tenants: &[TenantConfig],
    ) -> Result<Self, HygieneConfigError> {
        Ok(Self {})
    }

    pub fn check_series(&self, _tenant: &str, _labels: &[Label]) -> Result<(), Rejection> {
        Ok(())
    }

    pub fn admit_series(
        &self,
        _tenant: &str,
        _fingerprint: u64,
        _now_ms: i64,
    ) -> Result<(), Rejection> {
        Ok(())
    }

    pub fn check_resource_attribute(
        &self,
        _tenant: &str,
        _key: &str,
        _value: &str,
    ) -> AttributeVerdict {
        AttributeVerdict::Drop
    }

    pub fn check_text(&self, _text: &str) -> Option<PiiKind> {
        None
    }

    pub fn check_event_data(&self, _value: &serde_json::Value) -> Result<(), Rejection> {
        Ok(())
    }
}
