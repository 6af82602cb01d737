//! Fault hooks on the running emulator: the active faults and the per-request decisions
//! made from them. A fault targets a service (and optionally one operation, or one shard)
//! and is active until cleared. Every time a fault changes an answer it is counted
//! under `fault.<kind>.<service>` (failures also under `fault.fail.<service>.<Code>`);
//! random choices (probabilities, latency draws) come from one seeded generator.

mod delay;
mod model;

pub use delay::{Delay, DelayError, MAX_DELAY_MS};
pub use model::{CONDITIONAL_WRITES, FailCode, Fault, FaultError, PauseMode, Service};

use crate::counters::Counters;
use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FaultId(pub u64);

/// What the request dispatcher must do before (or instead of) serving a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RequestAction {
    pub delay: Option<Duration>,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Outcome {
    #[default]
    Proceed,
    Fail(FailCode),
    Throttle,
    Blackhole,
}

#[derive(Debug)]
pub struct Faults {
    active: RwLock<Vec<(FaultId, Fault)>>,
    /// Number of active faults: the hot path reads only this when nothing is injected.
    count: AtomicUsize,
    next_id: AtomicU64,
    rng: Mutex<SmallRng>,
    counters: Arc<Counters>,
}

impl Faults {
    pub fn new(seed: u64, counters: Arc<Counters>) -> Self {
        Self {
            active: RwLock::new(Vec::new()),
            count: AtomicUsize::new(0),
            next_id: AtomicU64::new(1),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            counters,
        }
    }

    pub fn inject(&self, fault: Fault) -> Result<FaultId, FaultError> {
        fault.validate()?;
        let id = FaultId(self.next_id.fetch_add(1, Ordering::Relaxed));
        tracing::info!(?id, ?fault, "fault injected");
        self.counters
            .incr(&format!("fault.injected.{}", fault.kind()));
        let mut active = self.active.write();
        active.push((id, fault));
        self.count.store(active.len(), Ordering::Release);
        Ok(id)
    }

    /// Removes one fault; false if it was not active.
    pub fn clear(&self, id: FaultId) -> bool {
        let mut active = self.active.write();
        let before = active.len();
        active.retain(|(i, _)| *i != id);
        self.count.store(active.len(), Ordering::Release);
        let removed = active.len() != before;
        if removed {
            tracing::info!(?id, "fault cleared");
        }
        removed
    }

    pub fn clear_all(&self) {
        let mut active = self.active.write();
        active.clear();
        self.count.store(0, Ordering::Release);
    }

    pub fn list(&self) -> Vec<(FaultId, Fault)> {
        self.active.read().clone()
    }

    fn is_empty(&self) -> bool {
        self.count.load(Ordering::Acquire) == 0
    }

    fn roll(&self, probability: f64) -> bool {
        probability >= 1.0 || (probability > 0.0 && self.rng.lock().random_bool(probability))
    }

    /// The pause on one shard, if any (both modes combine).
    pub fn shard_pause(&self, stream: &str, shard_id: &str) -> Option<PauseMode> {
        if self.is_empty() {
            return None;
        }
        let (mut reads, mut writes) = (false, false);
        for (_, f) in self.active.read().iter() {
            if let Fault::ShardPause {
                stream: s,
                shard_id: sh,
                mode,
            } = f
                && s == stream
                && sh == shard_id
            {
                reads |= mode.blocks_reads();
                writes |= mode.blocks_writes();
            }
        }
        match (reads, writes) {
            (true, true) => Some(PauseMode::Both),
            (true, false) => Some(PauseMode::Reads),
            (false, true) => Some(PauseMode::Writes),
            (false, false) => None,
        }
    }

    /// Counts a request or record that a shard pause refused or emptied.
    pub fn count_pause_hit(&self, service: Service, n: u64) {
        self.counters
            .add(&format!("fault.shard_pause.{}", service.as_str()), n);
    }

    /// One throttle decision for a record or call inside a service (Kinesis uses it per
    /// record of a PutRecords). Counted when it throttles.
    pub fn roll_throttle(&self, service: Service, operation: &str) -> bool {
        if self.is_empty() {
            return false;
        }
        let p = self
            .active
            .read()
            .iter()
            .filter_map(|(_, f)| match f {
                Fault::Throttle { probability, .. } if matches_target(f, service, operation) => {
                    Some(*probability)
                }
                _ => None,
            })
            .fold(0.0_f64, f64::max);
        let hit = self.roll(p);
        if hit {
            self.counters
                .incr(&format!("fault.throttle.{}", service.as_str()));
        }
        hit
    }

