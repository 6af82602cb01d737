//! The harness's load side: synthetic game-server producers (`shapes`, `payload`,
//! `remote_write`, `otlp`, `events`, `producer`), open-model load over HTTPS
//! (`open_model`, `client`, `stats`) failing over between gateways as a load balancer's
//! clients do (`health`), the ledger of what was sent (`ledger`) and its
//! independent audit of storage (`storage`, `audit`), hygiene traffic for T3
//! (`hygiene`) and the canary probes (`probes`). The ledger's design is in `design.md`.
//!
//! [`run`] drives a [`LoadSpec`] against a [`Target`] (what a booted stack exposes) and
//! returns a [`LoadOutcome`]; [`audit`] then waits for the drain and reads storage.

pub mod audit;
pub mod client;
pub mod events;
pub mod health;
pub mod hygiene;
pub mod knob;
pub mod ledger;
pub mod open_model;
pub mod otlp;
pub mod payload;
pub mod probes;
pub mod producer;
pub mod remote_write;
pub mod shapes;
pub mod stats;
pub mod storage;
#[cfg(test)]
mod tests;

use crate::evidence::{
    AuditEvidence, FailoverEvidence, HygieneEvidence, ProbeEvidence, StepEvidence,
};
use ingest::aws::AwsConfig;
use open_model::{Shared, StepPlan, Stream, lock};
use producer::{Kind, Producers};
use serde::{Deserialize, Serialize};
use shapes::{Catalog, Protocol};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One tenant as the producers see it: credentials and the quotas the stack configured.
#[derive(Clone, Debug, Default)]
pub struct TenantCreds {
    pub id: String,
    pub api_key: String,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// The tenant's quotas (its share of the load is proportional to them).
    pub samples_per_sec: f64,
    pub events_per_sec: f64,
    pub active_series_budget: u64,
    pub allow_job_instance: bool,
}

/// What the load needs from a booted stack.
#[derive(Clone, Debug)]
pub struct Target {
    /// Gateway base URLs (`https://127.0.0.1:port`), one per AZ.
    pub gateways: Vec<String>,
    /// The query service's base URL (probes); `None` = no probes.
    pub query: Option<String>,
    /// The CA that signed the gateways' and the query's certificates (`None`: plain HTTP).
    pub ca_pem: Option<String>,
    /// Token audience the gateways expect.
    pub audience: String,
    /// Direct backend access for the audit.
    pub aws: AwsConfig,
    pub bucket: String,
    /// Shard id and hash-key range of every shard of the stream (canaries).
    pub shards: Vec<(String, u128, u128)>,
    pub tenants: Vec<TenantCreds>,
    /// The gateways' label allowlist (the audit's reference).
    pub allowlist: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub name: String,
    pub multiplier: f64,
    pub secs: f64,
    /// Reported but skipped by the after-the-burst checks (see the scenario format).
    pub settle: bool,
}

/// Share of metric requests per protocol.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    pub remote_write: f64,
    pub otlp: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            remote_write: 0.7,
            otlp: 0.3,
        }
    }
}

/// Share of requests that are bad on purpose, per hygiene class (0 = clean run).
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct BadMix {
    pub pii: f64,
    pub unknown_label: f64,
    pub high_cardinality: f64,
    pub bad_schema: f64,
}

