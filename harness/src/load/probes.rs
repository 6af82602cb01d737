//! Canary probes: for every tenant and shard a series whose partition key lands on that
//! shard (found with the gateway's public `ingest::keys` functions). Every interval each
//! canary sends a marker sample (its value unique in the run) through a gateway, chosen
//! through the producers' health view (canaries fail over too); the
//! prober polls the query service (`POST /v1/query`, the tenant's own credentials) until
//! the marker is visible. Freshness = send → visible, as a user sees it, in an HDR
//! histogram over all canaries; per shard the last observed figure.

use super::Target;
use super::client::{Client, answer};
use super::health::Attempt;
use super::ledger::{Fate, sample_id};
use super::open_model::{Shared, attempt_of, lock, now_ms};
use super::producer::Kind;
use super::remote_write;
use super::shapes::Catalog;
use super::stats::{histogram, latency, record};
use crate::evidence::{Latency, ProbeEvidence};
use hdrhistogram::Histogram;
use ingest::envelope::Label;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const CANARY_METRIC: &str = "gameday_canary";
/// A marker not visible after this long is given up (counted as never visible).
const GIVE_UP: Duration = Duration::from_secs(60);
/// How far before a canary's send the query looks. The gateway stamps `ingest_time` on the
/// same machine's clock, later than the send, so this only covers a step of the wall
/// clock; every second more makes each poll open another second of every shard's objects
/// (`bench e2e` at 150,000 samples/s: the query service used 0.29 cores with 5 s, 0.18
/// with 1 s).
const CLOCK_SLACK_MS: i64 = 1_000;

/// One canary's write in a round.
struct CanaryWrite {
    canary: usize,
    marker: u64,
    ts: i64,
    labels: Vec<(String, String)>,
    row: u32,
}

/// Labels (without `__name__`) of the canary with number `k`.
fn canary_labels(k: u32) -> Vec<(String, String)> {
    vec![
        ("region".to_string(), "canary".to_string()),
        ("shard_id".to_string(), format!("canary-{k}")),
    ]
}

/// Adds one canary series per shard to a tenant's catalog.
pub fn add_canaries(c: &mut Catalog, tenant: &str, shards: &[(String, u128, u128)]) {
    let ranges: Vec<(u128, u128)> = shards.iter().map(|(_, s, e)| (*s, *e)).collect();
    let mut found: Vec<Option<u32>> = vec![None; shards.len()];
    for k in 0..100_000u32 {
        if found.iter().all(Option::is_some) {
            break;
        }
        let labels = canary_labels(k);
        let mut l = vec![Label {
            name: "__name__".into(),
            value: CANARY_METRIC.into(),
        }];
        l.extend(labels.iter().map(|(n, v)| Label {
            name: n.clone(),
            value: v.clone(),
        }));
        l.sort_by(|a, b| a.name.cmp(&b.name));
        let key = ingest::keys::series_partition_key(tenant, &l);
        if let Some(i) = ingest::keys::shard_for(&key, &ranges)
            && found[i].is_none()
        {
            found[i] = Some(k);
            let row = c.add_series(CANARY_METRIC, labels);
            c.canaries.push((i, row));
        }
    }
}

struct Canary {
    tenant: u8,
    shard: String,
    row: u32,
    labels: Vec<(String, String)>,
    last_ts: i64,
}

struct Pending {
    canary: usize,
    marker: u64,
    sent: Instant,
    /// Wall clock at send: the gateway stamps `ingest_time` after it.
    sent_ms: i64,
    /// The load step running when it was sent.
    step: usize,
}

struct State {
    canaries: Vec<Canary>,
    pending: Vec<Pending>,
    sent: u64,
    visible: u64,
    hist: Histogram<u64>,
    /// Freshness by the step the canary was sent in (T2 judges the recovery step).
    per_step: BTreeMap<usize, Histogram<u64>>,
    per_shard: BTreeMap<String, Option<u64>>,
    /// Freshness by tenant id (the console's per-tenant figure).
    per_tenant: BTreeMap<String, Histogram<u64>>,
    /// Round trip of every probe query, answered or failed (the query service as a reader
    /// sees it).
    query: Histogram<u64>,
    next_marker: u64,
    /// Worst freshness of the canaries that became visible since the last
    /// `window_freshness_ms` (the live timeline's figure).
    window_worst: Option<Duration>,
}

