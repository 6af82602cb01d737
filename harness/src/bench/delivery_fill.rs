//! Phase 1 of `gameday bench delivery` (not timed): the backlog. Realistic metric
//! samples (the gateway bench's 6,000 game-server series, eight allowlisted labels each)
//! and game events (the load generator's), cut into requests as producers send them and
//! aggregated into envelopes by the gateway's own `aggregate_samples` /
//! `aggregate_events` (by shard with the stream's shard map, as the gateway packs them,
//! or by partition key), so each Kinesis record carries as many items as the gateway
//! would pack; then PutRecords until the stream holds every item.

use super::gateway_payload::{SERIES, series_labels};
use anyhow::{Context, bail};
use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;
use fake::rand::SeedableRng;
use fake::rand::rngs::SmallRng;
use ingest::envelope::{Event, Label, MetricType, Sample, Value};
use ingest::gateway::sink::{Packing, Record, aggregate_events, aggregate_samples};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// AWS's PutRecords limits: 500 records and 5 MiB per call (4 MiB kept for headroom).
const CALL_RECORDS: usize = 500;
const CALL_BYTES: usize = 4 << 20;
/// Seconds between two scrapes of one series.
const SCRAPE_MS: i64 = 10_000;

pub struct Plan {
    pub stream: String,
    pub samples: u64,
    pub events: u64,
    pub samples_per_request: usize,
    pub events_per_request: usize,
    pub tenants: usize,
    /// The gateway's `kinesis.max_record_bytes` (an envelope is split above it).
    pub max_record_bytes: usize,
    /// The open shards' hash-key ranges, to aggregate by shard (`None`: by key).
    pub shards: Option<Vec<(u128, u128)>>,
    pub seed: u64,
    /// PutRecords calls in flight.
    pub in_flight: usize,
}

/// What the stream holds after the fill.
#[derive(Debug, Default, Clone, Copy)]
pub struct Filled {
    pub samples: u64,
    pub events: u64,
    pub records: u64,
    pub record_bytes: u64,
}

impl Filled {
    fn add(&mut self, o: Filled) {
        self.samples += o.samples;
        self.events += o.events;
        self.records += o.records;
        self.record_bytes += o.record_bytes;
    }
}

/// One producer request's worth of items (global item indexes `first..first + n`).
#[derive(Debug, Clone, Copy)]
enum Job {
    Samples { first: u64, n: usize },
    Events { first: u64, n: usize },
}

/// Sample and event requests, interleaved as concurrent producers would send them.
fn jobs(p: &Plan) -> Vec<Job> {
    let cut = |total: u64, per: usize| -> Vec<(u64, usize)> {
        let per = per.max(1) as u64;
        (0..total.div_ceil(per))
            .map(|i| (i * per, per.min(total - i * per) as usize))
            .collect()
    };
    let s = cut(p.samples, p.samples_per_request);
    let e = cut(p.events, p.events_per_request);
    let mut keyed: Vec<(f64, Job)> = Vec::with_capacity(s.len() + e.len());
    let (ns, ne) = (s.len().max(1) as f64, e.len().max(1) as f64);
    keyed.extend(
        s.iter()
            .enumerate()
            .map(|(i, &(first, n))| (i as f64 / ns, Job::Samples { first, n })),
    );
    keyed.extend(
        e.iter()
            .enumerate()
            .map(|(i, &(first, n))| ((i as f64 + 0.5) / ne, Job::Events { first, n })),
    );
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
    keyed.into_iter().map(|(_, j)| j).collect()
}

fn now_ms() -> i64 {
    crate::load::open_model::now_ms()
}

fn tenant(i: usize) -> String {
    format!("tenant-{i}")
}

/// Sample `g` (global index): series `g mod 6,000` at scrape `g / 6,000`, so every
/// (tenant, series, timestamp) identity is unique.
fn sample_series(g: u64, base_ts: i64) -> (u64, ingest::gateway::inputs::Series) {
    let s = (g % SERIES as u64) as usize;
    let scrape = (g / SERIES as u64) as i64;
    let (name, pairs) = series_labels(s);
    let mut labels = Vec::with_capacity(pairs.len() + 1);
    // Sorted by name: `__name__` sorts before the lower-case allowlisted labels.
    labels.push(Label {
        name: "__name__".into(),
        value: name.into(),
    });
    labels.extend(pairs.into_iter().map(|(k, v)| Label {
        name: k.into(),
        value: v,
    }));
    let counter = name.ends_with("_total");
    let value = if counter {
        (scrape * 1_000 + (s % 97) as i64) as f64
    } else {
        (g.wrapping_mul(2_654_435_761) % 100_000) as f64 / 100.0
    };
    let sample = Sample {
        labels: Vec::new(),
        timestamp_ms: base_ts + scrape * SCRAPE_MS,
        metric_type: if counter {
            MetricType::Counter as i32
        } else {
            MetricType::Gauge as i32
        },
        value: Some(Value::Number(value)),
        exemplars: Vec::new(),
    };
    (
        ingest::keys::series_fingerprint(&labels),
        (labels, vec![sample]),
    )
}

