//! A fault target that records every action instead of acting: the engine's and the
//! control API's tests run against it without booting a stack.

use super::target::{Action, FaultTarget, Topology};
use async_trait::async_trait;
use parking_lot::Mutex;

#[derive(Default)]
pub struct Fake {
    pub log: Mutex<Vec<String>>,
    pub hooks: bool,
    pub next: Mutex<u64>,
}

#[async_trait]
impl FaultTarget for Fake {
    fn topology(&self) -> Topology {
        let azs: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
        Topology {
            gateways: azs.iter().map(|a| format!("gateway-{a}")).collect(),
            workers: azs.iter().map(|a| format!("delivery-{a}")).collect(),
            query: Some("query".into()),
            shards: (0..8).map(|i| format!("shardId-{i:012}")).collect(),
            stream: "telemetry".into(),
            backend_hooks: self.hooks,
            azs,
        }
    }
    async fn lease_owner(&self, shard_id: &str) -> Option<String> {
        shard_id.ends_with('1').then(|| "delivery-b".to_string())
    }
    async fn apply(&self, a: &Action) -> Result<Option<u64>, String> {
        let line = match a {
            Action::Emulator { fault } => {
                let mut n = self.next.lock();
                *n += 1;
                self.log.lock().push(format!("emu+{} {fault:?}", *n));
                return Ok(Some(*n));
            }
            Action::Signal { component, signal } => format!("{signal:?} {component}"),
            Action::Restart { component } => format!("restart {component}"),
            Action::Az { az, link } => format!("az {az} {link:?}"),
            Action::Route { az, route, link } => format!("route {az}/{route} {link:?}"),
        };
        self.log.lock().push(line);
        Ok(None)
    }
    fn clear_emulator(&self, id: u64) -> bool {
        self.log.lock().push(format!("emu-{id}"));
        true
    }
}
