//! The stack under test: boots the AWS-compatible backend (embedded or an endpoint),
//! provisions stream, bucket, queues and notification wiring, generates the TLS
//! certificates, checks the capacity plan, starts each component as a child process of
//! this binary behind its AZ's TCP proxy, waits for every `/readyz`, and tears it all
//! down (`shutdown`, or on drop/panic; SIGKILL of the harness kills the children too).
//! Fault verbs reach in through `cut`/`restore` (an AZ), `kill`/`restart` (a component)
//! and `emulator()` (backend faults). `selfcheck` measures the rig itself.

mod boot;
mod children;
mod config;
pub mod cpu;
mod error;
mod plan;
mod provision;
mod proxy;
mod scrape;
pub mod selfcheck;
mod spec;
pub mod up;
mod up_load;
pub use up_load::low_rate_spec;

pub use error::StackError;
// The seam other harness modules code against (not all of it is used inside stack/).
#[allow(unused_imports)]
pub use plan::{CapacityPlan, MAX_UTILISATION, capacity_plan};
#[allow(unused_imports)]
pub use proxy::{AzProxy, Link, RouteStats, egress_route};
#[allow(unused_imports)]
pub use spec::{Backend, Knobs, PeakLoad, StackSpec, TenantSpec};

use ingest::aws::AwsConfig;
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// One running component as producers and the harness reach it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Component {
    /// Instance name: `gateway-a`, `delivery-b`, `query`.
    pub name: String,
    pub az: Option<String>,
    /// Base URL through the AZ proxy (`https://127.0.0.1:<port>`); stable across restarts.
    pub url: String,
}

/// A booted stack. Dropping it kills every child; prefer `shutdown` for a clean stop.
pub struct Stack {
    pub gateways: Vec<Component>,
    pub delivery: Vec<Component>,
    pub query: Component,
    /// Components this build does not have yet (booted without them), with the reason.
    pub missing: Vec<String>,
    /// PEM of the CA that signed the gateways' and the query service's certificate.
    pub ca_pem: String,
    /// Direct backend access for the harness (ledger audit, probes) — not via a proxy.
    pub aws: AwsConfig,
    pub bucket: String,
    pub stream: String,
    pub queue: String,
    /// Open shards in hash-key order: id and inclusive hash-key range.
    pub shards: Vec<(String, u128, u128)>,
    pub plan: CapacityPlan,
    pub run_dir: PathBuf,
    /// Wall time from `boot` called to every component ready.
    pub boot_ms: u64,
    pub tenants: Vec<TenantSpec>,
    /// Token audience the gateways and the query service expect (`POST /token`).
    pub audience: String,
    /// The gateways' label allowlist (besides structural labels and, per tenant,
    /// `job`/`instance`): the ledger audit's reference.
    pub allowlist: Vec<String>,
    pub spec: StackSpec,
    // Drop order matters: children first (killed), then proxies, then the backend.
    children: children::Children,
    proxies: BTreeMap<String, AzProxy>,
    emulator: Option<mocks::RunningEmulator>,
    client: reqwest::Client,
}

impl Stack {
    pub async fn boot(spec: &StackSpec) -> Result<Stack, StackError> {
        boot::boot(spec).await
    }

    /// An HTTP client trusting the stack's CA (HTTP/1.1 keep-alive, 10 s timeout).
    pub fn client(&self) -> reqwest::Client {
        self.client.clone()
    }

    /// Every running component: gateways, delivery workers, then the query service.
    pub fn components(&self) -> Vec<&Component> {
        let query = (!self.query.url.is_empty()).then_some(&self.query);
        self.gateways
            .iter()
            .chain(self.delivery.iter())
            .chain(query)
            .collect()
    }

    /// The query service's URL, None when this build has no query service.
    pub fn query_url(&self) -> Option<&str> {
        (!self.query.url.is_empty()).then_some(self.query.url.as_str())
    }

    /// What the stack contributes to a run's evidence: boot time, that it booted, and
    /// every component's counters (scraped now).
    pub async fn record(&self, ev: &mut crate::evidence::RunEvidence) {
        ev.stack_booted = true;
        ev.boot_ms = self.boot_ms;
        ev.component_counters = self.scrape().await;
    }

    pub fn component(&self, name: &str) -> Option<&Component> {
        self.components().into_iter().find(|c| c.name == name)
    }

    /// The embedded backend (fault injection, counters, test clock); None for an endpoint.
    pub fn emulator(&self) -> Option<&Arc<mocks::Emulator>> {
        self.emulator.as_ref().map(|e| &e.emulator)
    }

    pub fn proxy(&self, az: &str) -> Option<&AzProxy> {
        self.proxies.get(az)
    }

    /// Loses an AZ: its components become unreachable and lose their AWS endpoint.
    pub fn cut(&self, az: &str) -> Result<(), StackError> {
        self.proxy_of(az)?.cut();
        tracing::info!(az, "AZ cut");
        Ok(())
    }

    pub fn restore(&self, az: &str) -> Result<(), StackError> {
        self.proxy_of(az)?.restore();
        tracing::info!(az, "AZ restored");
        Ok(())
    }

    /// Sets an AZ's link: `Reset` refuses (RST), `Blackhole` drops silently (timeouts),
    /// `Open` restores. Both ways: traffic into the AZ's components and their AWS calls.
    pub fn set_az_link(&self, az: &str, link: Link) -> Result<(), StackError> {
        let p = self.proxy_of(az)?;
        match link {
            Link::Open => p.restore(),
            Link::Reset => p.cut(),
            Link::Blackhole => p.blackhole(),
        }
        tracing::info!(az, ?link, "AZ link set");
        Ok(())
    }

