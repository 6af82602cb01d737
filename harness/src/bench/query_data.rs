//! The data of `gameday bench query`: hours of one tenant's telemetry committed exactly as
//! delivery commits it. Game servers with the producers' own label shapes
//! ([`crate::load::shapes`]: regions, AZs, clusters, instance types, builds, queues, game
//! shards) are scraped every 15 s; each series goes to the Kinesis shard its partition key
//! hashes to; per shard and second one metrics envelope (and a few events) carries the
//! gateway's ingest time. Records are buffered per partition (kind, tenant, day, hour of
//! the ingest time) and each hour is flushed through delivery's own code — rows and
//! Parquet encoding (`delivery::rows`, `delivery::parquet`) and the commit protocol
//! (`delivery::commit::{prepare, execute}`: data objects, commit object, lease head) — so
//! the bucket's notifications reach the catalog as in the pipeline. One commit per shard
//! and hour: one metrics and one events object, like delivery with hour-long buffers.

use crate::load::shapes::Catalog;
use anyhow::Context;
use fake::rand::rngs::SmallRng;
use fake::rand::{RngExt, SeedableRng};
use ingest::delivery::buffer::PartitionBuffer;
use ingest::delivery::commit::{self, ShardState};
use ingest::delivery::config::LeaseConfig;
use ingest::delivery::keepalive::Keepalive;
use ingest::delivery::lease;
use ingest::delivery::metrics::{self as dmetrics, Metrics};
use ingest::delivery::rows::BufferedRecord;
use ingest::delivery::store::Store;
use ingest::envelope::{Envelope, Event, Label, MetricType, Sample, Value};
use ingest::table::{Partition, Resume, SeqNo};
use ingest::{Kind, keys};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// Seconds between two samples of a series (a Prometheus scrape interval).
pub const SCRAPE_SECS: i64 = 15;
/// Events per metric sample.
const EVENTS_PER_SAMPLE: f64 = 0.05;
/// Share of events a producer sends twice (same `event_id`): the duplicates panel has work.
const PRODUCER_DUPLICATES: f64 = 0.001;
const OWNER: &str = "bench-query-loader";
const LEASE_MS: u64 = 24 * 3_600_000;

/// What to write.
#[derive(Debug, Clone)]
pub struct Plan {
    pub tenant: String,
    /// Metric samples wanted (rounded to whole scrapes of whole servers).
    pub rows: u64,
    pub hours: u32,
    pub shards: usize,
    pub seed: u64,
    /// Scrape time of the last second of data (ms, whole second).
    pub end_ms: i64,
}

/// What was written.
#[derive(Debug, Default, Clone)]
pub struct Written {
    pub series: usize,
    pub samples: u64,
    pub events: u64,
    pub objects: u64,
    pub commits: u64,
    pub bytes: u64,
    pub newest_ingest_ms: i64,
}

/// One series: its labels as the envelope carries them (sorted, `__name__` included).
struct Series {
    labels: Vec<Label>,
    metric_type: MetricType,
    /// Scrape phase within the interval (seconds).
    phase: i64,
    base: f64,
}

fn metric_type_of(name: &str) -> MetricType {
    if ["_total", "_bucket", "_count", "_sum"]
        .iter()
        .any(|s| name.ends_with(s))
    {
        MetricType::Counter
    } else {
        MetricType::Gauge
    }
}

/// The producers' series catalog, all remote_write (one numeric row per series).
fn series(plan: &Plan) -> Vec<Series> {
    let steps = (plan.hours as u64 * 3600 / SCRAPE_SECS as u64).max(1);
    let wanted = plan.rows.div_ceil(steps).max(1) as usize;
    let catalog = Catalog::build(plan.seed, wanted, 1.0);
    let mut rng = SmallRng::seed_from_u64(plan.seed ^ 0x5e71e5);
    catalog
        .rows
        .iter()
        .map(|r| {
            let name = r.metric.clone();
            let mut labels: Vec<Label> = r
                .labels
                .iter()
                .map(|(n, v)| Label {
                    name: n.clone(),
                    value: v.clone(),
                })
                .collect();
            labels.push(Label {
                name: "__name__".into(),
                value: name.clone(),
            });
            labels.sort_by(|a, b| a.name.cmp(&b.name));
            Series {
                labels,
                metric_type: metric_type_of(&name),
                phase: rng.random_range(0..SCRAPE_SECS),
                base: rng.random_range(1.0..100.0),
            }
        })
        .collect()
}

/// Even hash-key ranges of `n` shards, as CreateStream lays them out.
fn ranges(n: usize) -> Vec<(u128, u128)> {
    let step = u128::MAX / n as u128;
    (0..n)
        .map(|i| {
            let start = step * i as u128;
            let end = if i + 1 == n {
                u128::MAX
            } else {
                step * (i as u128 + 1) - 1
            };
            (start, end)
        })
        .collect()
}

