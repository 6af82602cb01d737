//! What to boot: the stack's shape (backend, AZs, shards), its tenants and their quotas,
//! the peak load the capacity plan is checked against, and the break-it knobs the gate
//! tests use. Every field has a laptop-friendly default (`StackSpec::default()` is the
//! default scenario shape: 3 AZs, 3 tenants, 1× = 20,000 samples/s + 1,000 events/s with
//! quotas at 4× each tenant's share, peak 5×).

use std::path::PathBuf;

/// Where the AWS-compatible backend comes from.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Backend {
    /// The mocks crate inside this process on an OS-picked port, AWS limits on.
    #[default]
    Embedded,
    /// An already running LocalStack or emulator at this URL (`http://host:port`).
    Endpoint(String),
}

/// One tenant: its credentials (in clear here; configs get hashes) and its quotas.
#[derive(Clone, Debug, PartialEq)]
pub struct TenantSpec {
    pub id: String,
    pub api_key: String,
    pub client_id: String,
    pub client_secret: String,
    /// Quota: token-bucket rates and burst length.
    pub samples_per_sec: f64,
    pub bytes_per_sec: f64,
    pub events_per_sec: f64,
    pub burst_secs: f64,
    pub active_series_budget: u64,
    pub allow_job_instance: bool,
}

impl TenantSpec {
    /// A tenant named `id` with deterministic test credentials and the given quotas.
    pub fn new(id: &str, samples_per_sec: f64, events_per_sec: f64) -> TenantSpec {
        TenantSpec {
            id: id.to_string(),
            api_key: format!("{id}-api-key-0123456789abcdef"),
            client_id: format!("{id}-client"),
            client_secret: format!("{id}-client-secret-0123456789"),
            samples_per_sec,
            bytes_per_sec: 8.0 * 1024.0 * 1024.0,
            events_per_sec,
            burst_secs: 1.0,
            active_series_budget: 50_000,
            allow_job_instance: false,
        }
    }

    /// `n` tenants sharing `samples_per_sec` + `events_per_sec` (the 1× load) evenly,
    /// each with quotas at `quota_multiplier` × its share.
    pub fn even_split(
        n: usize,
        samples_per_sec: f64,
        events_per_sec: f64,
        quota_multiplier: f64,
    ) -> Vec<TenantSpec> {
        let n = n.max(1);
        (0..n)
            .map(|i| {
                let id = format!("studio-{}", (b'a' + (i % 26) as u8) as char);
                TenantSpec::new(
                    &id,
                    samples_per_sec / n as f64 * quota_multiplier,
                    events_per_sec / n as f64 * quota_multiplier,
                )
            })
            .collect()
    }
}

/// The highest load a scenario offers (all tenants together); the plan checks what the
/// quotas admit of it against what the stream carries.
#[derive(Clone, Debug, PartialEq)]
pub struct PeakLoad {
    pub samples_per_sec: f64,
    pub events_per_sec: f64,
    /// Samples in one producer request (the gateway writes one record per distinct
    /// partition key of a request, so this sets records/s).
    pub samples_per_request: usize,
    pub events_per_request: usize,
}

impl Default for PeakLoad {
    /// 5× of the default 1× (20,000 samples/s + 1,000 events/s).
    fn default() -> Self {
        PeakLoad {
            samples_per_sec: 100_000.0,
            events_per_sec: 5_000.0,
            samples_per_request: 500,
            events_per_request: 100,
        }
    }
}

/// Switches that break one property on purpose, so a gate test can watch it turn red.
#[derive(Clone, Debug, PartialEq)]
pub struct Knobs {
    /// Gateways run their PII detectors (false: email/phone/IP/card detection off).
    pub gateway_pii_detectors: bool,
    /// Gateways ack and then drop records (the `gateway::ack_then_drop` crash point;
    /// needs a binary built with the `failpoints` feature).
    pub gateway_ack_then_drop: bool,
    /// fail-rs action for that crash point.
    pub gateway_ack_then_drop_action: String,
    /// false: the query service is wired to an empty bucket and queue.
    pub query_sees_data: bool,
    /// The delivery workers' lease period (ms); None = the component's default (10 s).
    pub delivery_lease_ms: Option<u64>,
    /// false: producers and canaries keep their assigned gateway (no failover).
    pub producers_failover: bool,
    /// Delivery workers start a taken-over shard at the stream's tip, not its commit
    /// (T5's break-it: `read.unsafe_start_at_latest`).
    pub delivery_resume_at_latest: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Knobs {
            gateway_pii_detectors: true,
            gateway_ack_then_drop: false,
            gateway_ack_then_drop_action: "10%return".into(),
            query_sees_data: true,
            delivery_lease_ms: None,
            producers_failover: true,
            delivery_resume_at_latest: false,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct StackSpec {
    /// Logs (`logs/<name>.log`), component configs and certificates go here.
    pub run_dir: PathBuf,
    pub backend: Backend,
    /// One gateway and one delivery worker per AZ; the query service runs in the first.
    pub azs: Vec<String>,
    /// Kinesis shards; None = the smallest count the capacity plan accepts.
    pub shards: Option<u32>,
    pub tenants: Vec<TenantSpec>,
    pub delivery_buffer_interval_ms: u64,
    pub peak_load: PeakLoad,
    pub knobs: Knobs,
    /// Stream, bucket and catalog queue names.
    pub stream: String,
    pub bucket: String,
    pub queue: String,
    /// The `gameday` binary to spawn components from; None = this process's own.
    pub exe: Option<PathBuf>,
    /// How long one component may take to print `READY` and answer `/readyz`.
    pub ready_timeout_ms: u64,
    /// Scheduling niceness of the delivery workers (0..=19; 0 = as the rest). On a
    /// laptop or CI runner every component shares the same cores, which in production
    /// are separate hosts; delivery is the batch consumer with slack (its buffer
    /// interval), the gateways answer producers while they wait. Without it, on 2 cores
    /// at the burst's 5× peak delivery's encoding competed with the gateways and the
    /// admitted TTFB p99 read 116–392 ms; with 15 it read 82 ms (freshness still judged).
    pub delivery_nice: i32,
}

impl StackSpec {
    /// The default shape, writing under `run_dir`.
    pub fn new(run_dir: impl Into<PathBuf>) -> StackSpec {
        StackSpec {
            run_dir: run_dir.into(),
            backend: Backend::Embedded,
            azs: ["a", "b", "c"].map(String::from).to_vec(),
            shards: None,
            tenants: TenantSpec::even_split(3, 20_000.0, 1_000.0, 4.0),
            delivery_buffer_interval_ms: 1_000,
            peak_load: PeakLoad::default(),
            knobs: Knobs::default(),
            stream: "telemetry".into(),
            bucket: "gameday-telemetry".into(),
            queue: "gameday-catalog".into(),
            exe: None,
            ready_timeout_ms: 20_000,
            delivery_nice: 15,
        }
    }
}
