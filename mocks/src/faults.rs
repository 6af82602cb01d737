//! Fault hooks on the running emulator: the small vocabulary the harness's fault verbs
//! are made of. A fault targets a service (and optionally one operation, or one shard)
//! and is active until cleared. Every time a fault changes an answer it is counted
//! under `fault.<kind>.<service>`; random choices come from one seeded generator.

use crate::counters::Counters;
use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng, rngs::SmallRng};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Service {
    Kinesis,
    S3,
    Sqs,
}

impl Service {
    pub fn as_str(self) -> &'static str {
        match self {
            Service::Kinesis => "kinesis",
            Service::S3 => "s3",
            Service::Sqs => "sqs",
        }
    }
}

/// What a paused shard refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseMode {
    /// GetRecords returns no records (MillisBehindLatest keeps growing); writes go on.
    Reads,
    /// Writes fail with ProvisionedThroughputExceededException; reads go on.
    Writes,
    Both,
}

impl PauseMode {
    pub fn blocks_reads(self) -> bool {
        matches!(self, PauseMode::Reads | PauseMode::Both)
    }
    pub fn blocks_writes(self) -> bool {
        matches!(self, PauseMode::Writes | PauseMode::Both)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Fault {
    /// One Kinesis shard stops serving reads, writes or both.
    ShardPause {
        stream: String,
        shard_id: String,
        mode: PauseMode,
    },
    /// Each matching request (Kinesis: each record of a PutRecords) is throttled with
    /// this probability: Kinesis ProvisionedThroughputExceeded, S3 SlowDown, SQS
    /// ThrottlingException.
    Throttle {
        service: Service,
        operation: Option<String>,
        probability: f64,
    },
    /// Matching requests are answered this much later.
    Latency {
        service: Service,
        operation: Option<String>,
        delay_ms: u64,
    },
    /// Matching requests fail with 500 or 503 with this probability.
    Fail {
        service: Service,
        operation: Option<String>,
        status: u16,
        probability: f64,
    },
    /// Matching requests are read and never answered.
    Blackhole {
        service: Service,
        operation: Option<String>,
    },
}

impl Fault {
    fn kind(&self) -> &'static str {
        match self {
            Fault::ShardPause { .. } => "shard_pause",
            Fault::Throttle { .. } => "throttle",
            Fault::Latency { .. } => "latency",
            Fault::Fail { .. } => "fail",
            Fault::Blackhole { .. } => "blackhole",
        }
    }

    /// The service and operation a request-level fault applies to.
    fn request_target(&self) -> Option<(Service, Option<&str>)> {
        match self {
            Fault::ShardPause { .. } => None,
            Fault::Throttle {
                service, operation, ..
            }
            | Fault::Latency {
                service, operation, ..
            }
            | Fault::Fail {
                service, operation, ..
            }
            | Fault::Blackhole { service, operation } => Some((*service, operation.as_deref())),
        }
    }

    fn validate(&self) -> Result<(), FaultError> {
        let probability = match self {
            Fault::Throttle { probability, .. } | Fault::Fail { probability, .. } => *probability,
            _ => 1.0,
        };
        if !(0.0..=1.0).contains(&probability) {
            return Err(FaultError::Probability(probability));
        }
        if let Fault::Fail { status, .. } = self
            && *status != 500
            && *status != 503
        {
            return Err(FaultError::Status(*status));
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("probability must be within 0..=1, got {0}")]
    Probability(f64),
    #[error("a failing service answers 500 or 503, not {0}")]
    Status(u16),
}

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
    Fail(u16),
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

    /// The request-level decision for one request: latency to add and whether to fail,
    /// throttle (services other than Kinesis) or blackhole it.
    pub fn before_request(&self, service: Service, operation: &str) -> RequestAction {
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
                    let d = Duration::from_millis(*delay_ms);
                    action.delay = Some(action.delay.map_or(d, |x| x.max(d)));
                }
                Fault::Blackhole { .. } => action.outcome = Outcome::Blackhole,
                Fault::Fail {
                    status,
                    probability,
                    ..
                } if action.outcome == Outcome::Proceed && self.roll(*probability) => {
                    action.outcome = Outcome::Fail(*status);
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
            Outcome::Fail(_) => self.counters.incr(&format!("fault.fail.{svc}")),
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
            probability: 1.0,
        })
        .unwrap();
        assert_eq!(
            f.before_request(Service::S3, "PutObject").outcome,
            Outcome::Fail(503)
        );
        assert_eq!(
            f.before_request(Service::S3, "GetObject").outcome,
            Outcome::Proceed
        );
        assert_eq!(
            f.before_request(Service::Sqs, "PutObject").outcome,
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
}