pub fn shard_id(i: usize) -> String {
    format!("shardId-{i:012}")
}

/// Writes the plan's data through delivery's commit protocol, every shard in parallel.
pub async fn write(store: &Store, plan: &Plan) -> anyhow::Result<Written> {
    let all = series(plan);
    let ranges = ranges(plan.shards);
    let mut per_shard: Vec<Vec<Series>> = (0..plan.shards).map(|_| Vec::new()).collect();
    let n_series = all.len();
    for s in all {
        let key = keys::series_partition_key(&plan.tenant, &s.labels);
        let i = keys::shard_for(&key, &ranges).unwrap_or(0);
        per_shard[i].push(s);
    }
    let metrics = Arc::new(Metrics::default());
    let mut tasks = Vec::new();
    for (i, series) in per_shard.into_iter().enumerate() {
        let (store, plan, metrics) = (store.clone(), plan.clone(), metrics.clone());
        let handle = tokio::runtime::Handle::current();
        tasks.push(tokio::task::spawn_blocking(move || {
            write_shard(&handle, &store, &plan, i, &series, &metrics)
        }));
    }
    let mut out = Written {
        series: n_series,
        ..Written::default()
    };
    for t in tasks {
        let w = t.await.context("a shard writer panicked")??;
        out.samples += w.samples;
        out.events += w.events;
        out.commits += w.commits;
        out.newest_ingest_ms = out.newest_ingest_ms.max(w.newest_ingest_ms);
    }
    for i in 0..plan.shards {
        for table in ["metrics", "events"] {
            let l = dmetrics::table(&shard_id(i), table);
            out.objects += metrics.objects_written.get_or_create(&l).get();
            out.bytes += metrics.bytes_written.get_or_create(&l).get();
        }
    }
    Ok(out)
}

/// One shard: envelopes second by second, an hour's partitions flushed (one commit) once
/// no later record can still land in them.
fn write_shard(
    rt: &tokio::runtime::Handle,
    store: &Store,
    plan: &Plan,
    shard: usize,
    series: &[Series],
    metrics: &Metrics,
) -> anyhow::Result<Written> {
    let id = shard_id(shard);
    let now = ingest_now_ms();
    let held = rt
        .block_on(lease::take(store, &id, None, OWNER, now, LEASE_MS))
        .with_context(|| format!("taking the lease of {id}"))?;
    let mut state = ShardState {
        held,
        durable: BTreeMap::new(),
        // A fresh chain: checkpoints as a delivery worker writes them.
        history: ingest::delivery::history::History::fresh(
            ingest::delivery::config::CheckpointConfig::default().every_commits,
        ),
    };
    let mut rng = SmallRng::seed_from_u64(plan.seed.wrapping_add(shard as u64 * 7919));
    let mut by_phase: Vec<Vec<&Series>> = (0..SCRAPE_SECS).map(|_| Vec::new()).collect();
    for s in series {
        by_phase[s.phase as usize].push(s);
    }
    let events_per_sec = series.len() as f64 / SCRAPE_SECS as f64 * EVENTS_PER_SAMPLE;
    let mut seq: u64 = 1_000_000_000_000_000_000;
    let mut buffers: BTreeMap<Partition, PartitionBuffer> = BTreeMap::new();
    let mut out = Written::default();
    let mut last_id = String::new();
    let first_s = plan.end_ms / 1000 - plan.hours as i64 * 3600 + 1;
    let last_s = plan.end_ms / 1000;
    for s in first_s..=last_s {
        let ts = s * 1000;
        let mut push = |env: Envelope, seq: &mut u64, out: &mut Written| {
            *seq += 1;
            let kind = if env.kind == Kind::Events as i32 {
                Kind::Events
            } else {
                Kind::Metrics
            };
            out.newest_ingest_ms = out.newest_ingest_ms.max(env.ingest_time_ms);
            let p = Partition::of(kind, &env.tenant, env.ingest_time_ms);
            let b = buffers.entry(p).or_insert_with(|| PartitionBuffer {
                records: Vec::new(),
                bytes: 0,
                first_at: Instant::now(),
            });
            b.records.push(BufferedRecord::from_envelope(
                SeqNo::new(seq.to_string()),
                &env,
            ));
        };
        let samples: Vec<Sample> = by_phase[s.rem_euclid(SCRAPE_SECS) as usize]
            .iter()
            .map(|x| sample(x, ts, first_s * 1000, &mut rng))
            .collect();
        if !samples.is_empty() {
            out.samples += samples.len() as u64;
            let env = envelope(plan, Kind::Metrics, ts, s, &mut rng, samples, Vec::new());
            push(env, &mut seq, &mut out);
        }
        let n =
            events_per_sec.floor() as usize + usize::from(rng.random_bool(events_per_sec.fract()));
        if n > 0 {
            let events: Vec<Event> = (0..n).map(|_| event(ts, &mut rng, &mut last_id)).collect();
            out.events += events.len() as u64;
            let env = envelope(plan, Kind::Events, ts, s, &mut rng, Vec::new(), events);
            push(env, &mut seq, &mut out);
        }
        // Ingest times trail the scrape by < 1.5 s: an hour ending 5 s ago is complete.
        let cutoff = Partition::of(Kind::Metrics, &plan.tenant, ts - 5_000);
        let last = s == last_s;
        let due: Vec<Partition> = buffers
            .keys()
            .filter(|p| {
                last || (p.dt.as_str(), p.hour.as_str())
                    < (cutoff.dt.as_str(), cutoff.hour.as_str())
            })
            .cloned()
            .collect();
        if due.is_empty() {
            continue;
        }
        let parts: Vec<(Partition, PartitionBuffer)> = due
            .into_iter()
            .filter_map(|p| buffers.remove(&p).map(|b| (p, b)))
            .collect();
        let resume = match buffers.values().filter_map(|b| b.first_seq()).min() {
            Some(oldest) => Resume::At(oldest.clone()),
            None => Resume::After(SeqNo::new(seq.to_string())),
        };
        let mut prepared = commit::prepare(&state, parts, resume, ingest_now_ms())
            .map_err(|e| anyhow::anyhow!("encoding a flush of {id}: {e}"))?;
        // A day-long lease renewed once a day: a bench flush never renews it.
        let lease = LeaseConfig {
            duration_ms: LEASE_MS,
            renew_ms: LEASE_MS,
        };
        let mut last_write = Instant::now();
        let mut keep = Keepalive {
            store,
            metrics,
            shard: &id,
            lease: &lease,
            now_ms: &ingest_now_ms,
            last_write: &mut last_write,
        };
        rt.block_on(commit::execute(
            store,
            &mut state,
            &mut prepared,
            &mut keep,
            None,
            metrics,
        ))
        .map_err(|e| anyhow::anyhow!("committing a flush of {id}: {e}"))?;
        out.commits += 1;
    }
    Ok(out)
}