impl BadMix {
    pub fn any(&self) -> bool {
        self.pii + self.unknown_label + self.high_cardinality + self.bad_schema > 0.0
    }
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoadSpec {
    pub seed: u64,
    /// 1× over all tenants (split by their quotas).
    pub base_samples_per_sec: f64,
    pub base_events_per_sec: f64,
    pub steps: Vec<StepSpec>,
    pub mix: Mix,
    pub samples_per_request: usize,
    pub events_per_request: usize,
    pub bad: BadMix,
    /// 0 = no canaries.
    pub canary_interval_ms: u64,
    /// Requests waiting for a sender; a full queue drops (counted).
    pub send_queue: usize,
    pub drain_timeout_secs: f64,
    /// Requests in flight at once (retries included).
    pub max_in_flight: usize,
    /// Attempts per request (1 = no retries).
    pub max_attempts: u32,
    /// Stored rows (series) per tenant catalog, at most; also kept under half the
    /// tenant's active-series budget.
    pub series_per_tenant: usize,
    /// Producers and canaries move off a gateway that gives no answer (refused, reset,
    /// timeout) and back when its health check passes, as a load balancer would. Off:
    /// every request keeps its assigned gateway and is retried there (T6's break-it).
    pub failover: bool,
    /// The run-time multiplier on every rate (the control API's `SetLoad`).
    #[serde(skip)]
    pub knob: Option<std::sync::Arc<knob::LoadKnob>>,
}

impl Default for LoadSpec {
    fn default() -> Self {
        LoadSpec {
            seed: 1,
            base_samples_per_sec: 20_000.0,
            base_events_per_sec: 1_000.0,
            steps: vec![StepSpec {
                name: "1x".into(),
                multiplier: 1.0,
                secs: 30.0,
                settle: false,
            }],
            mix: Mix::default(),
            samples_per_request: 500,
            events_per_request: 50,
            bad: BadMix::default(),
            canary_interval_ms: 1_000,
            send_queue: 1_000,
            drain_timeout_secs: 60.0,
            max_in_flight: 256,
            max_attempts: 3,
            series_per_tenant: 3_000,
            failover: true,
            knob: None,
        }
    }
}

/// A live progress line (published about every second).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub elapsed_secs: f64,
    pub duration_secs: f64,
    pub step: String,
    /// Items (samples + events) per second.
    pub offered_per_sec: f64,
    pub acked_per_sec: f64,
    pub throttled_429: u64,
    pub server_5xx: u64,
    /// TTFB of the requests answered in the last window.
    pub ttfb_p50_ms: f64,
    pub ttfb_p99_ms: f64,
    pub freshness_p99_ms: Option<f64>,
    /// Freshness in the last second, pending canaries counted at their age so far
    /// (`Probes::window_freshness_ms`): what the fault gates' recovery checks read.
    pub freshness_now_ms: Option<f64>,
    /// Freshness p99 per tenant since the load started (tenants with a visible canary).
    pub freshness_p99_by_tenant_ms: BTreeMap<String, f64>,
    /// The query service's latency as the canary probes' queries saw it, since the load
    /// started (None before the first answer; no dashboard viewers run yet).
    pub query_p95_ms: Option<f64>,
    pub query_p99_ms: Option<f64>,
}

pub struct LoadOutcome {
    pub seed: u64,
    pub run_id: String,
    pub steps: Vec<StepEvidence>,
    pub hygiene: HygieneEvidence,
    pub probes: ProbeEvidence,
    pub ledger: ledger::Ledger,
    /// Gateway outages as producers and canaries saw them, and their failover.
    pub failover: FailoverEvidence,
}

fn shares(values: impl Iterator<Item = f64> + Clone) -> Vec<f64> {
    let sum: f64 = values.clone().map(|v| v.max(0.0)).sum();
    let n = values.clone().count().max(1) as f64;
    values
        .map(|v| if sum > 0.0 { v.max(0.0) / sum } else { 1.0 / n })
        .collect()
}

