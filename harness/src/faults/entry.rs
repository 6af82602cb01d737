//! A fault as a scenario file writes it (`[[faults]]`) and as the run-time API takes it:
//! one verb of the vocabulary, a target, a start on the load's timeline and a duration,
//! plus the fields only some verbs use. Shapes are checked while parsing (the error names
//! the line); which fields a verb needs is checked by `FaultEntry::check`, before anything
//! boots.

use serde::{Deserialize, Serialize};

/// The fault vocabulary (DESIGN.md "Faults"). Any other verb is refused with this list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FaultVerb {
    /// Kinesis shards stop serving reads, writes or both (`mode`).
    ShardPause,
    /// Each Kinesis call on the stream is throttled with `probability`.
    ShardThrottle,
    /// SIGKILL of a gateway; restarted after `duration_secs` when given.
    GatewayKill,
    /// Starts a killed gateway again (or restarts a running one).
    GatewayRestart,
    /// SIGKILL of a delivery worker; restarted after `duration_secs` when given.
    WorkerKill,
    /// SIGSTOP of a delivery worker, SIGCONT after `duration_secs`: past the lease, it
    /// comes back as a zombie whose writes must be fenced.
    WorkerStall,
    /// Every component of an AZ stalled (SIGSTOP) and its proxy blackholed both ways;
    /// restored (SIGCONT, proxy open) after `duration_secs` or by `az-restore`.
    AzLoss,
    AzRestore,
    /// Added latency on one AWS service (optionally one operation), lognormal with
    /// `p50_ms`/`p99_ms`.
    Latency,
    /// S3 answers errors (`error`: 500, 503, slowdown, conflict) with `probability`.
    S3Errors,
    /// SQS answers errors (`error`: 500, 503) with `probability`.
    SqsErrors,
    /// Traffic between two named components (`target` and `peer`) is blackholed.
    NetworkPartition,
}

impl FaultVerb {
    pub const ALL: [FaultVerb; 12] = [
        FaultVerb::ShardPause,
        FaultVerb::ShardThrottle,
        FaultVerb::GatewayKill,
        FaultVerb::GatewayRestart,
        FaultVerb::WorkerKill,
        FaultVerb::WorkerStall,
        FaultVerb::AzLoss,
        FaultVerb::AzRestore,
        FaultVerb::Latency,
        FaultVerb::S3Errors,
        FaultVerb::SqsErrors,
        FaultVerb::NetworkPartition,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FaultVerb::ShardPause => "shard-pause",
            FaultVerb::ShardThrottle => "shard-throttle",
            FaultVerb::GatewayKill => "gateway-kill",
            FaultVerb::GatewayRestart => "gateway-restart",
            FaultVerb::WorkerKill => "worker-kill",
            FaultVerb::WorkerStall => "worker-stall",
            FaultVerb::AzLoss => "az-loss",
            FaultVerb::AzRestore => "az-restore",
            FaultVerb::Latency => "latency",
            FaultVerb::S3Errors => "s3-errors",
            FaultVerb::SqsErrors => "sqs-errors",
            FaultVerb::NetworkPartition => "network-partition",
        }
    }

    /// A verb that is one action with nothing to undo (a restart).
    pub fn is_instant(self) -> bool {
        matches!(self, FaultVerb::GatewayRestart | FaultVerb::AzRestore)
    }

    /// Verbs that act through the embedded backend's fault hooks (not every backend has
    /// them); process, proxy and AZ verbs work on every backend.
    pub fn needs_backend_hooks(self) -> bool {
        matches!(
            self,
            FaultVerb::ShardPause
                | FaultVerb::ShardThrottle
                | FaultVerb::Latency
                | FaultVerb::S3Errors
                | FaultVerb::SqsErrors
        )
    }
}

impl std::fmt::Display for FaultVerb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FaultVerb {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultVerb::ALL
            .into_iter()
            .find(|v| v.as_str() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown fault verb {s:?}; known verbs: {}",
                    FaultVerb::ALL.map(|v| v.as_str()).join(", ")
                )
            })
    }
}

/// What a paused shard refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PauseMode {
    Reads,
    Writes,
    Both,
}

/// The AWS service a latency fault slows down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AwsService {
    Kinesis,
    S3,
    Sqs,
}

/// The error an `s3-errors`/`sqs-errors` fault answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ErrorKind {
    /// 500 InternalError.
    #[serde(rename = "500")]
    Internal,
    /// 503 ServiceUnavailable.
    #[serde(rename = "503")]
    Unavailable,
    /// 503 SlowDown (S3 only).
    Slowdown,
    /// 409 ConditionalRequestConflict on conditional writes (S3 only).
    Conflict,
}

