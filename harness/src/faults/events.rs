//! The run's event log: every fault's start and end (and a failure to inject one), load
//! steps, stop conditions and notes, each stamped with milliseconds since the load
//! started and the wall-clock time. The reports carry it whole; a live subscriber (the
//! console) gets each event as it is recorded.

use parking_lot::Mutex;
use serde::Serialize;
use std::time::SystemTime;
use tokio::sync::broadcast;
use tokio::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    FaultStarted,
    FaultEnded,
    /// A fault that could not be injected or undone (the reason is in `detail`).
    FaultFailed,
    StepStarted,
    StopConditionTripped,
    Note,
}

#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct Event {
    /// Milliseconds since the load started.
    pub at_ms: u64,
    /// Wall-clock time, RFC 3339 (UTC).
    pub wall: String,
    pub kind: EventKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fault_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verb: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub detail: String,
}

/// Append-only, shared by the fault engine, the stop conditions and the run.
pub struct EventLog {
    t0: Instant,
    events: Mutex<Vec<Event>>,
    live: broadcast::Sender<Event>,
}

impl EventLog {
    /// A log whose clock starts now (call it when the load starts).
    pub fn new() -> EventLog {
        EventLog {
            t0: Instant::now(),
            events: Mutex::new(Vec::new()),
            live: broadcast::channel(256).0,
        }
    }

    /// Milliseconds since the log's start.
    pub fn now_ms(&self) -> u64 {
        self.t0.elapsed().as_millis() as u64
    }

    pub fn start(&self) -> Instant {
        self.t0
    }

    pub fn record(
        &self,
        kind: EventKind,
        fault: Option<(u64, &str, &str)>,
        detail: impl Into<String>,
    ) -> Event {
        let e = Event {
            at_ms: self.now_ms(),
            wall: wall_now(),
            kind,
            fault_id: fault.map(|f| f.0),
            verb: fault.map(|f| f.1.to_string()),
            target: fault.map(|f| f.2.to_string()),
            detail: detail.into(),
        };
        tracing::info!(at_ms = e.at_ms, kind = ?e.kind, verb = ?e.verb, target = ?e.target, "{}", e.detail);
        self.events.lock().push(e.clone());
        let _ = self.live.send(e.clone());
        e
    }

    pub fn snapshot(&self) -> Vec<Event> {
        self.events.lock().clone()
    }

    /// Events from now on, as they are recorded.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.live.subscribe()
    }
}

impl Default for EventLog {
    fn default() -> Self {
        EventLog::new()
    }
}

fn wall_now() -> String {
    let now = time::OffsetDateTime::from(SystemTime::now());
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
