//! The run's SLI timeline: once a second while the load runs, what a GameDay watches —
//! the load's live figures (rates, 429s, 5xx, TTFB p99, freshness p99), each shard's
//! iterator age (delivery's `MillisBehindLatest`), each shard's lease as storage holds it
//! (owner, epoch, commits — read from S3 by the harness, not reported by the workers),
//! each worker's fenced writes and each component's reachability. The fault gates judge
//! their windows from it; the console streams it.

use crate::load::Progress;
use crate::stack::Stack;
use ingest::table::Lease;
use ingest::table::layout::lease_key;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// One shard's lease as read from storage.
#[derive(Clone, Debug, Default, Serialize, PartialEq, serde::Deserialize)]
pub struct LeaseView {
    /// The owning component (`delivery-b`), empty when free or expired.
    pub worker: String,
    pub epoch: u64,
    pub commits: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Sample {
    /// Milliseconds since the load started.
    pub t_ms: u64,
    /// The load's live figures at this second (rates, 429s/5xx so far, TTFB, freshness,
    /// probe query latency).
    #[serde(flatten)]
    pub load: Progress,
    /// Per shard: the largest `MillisBehindLatest` any reachable worker reports for it.
    pub iterator_age_ms: BTreeMap<String, f64>,
    pub leases: BTreeMap<String, LeaseView>,
    /// Per worker (component name): fenced writes since it started.
    pub fenced_writes: BTreeMap<String, f64>,
    /// Per component: `up` (answered /metrics), `unreachable`, or `down` (not running).
    pub components: BTreeMap<String, String>,
}

impl Sample {
    /// The growth of a cumulative load counter (429s, 5xx) per second since `prev`, over
    /// the load's own clock: the counters move when the load publishes its progress, not
    /// when the timeline samples, so a sample that repeats the previous progress and the
    /// next that carries two seconds of it would otherwise read as 0 and then twice the
    /// rate. `None` when no new progress came in between.
    pub fn rate_since(&self, prev: &Sample, f: fn(&Sample) -> u64) -> Option<f64> {
        let dt = self.load.elapsed_secs - prev.load.elapsed_secs;
        (dt > 0.0).then(|| f(self).saturating_sub(f(prev)) as f64 / dt)
    }
}

/// The timeline, shared while it is being sampled.
#[derive(Default)]
pub struct Timeline {
    samples: parking_lot::Mutex<Vec<Sample>>,
}

impl Timeline {
    pub fn snapshot(&self) -> Vec<Sample> {
        self.samples.lock().clone()
    }

    /// `f` over the samples so far, without copying them (the lock is held meanwhile).
    pub fn with<R>(&self, f: impl FnOnce(&[Sample]) -> R) -> R {
        f(&self.samples.lock())
    }

    pub fn push(&self, s: Sample) {
        self.samples.lock().push(s);
    }

    /// The two newest samples, older first (the console's status rates need two).
    pub fn last_two(&self) -> (Option<Sample>, Option<Sample>) {
        let s = self.samples.lock();
        match s.as_slice() {
            [.., a, b] => (Some(a.clone()), Some(b.clone())),
            [b] => (None, Some(b.clone())),
            [] => (None, None),
        }
    }
}

/// Samples every `every` until `stop` turns true; `t0` is the load's start.
pub async fn sample(
    stack: Arc<Stack>,
    progress: watch::Receiver<Progress>,
    t0: Instant,
    every: Duration,
    timeline: Arc<Timeline>,
    mut stop: watch::Receiver<bool>,
) {
    let s3 = stack.aws.s3().await;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let p = progress.borrow().clone();
        let mut s = Sample {
            t_ms: t0.elapsed().as_millis() as u64,
            load: p,
            ..Sample::default()
        };
        let (scrapes, leases) = tokio::join!(
            stack.scrape_each(Duration::from_millis(800)),
            read_leases(&stack, &s3)
        );
        for (name, r) in scrapes {
            let state = match r {
                Ok(m) => {
                    if name.starts_with("delivery-") {
                        absorb_delivery(&name, &m, &mut s);
                    }
                    "up"
                }
                Err(_) if !stack.is_running(&name) => "down",
                Err(_) => "unreachable",
            };
            s.components.insert(name, state.to_string());
        }
        s.leases = leases;
        timeline.push(s);
    }
}