fn events(first: u64, n: usize, t: usize, seed: u64, base_ts: i64) -> Vec<Event> {
    let mut rng = SmallRng::seed_from_u64(seed ^ first);
    (first..first + n as u64)
        .map(|seq| {
            let id = crate::load::events::event_id("bench", t as u8, 0, seq);
            let ts = base_ts + seq as i64;
            let v = crate::load::events::event(&mut rng, &id, ts, "1.42.0");
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            Event {
                event_type: text("event_type"),
                event_name: text("event_name"),
                event_timestamp_ms: ts,
                app_version: text("app_version"),
                event_data_json: v["event_data"].to_string(),
                event_id: id,
            }
        })
        .collect()
}

/// The records the gateway would put for request `j`.
fn records(p: &Plan, j: usize, job: Job, base_ts: i64) -> Vec<Record> {
    let t = j % p.tenants.max(1);
    let producer = "gateway-a";
    let packing = Packing {
        max_record_bytes: p.max_record_bytes,
        shards: p.shards.as_deref(),
    };
    match job {
        Job::Samples { first, n } => {
            let series = (first..first + n as u64)
                .map(|g| sample_series(g, base_ts))
                .collect();
            aggregate_samples(&tenant(t), producer, now_ms(), series, packing)
        }
        Job::Events { first, n } => aggregate_events(
            &tenant(t),
            producer,
            now_ms(),
            events(first, n, t, p.seed, base_ts),
            packing,
        ),
    }
}

/// The first scrape's timestamp: timestamps end about now, so the backlog is the last
/// hour or so of scrapes.
fn base_ts(p: &Plan) -> i64 {
    let scrapes = (p.samples / SERIES as u64) as i64 + 1;
    now_ms() - scrapes * SCRAPE_MS
}

/// Every record the fill would put for `p`, in order (`bench flush` uses them without a
/// stream).
pub fn records_of(p: &Plan) -> Vec<Record> {
    let base_ts = base_ts(p);
    jobs(p)
        .into_iter()
        .enumerate()
        .flat_map(|(j, job)| records(p, j, job, base_ts))
        .collect()
}

async fn put(k: &Client, stream: &str, batch: &mut Vec<Record>) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let entries = batch
        .drain(..)
        .map(|r| {
            PutRecordsRequestEntry::builder()
                .data(Blob::new(r.data.to_vec()))
                .partition_key(r.partition_key)
                .build()
                .context("PutRecords entry")
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let n = entries.len();
    let out = k
        .put_records()
        .stream_name(stream)
        .set_records(Some(entries))
        .send()
        .await
        .context("PutRecords")?;
    let failed = out.failed_record_count().unwrap_or(0);
    if failed > 0 {
        bail!("{failed} of {n} records refused by an emulator with limits off");
    }
    Ok(())
}

/// Fills the stream; returns what it now holds.
pub async fn fill(k: &Client, plan: Plan) -> anyhow::Result<Filled> {
    let plan = Arc::new(plan);
    let jobs = Arc::new(jobs(&plan));
    let next = Arc::new(AtomicUsize::new(0));
    let base_ts = base_ts(&plan);
    let mut tasks = Vec::new();
    for _ in 0..plan.in_flight.max(1) {
        let (k, plan, jobs, next) = (k.clone(), plan.clone(), jobs.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut done = Filled::default();
            let mut batch: Vec<Record> = Vec::with_capacity(CALL_RECORDS);
            let mut bytes = 0usize;
            // Bounded: each turn takes one of the finite jobs.
            loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(&job) = jobs.get(j) else { break };
                match job {
                    Job::Samples { n, .. } => done.samples += n as u64,
                    Job::Events { n, .. } => done.events += n as u64,
                }
                for r in records(&plan, j, job, base_ts) {
                    let size = r.data.len() + r.partition_key.len();
                    if batch.len() == CALL_RECORDS || bytes + size > CALL_BYTES {
                        put(&k, &plan.stream, &mut batch).await?;
                        bytes = 0;
                    }
                    done.records += 1;
                    done.record_bytes += r.data.len() as u64;
                    bytes += size;
                    batch.push(r);
                }
            }
            put(&k, &plan.stream, &mut batch).await?;
            anyhow::Ok(done)
        }));
    }
    let mut total = Filled::default();
    for t in tasks {
        total.add(t.await.context("fill task")??);
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(samples: u64, events: u64) -> Plan {
        Plan {
            stream: "s".into(),
            samples,
            events,
            samples_per_request: 500,
            events_per_request: 50,
            tenants: 3,
            max_record_bytes: 256 << 10,
            shards: None,
            seed: 1,
            in_flight: 1,
        }
    }

    #[test]
    fn jobs_cover_every_item_once_and_records_keep_them() {
        let p = plan(1_234, 101);
        let js = jobs(&p);
        let (mut s, mut e) = (0u64, 0u64);
        for (j, job) in js.iter().enumerate() {
            let items: usize = records(&p, j, *job, 0).iter().map(|r| r.items).sum();
            match *job {
                Job::Samples { n, .. } => {
                    s += n as u64;
                    assert_eq!(items, n);
                }
                Job::Events { n, .. } => {
                    e += n as u64;
                    assert_eq!(items, n);
                }
            }
        }
        assert_eq!((s, e), (1_234, 101));
        assert!(matches!(js[0], Job::Samples { .. }));
    }
}
