//! T0: the stack boots and a canary record goes producer → gateway → Kinesis → S3 →
//! query, for every tenant and shard.

use super::checks::{Check, pct};
use crate::evidence::RunEvidence;
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let mut out = vec![Check::new(
        "stack booted",
        if ev.stack_booted {
            format!("booted in {} ms", ev.boot_ms)
        } else {
            "did not boot".into()
        },
        "booted".into(),
        ev.stack_booted,
    )];
    let p = &ev.probes;
    let min = th.canary.visible_ratio_min;
    let check = if p.per_shard_ms.is_empty() {
        Check::ratio_at_least(
            "canaries visible through the query service",
            p.canaries_visible,
            p.canaries_sent,
            min,
        )
    } else {
        let total = p.per_shard_ms.len() as u64;
        let never: Vec<&str> = p
            .per_shard_ms
            .iter()
            .filter(|(_, v)| v.is_none())
            .map(|(k, _)| k.as_str())
            .collect();
        let visible = total - never.len() as u64;
        let ratio = visible as f64 / total as f64;
        let mut measured = format!("{visible} of {total} tenant/shard canaries");
        if !never.is_empty() {
            let shown: Vec<&str> = never.iter().take(4).copied().collect();
            measured.push_str(&format!(
                "; never visible: {}{}",
                shown.join(", "),
                if never.len() > shown.len() {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        Check::new(
            "tenant/shard canaries visible through the query service",
            measured,
            format!("≥ {} of them", pct(min)),
            ratio >= min,
        )
        .figure(visible as f64, Some(total as f64))
    };
    out.push(check);
    out
}
