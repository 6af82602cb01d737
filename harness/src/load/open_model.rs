//! Open-model load: each stream (tenant × remote_write / OTLP / events) has a fixed
//! arrival rate per step; requests are scheduled on a clock whatever the server does, go
//! through a bounded send queue (a full queue drops the request, counted) to at most
//! `max_in_flight` senders. Each sender makes bounded attempts: on 429, 503 or no answer
//! it waits `Retry-After` (or a backoff) with jitter and tries again. Gateways are chosen
//! through the shared health view (`health`): a gateway that gave no answer is marked
//! down and the request goes again at once to one still up (failover off: it stays on its
//! assigned gateway); after a 5xx the retry goes to another gateway. TTFB is measured
//! from the scheduled time, so queueing in the rig or the server shows up as latency (no
//! coordinated omission).

use super::client::{Answer, Client};
use super::health::{Attempt, Health};
use super::ledger::{Fate, Ledger};
use super::producer::{Class, Items, Job, Kind, Producers};
use super::stats::{self, Live, StepStats};
use crate::evidence::HygieneEvidence;
use fake::rand::rngs::SmallRng;
use fake::rand::{RngExt, SeedableRng};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Semaphore, mpsc};

/// Longest wait before a retry, whatever `Retry-After` says.
const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);

/// Locks a mutex; a poisoned lock (a panicking sender) still holds valid counters.
pub fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// State the scheduler, the senders, the probes and the progress task share.
pub struct Shared {
    pub steps: Mutex<Vec<StepStats>>,
    pub live: Mutex<Live>,
    pub ledger: Mutex<Ledger>,
    pub hygiene: Mutex<HygieneEvidence>,
    pub max_attempts: u32,
    /// Which gateways are up, and the record of their outages.
    pub health: Mutex<Health>,
    /// The load's start: the origin of the health view's clock.
    pub started: Instant,
}

impl Shared {
    /// Milliseconds from the load's start to `at`.
    pub fn ms_at(&self, at: Instant) -> u64 {
        at.saturating_duration_since(self.started).as_millis() as u64
    }

    /// Records an attempt of a request assigned to `home` sent to `sent`, and returns
    /// the gateway for its next attempt (the same one after a 429).
    pub fn after_attempt(&self, home: usize, sent: usize, a: &Answer) -> usize {
        let now = self.ms_at(a.at);
        let mut h = lock(&self.health);
        h.record(home, sent, attempt_of(a), now);
        if a.ambiguous() {
            h.route(home, Some(sent))
        } else {
            sent
        }
    }
}

/// What an answer says about the gateway's health: no answer at all (refused, reset,
/// timeout) is a transport failure; a token that could not be fetched says nothing about
/// this gateway (`auth_header` tried every gateway).
pub fn attempt_of(a: &Answer) -> Attempt {
    if a.status == 0 && matches!(a.reason.as_str(), "transport" | "timeout") {
        Attempt::Transport
    } else {
        Attempt::Answered { ok: a.ok() }
    }
}

/// How often a paused load (knob at 0) looks whether it may send again.
const PAUSED_POLL: Duration = Duration::from_millis(100);

/// One stream's arrival process.
pub struct Stream {
    pub tenant: u8,
    pub kind: Kind,
    /// Requests per second at 1×.
    pub base_rate: f64,
}

pub struct StepPlan {
    pub name: String,
    pub multiplier: f64,
    pub secs: f64,
}

/// What to send when, and the bounds of the sending.
pub struct Schedule {
    pub streams: Vec<Stream>,
    pub steps: Vec<StepPlan>,
    /// Jobs waiting for a sender; a full queue drops (counted).
    pub send_queue: usize,
    pub max_in_flight: usize,
    /// How long to wait for requests still in flight after the last step.
    pub finish_within: Duration,
    pub seed: u64,
    /// Multiplies every rate while the load runs (0 pauses sending).
    pub knob: Option<Arc<super::knob::LoadKnob>>,
}