#[derive(Clone)]
pub struct Probes {
    inner: Arc<Inner>,
}

struct Inner {
    query: Option<String>,
    client: Arc<Client>,
    shared: Arc<Shared>,
    rounds: Vec<Arc<AtomicU64>>,
    base_ms: i64,
    gateways: usize,
    state: Mutex<State>,
}

impl Probes {
    pub fn new(
        target: &Target,
        catalogs: &[Arc<Catalog>],
        client: Arc<Client>,
        shared: Arc<Shared>,
        rounds: Vec<Arc<AtomicU64>>,
        base_ms: i64,
    ) -> Probes {
        let mut canaries = Vec::new();
        let mut per_shard = BTreeMap::new();
        for (t, c) in catalogs.iter().enumerate() {
            for (shard, row) in &c.canaries {
                let name = target
                    .shards
                    .get(*shard)
                    .map(|s| s.0.clone())
                    .unwrap_or_default();
                per_shard.insert(format!("{}/{name}", target.tenants[t].id), None);
                canaries.push(Canary {
                    tenant: t as u8,
                    shard: name,
                    row: *row,
                    labels: c.rows[*row as usize].labels.clone(),
                    last_ts: i64::MIN,
                });
            }
        }
        Probes {
            inner: Arc::new(Inner {
                query: target.query.clone(),
                client,
                shared,
                rounds,
                base_ms,
                gateways: target.gateways.len().max(1),
                state: Mutex::new(State {
                    canaries,
                    pending: Vec::new(),
                    sent: 0,
                    visible: 0,
                    hist: histogram(),
                    per_step: BTreeMap::new(),
                    per_shard,
                    per_tenant: BTreeMap::new(),
                    query: histogram(),
                    next_marker: 1,
                    window_worst: None,
                }),
            }),
        }
    }

    pub fn freshness_p99_ms(&self) -> Option<f64> {
        let s = lock(&self.inner.state);
        (!s.hist.is_empty()).then(|| s.hist.value_at_quantile(0.99) as f64 / 1000.0)
    }

    /// Freshness p99 per tenant id, of the tenants with a visible canary.
    pub fn tenant_freshness_p99_ms(&self) -> BTreeMap<String, f64> {
        let s = lock(&self.inner.state);
        s.per_tenant
            .iter()
            .map(|(t, h)| (t.clone(), h.value_at_quantile(0.99) as f64 / 1000.0))
            .collect()
    }

    /// p95 and p99 of the probe queries answered so far, ms.
    pub fn query_latency_ms(&self) -> Option<(f64, f64)> {
        let s = lock(&self.inner.state);
        let q = |x: f64| s.query.value_at_quantile(x) as f64 / 1000.0;
        (!s.query.is_empty()).then(|| (q(0.95), q(0.99)))
    }

    /// Freshness as a user sees it right now: the worst of the canaries that became
    /// visible since the last call and the age of every canary still not visible (a
    /// stuck shard shows as growing staleness, not as silence). Starts the next window.
    pub fn window_freshness_ms(&self) -> Option<f64> {
        let mut s = lock(&self.inner.state);
        let pending = s.pending.iter().map(|p| p.sent.elapsed()).max();
        let worst = match (s.window_worst.take(), pending) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        worst.map(|d| d.as_secs_f64() * 1000.0)
    }

    /// Freshness of the canaries sent in each step (steps without a visible canary are
    /// absent).
    pub fn step_freshness(&self) -> BTreeMap<usize, Latency> {
        let s = lock(&self.inner.state);
        s.per_step.iter().map(|(i, h)| (*i, latency(h))).collect()
    }

    pub fn evidence(&self) -> ProbeEvidence {
        let s = lock(&self.inner.state);
        ProbeEvidence {
            canaries_sent: s.sent,
            canaries_visible: s.visible,
            freshness: latency(&s.hist),
            per_shard_ms: s.per_shard.clone(),
        }
    }

    /// Marks every tenant's canaries as warm (used when no probe runs).
    pub fn skip(&self) {
        for r in &self.inner.rounds {
            r.store(u64::MAX, Ordering::Relaxed);
        }
    }