/// One sample of a series at `ts`: gauges wander around their base with a daily swing,
/// counters grow.
/// The envelope a gateway would have written for second `second` (gateways take turns):
/// ingest time trails the scrape by 50 ms..1.5 s.
fn envelope(
    plan: &Plan,
    kind: Kind,
    ts: i64,
    second: i64,
    rng: &mut SmallRng,
    samples: Vec<Sample>,
    events: Vec<Event>,
) -> Envelope {
    Envelope {
        tenant: plan.tenant.clone(),
        kind: kind as i32,
        ingest_time_ms: ts + rng.random_range(50..1500),
        producer: format!("gateway-{}", ["a", "b", "c"][(second % 3) as usize]),
        samples,
        events,
    }
}

fn sample(s: &Series, ts: i64, start_ms: i64, rng: &mut SmallRng) -> Sample {
    let hours = (ts - start_ms) as f64 / 3_600_000.0;
    let value = match s.metric_type {
        MetricType::Counter => s.base * hours * 3600.0 / SCRAPE_SECS as f64,
        _ => {
            let day = (hours / 24.0 * std::f64::consts::TAU).sin();
            (s.base * (1.0 + 0.3 * day) + rng.random_range(-1.0..1.0)).max(0.0)
        }
    };
    Sample {
        labels: s.labels.clone(),
        timestamp_ms: ts,
        metric_type: s.metric_type as i32,
        value: Some(Value::Number(value)),
        exemplars: Vec::new(),
    }
}

const EVENT_NAMES: &[(&str, &str)] = &[
    ("match", "match_start"),
    ("match", "match_end"),
    ("session", "player_join"),
    ("session", "player_leave"),
    ("economy", "purchase"),
];

fn event(ts: i64, rng: &mut SmallRng, last_id: &mut String) -> Event {
    if last_id.is_empty() || !rng.random_bool(PRODUCER_DUPLICATES) {
        *last_id = format!("{:032x}", rng.random::<u128>());
    }
    let (event_type, event_name) = EVENT_NAMES[rng.random_range(0..EVENT_NAMES.len())];
    Event {
        event_id: last_id.clone(),
        event_type: event_type.into(),
        event_name: event_name.into(),
        event_timestamp_ms: ts - rng.random_range(0..2_000),
        app_version: "1.42.0".into(),
        event_data_json: format!(
            "{{\"map\":\"{}\",\"players\":{}}}",
            ["dust", "harbor", "citadel"][rng.random_range(0..3)],
            rng.random_range(2..11)
        ),
    }
}

fn ingest_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