    /// Sets one proxy route's link (`<component>`: into it; `egress-<component>`: its
    /// AWS calls) — a network partition of one component.
    pub fn set_route_link(&self, az: &str, route: &str, link: Link) -> Result<(), StackError> {
        if !self.proxy_of(az)?.set_route(route, link) {
            return Err(StackError::Spec(format!("AZ {az} has no route {route:?}")));
        }
        tracing::info!(az, route, ?link, "route link set");
        Ok(())
    }

    fn proxy_of(&self, az: &str) -> Result<&AzProxy, StackError> {
        self.proxies
            .get(az)
            .ok_or_else(|| StackError::Spec(format!("no AZ named {az:?}")))
    }

    /// Sends a signal to a component: `libc::SIGKILL` (gateway-kill), `SIGSTOP` /
    /// `SIGCONT` (worker-stall). A SIGKILL returns once the process is gone (within 5 s,
    /// else an error), so a kill that was reported has taken effect.
    pub async fn kill(&self, name: &str, signal: i32) -> Result<(), StackError> {
        self.children.signal(name, signal)?;
        tracing::info!(name, signal, "signal sent");
        if signal == libc::SIGKILL {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
            while self.children.is_running(name) {
                if tokio::time::Instant::now() >= deadline {
                    return Err(StackError::Spec(format!(
                        "{name} still running 5 s after SIGKILL"
                    )));
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        Ok(())
    }

    /// Kills a component and starts it again with the same config; its URL (the proxy
    /// address) stays the same. Waits until it answers `/readyz`.
    pub async fn restart(&self, name: &str) -> Result<(), StackError> {
        boot::restart(self, name).await
    }

    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.children.pids()
    }

    pub fn is_running(&self, name: &str) -> bool {
        self.children.is_running(name)
    }

    /// Every component's `/metrics` summed by full series name (with labels), plus the
    /// AZ proxies' counters. Unreachable components are left out (see `scrape_each`).
    pub async fn scrape(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let each = self.scrape_each(Duration::from_secs(2)).await;
        for m in each.into_values().flatten() {
            scrape::sum_into(&mut out, &m);
        }
        for p in self.proxies.values() {
            out.extend(p.metrics());
        }
        out
    }

    /// Each component's `/metrics`, or why it could not be read within `timeout`.
    pub async fn scrape_each(
        &self,
        timeout: Duration,
    ) -> BTreeMap<String, Result<BTreeMap<String, f64>, String>> {
        let reads = self.components().into_iter().map(|c| async move {
            let r = async {
                let resp = self
                    .client
                    .get(format!("{}/metrics", c.url))
                    .timeout(timeout)
                    .send()
                    .await
                    .map_err(|e| e.to_string())?;
                if !resp.status().is_success() {
                    return Err(format!("HTTP {}", resp.status()));
                }
                let text = resp.text().await.map_err(|e| e.to_string())?;
                Ok(scrape::parse(&text))
            }
            .await;
            (c.name.clone(), r)
        });
        futures::future::join_all(reads).await.into_iter().collect()
    }

    /// What was booted, for logs, reports and `gameday stack-up`.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "components": self.components(),
            "missing": self.missing,
            "pids": self.pids(),
            "backend": self.aws.endpoint,
            "stream": self.stream,
            "bucket": self.bucket,
            "queue": self.queue,
            "shards": self.shards.iter().map(|(id, s, e)| {
                serde_json::json!({"id": id, "start": s.to_string(), "end": e.to_string()})
            }).collect::<Vec<_>>(),
            "plan": self.plan,
            "plan_text": self.plan.to_string(),
            "ca_file": self.run_dir.join("ca.pem"),
            "run_dir": self.run_dir,
            "boot_ms": self.boot_ms,
            "azs": self.proxies.keys().collect::<Vec<_>>(),
            // Every proxy route's listen address, per AZ: `<component>` (into it) and
            // `egress-<component>` (its AWS calls).
            "routes": self.proxies.iter().map(|(az, p)| {
                let routes: BTreeMap<String, String> = p
                    .stats()
                    .into_iter()
                    .filter_map(|(name, s)| Some((name, s.listen?.to_string())))
                    .collect();
                (az.clone(), routes)
            }).collect::<BTreeMap<_, _>>(),
        })
    }

    /// Stops a stack shared with tasks (the timeline sampler, the fault engine) once they
    /// have let go of it — they end within a tick of being stopped; after 5 s it is
    /// dropped instead (its children are killed on drop).
    pub async fn shutdown_shared(mut stack: Arc<Stack>) {
        for _ in 0..100 {
            match Arc::try_unwrap(stack) {
                Ok(st) => {
                    if let Err(e) = st.shutdown().await {
                        tracing::warn!("stack shutdown: {e:#}");
                    }
                    return;
                }
                Err(shared) => {
                    stack = shared;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        tracing::warn!("the stack is still shared after 5 s: dropping it (children killed)");
    }

    /// Stops every component (SIGINT, then SIGKILL after a grace period), the proxies
    /// and the embedded backend.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.children.shutdown(Duration::from_secs(3)).await;
        drop(self.proxies);
        if let Some(emu) = self.emulator {
            emu.stop().await?;
        }
        tracing::info!(run_dir = %self.run_dir.display(), "stack stopped");
        Ok(())
    }
}
