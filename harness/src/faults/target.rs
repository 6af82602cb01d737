//! What the fault engine acts on, as a seam: the actions a fault is made of (signals,
//! restarts, proxy links, the embedded backend's hooks) and the `FaultTarget` trait that
//! carries them out — on a booted `Stack` (`stack_target.rs`) or, in tests, on a fake
//! that records them.

use crate::stack::Link;
use async_trait::async_trait;
use serde::Serialize;

/// The stack's shape as the engine sees it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Topology {
    pub azs: Vec<String>,
    /// Component names: `gateway-<az>`, `delivery-<az>`, `query`.
    pub gateways: Vec<String>,
    pub workers: Vec<String>,
    pub query: Option<String>,
    /// Shard ids in hash-key order.
    pub shards: Vec<String>,
    pub stream: String,
    /// Whether the backend has the embedded backend's fault hooks (shard pause,
    /// throttling, latency, errors); process, proxy and AZ faults work everywhere.
    pub backend_hooks: bool,
}

impl Topology {
    /// The AZ a component runs in (`gateway-b` → `b`; `query` runs in the first AZ).
    pub fn az_of(&self, component: &str) -> Option<String> {
        if component == "query" {
            return self.azs.first().cloned();
        }
        let az = component.split_once('-')?.1;
        self.azs.iter().find(|a| *a == az).cloned()
    }

    /// Every component of an AZ.
    pub fn components_in(&self, az: &str) -> Vec<String> {
        self.gateways
            .iter()
            .chain(self.workers.iter())
            .chain(self.query.iter())
            .filter(|c| self.az_of(c).as_deref() == Some(az))
            .cloned()
            .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Signal {
    Kill,
    Stop,
    Cont,
}

impl Signal {
    pub fn number(self) -> i32 {
        match self {
            Signal::Kill => libc::SIGKILL,
            Signal::Stop => libc::SIGSTOP,
            Signal::Cont => libc::SIGCONT,
        }
    }
}

/// One step of a fault's start or end.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A fault hook of the embedded backend (cleared when the fault ends).
    Emulator {
        fault: mocks::Fault,
    },
    Signal {
        component: String,
        signal: Signal,
    },
    /// Start a component again (after a kill) and wait until it is ready.
    Restart {
        component: String,
    },
    /// An AZ's proxy link (both ways: its components' inbound and outbound traffic).
    Az {
        az: String,
        link: Link,
    },
    /// One route of an AZ's proxy: `<component>` (producers → it) or
    /// `egress-<component>` (it → the backend).
    Route {
        az: String,
        route: String,
        link: Link,
    },
}

/// Carries out actions; the only way the engine touches the world.
#[async_trait]
pub trait FaultTarget: Send + Sync {
    fn topology(&self) -> Topology;
    /// The component (`delivery-<az>`) holding the shard's lease now, read from storage.
    async fn lease_owner(&self, shard_id: &str) -> Option<String>;
    /// Applies one action; an `Emulator` action returns the backend's fault id.
    async fn apply(&self, action: &Action) -> Result<Option<u64>, String>;
    /// Clears an emulator fault by id; false when it was not active.
    fn clear_emulator(&self, id: u64) -> bool;
}
