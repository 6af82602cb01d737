//! Label rules for one series, uncached: count, names (valid, unique, allowed), value
//! sizes, `__name__`, and PII in every value. The first failure wins, in that order.
//! Values are Rust `String`s, so valid UTF-8 is guaranteed by the decoders already.

use super::{Hygiene, Rejection};
use crate::envelope::Label;

pub(super) fn valid_label_name(n: &str) -> bool {
    let b = n.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' => b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_'),
        _ => false,
    }
}

fn valid_metric_name(n: &str) -> bool {
    let b = n.as_bytes();
    match b.first() {
        Some(c) if c.is_ascii_alphabetic() || *c == b'_' || *c == b':' => b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || *c == b'_' || *c == b':'),
        _ => false,
    }
}

pub(super) fn judge(
    h: &Hygiene,
    allow_job_instance: bool,
    labels: &[Label],
) -> Result<(), Rejection> {
    if labels.len() > h.max_labels {
        return Err(Rejection::TooManyLabels {
            count: labels.len(),
            max: h.max_labels,
        });
    }
    for (i, l) in labels.iter().enumerate() {
        if !valid_label_name(&l.name) {
            return Err(Rejection::BadLabelName { index: i });
        }
    }
    // Sorted by name (the caller's promise): duplicates are neighbours. Check anyway.
    let sorted = labels.windows(2).all(|w| w[0].name <= w[1].name);
    let duplicate = if sorted {
        labels
            .windows(2)
            .find(|w| w[0].name == w[1].name)
            .map(|w| w[0].name.clone())
    } else {
        let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
        names.sort_unstable();
        names
            .windows(2)
            .find(|w| w[0] == w[1])
            .map(|w| w[0].to_string())
    };
    if let Some(d) = duplicate {
        return Err(Rejection::DuplicateLabel(d));
    }
    let mut metric_name = None;
    for l in labels {
        let allowed = h.allowed.contains(&l.name)
            || (allow_job_instance && (l.name == "job" || l.name == "instance"));
        if !allowed {
            return Err(Rejection::LabelNotAllowed(l.name.clone()));
        }
        if l.value.len() > h.max_value_bytes {
            return Err(Rejection::LabelValueTooLong {
                label: l.name.clone(),
                bytes: l.value.len(),
                max: h.max_value_bytes,
            });
        }
        if l.name == "__name__" {
            metric_name = Some(l.value.as_str());
        }
    }
    match metric_name {
        None | Some("") => return Err(Rejection::MissingMetricName),
        Some(n) if !valid_metric_name(n) => return Err(Rejection::BadMetricName),
        Some(_) => {}
    }
    for l in labels {
        if let Some(kind) = h.detectors.check(&l.value) {
            return Err(Rejection::Pii {
                kind,
                location: format!("label {}", super::rejection::echo(&l.name)),
            });
        }
    }
    Ok(())
}
