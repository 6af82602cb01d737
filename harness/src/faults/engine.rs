//! The fault engine: the run-time API every driver of a GameDay uses — the scenario's
//! timeline, the control API and the TUI's keys — to inject a fault (open-ended or with a
//! duration), list faults, clear one by id, and repair everything. Each start and end is
//! an event in the run's log. Random choices (a `random` target, a shard fraction) come
//! from one generator seeded with the run's seed, so a replay picks the same targets.

use super::entry::{FaultEntry, FaultVerb};
use super::events::{EventKind, EventLog};
use super::resolve::{Resolved, resolve};
use super::target::{Action, FaultTarget, Topology};
use parking_lot::Mutex;
use rand::SeedableRng;
use rand::rngs::SmallRng;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    #[error("field `{field}`: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error("fault {0} does not exist")]
    NotFound(u64),
    #[error("fault {0} is not active")]
    NotActive(u64),
    #[error("{0}")]
    Failed(String),
}

/// Who asked for a fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Timeline,
    Api,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultState {
    Scheduled,
    Active,
    Ended,
    Failed,
}

/// One fault's story, as lists, reports and the console show it.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct FaultRecord {
    pub id: u64,
    pub verb: FaultVerb,
    /// The concrete target once started (the entry's until then).
    pub target: String,
    /// The shard ids a shard fault acts on.
    pub shards: Vec<String>,
    pub source: Source,
    pub state: FaultState,
    pub entry: FaultEntry,
    /// Milliseconds since the load started.
    pub scheduled_ms: Option<u64>,
    pub started_ms: Option<u64>,
    pub planned_end_ms: Option<u64>,
    pub ended_ms: Option<u64>,
    pub end_reason: Option<String>,
    pub error: Option<String>,
}

struct Slot {
    record: FaultRecord,
    resolved: Option<Resolved>,
    emulator_ids: Vec<u64>,
}

pub struct FaultEngine {
    target: Arc<dyn FaultTarget>,
    events: Arc<EventLog>,
    topo: Topology,
    rng: tokio::sync::Mutex<SmallRng>,
    slots: Mutex<BTreeMap<u64, Slot>>,
    next_id: Mutex<u64>,
}

impl FaultEngine {
    pub fn new(target: Arc<dyn FaultTarget>, events: Arc<EventLog>, seed: u64) -> Arc<FaultEngine> {
        let topo = target.topology();
        Arc::new(FaultEngine {
            target,
            events,
            topo,
            // Its own stream of the run's seed (the load uses the seed too).
            rng: tokio::sync::Mutex::new(SmallRng::seed_from_u64(seed ^ 0xFA17_0000)),
            slots: Mutex::new(BTreeMap::new()),
            next_id: Mutex::new(1),
        })
    }

    pub fn topology(&self) -> &Topology {
        &self.topo
    }

    pub fn events(&self) -> &Arc<EventLog> {
        &self.events
    }

    /// Every fault so far (scheduled, active, ended, failed), by id.
    pub fn list(&self) -> Vec<FaultRecord> {
        self.slots
            .lock()
            .values()
            .map(|s| s.record.clone())
            .collect()
    }

    pub fn active(&self) -> Vec<FaultRecord> {
        self.list()
            .into_iter()
            .filter(|r| r.state == FaultState::Active)
            .collect()
    }

    fn new_slot(&self, entry: FaultEntry, source: Source, scheduled: bool) -> u64 {
        let id = {
            let mut n = self.next_id.lock();
            let id = *n;
            *n += 1;
            id
        };
        let record = FaultRecord {
            id,
            verb: entry.verb,
            target: entry.target.clone().unwrap_or_default(),
            shards: vec![],
            source,
            state: FaultState::Scheduled,
            scheduled_ms: scheduled.then_some((entry.at_secs * 1000.0) as u64),
            started_ms: None,
            planned_end_ms: None,
            ended_ms: None,
            end_reason: None,
            error: None,
            entry,
        };
        self.slots.lock().insert(
            id,
            Slot {
                record,
                resolved: None,
                emulator_ids: vec![],
            },
        );
        id
    }