/// Runs the steps; returns when every scheduled request has finished (or `finish_within`
/// passed after the last was scheduled).
pub async fn drive(
    shared: Arc<Shared>,
    client: Arc<Client>,
    mut producers: Producers,
    schedule: Schedule,
) -> Producers {
    let Schedule {
        streams,
        steps,
        send_queue,
        max_in_flight,
        finish_within,
        seed,
        knob,
    } = schedule;
    let (tx, mut rx) = mpsc::channel::<Job>(send_queue.max(1));
    let permits = Arc::new(Semaphore::new(max_in_flight.max(1)));
    let dispatcher = {
        let (shared, client, permits) = (shared.clone(), client.clone(), permits.clone());
        tokio::spawn(async move {
            let mut n = 0u64;
            while let Some(job) = rx.recv().await {
                let Ok(permit) = permits.clone().acquire_owned().await else {
                    break;
                };
                n += 1;
                let (shared, client) = (shared.clone(), client.clone());
                let rng = SmallRng::seed_from_u64(seed.wrapping_add(n));
                tokio::spawn(async move {
                    execute(&shared, &client, job, rng).await;
                    drop(permit);
                });
            }
        })
    };
    let start = Instant::now();
    let mut step_start = start;
    for (si, step) in steps.iter().enumerate() {
        {
            let mut live = lock(&shared.live);
            live.step = step.name.clone();
            live.step_index = si;
        }
        let end = step_start + Duration::from_secs_f64(step.secs.max(0.0));
        let n = streams.len().max(1) as f64;
        let mut next: Vec<(Instant, Duration)> = streams
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let rate = s.base_rate * step.multiplier;
                let interval = if rate > 0.0 {
                    Duration::from_secs_f64(1.0 / rate)
                } else {
                    Duration::MAX
                };
                // Stagger the streams inside one interval so they do not fire together.
                let offset = if rate > 0.0 {
                    interval.mul_f64(i as f64 / n)
                } else {
                    Duration::ZERO
                };
                (step_start + offset, interval)
            })
            .collect();
        // The knob's value the pending sends were scheduled with.
        let mut applied = knob.as_ref().map_or(1.0, |k| k.get());
        while let Some((i, due)) = next
            .iter()
            .enumerate()
            .filter(|(_, (_, iv))| *iv != Duration::MAX)
            .map(|(i, (d, _))| (i, *d))
            .min_by_key(|(_, d)| *d)
        {
            if due >= end {
                break;
            }
            tokio::time::sleep_until(due.into()).await;
            let factor = knob.as_ref().map_or(1.0, |k| k.get());
            if factor != applied && factor > 0.0 && applied > 0.0 {
                // The operator changed the load: every pending send's wait is rescaled,
                // so a raise takes effect now, not after a slow stream's next send.
                let now = Instant::now();
                for n in next.iter_mut().filter(|(_, iv)| *iv != Duration::MAX) {
                    let left = n.0.saturating_duration_since(now);
                    n.0 = now + left.mul_f64(applied / factor);
                }
                applied = factor;
                continue;
            }
            if factor > 0.0 {
                applied = factor;
            }
            if factor <= 0.0 {
                // Paused by the operator: look again shortly, send nothing.
                next[i].0 = due + PAUSED_POLL;
                continue;
            }
            let s = &streams[i];
            let job = producers.job(s.tenant, s.kind, si, due, now_ms());
            let items = job.items.len();
            {
                let mut steps = lock(&shared.steps);
                if let Some(st) = steps.get_mut(si) {
                    st.ev.requests_offered += 1;
                    st.ev.items_offered += items;
                }
                lock(&shared.live).window_offered += items;
            }
            if tx.try_send(job).is_err() {
                let mut steps = lock(&shared.steps);
                if let Some(st) = steps.get_mut(si) {
                    st.ev.requests_dropped += 1;
                    st.ev.items_dropped += items;
                }
                lock(&shared.ledger).counts.dropped += items;
            }
            // At 1× the schedule is exactly the scenario's (no float round trip).
            let interval = if factor == 1.0 {
                next[i].1
            } else {
                next[i].1.div_f64(factor)
            };
            next[i].0 = due + interval;
        }
        step_start = end;
        let now = Instant::now();
        if step_start > now {
            tokio::time::sleep_until(step_start.into()).await;
        }
    }
    drop(tx);
    let _ = dispatcher.await;
    // Every sender holds a permit until its request is settled.
    let all = u32::try_from(max_in_flight.max(1)).unwrap_or(u32::MAX);
    if tokio::time::timeout(finish_within, permits.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight {finish_within:?} after the last step");
    }
    producers
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn retry_wait(a: &Answer, attempt: u32, rng: &mut SmallRng) -> Duration {
    let base = a
        .retry_after
        .unwrap_or_else(|| Duration::from_millis(100u64 << attempt.min(5)));
    base.mul_f64(rng.random_range(1.0..1.5)).min(MAX_RETRY_WAIT)
}

/// Sends a job with bounded retries and records everything it learned.
pub async fn execute(shared: &Shared, client: &Client, job: Job, mut rng: SmallRng) {
    let mut due = job.due;
    let home = job.gateway;
    let mut gw = lock(&shared.health).route(home, None);
    let mut attempt = 0u32;
    let mut saw_ambiguous = false;
    let answer = loop {
        attempt += 1;
        let a = client
            .attempt(
                gw,
                job.tenant,
                job.kind.path(),
                job.kind.headers(),
                job.body.clone(),
            )
            .await;
        {
            let mut steps = lock(&shared.steps);
            let mut live = lock(&shared.live);
            if let Some(st) = steps.get_mut(job.step) {
                if attempt == 1 {
                    st.ev.requests_sent += 1;
                } else {
                    st.ev.retries += 1;
                }
                stats::attempt(st, &mut live, due, &a);
            }
        }
        let sent = gw;
        gw = shared.after_attempt(home, sent, &a);
        if !a.retryable() || attempt >= shared.max_attempts {
            break a;
        }
        saw_ambiguous |= a.ambiguous();
        lock(&shared.ledger).counts.retries += 1;
        // Failing over from a gateway that gave no answer: at once, as a load balancer
        // does; otherwise honour Retry-After or back off.
        if gw == sent || attempt_of(&a) != Attempt::Transport {
            tokio::time::sleep(retry_wait(&a, attempt, &mut rng)).await;
        }
        due = Instant::now();
    };
    settle(shared, &job, &answer, saw_ambiguous);
}