    /// The request-level decision for one request: latency to add (the longest draw of
    /// the matching latency faults) and whether to fail, throttle (services other than
    /// Kinesis) or blackhole it. `conditional_write` says the request is an S3 write
    /// carrying `If-None-Match`/`If-Match`: only those can meet a 409
    /// ConditionalRequestConflict.
    pub fn before_request(
        &self,
        service: Service,
        operation: &str,
        conditional_write: bool,
    ) -> RequestAction {
        let mut action = RequestAction::default();
        if self.is_empty() {
            return action;
        }
        let active = self.active.read().clone();
        for (_, f) in &active {
            if !matches_target(f, service, operation) {
                continue;
            }
            match f {
                Fault::Latency { delay_ms, .. } => {
                    let d = delay_ms.sample(&mut *self.rng.lock());
                    action.delay = Some(action.delay.map_or(d, |x| x.max(d)));
                }
                Fault::Blackhole { .. } => action.outcome = Outcome::Blackhole,
                Fault::Fail { probability, .. } if action.outcome == Outcome::Proceed => {
                    let Some(code) = f.fail_code() else { continue };
                    let applies = conditional_write || code != FailCode::ConditionalRequestConflict;
                    if applies && self.roll(*probability) {
                        action.outcome = Outcome::Fail(code);
                    }
                }
                Fault::Throttle { probability, .. }
                    if service != Service::Kinesis
                        && action.outcome == Outcome::Proceed
                        && self.roll(*probability) =>
                {
                    action.outcome = Outcome::Throttle;
                }
                _ => {}
            }
        }
        let svc = service.as_str();
        if action.delay.is_some() {
            self.counters.incr(&format!("fault.latency.{svc}"));
        }
        match action.outcome {
            Outcome::Proceed => {}
            Outcome::Fail(code) => {
                self.counters.incr(&format!("fault.fail.{svc}"));
                self.counters
                    .incr(&format!("fault.fail.{svc}.{}", code.as_str()));
            }
            Outcome::Throttle => self.counters.incr(&format!("fault.throttle.{svc}")),
            Outcome::Blackhole => self.counters.incr(&format!("fault.blackhole.{svc}")),
        }
        action
    }
}

fn matches_target(f: &Fault, service: Service, operation: &str) -> bool {
    match f.request_target() {
        Some((s, op)) => s == service && op.is_none_or(|o| o == operation),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn faults() -> Faults {
        Faults::new(7, Arc::new(Counters::default()))
    }

    #[test]
    fn pause_modes_combine_and_clear() {
        let f = faults();
        assert_eq!(f.shard_pause("s", "shardId-000000000000"), None);
        let a = f
            .inject(Fault::ShardPause {
                stream: "s".into(),
                shard_id: "shardId-000000000000".into(),
                mode: PauseMode::Reads,
            })
            .unwrap();
        f.inject(Fault::ShardPause {
            stream: "s".into(),
            shard_id: "shardId-000000000000".into(),
            mode: PauseMode::Writes,
        })
        .unwrap();
        assert_eq!(
            f.shard_pause("s", "shardId-000000000000"),
            Some(PauseMode::Both)
        );
        assert_eq!(f.shard_pause("s", "shardId-000000000001"), None);
        assert!(f.clear(a));
        assert!(!f.clear(a));
        assert_eq!(
            f.shard_pause("s", "shardId-000000000000"),
            Some(PauseMode::Writes)
        );
    }

    #[test]
    fn operation_filter_and_probability_bounds() {
        let f = faults();
        assert_eq!(
            f.inject(Fault::Fail {
                service: Service::S3,
                operation: None,
                status: 502,
                code: None,
                probability: 1.0
            }),
            Err(FaultError::Status(502))
        );
        assert!(matches!(
            f.inject(Fault::Throttle {
                service: Service::Sqs,
                operation: None,
                probability: 1.5
            }),
            Err(FaultError::Probability(_))
        ));
        f.inject(Fault::Fail {
            service: Service::S3,
            operation: Some("PutObject".into()),
            status: 503,
            code: None,
            probability: 1.0,
        })
        .unwrap();
        assert_eq!(
            f.before_request(Service::S3, "PutObject", false).outcome,
            Outcome::Fail(FailCode::ServiceUnavailable)
        );
        assert_eq!(
            f.before_request(Service::S3, "GetObject", false).outcome,
            Outcome::Proceed
        );
        assert_eq!(
            f.before_request(Service::Sqs, "PutObject", false).outcome,
            Outcome::Proceed
        );
    }

    #[test]
    fn seeded_throttle_is_repeatable() {
        let run = || {
            let f = faults();
            f.inject(Fault::Throttle {
                service: Service::Kinesis,
                operation: Some("PutRecords".into()),
                probability: 0.5,
            })
            .unwrap();
            (0..64)
                .map(|_| f.roll_throttle(Service::Kinesis, "PutRecords"))
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.iter().any(|x| *x) && a.iter().any(|x| !*x));
    }

    #[test]
    fn conflict_hits_only_conditional_writes_and_is_counted_by_code() {
        let counters = Arc::new(Counters::default());
        let f = Faults::new(7, counters.clone());
        f.inject(Fault::Fail {
            service: Service::S3,
            operation: None,
            status: 409,
            code: Some(FailCode::ConditionalRequestConflict),
            probability: 1.0,
        })
        .unwrap();
        assert_eq!(
            f.before_request(Service::S3, "PutObject", false).outcome,
            Outcome::Proceed,
            "an unconditional write never meets a conditional conflict"
        );
        assert_eq!(
            f.before_request(Service::S3, "PutObject", true).outcome,
            Outcome::Fail(FailCode::ConditionalRequestConflict)
        );
        assert_eq!(counters.get("fault.fail.s3"), 1);
        assert_eq!(counters.get("fault.fail.s3.ConditionalRequestConflict"), 1);
    }

    #[test]
    fn latency_draws_come_from_the_seeded_generator() {
        let run = || {
            let f = faults();
            f.inject(Fault::Latency {
                service: Service::S3,
                operation: None,
                delay_ms: Delay::Uniform {
                    min_ms: 10,
                    max_ms: 1000,
                },
            })
            .unwrap();
            (0..32)
                .map(|_| f.before_request(Service::S3, "GetObject", false).delay)
                .collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run(), "same seed, same delays");
        let ms: Vec<u128> = a.iter().flatten().map(Duration::as_millis).collect();
        assert_eq!(ms.len(), 32);
        assert!(ms.iter().all(|m| (10..=1000).contains(m)), "{ms:?}");
        assert!(
            ms.iter().any(|m| *m != ms[0]),
            "a distribution, not a constant"
        );
    }
}