    /// Injects a fault now. With `duration_secs` it ends by itself; without, it lasts
    /// until `clear` or `repair_all`. A fault that cannot be injected is recorded as
    /// failed (with an event) and returned as an error.
    pub async fn inject(
        self: &Arc<Self>,
        entry: FaultEntry,
        source: Source,
    ) -> Result<FaultRecord, FaultError> {
        entry
            .check(&self.topo.azs)
            .map_err(|e| FaultError::Invalid {
                field: e.field,
                message: e.message,
            })?;
        let id = self.new_slot(entry, source, false);
        self.start(id).await
    }

    async fn start(self: &Arc<Self>, id: u64) -> Result<FaultRecord, FaultError> {
        let entry = self
            .slots
            .lock()
            .get(&id)
            .map(|s| s.record.entry.clone())
            .ok_or(FaultError::NotFound(id))?;
        let resolved = {
            let mut rng = self.rng.lock().await;
            resolve(&entry, &self.topo, &mut rng, self.target.as_ref()).await
        };
        let resolved = match resolved {
            Ok(r) => r,
            Err(why) => {
                let unsupported = why.contains("not supported");
                self.fail(id, &why);
                return Err(if unsupported {
                    FaultError::Unsupported(why)
                } else {
                    FaultError::Failed(why)
                });
            }
        };
        // A restore ends the fault it restores, so that fault's undo does not run twice.
        if entry.verb.is_instant() {
            let lost = match entry.verb {
                FaultVerb::AzRestore => FaultVerb::AzLoss,
                _ => FaultVerb::GatewayKill,
            };
            let ended: Vec<u64> = self
                .active()
                .into_iter()
                .filter(|r| r.verb == lost && r.target == resolved.target)
                .map(|r| r.id)
                .collect();
            for other in ended {
                let _ = self
                    .clear(other, &format!("{} (fault {id})", entry.verb))
                    .await;
            }
        }
        let mut emulator_ids = Vec::new();
        let mut failure = None;
        for action in &resolved.start {
            match self.target.apply(action).await {
                Ok(Some(eid)) => emulator_ids.push(eid),
                Ok(None) => {}
                Err(e) => {
                    failure = Some(format!("{}: {e}", describe(action)));
                    break;
                }
            }
        }
        let now = self.events.now_ms();
        let planned_end = entry.duration_secs.map(|d| now + (d * 1000.0) as u64);
        let record = {
            let mut slots = self.slots.lock();
            let slot = slots.get_mut(&id).ok_or(FaultError::NotFound(id))?;
            slot.record.target = resolved.target.clone();
            slot.record.shards = resolved.shards.clone();
            slot.record.started_ms = Some(now);
            slot.record.planned_end_ms = planned_end;
            slot.record.state = FaultState::Active;
            slot.emulator_ids = emulator_ids;
            slot.resolved = Some(resolved.clone());
            slot.record.clone()
        };
        if let Some(why) = failure {
            // Undo what was applied; the fault is failed, not active.
            let _ = self.clear(id, "could not be injected").await;
            self.fail(id, &why);
            return Err(FaultError::Failed(why));
        }
        self.events.record(
            EventKind::FaultStarted,
            Some((id, entry.verb.as_str(), &resolved.target)),
            match entry.duration_secs {
                Some(d) => format!("{} {} for {d} s", entry.verb, resolved.target),
                None => format!("{} {} (until cleared)", entry.verb, resolved.target),
            },
        );
        if entry.verb.is_instant() {
            let mut slots = self.slots.lock();
            if let Some(s) = slots.get_mut(&id) {
                s.record.state = FaultState::Ended;
                s.record.ended_ms = Some(now);
                s.record.end_reason = Some("one action".into());
            }
        } else if let Some(d) = entry.duration_secs {
            // A weak handle: a pending timer must not keep the engine (and the stack
            // it reaches) alive after the run let go of it.
            let me = Arc::downgrade(self);
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_secs_f64(d)).await;
                // Already cleared by hand or by repair_all: nothing to do.
                if let Some(me) = me.upgrade() {
                    let _ = me.clear(id, "duration elapsed").await;
                }
            });
        }
        Ok(record)
    }

    fn fail(&self, id: u64, why: &str) {
        let (verb, target) = {
            let mut slots = self.slots.lock();
            let Some(s) = slots.get_mut(&id) else { return };
            s.record.state = FaultState::Failed;
            s.record.error = Some(why.to_string());
            s.record.ended_ms = Some(self.events.now_ms());
            (s.record.verb, s.record.target.clone())
        };
        self.events.record(
            EventKind::FaultFailed,
            Some((id, verb.as_str(), &target)),
            why.to_string(),
        );
    }

    /// Ends an active fault: undoes its actions and clears its backend hooks.
    pub async fn clear(&self, id: u64, reason: &str) -> Result<FaultRecord, FaultError> {
        let (resolved, emulator_ids, verb) = {
            let mut slots = self.slots.lock();
            let slot = slots.get_mut(&id).ok_or(FaultError::NotFound(id))?;
            if slot.record.state != FaultState::Active {
                return Err(FaultError::NotActive(id));
            }
            // Marked ended first: a concurrent clear (the duration's timer) sees it.
            slot.record.state = FaultState::Ended;
            (
                slot.resolved.clone(),
                std::mem::take(&mut slot.emulator_ids),
                slot.record.verb,
            )
        };
        let mut errors = Vec::new();
        for eid in emulator_ids {
            self.target.clear_emulator(eid);
        }
        for action in resolved.as_ref().map(|r| r.end.as_slice()).unwrap_or(&[]) {
            if let Err(e) = self.target.apply(action).await {
                errors.push(format!("{}: {e}", describe(action)));
            }
        }
        let now = self.events.now_ms();
        let record = {
            let mut slots = self.slots.lock();
            let slot = slots.get_mut(&id).ok_or(FaultError::NotFound(id))?;
            slot.record.ended_ms = Some(now);
            slot.record.end_reason = Some(reason.to_string());
            if !errors.is_empty() {
                slot.record.error = Some(errors.join("; "));
            }
            slot.record.clone()
        };
        let target = record.target.clone();
        if errors.is_empty() {
            self.events.record(
                EventKind::FaultEnded,
                Some((id, verb.as_str(), &target)),
                format!("{verb} {target} ended: {reason}"),
            );
            Ok(record)
        } else {
            let why = errors.join("; ");
            self.events.record(
                EventKind::FaultFailed,
                Some((id, verb.as_str(), &target)),
                format!("{verb} {target}: undoing it failed: {why}"),
            );
            Err(FaultError::Failed(why))
        }
    }

    /// Ends every active fault (newest first, so an AZ comes back before what was
    /// injected inside it is undone). Returns how many were ended.
    pub async fn repair_all(&self, reason: &str) -> usize {
        let mut ids: Vec<u64> = self.active().into_iter().map(|r| r.id).collect();
        ids.reverse();
        let mut n = 0;
        for id in ids {
            if self.clear(id, reason).await.is_ok() {
                n += 1;
            }
        }
        n
    }

    /// Runs a scenario's timeline: each entry is injected `at_secs` after the load
    /// started (the event log's clock), until `stop` turns true. Entries are listed as
    /// scheduled from the start.
    pub async fn run_timeline(
        self: Arc<Self>,
        entries: Vec<FaultEntry>,
        mut stop: watch::Receiver<bool>,
    ) {
        let mut planned: Vec<(u64, f64)> = entries
            .into_iter()
            .map(|e| {
                let at = e.at_secs;
                (self.new_slot(e, Source::Timeline, true), at)
            })
            .collect();
        planned.sort_by(|a, b| a.1.total_cmp(&b.1));
        for (id, at) in planned {
            let due = self.events.start() + Duration::from_secs_f64(at);
            tokio::select! {
                _ = tokio::time::sleep_until(due) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            if *stop.borrow() {
                return;
            }
            // Failures are recorded (event + record) by `start`.
            let _ = self.start(id).await;
        }
    }
}

fn describe(a: &Action) -> String {
    match a {
        Action::Emulator { fault } => format!("backend fault {fault:?}"),
        Action::Signal { component, signal } => {
            format!("SIG{} to {component}", format!("{signal:?}").to_uppercase())
        }
        Action::Restart { component } => format!("restart {component}"),
        Action::Az { az, link } => format!("AZ {az} link {link:?}"),
        Action::Route { az, route, link } => format!("AZ {az} route {route} {link:?}"),
    }
}
