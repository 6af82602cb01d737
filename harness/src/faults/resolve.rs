//! From a fault entry to what the engine does: the concrete target (a `random` target or
//! a shard fraction drawn with the run's seed, `owner-of-shard:N` read from the lease
//! when the fault starts) and the actions that start it and undo it.

use super::entry::{AwsService, ErrorKind, FaultEntry, FaultVerb, PauseMode};
use super::target::{Action, FaultTarget, Signal, Topology};
use crate::stack::Link;
use rand::Rng;
use rand::rngs::SmallRng;
use rand::seq::{IndexedRandom, SliceRandom};

/// A fault made concrete.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    /// What it acts on, for people: `gateway-b`, `shards 0,3 (reads)`, `s3 PutObject`.
    pub target: String,
    /// The shard ids a shard fault acts on (empty for other verbs).
    pub shards: Vec<String>,
    pub start: Vec<Action>,
    /// Undo, in order (emulator hooks are cleared by id besides these).
    pub end: Vec<Action>,
}

pub async fn resolve(
    e: &FaultEntry,
    topo: &Topology,
    rng: &mut SmallRng,
    owners: &dyn FaultTarget,
) -> Result<Resolved, String> {
    use FaultVerb as V;
    if e.verb.needs_backend_hooks() && !topo.backend_hooks {
        return Err(format!(
            "{} is not supported by this backend (it needs the embedded backend's fault hooks)",
            e.verb
        ));
    }
    let pick = |rng: &mut SmallRng, from: &[String]| -> Result<String, String> {
        from.choose(rng)
            .cloned()
            .ok_or_else(|| format!("{}: nothing to act on", e.verb))
    };
    let component = |rng: &mut SmallRng, from: &[String]| -> Result<String, String> {
        match e.target.as_deref() {
            Some("random") | None => pick(rng, from),
            Some(t) if from.iter().any(|c| c == t) => Ok(t.to_string()),
            Some(t) => Err(format!(
                "{}: no component {t:?} (known: {})",
                e.verb,
                from.join(", ")
            )),
        }
    };
    Ok(match e.verb {
        V::ShardPause | V::ShardThrottle => {
            let shards = pick_shards(e, topo, rng)?;
            let label: Vec<String> = shards.iter().map(|(i, _)| i.to_string()).collect();
            if e.verb == V::ShardPause {
                let mode = e.mode.unwrap_or(PauseMode::Reads);
                let m = match mode {
                    PauseMode::Reads => mocks::PauseMode::Reads,
                    PauseMode::Writes => mocks::PauseMode::Writes,
                    PauseMode::Both => mocks::PauseMode::Both,
                };
                Resolved {
                    shards: shards.iter().map(|(_, id)| id.clone()).collect(),
                    target: format!("shards {} ({mode:?})", label.join(",")).to_lowercase(),
                    start: shards
                        .iter()
                        .map(|(_, id)| Action::Emulator {
                            fault: mocks::Fault::ShardPause {
                                stream: topo.stream.clone(),
                                shard_id: id.clone(),
                                mode: m,
                            },
                        })
                        .collect(),
                    end: vec![],
                }
            } else {
                // The backend throttles per call, not per shard: the whole stream's
                // Kinesis calls are throttled with the probability.
                let p = e.probability.unwrap_or(0.0);
                Resolved {
                    shards: vec![],
                    target: format!("kinesis (p = {p})"),
                    start: vec![Action::Emulator {
                        fault: mocks::Fault::Throttle {
                            service: mocks::Service::Kinesis,
                            operation: None,
                            probability: p,
                        },
                    }],
                    end: vec![],
                }
            }
        }
        V::GatewayKill | V::WorkerKill => {
            let from = if e.verb == V::GatewayKill {
                &topo.gateways
            } else {
                &topo.workers
            };
            let c = match e.target.as_deref() {
                Some(t) if t.starts_with("owner-of-shard:") => owner_of(t, topo, owners).await?,
                _ => component(rng, from)?,
            };
            let end = if e.duration_secs.is_some() {
                vec![Action::Restart {
                    component: c.clone(),
                }]
            } else {
                vec![]
            };
            Resolved {
                shards: vec![],
                target: c.clone(),
                start: vec![Action::Signal {
                    component: c,
                    signal: Signal::Kill,
                }],
                end,
            }
        }
        V::GatewayRestart => {
            let c = component(rng, &topo.gateways)?;
            Resolved {
                shards: vec![],
                target: c.clone(),
                start: vec![Action::Restart { component: c }],
                end: vec![],
            }
        }
        V::WorkerStall => {
            let c = match e.target.as_deref() {
                Some(t) if t.starts_with("owner-of-shard:") => owner_of(t, topo, owners).await?,
                _ => component(rng, &topo.workers)?,
            };
            Resolved {
                shards: vec![],
                target: c.clone(),
                start: vec![Action::Signal {
                    component: c.clone(),
                    signal: Signal::Stop,
                }],
                end: vec![Action::Signal {
                    component: c,
                    signal: Signal::Cont,
                }],
            }
        }
        V::AzLoss | V::AzRestore => {
            let az = match e.target.as_deref() {
                Some("random") | None => pick(rng, &topo.azs)?,
                Some(t) => t.to_string(),
            };
            let members = topo.components_in(&az);
            let stop = |signal| {
                members.iter().map(move |c| Action::Signal {
                    component: c.clone(),
                    signal,
                })
            };
            // Lost: blackholed both ways first (nothing more leaves the AZ), then every
            // process frozen. Restored: the network first, then the processes, so a zombie
            // worker wakes up to a reachable backend and its stale writes are refused there
            // (fenced) rather than lost to a dead connection.
            let lose: Vec<Action> = std::iter::once(Action::Az {
                az: az.clone(),
                link: Link::Blackhole,
            })
            .chain(stop(Signal::Stop))
            .collect();
            let restore: Vec<Action> = std::iter::once(Action::Az {
                az: az.clone(),
                link: Link::Open,
            })
            .chain(stop(Signal::Cont))
            .collect();
            if e.verb == V::AzLoss {
                Resolved {
                    shards: vec![],
                    target: format!("az {az}"),
                    start: lose,
                    end: restore,
                }
            } else {
                Resolved {
                    shards: vec![],
                    target: format!("az {az}"),
                    start: restore,
                    end: vec![],
                }
            }
        }
        V::Latency => {
            let service = service_of(e.service.unwrap_or(AwsService::S3));
            let p50 = e.p50_ms.unwrap_or(1.0);
            let p99 = e.p99_ms.unwrap_or(p50);
            Resolved {
                shards: vec![],
                target: format!(
                    "{}{} (p50 {p50} ms, p99 {p99} ms)",
                    service.as_str(),
                    e.operation
                        .as_deref()
                        .map(|o| format!(" {o}"))
                        .unwrap_or_default()
                ),
                start: vec![Action::Emulator {
                    fault: mocks::Fault::Latency {
                        service,
                        operation: e.operation.clone(),
                        delay_ms: latency(p50, p99),
                    },
                }],
                end: vec![],
            }
        }
        V::S3Errors | V::SqsErrors => {
            let service = if e.verb == V::S3Errors {
                mocks::Service::S3
            } else {
                mocks::Service::Sqs
            };
            let kind = e.error.unwrap_or(ErrorKind::Unavailable);
            let p = e.probability.unwrap_or(0.0);
            Resolved {
                shards: vec![],
                target: format!(
                    "{}{} ({kind:?}, p = {p})",
                    service.as_str(),
                    e.operation
                        .as_deref()
                        .map(|o| format!(" {o}"))
                        .unwrap_or_default()
                )
                .to_lowercase(),
                start: vec![Action::Emulator {
                    fault: error(service, e.operation.clone(), kind, p),
                }],
                end: vec![],
            }
        }
        V::NetworkPartition => {
            let (a, b) = (
                e.target.clone().unwrap_or_default(),
                e.peer.clone().unwrap_or_default(),
            );
            let (az, route) = partition_route(&a, &b, topo)?;
            Resolved {
                shards: vec![],
                target: format!("{a} <-> {b}"),
                start: vec![Action::Route {
                    az: az.clone(),
                    route: route.clone(),
                    link: Link::Blackhole,
                }],
                end: vec![Action::Route {
                    az,
                    route,
                    link: Link::Open,
                }],
            }
        }
    })
}