/// Per-item fates of a final answer.
fn fates(job: &Job, a: &Answer) -> Vec<Fate> {
    let n = job.items.len() as usize;
    if !a.ok() {
        let f = if a.ambiguous() {
            Fate::Unresolved(a.reason.clone())
        } else {
            Fate::Refused(a.reason.clone())
        };
        return vec![f; n];
    }
    match job.kind {
        Kind::RemoteWrite => vec![Fate::Acked; n],
        Kind::Otlp => {
            let p = <opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceResponse
                as prost::Message>::decode(a.body.as_ref())
                .ok()
                .and_then(|r| r.partial_success);
            match p {
                Some(p) if p.rejected_data_points as usize >= n => {
                    vec![Fate::Refused(reason_of(&p.error_message)); n]
                }
                Some(p) if p.rejected_data_points > 0 => {
                    vec![Fate::Unresolved("otlp_partial".into()); n]
                }
                _ => vec![Fate::Acked; n],
            }
        }
        Kind::Events => {
            let v: serde_json::Value = serde_json::from_slice(&a.body).unwrap_or_default();
            let per = v["Events"].as_array().cloned().unwrap_or_default();
            (0..n)
                .map(|i| match per.get(i) {
                    Some(e) if e["Result"] == "Ok" => Fate::Acked,
                    Some(e) => {
                        Fate::Refused(e["ErrorCode"].as_str().unwrap_or("event_error").to_string())
                    }
                    None => Fate::Unresolved("events_answer_missing".into()),
                })
                .collect()
        }
    }
}

/// A reason code from an OTLP partial-success message (its detail names no code).
fn reason_of(message: &str) -> String {
    let m = message.to_ascii_lowercase();
    let r = if m.contains("not allowed") {
        "label_not_allowed"
    } else if m.contains("looks like") {
        "pii"
    } else if m.contains("budget") {
        "cardinality"
    } else {
        "otlp_rejected"
    };
    r.to_string()
}

fn settle(shared: &Shared, job: &Job, a: &Answer, saw_ambiguous: bool) {
    let fates = fates(job, a);
    let acked = fates.iter().filter(|f| **f == Fate::Acked).count() as u64;
    let mut rejected: BTreeMap<String, u64> = BTreeMap::new();
    for f in &fates {
        if let Fate::Refused(r) | Fate::Unresolved(r) = f {
            *rejected.entry(r.clone()).or_default() += 1;
        }
    }
    {
        let mut steps = lock(&shared.steps);
        let mut live = lock(&shared.live);
        if let Some(st) = steps.get_mut(job.step) {
            stats::items(st, &mut live, acked, &rejected);
        }
    }
    {
        let mut l = lock(&shared.ledger);
        match &job.items {
            Items::Samples(ids) => {
                l.counts.samples_sent += ids.len() as u64;
                // Group by fate: one call per fate keeps the lock short.
                let mut by: BTreeMap<usize, (Fate, Vec<u64>)> = BTreeMap::new();
                for (id, f) in ids.iter().zip(&fates) {
                    let k = match f {
                        Fate::Acked => 0,
                        Fate::Refused(_) => 1,
                        Fate::Unresolved(_) => 2,
                    };
                    by.entry(k)
                        .or_insert_with(|| (f.clone(), Vec::new()))
                        .1
                        .push(*id);
                }
                for (_, (f, v)) in by {
                    l.record_samples(&f, &v);
                }
            }
            Items::Events(ids) => {
                l.counts.events_sent += ids.len() as u64;
                let o: Vec<(u64, Fate)> = ids.iter().copied().zip(fates.iter().cloned()).collect();
                l.record_events(&o);
            }
            Items::Untracked(_) => {}
        }
        if saw_ambiguous {
            l.counts.acked_after_ambiguous += acked;
        }
    }
    let mut h = lock(&shared.hygiene);
    let hygiene_refused = fates
        .iter()
        .filter(|f| matches!(f, Fate::Refused(r) if !is_quota(r)))
        .count() as u64;
    match &job.class {
        Class::Clean => {
            h.clean_sent += job.items.len();
            h.clean_rejected += hygiene_refused;
        }
        Class::Bad(class) => {
            *h.bad_sent.entry(class.to_string()).or_default() += job.items.len();
            *h.bad_rejected.entry(class.to_string()).or_default() += hygiene_refused;
        }
    }
}

/// Refusals that say "not now" or "not this much", not "not this content".
fn is_quota(reason: &str) -> bool {
    matches!(
        reason,
        "quota_exceeded" | "too_large_for_quota" | "backpressure" | "http_429" | "http_503"
    ) || reason.starts_with("token_")
}
