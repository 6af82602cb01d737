//! The verdict types: why hygiene refused something ([`Rejection`], with the reason
//! code the gateway counts in metrics and a detail that never echoes a PII value),
//! the kinds of PII, and what becomes of an OTLP resource attribute.

/// Longest label name or JSON key echoed in a detail.
const ECHO_MAX: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PiiKind {
    Email,
    Phone,
    Ipv4,
    Ipv6,
    Card,
    DenyPattern,
}

impl PiiKind {
    pub const ALL: [PiiKind; 6] = [
        PiiKind::Email,
        PiiKind::Phone,
        PiiKind::Ipv4,
        PiiKind::Ipv6,
        PiiKind::Card,
        PiiKind::DenyPattern,
    ];

    /// Reason code (`pii_email`, ...).
    pub fn reason(self) -> &'static str {
        match self {
            PiiKind::Email => "pii_email",
            PiiKind::Phone => "pii_phone",
            PiiKind::Ipv4 => "pii_ipv4",
            PiiKind::Ipv6 => "pii_ipv6",
            PiiKind::Card => "pii_card",
            PiiKind::DenyPattern => "pii_deny_pattern",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            PiiKind::Email => "an email address",
            PiiKind::Phone => "a phone number",
            PiiKind::Ipv4 => "an IPv4 address",
            PiiKind::Ipv6 => "an IPv6 address",
            PiiKind::Card => "a payment card number",
            PiiKind::DenyPattern => "a value matching a deny pattern",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// The label name is not in the allowlist (nor structural, nor an allowed
    /// `job`/`instance`).
    LabelNotAllowed(String),
    /// The label at this position has a name that is not `[a-zA-Z_][a-zA-Z0-9_]*`
    /// (not echoed: it could be anything, PII included).
    BadLabelName {
        index: usize,
    },
    DuplicateLabel(String),
    TooManyLabels {
        count: usize,
        max: usize,
    },
    LabelValueTooLong {
        label: String,
        bytes: usize,
        max: usize,
    },
    MissingMetricName,
    /// `__name__` is not `[a-zA-Z_:][a-zA-Z0-9_:]*`.
    BadMetricName,
    /// PII found; `location` names the label or the JSON path, never the value.
    Pii {
        kind: PiiKind,
        location: String,
    },
    /// A new series while the tenant's active-series budget is exhausted.
    Cardinality,
    /// A tenant the gateway's config does not list.
    UnknownTenant,
}

impl Rejection {
    pub fn reason(&self) -> &'static str {
        match self {
            Rejection::LabelNotAllowed(_) => "label_not_allowed",
            Rejection::BadLabelName { .. } => "bad_label_name",
            Rejection::DuplicateLabel(_) => "duplicate_label",
            Rejection::TooManyLabels { .. } => "too_many_labels",
            Rejection::LabelValueTooLong { .. } => "label_value_too_long",
            Rejection::MissingMetricName => "missing_metric_name",
            Rejection::BadMetricName => "bad_metric_name",
            Rejection::Pii { kind, .. } => kind.reason(),
            Rejection::Cardinality => "cardinality",
            Rejection::UnknownTenant => "unknown_tenant",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Rejection::LabelNotAllowed(l) => format!("label {} is not allowed", echo(l)),
            Rejection::BadLabelName { index } => {
                format!("label #{index} has an invalid name (want [a-zA-Z_][a-zA-Z0-9_]*)")
            }
            Rejection::DuplicateLabel(l) => format!("label {} appears more than once", echo(l)),
            Rejection::TooManyLabels { count, max } => {
                format!("series has {count} labels, at most {max} allowed")
            }
            Rejection::LabelValueTooLong { label, bytes, max } => format!(
                "value of label {} is {bytes} bytes, at most {max} allowed",
                echo(label)
            ),
            Rejection::MissingMetricName => "series has no __name__ label".into(),
            Rejection::BadMetricName => {
                "__name__ is not a valid metric name (want [a-zA-Z_:][a-zA-Z0-9_:]*)".into()
            }
            Rejection::Pii { kind, location } => format!(
                "{location} looks like {} (value not shown)",
                kind.describe()
            ),
            Rejection::Cardinality => {
                "active-series budget exhausted: new series are refused until old ones expire"
                    .into()
            }
            Rejection::UnknownTenant => "tenant is not configured".into(),
        }
    }
}

/// A label name or key, quoted and cut to [`ECHO_MAX`] characters.
pub(crate) fn echo(s: &str) -> String {
    if s.chars().count() <= ECHO_MAX {
        format!("`{s}`")
    } else {
        let cut: String = s.chars().take(ECHO_MAX).collect();
        format!("`{cut}…`")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeVerdict {
    Promote,
    Drop,
}