/// The proxy route that carries the traffic between `a` and `b`.
pub fn partition_route(a: &str, b: &str, topo: &Topology) -> Result<(String, String), String> {
    let (component, route) = match (a, b) {
        ("producers", c) | (c, "producers") => (c, c.to_string()),
        ("backend", c) | (c, "backend") => (c, crate::stack::egress_route(c)),
        _ => return Err(format!("no traffic flows between {a} and {b}")),
    };
    let az = topo
        .az_of(component)
        .ok_or_else(|| format!("no component {component:?}"))?;
    Ok((az, route))
}

fn service_of(s: AwsService) -> mocks::Service {
    match s {
        AwsService::Kinesis => mocks::Service::Kinesis,
        AwsService::S3 => mocks::Service::S3,
        AwsService::Sqs => mocks::Service::Sqs,
    }
}

/// The shards a shard fault acts on: the listed indexes, a seeded fraction, or one
/// seeded shard.
fn pick_shards(
    e: &FaultEntry,
    topo: &Topology,
    rng: &mut SmallRng,
) -> Result<Vec<(usize, String)>, String> {
    let n = topo.shards.len();
    if n == 0 {
        return Err("the stream has no shards".into());
    }
    let mut idx: Vec<usize> = match (&e.shards, e.shard_fraction) {
        (Some(list), _) => {
            if let Some(bad) = list.iter().find(|i| **i >= n) {
                return Err(format!(
                    "shard index {bad} is out of range: the stream has {n} shards (0..{})",
                    n - 1
                ));
            }
            list.clone()
        }
        (None, Some(f)) => {
            let k = ((n as f64 * f).round() as usize).clamp(1, n);
            let mut all: Vec<usize> = (0..n).collect();
            all.shuffle(rng);
            all.truncate(k);
            all
        }
        (None, None) => vec![rng.random_range(0..n)],
    };
    idx.sort_unstable();
    idx.dedup();
    Ok(idx
        .into_iter()
        .map(|i| (i, topo.shards[i].clone()))
        .collect())
}