/// Iterator age per shard and fenced writes from one worker's `/metrics`.
fn absorb_delivery(worker: &str, m: &BTreeMap<String, f64>, s: &mut Sample) {
    let mut fenced = 0.0;
    for (series, v) in m {
        if let Some(shard) = label_of(series, "delivery_millis_behind_latest{", "shard") {
            let e = s.iterator_age_ms.entry(shard).or_insert(0.0);
            *e = e.max(*v);
        } else if series.starts_with("delivery_fenced_writes") {
            fenced += v;
        }
    }
    s.fenced_writes.insert(worker.to_string(), fenced);
}

/// The value of label `label` in `series` when the series starts with `prefix`.
pub fn label_of(series: &str, prefix: &str, label: &str) -> Option<String> {
    let rest = series.strip_prefix(prefix)?;
    let key = format!("{label}=\"");
    let start = rest.find(&key)? + key.len();
    let end = rest[start..].find('"')? + start;
    Some(rest[start..end].to_string())
}

async fn read_leases(stack: &Stack, s3: &aws_sdk_s3::Client) -> BTreeMap<String, LeaseView> {
    let reads = stack.shards.iter().map(|(shard, _, _)| async move {
        let lease = read_lease(s3, &stack.bucket, shard, Duration::from_millis(800)).await;
        let view = lease.map(|l| LeaseView {
            worker: live_worker(&l, &stack.spec.azs).unwrap_or_default(),
            epoch: l.epoch,
            commits: l.commits,
        });
        (shard.clone(), view)
    });
    futures::future::join_all(reads)
        .await
        .into_iter()
        .filter_map(|(s, v)| v.map(|v| (s, v)))
        .collect()
}

/// One shard's lease as storage holds it; `None` when absent, unreadable or not read
/// within `timeout`.
pub async fn read_lease(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    shard: &str,
    timeout: Duration,
) -> Option<Lease> {
    let read = async {
        let o = s3
            .get_object()
            .bucket(bucket)
            .key(lease_key(shard))
            .send()
            .await
            .ok()?;
        Lease::from_json(&o.body.collect().await.ok()?.into_bytes()).ok()
    };
    tokio::time::timeout(timeout, read).await.ok().flatten()
}

/// The stack's worker holding `lease` now (`delivery-<az>`), or its raw owner when that is
/// not one of the stack's; `None` when released or expired.
pub fn live_worker(lease: &Lease, azs: &[String]) -> Option<String> {
    let now = ingest::gateway::pipeline::now_ms();
    if lease.owner.is_empty() || lease.is_expired(now) {
        return None;
    }
    Some(crate::faults::worker_of_owner(&lease.owner, azs).unwrap_or_else(|| lease.owner.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_ms: u64, elapsed_secs: f64, server_5xx: u64) -> Sample {
        Sample {
            t_ms,
            load: Progress {
                elapsed_secs,
                server_5xx,
                ..Progress::default()
            },
            ..Sample::default()
        }
    }

    /// Review of issue 19: rates were taken over the timeline's clock, so a sample that
    /// repeated the load's last progress read 0 and the next one twice the rate.
    #[test]
    fn rates_follow_the_loads_clock_not_the_samplers() {
        let a = sample(1_000, 1.0, 10);
        let repeated = sample(2_000, 1.0, 10);
        let caught_up = sample(3_000, 3.0, 30);
        assert_eq!(repeated.rate_since(&a, |s| s.load.server_5xx), None);
        assert_eq!(
            caught_up.rate_since(&repeated, |s| s.load.server_5xx),
            Some(10.0)
        );
    }

    #[test]
    fn labels_are_read_from_series_names() {
        let s = "delivery_millis_behind_latest{shard=\"shardId-000000000003\"}";
        assert_eq!(
            label_of(s, "delivery_millis_behind_latest{", "shard").as_deref(),
            Some("shardId-000000000003")
        );
        assert_eq!(label_of(s, "delivery_iterator_age_ms{", "shard"), None);
        let mut sample = Sample::default();
        let m: BTreeMap<String, f64> = [
            (s.to_string(), 4200.0),
            (
                "delivery_fenced_writes_total{shard=\"x\",reason=\"commit\"}".to_string(),
                2.0,
            ),
            (
                "delivery_fenced_writes_total{shard=\"y\",reason=\"lease\"}".to_string(),
                1.0,
            ),
        ]
        .into_iter()
        .collect();
        absorb_delivery("delivery-b", &m, &mut sample);
        assert_eq!(sample.iterator_age_ms["shardId-000000000003"], 4200.0);
        assert_eq!(sample.fenced_writes["delivery-b"], 3.0);
    }
}