/// Drives the load of `spec` against `target`; progress lines go to `progress`.
pub async fn run(
    target: &Target,
    spec: &LoadSpec,
    progress: tokio::sync::watch::Sender<Progress>,
) -> anyhow::Result<LoadOutcome> {
    anyhow::ensure!(!target.gateways.is_empty(), "no gateway to send to");
    anyhow::ensure!(!target.tenants.is_empty(), "no tenant to send as");
    anyhow::ensure!(target.tenants.len() < 256, "at most 255 tenants");
    let run_id = format!(
        "{:08x}",
        (spec.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ open_model::now_ms() as u64) as u32
    );
    let base_ms = open_model::now_ms() - 3_600_000;
    let mix_rw = spec.mix.remote_write.max(0.0);
    let mix_otlp = spec.mix.otlp.max(0.0);
    let rw_share = if mix_rw + mix_otlp > 0.0 {
        mix_rw / (mix_rw + mix_otlp)
    } else {
        1.0
    };
    let mut ledger = ledger::Ledger::new(
        run_id.clone(),
        base_ms,
        target.tenants.iter().map(|t| t.id.clone()).collect(),
    );
    let mut catalogs = Vec::new();
    for (i, t) in target.tenants.iter().enumerate() {
        let budget_rows = (t.active_series_budget as usize / 2).saturating_sub(target.shards.len());
        let rows = catalog_rows(spec, rw_share, budget_rows);
        let mut c = Catalog::build(spec.seed.wrapping_add(i as u64 * 7919), rows, rw_share);
        probes::add_canaries(&mut c, &t.id, &target.shards);
        ledger.index_catalog(i as u8, &c);
        ledger.allowed_labels[i] = allowed_labels(target, t);
        catalogs.push(Arc::new(c));
    }
    let s_shares = shares(target.tenants.iter().map(|t| t.samples_per_sec));
    let e_shares = shares(target.tenants.iter().map(|t| t.events_per_sec));
    let spr = spec.samples_per_request.max(1) as f64;
    let epr = spec.events_per_request.max(1) as f64;
    let mut streams = Vec::new();
    for (i, _) in target.tenants.iter().enumerate() {
        let t = i as u8;
        let c = &catalogs[i];
        let rw = spec.base_samples_per_sec * s_shares[i] * rw_share / spr;
        let ot = spec.base_samples_per_sec * s_shares[i] * (1.0 - rw_share) / spr;
        let ev = spec.base_events_per_sec * e_shares[i] / epr;
        if rw > 0.0 && !c.units_of(Protocol::RemoteWrite).is_empty() {
            streams.push(Stream {
                tenant: t,
                kind: Kind::RemoteWrite,
                base_rate: rw,
            });
        }
        if ot > 0.0 && !c.units_of(Protocol::Otlp).is_empty() {
            streams.push(Stream {
                tenant: t,
                kind: Kind::Otlp,
                base_rate: ot,
            });
        }
        if ev > 0.0 {
            streams.push(Stream {
                tenant: t,
                kind: Kind::Events,
                base_rate: ev,
            });
        }
    }
    let client = client::Client::new(
        target.gateways.clone(),
        target.ca_pem.as_deref(),
        &target.audience,
        &target.tenants,
    )?;
    let producers = Producers::new(
        spec.seed,
        run_id.clone(),
        base_ms,
        catalogs.clone(),
        target.gateways.len(),
        spec.samples_per_request,
        spec.events_per_request,
        spec.bad.clone(),
        target
            .tenants
            .iter()
            .map(|t| t.active_series_budget)
            .collect(),
    );
    let total_secs: f64 = spec.steps.iter().map(|s| s.secs.max(0.0)).sum();
    let step_stats = spec
        .steps
        .iter()
        .map(|s| {
            let quota: f64 = target
                .tenants
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let offered_s = spec.base_samples_per_sec * s_shares[i] * s.multiplier;
                    let offered_e = spec.base_events_per_sec * e_shares[i] * s.multiplier;
                    offered_s.min(t.samples_per_sec) + offered_e.min(t.events_per_sec)
                })
                .sum();
            let mut st = stats::StepStats::new(&s.name, s.multiplier, s.secs, quota);
            st.ev.settle = s.settle;
            st
        })
        .collect();
    let shared = Arc::new(Shared {
        steps: Mutex::new(step_stats),
        live: Mutex::new(stats::Live::new(total_secs)),
        ledger: Mutex::new(ledger),
        hygiene: Mutex::new(HygieneEvidence::default()),
        max_attempts: spec.max_attempts.max(1),
        health: Mutex::new(health::Health::new(target.gateways.len(), spec.failover)),
        started: std::time::Instant::now(),
    });
    let load_started_unix_ms = open_model::now_ms();
    let probe = probes::Probes::new(
        target,
        &catalogs,
        client.clone(),
        shared.clone(),
        producers.canary_rounds.clone(),
        base_ms,
    );
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let probe_task = match (&target.query, spec.canary_interval_ms) {
        (Some(_), ms) if ms > 0 => {
            let p = probe.clone();
            let stop = stop_rx.clone();
            Some(tokio::spawn(async move {
                p.run(Duration::from_millis(ms), stop).await
            }))
        }
        _ => {
            probe.skip();
            None
        }
    };
    let check_task = spec.failover.then(|| {
        let (shared, client, stop) = (shared.clone(), client.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let clock = || shared.ms_at(std::time::Instant::now());
            let check = |gw: usize| client.ready(gw, Duration::from_secs(1));
            health::check_loop(&shared.health, clock, check, stop).await
        })
    });
    let progress_task = {
        let (shared, probe, mut stop) = (shared.clone(), probe.clone(), stop_rx.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.tick().await;
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.changed() => break,
                }
                let f = probe.freshness_p99_ms();
                let mut p = lock(&shared.live).progress(f);
                p.freshness_now_ms = probe.window_freshness_ms();
                p.freshness_p99_by_tenant_ms = probe.tenant_freshness_p99_ms();
                (p.query_p95_ms, p.query_p99_ms) = probe.query_latency_ms().unzip();
                let _ = progress.send(p);
            }
        })
    };
    let plans = spec
        .steps
        .iter()
        .map(|s| StepPlan {
            name: s.name.clone(),
            multiplier: s.multiplier,
            secs: s.secs,
        })
        .collect();
    tracing::info!(
        seed = spec.seed,
        run_id,
        "load: seed {} (replay with the same seed)",
        spec.seed
    );
    let producers = open_model::drive(
        shared.clone(),
        client.clone(),
        producers,
        open_model::Schedule {
            streams,
            steps: plans,
            send_queue: spec.send_queue,
            max_in_flight: spec.max_in_flight,
            finish_within: Duration::from_secs(60),
            seed: spec.seed,
            knob: spec.knob.clone(),
        },
    )
    .await;
    let _ = stop_tx.send(true);
    if let Some(t) = probe_task {
        let _ = t.await;
    }
    let _ = progress_task.await;
    if let Some(t) = check_task {
        let _ = t.await;
    }
    let failover = lock(&shared.health).evidence(&target.gateways, load_started_unix_ms);
    let mut steps: Vec<StepEvidence> = lock(&shared.steps).iter().map(|s| s.evidence()).collect();
    for (i, f) in probe.step_freshness() {
        if let Some(st) = steps.get_mut(i) {
            st.freshness = Some(f);
        }
    }
    let mut hygiene = lock(&shared.hygiene).clone();
    hygiene.planted_pii = producers.planted.len() as u64;
    let probes = probe.evidence();
    drop(probe);
    let mut ledger = {
        let mut l = lock(&shared.ledger);
        std::mem::replace(&mut *l, ledger::Ledger::new(String::new(), 0, Vec::new()))
    };
    ledger.planted_pii = producers.planted.iter().map(|p| p.value.clone()).collect();
    Ok(LoadOutcome {
        seed: spec.seed,
        run_id,
        steps,
        hygiene,
        probes,
        ledger,
        failover,
    })
}