async fn owner_of(t: &str, topo: &Topology, target: &dyn FaultTarget) -> Result<String, String> {
    let i: usize = t
        .trim_start_matches("owner-of-shard:")
        .parse()
        .map_err(|_| format!("{t:?}: owner-of-shard:N takes a shard index"))?;
    let shard = topo
        .shards
        .get(i)
        .ok_or_else(|| format!("{t:?}: the stream has {} shards", topo.shards.len()))?;
    target
        .lease_owner(shard)
        .await
        .ok_or_else(|| format!("{t:?}: no live worker holds the lease of {shard}"))
}

/// Added latency: lognormal with the entry's median and 99th percentile (a constant
/// when they are equal), in whole milliseconds as the emulator takes them.
fn latency(p50: f64, p99: f64) -> mocks::Delay {
    let (p50, p99) = (p50.round().max(1.0) as u64, p99.round().max(1.0) as u64);
    if p50 == p99 {
        mocks::Delay::Constant(p50)
    } else {
        mocks::Delay::Lognormal {
            p50_ms: p50,
            p99_ms: p99.max(p50),
        }
    }
}

/// Error answers with a probability, as AWS's status and code pairs.
fn error(
    service: mocks::Service,
    operation: Option<String>,
    kind: ErrorKind,
    probability: f64,
) -> mocks::Fault {
    let code = match kind {
        ErrorKind::Internal => mocks::FailCode::InternalError,
        ErrorKind::Unavailable => mocks::FailCode::ServiceUnavailable,
        ErrorKind::Slowdown => mocks::FailCode::SlowDown,
        ErrorKind::Conflict => mocks::FailCode::ConditionalRequestConflict,
    };
    mocks::Fault::Fail {
        service,
        operation,
        status: code.status(),
        code: Some(code),
        probability,
    }
}
