//! T7: one AZ lost (its processes frozen, its network blackholed both ways), then
//! restored. First proves the fault took effect (the lost AZ's worker held leases, they
//! moved to surviving workers; when the zombie woke up its writes were refused), then:
//! the takeover within an absolute bound, freshness back within its bound in time after
//! the AZ returns, zero acked loss, nothing stored twice or never sent (the fenced
//! zombie added nothing), and the shards rebalanced onto the restored worker.

use super::checks::{Check, num};
use super::timeline::{first_started, sample_at, secs};
use crate::evidence::RunEvidence;
use crate::faults::FaultVerb;
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let f = &th.faults;
    let Some((loss, start, end)) = first_started(ev, FaultVerb::AzLoss) else {
        return vec![Check::missing(
            "AZ loss took effect",
            "no az-loss started on the timeline",
            "an az-loss".into(),
        )];
    };
    let az = loss.target.trim_start_matches("az ").to_string();
    let worker = format!("delivery-{az}");
    let mut out = Vec::new();

    // 1. Which shards the lost worker held when the AZ went.
    let held: Vec<String> = sample_at(ev, start)
        .map(|s| {
            s.leases
                .iter()
                .filter(|(_, l)| l.worker == worker)
                .map(|(id, _)| id.clone())
                .collect()
        })
        .unwrap_or_default();
    // 2. When every one of them had a live owner elsewhere.
    let moved_at = ev
        .faults
        .timeline
        .iter()
        .filter(|s| s.t_ms >= start)
        .find(|s| {
            held.iter().all(|id| {
                s.leases
                    .get(id)
                    .is_some_and(|l| !l.worker.is_empty() && l.worker != worker)
            })
        })
        .map(|s| s.t_ms - start);
    let bound = f.takeover_secs_max;
    out.push(if held.is_empty() {
        Check::new(
            "leases moved off the lost AZ",
            format!("{worker} held no lease when {} was lost", loss.target),
            "it held ≥ 1 lease, all moved".into(),
            false,
        )
    } else {
        match moved_at {
            Some(ms) => {
                let relative =
                    ev.faults.lease_period_ms as f64 / 1000.0 + f.lease_takeover_slack_secs;
                Check::new(
                    "leases moved off the lost AZ (takeover)",
                    format!(
                        "{} shards of {worker} taken over after {}",
                        held.len(),
                        secs(ms)
                    ),
                    format!(
                        "≤ {} s and ≤ lease period {} + {} s",
                        num(bound),
                        secs(ev.faults.lease_period_ms),
                        num(f.lease_takeover_slack_secs)
                    ),
                    ms as f64 / 1000.0 <= bound.min(relative),
                )
                .figure(ms as f64 / 1000.0, None)
            }
            None => {
                let observed = ev
                    .faults
                    .timeline
                    .last()
                    .map(|s| s.t_ms.saturating_sub(start))
                    .unwrap_or(0);
                Check::new(
                    "leases moved off the lost AZ (takeover)",
                    format!(
                        "{} shards of {worker} never taken over in the {} observed",
                        held.len(),
                        secs(observed)
                    ),
                    format!("≤ {} s", num(bound)),
                    false,
                )
                .figure(observed as f64 / 1000.0, None)
            }
        }
    });

    // 3. The zombie woke up and was fenced.
    let fenced = ev
        .faults
        .timeline
        .iter()
        .filter(|s| s.t_ms >= end)
        .filter_map(|s| s.fenced_writes.get(&worker).copied())
        .fold(0.0, f64::max);
    out.push(
        Check::new(
            "zombie writes refused (fenced) after the AZ returned",
            format!("{} by {worker}", num(fenced)),
            "> 0".into(),
            fenced > 0.0,
        )
        .figure(fenced, None),
    );

    // 4. Freshness back within bound after the AZ returned.
    let p99 = th.freshness.p99_ms_max;
    let recovered = ev
        .faults
        .timeline
        .iter()
        .filter(|s| s.t_ms > end)
        .find(|s| s.load.freshness_now_ms.is_some_and(|f| f <= p99))
        .map(|s| s.t_ms - end);
    let allowed = th.freshness.recovery_secs_max;
    out.push(Check::new(
        format!("freshness ≤ {} ms again after the AZ returned", num(p99)),
        match recovered {
            Some(ms) => format!("after {}", secs(ms)),
            None => "never within the run".into(),
        },
        format!("≤ {} s", num(allowed)),
        recovered.is_some_and(|ms| ms as f64 / 1000.0 <= allowed),
    ));

    // 5. Storage: nothing acked lost, nothing stored twice, nothing stored never sent.
    out.extend(super::t2::storage(ev, th));

    // 6. Rebalanced: the restored worker owns shards again by the end.
    let owns = ev
        .faults
        .timeline
        .last()
        .map(|s| s.leases.values().filter(|l| l.worker == worker).count())
        .unwrap_or(0);
    out.push(Check::new(
        "shards rebalanced onto the restored AZ",
        format!("{worker} owns {owns} shards at the end"),
        "≥ 1".into(),
        owns >= 1,
    ));
    out
}