/// One fault on the timeline. `target` names what it acts on: a component
/// (`gateway-b`, `delivery-a`, `query`), an AZ (`b`), or `owner-of-shard:N` (the delivery
/// worker holding shard N's lease when the fault starts); `random` picks one of the
/// valid targets with the run's seed.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FaultEntry {
    pub verb: FaultVerb,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Seconds after the load starts.
    #[serde(default)]
    pub at_secs: f64,
    /// How long it lasts; unset = until cleared or the load ends.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// shard-pause/shard-throttle: shard indexes in hash-key order (0-based) …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<usize>>,
    /// … or a fraction of the stream's shards, chosen with the seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard_fraction: Option<f64>,
    /// shard-pause: reads (default), writes or both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<PauseMode>,
    /// shard-throttle, s3-errors, sqs-errors: share of calls affected (0..=1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// latency: the service slowed down.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<AwsService>,
    /// latency, s3-errors, sqs-errors: one operation only (e.g. `PutObject`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation: Option<String>,
    /// latency: the distribution's median and 99th percentile (lognormal).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ms: Option<f64>,
    /// s3-errors / sqs-errors: the answer (default 503).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorKind>,
    /// network-partition: the other side (`producers`, `backend`, or a component).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}

/// A problem with one entry: the field and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryError {
    pub field: &'static str,
    pub message: String,
}

fn bad(field: &'static str, message: impl Into<String>) -> EntryError {
    EntryError {
        field,
        message: message.into(),
    }
}

impl FaultEntry {
    /// An entry with only its verb set, starting at once and open-ended.
    pub fn new(verb: FaultVerb) -> FaultEntry {
        FaultEntry {
            verb,
            target: None,
            at_secs: 0.0,
            duration_secs: None,
            shards: None,
            shard_fraction: None,
            mode: None,
            probability: None,
            service: None,
            operation: None,
            p50_ms: None,
            p99_ms: None,
            error: None,
            peer: None,
        }
    }