    /// Sends a round of markers every `interval` and polls until `stop`; then polls the
    /// pending markers a little longer (bounded by [`GIVE_UP`]).
    pub async fn run(&self, interval: Duration, mut stop: tokio::sync::watch::Receiver<bool>) {
        let poll = (interval / 4).clamp(Duration::from_millis(100), Duration::from_millis(500));
        let mut next_round = Instant::now();
        let mut round = 0u64;
        loop {
            if *stop.borrow() {
                break;
            }
            if Instant::now() >= next_round {
                self.send_round(round).await;
                round += 1;
                next_round += interval;
            }
            self.poll_all().await;
            tokio::select! {
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
        let until = Instant::now() + GIVE_UP;
        while Instant::now() < until && !lock(&self.inner.state).pending.is_empty() {
            self.poll_all().await;
            tokio::time::sleep(poll).await;
        }
        self.give_up(Duration::ZERO);
    }

    async fn send_round(&self, round: u64) {
        // One remote_write request per tenant carries all its canaries (one series per
        // shard): the gateway splits it into one record per shard by partition key. A
        // request per canary was ~90 requests/s at 31 shards × 3 tenants, and cost the
        // burst's 5× step ~60 ms of TTFB p99 on 2 cores.
        let by_tenant: BTreeMap<u8, Vec<CanaryWrite>> = {
            let mut s = lock(&self.inner.state);
            let now = now_ms();
            let mut m: BTreeMap<u8, Vec<CanaryWrite>> = BTreeMap::new();
            for i in 0..s.canaries.len() {
                let marker = s.next_marker;
                s.next_marker += 1;
                let c = &mut s.canaries[i];
                c.last_ts = now.max(c.last_ts.saturating_add(1));
                m.entry(c.tenant).or_default().push(CanaryWrite {
                    canary: i,
                    marker,
                    ts: c.last_ts,
                    labels: c.labels.clone(),
                    row: c.row,
                });
            }
            m
        };
        let sends = by_tenant.into_iter().map(|(tenant, group)| {
            let this = self.clone();
            async move {
                let series = group
                    .iter()
                    .map(|w| {
                        let mut t = remote_write::one_series(CANARY_METRIC, &w.labels, w.ts, None);
                        t.samples[0].value = w.marker as f64;
                        t
                    })
                    .collect();
                let body = remote_write::encode(series);
                // Through the shared health view: a canary fails over as a producer does.
                let home = (round as usize + tenant as usize) % this.inner.gateways;
                let shared = &this.inner.shared;
                let mut gw = lock(&shared.health).route(home, None);
                let sent = Instant::now();
                let sent_ms = now_ms();
                let step = lock(&shared.live).step_index;
                let mut a = None;
                for _ in 0..3usize {
                    let r = this
                        .inner
                        .client
                        .attempt(
                            gw,
                            tenant,
                            Kind::RemoteWrite.path(),
                            Kind::RemoteWrite.headers(),
                            body.clone(),
                        )
                        .await;
                    let retry = r.retryable();
                    let wait = r.retry_after.unwrap_or(Duration::from_millis(200));
                    let from = gw;
                    gw = shared.after_attempt(home, from, &r);
                    let moved = gw != from && attempt_of(&r) == Attempt::Transport;
                    a = Some(r);
                    if !retry {
                        break;
                    }
                    if !moved {
                        tokio::time::sleep(wait.min(Duration::from_secs(2))).await;
                    }
                }
                let fate = match &a {
                    Some(a) if a.ok() => Fate::Acked,
                    Some(a) if a.ambiguous() => Fate::Unresolved(a.reason.clone()),
                    Some(a) => Fate::Refused(a.reason.clone()),
                    None => Fate::Unresolved("no_attempt".into()),
                };
                {
                    let ids: Vec<u64> = group
                        .iter()
                        .map(|w| sample_id(tenant, w.row, w.ts - this.inner.base_ms))
                        .collect();
                    let mut l = lock(&this.inner.shared.ledger);
                    l.counts.samples_sent += ids.len() as u64;
                    l.record_samples(&fate, &ids);
                }
                let mut s = lock(&this.inner.state);
                s.sent += group.len() as u64;
                if fate == Fate::Acked {
                    for w in group {
                        s.pending.push(Pending {
                            canary: w.canary,
                            marker: w.marker,
                            sent,
                            sent_ms,
                            step,
                        });
                    }
                }
            }
        });
        futures::future::join_all(sends).await;
        for r in &self.inner.rounds {
            r.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// One query per tenant with pending markers.
    async fn poll_all(&self) {
        let Some(query) = &self.inner.query else {
            return;
        };
        // Per tenant: the oldest pending marker and send time. The time bound lets the
        // query service prune every object older than the canaries (as a dashboard's
        // time range does); without it each poll would scan the whole run's data.
        let by_tenant: BTreeMap<u8, (u64, i64)> = {
            let s = lock(&self.inner.state);
            let mut m = BTreeMap::new();
            for p in &s.pending {
                let t = s.canaries[p.canary].tenant;
                let e = m.entry(t).or_insert((u64::MAX, i64::MAX));
                *e = (e.0.min(p.marker), e.1.min(p.sent_ms));
            }
            m
        };
        for (tenant, (min_marker, min_sent_ms)) in by_tenant {
            let since_ms = min_sent_ms - CLOCK_SLACK_MS;
            let sql = format!(
                "SELECT value FROM metrics WHERE metric = '{CANARY_METRIC}' AND value >= {min_marker} \
                 AND ingest_time >= to_timestamp_millis({since_ms})"
            );
            let Ok(seen) = self.query_values(query, tenant, &sql).await else {
                continue;
            };
            let now = Instant::now();
            let tenant_id = self.tenant_id(tenant);
            let mut s = lock(&self.inner.state);
            let pending = std::mem::take(&mut s.pending);
            for p in pending {
                if s.canaries[p.canary].tenant == tenant && seen.contains(&p.marker) {
                    let ms = now.duration_since(p.sent);
                    record(&mut s.hist, ms);
                    record(s.per_step.entry(p.step).or_insert_with(histogram), ms);
                    let per_tenant = s.per_tenant.entry(tenant_id.clone());
                    record(per_tenant.or_insert_with(histogram), ms);
                    s.window_worst = Some(s.window_worst.map_or(ms, |w| w.max(ms)));
                    s.visible += 1;
                    let key = self.key(&s, p.canary);
                    s.per_shard.insert(key, Some(ms.as_millis() as u64));
                } else {
                    s.pending.push(p);
                }
            }
        }
        self.give_up(GIVE_UP);
    }

    fn key(&self, s: &State, canary: usize) -> String {
        let c = &s.canaries[canary];
        format!("{}/{}", self.tenant_id(c.tenant), c.shard)
    }

    fn tenant_id(&self, tenant: u8) -> String {
        lock(&self.inner.shared.ledger)
            .tenants
            .get(tenant as usize)
            .cloned()
            .unwrap_or_default()
    }

    fn give_up(&self, older_than: Duration) {
        let mut s = lock(&self.inner.state);
        s.pending.retain(|p| p.sent.elapsed() < older_than);
    }

    async fn query_values(&self, base: &str, tenant: u8, sql: &str) -> Result<Vec<u64>, String> {
        let (h, v) = self.inner.client.auth_header(tenant, 0).await?;
        // The query's latency as a reader sees it: from the request (its token in hand)
        // to the whole answer, answered or not (a timeout counts at its length).
        let asked = Instant::now();
        let r = self
            .inner
            .client
            .http
            .post(format!("{base}/v1/query"))
            .header(h, v)
            .json(&serde_json::json!({ "sql": sql, "dedupe": false }))
            .send()
            .await;
        let a = answer(r).await;
        record(&mut lock(&self.inner.state).query, asked.elapsed());
        if !a.ok() {
            return Err(a.reason);
        }
        let v: serde_json::Value = serde_json::from_slice(&a.body).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in v["rows"].as_array().into_iter().flatten() {
            let cells: Vec<&serde_json::Value> = match row {
                serde_json::Value::Array(a) => a.iter().collect(),
                serde_json::Value::Object(o) => o.values().collect(),
                other => vec![other],
            };
            out.extend(
                cells
                    .into_iter()
                    .filter_map(|c| c.as_f64())
                    .map(|f| f as u64),
            );
        }
        Ok(out)
    }
}
