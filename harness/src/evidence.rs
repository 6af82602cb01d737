//! What a run observed, independent of how it is judged: the load generator, the ledger's
//! audit of storage, the probes and the rig's self-check fill this in; the gates
//! (`gates/`) read only this, so each gate can be tested with evidence built by hand, and
//! the reports serialize it whole.

use serde::Serialize;
use std::collections::BTreeMap;

/// Latency figures in milliseconds, from an HDR histogram (never averaged).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// What happened to the requests of one load step (e.g. "1x", "3x", "5x", "after").
#[derive(Clone, Debug, Default, Serialize)]
pub struct StepEvidence {
    pub name: String,
    /// Multiplier of the scenario's base rate.
    pub multiplier: f64,
    pub duration_secs: f64,
    /// A settling step (after a burst): reported, not judged by the recovery checks.
    pub settle: bool,
    /// Requests scheduled by the open-model clock (sent + dropped by the send queue).
    pub requests_offered: u64,
    pub requests_sent: u64,
    /// Requests the bounded send queue dropped (the rig could not keep up) — counted.
    pub requests_dropped: u64,
    /// Answers by HTTP status (gRPC mapped to HTTP: RESOURCE_EXHAUSTED → 429, …);
    /// transport errors (connection refused/reset, timeout) under status 0.
    pub status_counts: BTreeMap<u16, u64>,
    /// 429 answers that carried a usable `Retry-After`.
    pub throttled_with_retry_after: u64,
    /// 5xx answers with a `Retry-After` (503 backpressure) — still a 5xx for T2.
    pub server_errors_with_retry_after: u64,
    /// Items (samples + events) offered in this step, and acked by a 2xx.
    pub items_offered: u64,
    pub items_acked: u64,
    /// Items of the requests the send queue dropped (never sent, never acked).
    pub items_dropped: u64,
    /// Items rejected per reason code (the gateway's reason or the HTTP status).
    pub items_rejected: BTreeMap<String, u64>,
    /// Retries sent (after 429/503/transport errors, honouring Retry-After).
    pub retries: u64,
    /// The tenants' admitted capacity for this step (sum over tenants of
    /// min(offered, quota)), in items/s — T2's goodput reference.
    pub quota_items_per_sec: f64,
    /// TTFB of admitted (2xx) requests; HDR, recorded from the scheduled send time.
    pub ttfb_admitted: Latency,
    pub ttfb_all: Latency,
    /// Worst-of-canaries freshness of the canaries that became visible during this step,
    /// when the probes split it by step (T2 judges the recovery step with it; else the
    /// run's freshness is used).
    pub freshness: Option<Latency>,
}

/// The ledger's independent audit of the committed Parquet objects after the drain.
#[derive(Clone, Debug, Default, Serialize)]
pub struct AuditEvidence {
    /// Identities acked and expected in storage.
    pub acked: u64,
    pub stored_rows: u64,
    /// Acked but not stored.
    pub lost: u64,
    /// The same (shard, sequence number, sub-sequence) stored twice — must be 0.
    pub delivery_duplicates: u64,
    /// The same identity under two sequence numbers (after lost acks / retries).
    pub retry_duplicates: u64,
    /// Stored but never sent.
    pub phantoms: u64,
    /// Planted PII strings found verbatim in storage (with where).
    pub pii_found: Vec<String>,
    /// Label names found in storage outside allowlist ∪ structural ∪ tenant-permitted.
    pub labels_outside_allowlist: Vec<String>,
    /// First few examples of each problem, for the report.
    pub examples: Vec<String>,
}

/// Edge hygiene as the producers saw it (T3).
#[derive(Clone, Debug, Default, Serialize)]
pub struct HygieneEvidence {
    /// Bad items sent on purpose, by class (pii, unknown_label, high_cardinality,
    /// bad_schema), and how many of them the gateway rejected.
    pub bad_sent: BTreeMap<String, u64>,
    pub bad_rejected: BTreeMap<String, u64>,
    /// Clean items sent and how many were rejected (false rejects).
    pub clean_sent: u64,
    pub clean_rejected: u64,
    /// The PII strings planted (the audit searches storage for each verbatim).
    pub planted_pii: u64,
}

/// Canary probes: per shard and tenant, send → visible in the query service.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProbeEvidence {
    pub canaries_sent: u64,
    pub canaries_visible: u64,
    /// Worst-of-canaries freshness as a user sees it, HDR over all probes.
    pub freshness: Latency,
    /// Per "tenant/shard": the last observed send → visible time (ms), or None if never.
    pub per_shard_ms: BTreeMap<String, Option<u64>>,
}

/// How the producers' and canaries' traffic fared when gateways stopped answering, as a
/// load balancer's clients see it (issue 16; T6 judges it). Every `*_ms` is milliseconds
/// since the load started (`load_started_unix_ms`), so a fault's wall-clock time maps
/// onto it. "Failed" means no HTTP answer at all (refused, reset, timeout); a gateway
/// that answers — even 5xx — is up.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FailoverEvidence {
    /// Whether clients failed over (`LoadSpec::failover`); off = every request kept its
    /// assigned gateway and was retried there.
    pub enabled: bool,
    /// Unix ms at the load's start: the origin of every `*_ms` below.
    pub load_started_unix_ms: i64,
    /// One per gateway, in `Target::gateways` order.
    pub gateways: Vec<GatewayFailover>,
}

impl FailoverEvidence {
    /// Names each gateway after the component at its URL (`(url, name)` pairs).
    pub fn name_gateways(&mut self, components: &[(String, String)]) {
        for g in &mut self.gateways {
            g.name = components
                .iter()
                .find(|(url, _)| *url == g.url)
                .map(|(_, name)| name.clone());
        }
    }
}

