//! The fault engine's actions carried out on a booted stack: signals and restarts of its
//! child processes, its AZ proxies' links, and the embedded backend's fault hooks.

use super::target::{Action, FaultTarget, Topology};
use crate::stack::Stack;
use async_trait::async_trait;
use std::sync::Arc;

pub struct StackTarget {
    stack: Arc<Stack>,
    s3: aws_sdk_s3::Client,
}

impl StackTarget {
    pub async fn new(stack: Arc<Stack>) -> StackTarget {
        let s3 = stack.aws.s3().await;
        StackTarget { stack, s3 }
    }
}

/// The component name of a lease owner (`delivery-b-1234…` → `delivery-b`).
pub fn worker_of_owner(owner: &str, azs: &[String]) -> Option<String> {
    let rest = owner.strip_prefix("delivery-")?;
    azs.iter()
        .filter(|az| rest == az.as_str() || rest.starts_with(&format!("{az}-")))
        .max_by_key(|az| az.len())
        .map(|az| format!("delivery-{az}"))
}

#[async_trait]
impl FaultTarget for StackTarget {
    fn topology(&self) -> Topology {
        let s = &self.stack;
        Topology {
            azs: s.spec.azs.clone(),
            gateways: s.gateways.iter().map(|c| c.name.clone()).collect(),
            workers: s.delivery.iter().map(|c| c.name.clone()).collect(),
            query: s.query_url().map(|_| s.query.name.clone()),
            shards: s.shards.iter().map(|(id, _, _)| id.clone()).collect(),
            stream: s.stream.clone(),
            backend_hooks: s.emulator().is_some(),
        }
    }

    async fn lease_owner(&self, shard_id: &str) -> Option<String> {
        let timeout = std::time::Duration::from_secs(5);
        let lease = crate::monitor::read_lease(&self.s3, &self.stack.bucket, shard_id, timeout);
        let worker = crate::monitor::live_worker(&lease.await?, &self.stack.spec.azs)?;
        // Only a worker of this stack can be targeted.
        worker_of_owner(&worker, &self.stack.spec.azs).map(|_| worker)
    }

    async fn apply(&self, action: &Action) -> Result<Option<u64>, String> {
        let s = &self.stack;
        match action {
            Action::Emulator { fault } => {
                let emu = s
                    .emulator()
                    .ok_or("this backend has no fault hooks (only the embedded one has)")?;
                emu.ctx
                    .faults
                    .inject(fault.clone())
                    .map(|id| Some(id.0))
                    .map_err(|e| e.to_string())
            }
            Action::Signal { component, signal } => s
                .kill(component, signal.number())
                .await
                .map(|_| None)
                .map_err(|e| e.to_string()),
            Action::Restart { component } => s
                .restart(component)
                .await
                .map(|_| None)
                .map_err(|e| e.to_string()),
            Action::Az { az, link } => s
                .set_az_link(az, *link)
                .map(|_| None)
                .map_err(|e| e.to_string()),
            Action::Route { az, route, link } => s
                .set_route_link(az, route, *link)
                .map(|_| None)
                .map_err(|e| e.to_string()),
        }
    }

    fn clear_emulator(&self, id: u64) -> bool {
        self.stack
            .emulator()
            .is_some_and(|e| e.ctx.faults.clear(mocks::FaultId(id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lease_owners_map_to_their_worker() {
        let azs: Vec<String> = ["a", "b", "ab"].map(String::from).to_vec();
        assert_eq!(
            worker_of_owner("delivery-b-1234", &azs).as_deref(),
            Some("delivery-b")
        );
        assert_eq!(
            worker_of_owner("delivery-ab-99-x", &azs).as_deref(),
            Some("delivery-ab")
        );
        assert_eq!(worker_of_owner("delivery-c-1", &azs), None);
        assert_eq!(worker_of_owner("someone-else", &azs), None);
    }
}