/// Rows of a tenant's catalog: `series_per_tenant`, or more when a request of
/// `samples_per_request` would not fit one pass over a protocol's share of them (a
/// request stops at one pass, so it would carry fewer samples than the spec offers); kept
/// under half the tenant's active-series budget (`budget_rows`).
fn catalog_rows(spec: &LoadSpec, rw_share: f64, budget_rows: usize) -> usize {
    let rw_share = rw_share.clamp(0.0, 1.0);
    let smallest_share = [rw_share, 1.0 - rw_share]
        .into_iter()
        .filter(|s| *s > 0.0)
        .fold(1.0f64, f64::min);
    // A quarter more: the catalog is built in whole servers of rows per protocol.
    let needed = (spec.samples_per_request as f64 * 1.25 / smallest_share).ceil() as usize;
    // The ledger packs a row in 20 bits; canaries are added after the catalog.
    let ledger_rows = ledger::MAX_ROWS as usize - 4_096;
    spec.series_per_tenant
        .max(needed)
        .min(budget_rows)
        .min(ledger_rows)
        .max(1)
}

/// Label names storage may hold for a tenant.
fn allowed_labels(target: &Target, t: &TenantCreds) -> std::collections::HashSet<String> {
    let mut s: std::collections::HashSet<String> = target.allowlist.iter().cloned().collect();
    for n in ["le", "quantile"] {
        s.insert(n.into());
    }
    if t.allow_job_instance {
        s.insert("job".into());
        s.insert("instance".into());
    }
    s
}

/// Waits for the drain (every acked identity stored, or `drain_timeout` passed), then
/// reads every committed object and classifies it against the ledger.
pub async fn audit(
    target: &Target,
    ledger: &ledger::Ledger,
    drain_timeout: Duration,
) -> anyhow::Result<AuditEvidence> {
    let store = storage::Store::new(target).await;
    store
        .wait_drained(ledger.acked_total(), drain_timeout)
        .await;
    let mut a = audit::Auditor::new(ledger);
    store.read_all(&mut a).await?;
    Ok(a.finish())
}