/// One gateway's outages and the traffic around them. The flat fields summarise
/// `outages` (an outage = from a failed attempt to the gateway until it rejoins).
#[derive(Clone, Debug, Default, Serialize)]
pub struct GatewayFailover {
    /// Position in `Target::gateways`.
    pub index: usize,
    pub url: String,
    /// Component name (`gateway-b`) when the run knows it.
    pub name: Option<String>,
    /// First attempt to it that failed (ms since the load's start); None = never failed.
    pub first_failure_ms: Option<u64>,
    /// Last attempt to it that failed.
    pub last_failure_ms: Option<u64>,
    /// The error window: last − first failed attempt within one outage, the longest
    /// outage's (with one outage: `last_failure_ms − first_failure_ms`).
    pub error_window_ms: Option<u64>,
    /// Attempts sent to it that failed (in-flight ones at the failure included; health
    /// checks not included).
    pub failed_requests: u64,
    /// Failover time: first failure → first 2xx on another gateway of a request assigned
    /// to this one (the longest over its outages). None = traffic never moved (failover
    /// off, or nothing else was up).
    pub failover_ms: Option<u64>,
    /// Requests assigned to it that another gateway answered with a 2xx while it was out.
    pub rerouted_requests: u64,
    /// Times it was marked down (failover on).
    pub marked_down: u64,
    /// Health checks (`/readyz`) of it that failed while it was down.
    pub health_checks_failed: u64,
    /// When its last outage ended: the health check that passed (failover on) or its
    /// first answer again (failover off). None = never failed, or still out at the end.
    pub rejoined_at_ms: Option<u64>,
    /// Attempts it answered (any HTTP status) after that rejoin: it took traffic again.
    pub requests_after_rejoin: u64,
    /// Still marked down (or failing) when the load ended.
    pub down_at_end: bool,
    pub outages: Vec<Outage>,
}

/// One outage of a gateway, as its clients saw it (ms since the load's start).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Outage {
    pub first_failure_ms: u64,
    pub last_failure_ms: u64,
    /// Attempts to it that failed during the outage.
    pub failed_requests: u64,
    /// First failure → first 2xx elsewhere of a request assigned to it.
    pub failover_ms: Option<u64>,
    /// Requests assigned to it answered with a 2xx by another gateway during the outage.
    pub rerouted_requests: u64,
    /// When it took traffic again; None = still out at the end of the load.
    pub rejoined_at_ms: Option<u64>,
}

/// The rig's own health: a saturated rig makes a run invalid, not red.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SelfCheck {
    /// Scheduling lag of the harness's runtime (a timer's overshoot), HDR.
    pub scheduling_lag: Latency,
    /// Harness CPU seconds / wall seconds (1.0 = one full core).
    pub cpu_share: f64,
    /// Whole-machine CPU utilisation over the run (0..=1 of all cores).
    pub machine_cpu_utilisation: f64,
    pub invalid: bool,
    pub invalid_reason: Option<String>,
}

/// Everything one scenario run observed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunEvidence {
    pub scenario: String,
    pub seed: u64,
    pub boot_ms: u64,
    pub stack_booted: bool,
    pub steps: Vec<StepEvidence>,
    pub audit: Option<AuditEvidence>,
    pub hygiene: HygieneEvidence,
    pub probes: ProbeEvidence,
    pub self_check: SelfCheck,
    /// Component counters scraped from `/metrics` at the end (name → value), for reports.
    pub component_counters: BTreeMap<String, f64>,
    /// The fault timeline and what happened around it (empty without faults).
    pub faults: FaultEvidence,
    /// Gateway outages as the clients saw them, and their failover (T6).
    pub failover: Option<FailoverEvidence>,
    /// CPU by process while the load ran (None: the load did not run to its end).
    pub load_cpu: Option<LoadCpu>,
}

/// The CPU each process spent on the load: from its start until the producers and the
/// canaries were done (every canary seen or given up, so delivery's catching up counts),
/// every component by name and `harness` (producers, canaries, the embedded backend and
/// the AZ proxies).
#[derive(Clone, Debug, Default, Serialize)]
pub struct LoadCpu {
    /// The window's length (longer than the load's steps by the canaries' tail).
    pub secs: f64,
    pub cpu_seconds: BTreeMap<String, f64>,
    /// The whole machine's busy CPU seconds over the same window.
    pub machine_busy_seconds: f64,
}

/// Faults: every fault's record, the run's event log, the SLI timeline sampled once a
/// second, and the stop condition that aborted the run, if one did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultEvidence {
    pub records: Vec<crate::faults::FaultRecord>,
    pub events: Vec<crate::faults::Event>,
    pub timeline: Vec<crate::monitor::Sample>,
    pub windows: Vec<FaultWindow>,
    pub stopped_by: Option<crate::faults::stop::Tripped>,
    /// The delivery workers' lease period (T7's takeover reference), ms.
    pub lease_period_ms: u64,
    /// Unix ms when the load (and the event log's clock) started.
    pub load_started_unix_ms: i64,
}

/// What was measured during a fault and in the same length of time after it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct FaultWindow {
    pub id: u64,
    pub verb: String,
    pub target: String,
    pub start_ms: u64,
    pub end_ms: Option<u64>,
    pub during: WindowFigures,
    pub after: WindowFigures,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct WindowFigures {
    pub seconds: f64,
    pub acked_per_sec_mean: f64,
    pub throttled_429: u64,
    pub server_5xx: u64,
    pub worst_ttfb_p99_ms: f64,
    pub worst_freshness_p99_ms: Option<f64>,
    pub max_iterator_age_ms: f64,
}
