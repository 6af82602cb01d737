//! T5: a shard pause on reads long enough for a backlog to build, the worker owning the
//! paused shards killed and restarted during it, so the replay starts from the committed
//! position. First proves the fault took effect (the paused shards' iterator age grew to
//! about the pause; a worker was killed and restarted inside it; the shards were taken
//! over and committed again after the pause), then: zero acked lost, zero delivery
//! duplicates, zero phantoms (the independent audit), and the paused shards' iterator age
//! back under its bound within the allowed time after the pause ends.

use super::checks::{Check, num};
use super::timeline::{first_started, sample_at, samples_between, secs};
use crate::evidence::RunEvidence;
use crate::faults::FaultVerb;
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let f = &th.faults;
    let Some((pause, start, end)) = first_started(ev, FaultVerb::ShardPause) else {
        return vec![Check::missing(
            "shard pause took effect",
            "no shard-pause started on the timeline",
            "a shard-pause on reads".into(),
        )];
    };
    let shards = &pause.shards;
    let age_of = |s: &crate::monitor::Sample| {
        shards
            .iter()
            .filter_map(|id| s.iterator_age_ms.get(id).copied())
            .fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))))
    };
    let mut out = Vec::new();

    // 1. The pause took effect: a backlog built on the paused shards.
    let peak = samples_between(ev, start, end + 2_000)
        .filter_map(age_of)
        .reduce(f64::max);
    let want = ((end - start) as f64 / 1000.0 - f.pause_effect_slack_secs).max(0.0);
    out.push(match peak {
        Some(p) => Check::new(
            "peak iterator age on the paused shards (the backlog built)",
            format!("{} s on {}", num(p / 1000.0), pause.target),
            format!(
                "≥ {} s (the pause minus {} s)",
                num(want),
                num(f.pause_effect_slack_secs)
            ),
            p / 1000.0 >= want,
        )
        .figure(p / 1000.0, None),
        None => Check::missing(
            "peak iterator age on the paused shards (the backlog built)",
            "no worker reported an iterator age for the paused shards",
            format!("≥ {} s", num(want)),
        ),
    });

    // 2. A worker was killed and restarted inside the pause.
    let restart = ev.faults.records.iter().find(|r| {
        r.verb == FaultVerb::WorkerKill
            && r.started_ms.is_some_and(|s| s >= start && s <= end)
            && r.ended_ms.is_some_and(|e| e <= end)
            && r.error.is_none()
    });
    out.push(Check::new(
        "a worker killed and restarted during the pause",
        match restart {
            Some(r) => format!(
                "{} killed at {}, restarted at {}",
                r.target,
                secs(r.started_ms.unwrap_or(0)),
                secs(r.ended_ms.unwrap_or(0))
            ),
            None => "none".into(),
        },
        "one, inside the pause".into(),
        restart.is_some(),
    ));

    // 3. The replay really started from the commit: the shards changed hands (epoch up)
    //    and committed again after the pause.
    let before = sample_at(ev, start);
    let last = ev.faults.timeline.last();
    let at_end = sample_at(ev, end);
    let mut taken = 0;
    let mut commits_after = 0;
    for id in shards {
        let e0 = before.and_then(|s| s.leases.get(id)).map(|l| l.epoch);
        let e1 = at_end.and_then(|s| s.leases.get(id)).map(|l| l.epoch);
        if let (Some(a), Some(b)) = (e0, e1)
            && b > a
        {
            taken += 1;
        }
        let c0 = at_end
            .and_then(|s| s.leases.get(id))
            .map(|l| l.commits)
            .unwrap_or(0);
        let c1 = last
            .and_then(|s| s.leases.get(id))
            .map(|l| l.commits)
            .unwrap_or(0);
        commits_after += c1.saturating_sub(c0);
    }
    out.push(Check::new(
        "paused shards taken over and replayed from their commit",
        format!(
            "{taken} of {} shards changed epoch during the pause; {commits_after} commits after it",
            shards.len()
        ),
        "every paused shard taken over; > 0 commits after the pause".into(),
        !shards.is_empty() && taken == shards.len() && commits_after > 0,
    ));

    // 4. Storage: the independent audit.
    out.extend(super::t2::storage(ev, th));

    // 5. Iterator age back under its bound in time.
    let bound_ms = f.iterator_age_secs_max * 1000.0;
    let recovered = ev
        .faults
        .timeline
        .iter()
        .filter(|s| s.t_ms >= end)
        .find(|s| age_of(s).is_some_and(|a| a < bound_ms))
        .map(|s| s.t_ms - end);
    let allowed = f.iterator_age_recovery_secs_max;
    out.push(match recovered {
        Some(ms) => Check::new(
            format!(
                "iterator age < {} s after the pause ends",
                num(f.iterator_age_secs_max)
            ),
            format!("after {}", secs(ms)),
            format!("≤ {} s", num(allowed)),
            ms as f64 / 1000.0 <= allowed,
        )
        .figure(ms as f64 / 1000.0, None),
        None => Check::new(
            format!(
                "iterator age < {} s after the pause ends",
                num(f.iterator_age_secs_max)
            ),
            format!(
                "not recovered in the {} observed after the pause",
                secs(last.map(|s| s.t_ms.saturating_sub(end)).unwrap_or(0))
            ),
            format!("≤ {} s", num(allowed)),
            false,
        ),
    });
    out
}