    /// The fields this entry's verb needs are there and in range, and no field another
    /// verb uses is set (a typo'd verb must not silently ignore what the user wrote).
    /// `azs` are the scenario's AZs (component and AZ targets are checked against them).
    pub fn check(&self, azs: &[String]) -> Result<(), EntryError> {
        use FaultVerb as V;
        let verb = self.verb;
        if !self.at_secs.is_finite() || self.at_secs < 0.0 {
            return Err(bad("at_secs", "must be a number ≥ 0"));
        }
        if let Some(d) = self.duration_secs
            && (!d.is_finite() || d <= 0.0)
        {
            return Err(bad("duration_secs", "must be a number > 0"));
        }
        if verb.is_instant() && self.duration_secs.is_some() {
            return Err(bad(
                "duration_secs",
                format!("{verb} is one action; it takes no duration"),
            ));
        }
        let allowed: &[&str] = match verb {
            V::ShardPause => &["shards", "shard_fraction", "mode"],
            V::ShardThrottle => &["shards", "shard_fraction", "probability"],
            V::GatewayKill | V::GatewayRestart | V::WorkerKill | V::WorkerStall => &["target"],
            V::AzLoss | V::AzRestore => &["target"],
            V::Latency => &["service", "operation", "p50_ms", "p99_ms"],
            V::S3Errors | V::SqsErrors => &["operation", "probability", "error"],
            V::NetworkPartition => &["target", "peer"],
        };
        for (name, _) in self.set_fields() {
            if !allowed.contains(&name) {
                return Err(bad(
                    name,
                    format!(
                        "{verb} does not take `{name}` (it takes: {})",
                        allowed.join(", ")
                    ),
                ));
            }
        }
        let probability = |required: bool| match self.probability {
            Some(p) if (0.0..=1.0).contains(&p) && p > 0.0 => Ok(()),
            Some(p) => Err(bad(
                "probability",
                format!("must be within (0, 1], got {p}"),
            )),
            None if required => Err(bad("probability", format!("{verb} needs a probability"))),
            None => Ok(()),
        };
        match verb {
            V::ShardPause | V::ShardThrottle => {
                if let Some(f) = self.shard_fraction
                    && !(f > 0.0 && f <= 1.0)
                {
                    return Err(bad(
                        "shard_fraction",
                        format!("must be within (0, 1], got {f}"),
                    ));
                }
                if self.shards.is_some() && self.shard_fraction.is_some() {
                    return Err(bad("shards", "give shards or shard_fraction, not both"));
                }
                if self.shards.as_ref().is_some_and(|s| s.is_empty()) {
                    return Err(bad("shards", "at least one shard index"));
                }
                if verb == V::ShardThrottle {
                    probability(true)?;
                }
            }
            V::GatewayKill | V::GatewayRestart => check_component(self, "gateway", azs)?,
            V::WorkerKill | V::WorkerStall => {
                let t = self.target.as_deref().unwrap_or("");
                if !t.starts_with("owner-of-shard:") {
                    check_component(self, "delivery", azs)?;
                }
            }
            V::AzLoss | V::AzRestore => {
                let t = self
                    .target
                    .as_deref()
                    .ok_or_else(|| bad("target", format!("{verb} needs the AZ to act on")))?;
                if t != "random" && !azs.iter().any(|a| a == t) {
                    return Err(bad(
                        "target",
                        format!("no AZ {t:?}; the scenario's AZs are {}", azs.join(", ")),
                    ));
                }
            }
            V::Latency => {
                if self.service.is_none() {
                    return Err(bad(
                        "service",
                        "latency needs a service: kinesis, s3 or sqs",
                    ));
                }
                let (p50, p99) = match (self.p50_ms, self.p99_ms) {
                    (Some(a), Some(b)) => (a, b),
                    _ => return Err(bad("p50_ms", "latency needs p50_ms and p99_ms")),
                };
                if !(p50 > 0.0 && p99 >= p50 && p99.is_finite()) {
                    return Err(bad(
                        "p99_ms",
                        format!("need 0 < p50_ms ≤ p99_ms, got {p50} and {p99}"),
                    ));
                }
            }
            V::S3Errors => probability(true)?,
            V::SqsErrors => {
                probability(true)?;
                if matches!(self.error, Some(ErrorKind::Slowdown | ErrorKind::Conflict)) {
                    return Err(bad("error", "SQS answers 500 or 503"));
                }
            }
            V::NetworkPartition => {
                let t = self.target.as_deref().unwrap_or("");
                let p = self.peer.as_deref().unwrap_or("");
                if t.is_empty() || p.is_empty() {
                    return Err(bad("peer", "network-partition needs a target and a peer"));
                }
                let side = |s: &str| s == "producers" || s == "backend" || component_exists(s, azs);
                if !side(t) {
                    return Err(bad("target", format!("no component {t:?}")));
                }
                if !side(p) {
                    return Err(bad("peer", format!("no component {p:?}")));
                }
                let pair_ok = match (t, p) {
                    ("producers", x) | (x, "producers") => {
                        x.starts_with("gateway-") || x == "query"
                    }
                    ("backend", x) | (x, "backend") => x != "backend",
                    _ => false,
                };
                if !pair_ok {
                    return Err(bad(
                        "peer",
                        format!(
                            "no traffic flows between {t} and {p}: partition producers from a \
                             gateway or the query service, or a component from the backend"
                        ),
                    ));
                }
            }
        }
        Ok(())
    }

    fn set_fields(&self) -> Vec<(&'static str, bool)> {
        [
            ("target", self.target.is_some()),
            ("shards", self.shards.is_some()),
            ("shard_fraction", self.shard_fraction.is_some()),
            ("mode", self.mode.is_some()),
            ("probability", self.probability.is_some()),
            ("service", self.service.is_some()),
            ("operation", self.operation.is_some()),
            ("p50_ms", self.p50_ms.is_some()),
            ("p99_ms", self.p99_ms.is_some()),
            ("error", self.error.is_some()),
            ("peer", self.peer.is_some()),
        ]
        .into_iter()
        .filter(|(_, set)| *set)
        .collect()
    }

    /// Seconds after the load start at which the fault ends, if it has a duration.
    pub fn end_secs(&self) -> Option<f64> {
        self.duration_secs.map(|d| self.at_secs + d)
    }
}

fn component_exists(name: &str, azs: &[String]) -> bool {
    name == "query"
        || ["gateway-", "delivery-"].iter().any(|p| {
            name.strip_prefix(p)
                .is_some_and(|az| azs.iter().any(|a| a == az))
        })
}

fn check_component(e: &FaultEntry, kind: &str, azs: &[String]) -> Result<(), EntryError> {
    let verb = e.verb.as_str();
    let t = e.target.as_deref().ok_or_else(|| {
        bad(
            "target",
            format!("{verb} needs a target: {kind}-<az> or random"),
        )
    })?;
    if t == "random" {
        return Ok(());
    }
    match t.strip_prefix(&format!("{kind}-")) {
        Some(az) if azs.iter().any(|a| a == az) => Ok(()),
        _ => Err(bad(
            "target",
            format!(
                "{verb} acts on a {kind}: one of {} or random, not {t:?}",
                azs.iter()
                    .map(|a| format!("{kind}-{a}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}
