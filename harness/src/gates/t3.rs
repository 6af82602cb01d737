//! T3: edge hygiene — PII, unknown labels, high cardinality and bad schemas rejected
//! 100 %; clean data falsely rejected ≤ 0.01 %; none of the planted PII strings found in
//! storage (the ledger's verbatim search, not the gateway's detectors); no label outside
//! the allowlist in storage.

use super::checks::Check;
use crate::evidence::RunEvidence;
use crate::scenario::Thresholds;

/// The classes of bad traffic the producers plant (keys of `HygieneEvidence.bad_sent`).
pub const BAD_CLASSES: [&str; 4] = ["pii", "unknown_label", "high_cardinality", "bad_schema"];

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let h = &ev.hygiene;
    let t = &th.hygiene;
    let mut out: Vec<Check> = BAD_CLASSES
        .iter()
        .map(|class| {
            let sent = h.bad_sent.get(*class).copied().unwrap_or(0);
            let rejected = h.bad_rejected.get(*class).copied().unwrap_or(0);
            Check::ratio_at_least(
                format!("{class} rejected"),
                rejected.min(sent),
                sent,
                t.bad_rejected_ratio_min,
            )
        })
        .collect();
    out.push(Check::ratio_at_most(
        "clean items falsely rejected",
        h.clean_rejected,
        h.clean_sent,
        t.false_reject_ratio_max,
    ));
    let Some(a) = &ev.audit else {
        out.push(Check::missing(
            "planted PII found in storage",
            "no storage audit",
            format!("≤ {}", t.pii_found_max),
        ));
        return out;
    };
    out.push(if h.planted_pii == 0 {
        Check::missing(
            "planted PII found in storage",
            "no PII was planted, nothing to search for",
            format!("≤ {}", t.pii_found_max),
        )
    } else {
        Check::count_at_most(
            "planted PII found in storage",
            a.pii_found.len() as u64,
            t.pii_found_max,
            &format!("of {} planted{}", h.planted_pii, listed(&a.pii_found)),
        )
        .figure(a.pii_found.len() as f64, Some(h.planted_pii as f64))
    });
    out.push(Check::count_at_most(
        "labels outside the allowlist in storage",
        a.labels_outside_allowlist.len() as u64,
        t.labels_outside_allowlist_max,
        listed(&a.labels_outside_allowlist).trim_start_matches("; "),
    ));
    out
}

/// "; e.g. a, b, c" for the first few items, "" when there are none.
fn listed(items: &[String]) -> String {
    if items.is_empty() {
        return String::new();
    }
    let shown: Vec<&str> = items.iter().take(3).map(String::as_str).collect();
    format!(
        "; e.g. {}{}",
        shown.join(", "),
        if items.len() > shown.len() {
            ", …"
        } else {
            ""
        }
    )
}
