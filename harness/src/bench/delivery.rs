//! `gameday bench delivery`: rows/s into committed Parquet from a pre-filled stream.
//! Phase 1 (not timed): an emulator child (limits off) gets the stream and bucket, then
//! a backlog of envelopes packed as the gateway packs them (`delivery_fill`). Phase 2
//! (timed): ONE delivery worker in this process drains it; the clock stops when its
//! committed-rows counter reaches the rows put. Then the commit chain is read back from
//! S3 (`delivery_table`) and the bench fails unless it holds exactly the rows put.
//! Figures: rows/s (the headline: worker start to last commit), rows/s from the first
//! commit to the last (beside it, labelled), wall seconds, rows per worker CPU-second,
//! Parquet bytes per row, cores used by this process (the worker) and by the emulator
//! child, objects and commits.

use super::child::{self, Emulator};
use super::delivery_fill::{self, Filled, Plan};
use super::delivery_table;
use super::figures::{Figure, Figures};
use super::{load_average, measure_and_report};
use crate::stack::selfcheck::MachineCpu;
use anyhow::{Context, bail};
use ingest::delivery::{DeliveryConfig, Worker};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct DeliveryBenchArgs {
    /// Rows put before the drain (samples plus events; see --events-share).
    #[arg(long, default_value_t = 2_000_000)]
    pub rows: u64,
    /// Share of the rows that are game events (the rest are metric samples); 1× of the
    /// scenarios is 20,000 samples/s + 1,000 events/s, about 0.05.
    #[arg(long, default_value_t = 0.05)]
    pub events_share: f64,
    /// Kinesis shards of the stream (the one worker owns them all).
    #[arg(long, default_value_t = 4)]
    pub shards: i32,
    /// Samples per producer request. The gateway aggregates a request's samples into one
    /// envelope per shard they land on (see --aggregate), so this sets how many samples a
    /// Kinesis record carries (500, as the scenarios send, over 3 tenants and 4 shards:
    /// about 125).
    #[arg(long, default_value_t = 500)]
    pub samples_per_request: usize,
    /// How the backlog's records are packed: `shard` as the gateway packs them with its
    /// shard map (one envelope per shard a request's items land on), `key` as it packs
    /// them without one (`kinesis.shard_map_refresh_ms = 0`: one envelope per partition
    /// key, 64 per tenant and kind; ~8 samples per record at 500 per request).
    #[arg(long, value_enum, default_value_t = Aggregate::Shard)]
    pub aggregate: Aggregate,
    /// Events per producer request (aggregated the same way).
    #[arg(long, default_value_t = 50)]
    pub events_per_request: usize,
    /// Tenants the requests are spread over (partitions: tenant × kind × hour).
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Delivery `buffer.max_bytes`: a partition's buffer flushes at this many record
    /// bytes (the delivery default, Firehose's 5 MiB).
    #[arg(long, default_value_t = 5 << 20)]
    pub buffer_max_bytes: u64,
    /// Delivery `buffer.interval_ms`: ...or when its oldest record waited this long (the
    /// scenarios' 1 s; the tail of the drain waits for it).
    #[arg(long, default_value_t = 1_000)]
    pub buffer_interval_ms: u64,
    /// Delivery `read.limit`: records per GetRecords (AWS's maximum).
    #[arg(long, default_value_t = 10_000)]
    pub read_limit: i32,
    /// Give up (error) if the drain has not committed every row after this many seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Seed of the generated events (printed).
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Where the previous run's figures are kept (compared, then replaced).
    #[arg(long, default_value = ".gameday/bench/delivery.json")]
    pub baseline: PathBuf,
}

/// How the fill packs items into records (the gateway with or without its shard map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Aggregate {
    Shard,
    Key,
}

const TARGET_ROWS_PER_SEC: f64 = 1_000_000.0;
const STREAM: &str = "telemetry";
const BUCKET: &str = "gameday-telemetry";
/// The gateway's default `kinesis.max_record_bytes`.
const MAX_RECORD_BYTES: usize = 256 << 10;

pub fn run(args: DeliveryBenchArgs) -> anyhow::Result<ExitCode> {
    if args.rows == 0 || args.rows > 100_000_000 {
        bail!("--rows must be in [1, 100,000,000]");
    }
    if !(0.0..=1.0).contains(&args.events_share) {
        bail!("--events-share must be in [0, 1]");
    }
    if !(1..=64).contains(&args.shards) || args.tenants == 0 || args.tenants > 200 {
        bail!("--shards must be in [1, 64] and --tenants in [1, 200]");
    }
    if args.samples_per_request == 0 || args.events_per_request == 0 || args.read_limit <= 0 {
        bail!("--samples-per-request, --events-per-request and --read-limit must be positive");
    }
    // As `gameday component delivery` runs: the worker is measured as it is deployed.
    crate::component::delivery_memory_settings();
    measure_and_report(&args.baseline, figures(&args))
}

fn worker_config(args: &DeliveryBenchArgs, endpoint: &str) -> DeliveryConfig {
    let mut c = DeliveryConfig {
        worker_id: format!("delivery-bench-{}", std::process::id()),
        stream: STREAM.into(),
        bucket: BUCKET.into(),
        aws: ingest::aws::AwsConfig::local(endpoint),
        ..DeliveryConfig::default()
    };
    c.buffer.max_bytes = args.buffer_max_bytes;
    c.buffer.interval_ms = args.buffer_interval_ms;
    c.read.limit = args.read_limit;
    // Orphans are not part of a drain; the default (60 s) would not fire in it anyway.
    c.sweeper.interval_ms = 0;
    c
}

/// Creates the stream (waits until ACTIVE) and the bucket; returns the open shards.
async fn provision(endpoint: &str, shards: i32) -> anyhow::Result<Vec<ingest::aws::ShardRange>> {
    let aws = ingest::aws::AwsConfig::local(endpoint);
    let k = aws.kinesis().await;
    k.create_stream()
        .stream_name(STREAM)
        .shard_count(shards)
        .send()
        .await
        .context("CreateStream")?;
    let mut active = false;
    for _ in 0..200 {
        let s = k
            .describe_stream_summary()
            .stream_name(STREAM)
            .send()
            .await
            .context("DescribeStreamSummary")?;
        if s.stream_description_summary()
            .is_some_and(|d| d.stream_status().as_str() == "ACTIVE")
        {
            active = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    if !active {
        bail!("stream {STREAM} not ACTIVE within 5 s");
    }
    aws.s3()
        .await
        .create_bucket()
        .bucket(BUCKET)
        .send()
        .await
        .context("CreateBucket")?;
    ingest::aws::open_shards(&k, STREAM)
        .await
        .map_err(anyhow::Error::msg)
}

/// Sum of every sample of a counter family in Prometheus text.
fn counter_sum(text: &str, family: &str) -> f64 {
    text.lines()
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        // A fold from +0 (f64's `sum` starts at -0, printed "-0").
        .fold(0.0, |a, b| a + b)
}

struct Drain {
    wall: Duration,
    /// When the first rows were seen committed (10 ms polling) and how many there were.
    first_commit: Option<(Duration, f64)>,
    worker_cpu: f64,
    emulator_cpu: f64,
    /// Cores busy machine-wide (every process) over the drain, and the machine's cores.
    machine_busy: Option<(f64, usize)>,
}

/// Phase 2: one worker in this process until its committed-rows counter reaches `rows`.
async fn drain(args: &DeliveryBenchArgs, emulator: &Emulator, rows: u64) -> anyhow::Result<Drain> {
    let me = std::process::id();
    let config = worker_config(args, &emulator.endpoint);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .context("binding the worker's HTTP listener")?;
    let cpu0 = child::cpu_seconds_of(me).context("reading /proc/self/stat")?;
    let emu0 = emulator
        .cpu_seconds()
        .context("reading the emulator's CPU")?;
    let machine0 = MachineCpu::read();
    let t0 = Instant::now();
    let worker = Worker::builder(config).build().await;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let mut task = tokio::spawn(ingest::delivery::run(
        listener,
        worker.clone(),
        async move {
            let _ = stop_rx.await;
        },
    ));
    let deadline = t0 + Duration::from_secs(args.timeout_secs);
    let mut next_progress = t0 + Duration::from_secs(1);
    let mut committed = 0.0;
    let mut first_commit = None;
    // Bounded by the deadline.
    while (committed as u64) < rows {
        if Instant::now() >= deadline {
            bail!(
                "the drain committed {committed} of {rows} rows in {} s (--timeout-secs)",
                args.timeout_secs
            );
        }
        if task.is_finished() {
            let how = (&mut task).await;
            bail!("the delivery worker ended before the drain finished: {how:?}");
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
        let text = worker.metrics().render();
        committed = counter_sum(&text, "delivery_rows_written_total");
        if first_commit.is_none() && committed > 0.0 {
            first_commit = Some((t0.elapsed(), committed));
        }
        if Instant::now() >= next_progress {
            next_progress += Duration::from_secs(1);
            eprintln!(
                "    {:>5.1} s: {committed:.0} of {rows} rows committed, {:.0} commits, {} shards owned",
                t0.elapsed().as_secs_f64(),
                counter_sum(&text, "delivery_commits_total"),
                worker.owned().len(),
            );
        }
    }
    let wall = t0.elapsed();
    let machine1 = MachineCpu::read();
    let cpu1 = child::cpu_seconds_of(me).context("reading /proc/self/stat")?;
    let emu1 = emulator
        .cpu_seconds()
        .context("reading the emulator's CPU")?;
    let text = worker.metrics().render();
    let errors = counter_sum(&text, "delivery_decode_errors_total");
    if errors > 0.0 {
        bail!("the worker sent {errors} records to errors/: the bench's envelopes are bad");
    }
    let _ = stop_tx.send(());
    match tokio::time::timeout(Duration::from_secs(30), task).await {
        Ok(Ok(Ok(_))) => {}
        Ok(r) => bail!("the delivery worker did not stop cleanly: {r:?}"),
        Err(_) => bail!("the delivery worker did not stop within 30 s"),
    }
    let secs = wall.as_secs_f64().max(1e-3);
    Ok(Drain {
        wall,
        first_commit,
        worker_cpu: (cpu1 - cpu0) / secs,
        emulator_cpu: (emu1 - emu0) / secs,
        machine_busy: match (machine0, machine1) {
            (Some(m0), Some(m1)) => {
                let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
                Some((m1.utilisation_since(&m0) * cores as f64, cores))
            }
            _ => None,
        },
    })
}

async fn figures(args: &DeliveryBenchArgs) -> anyhow::Result<Figures> {
    let events = (args.rows as f64 * args.events_share).round() as u64;
    let samples = args.rows - events;
    eprintln!(
        "bench delivery: {} rows ({samples} samples + {events} events) over {} shards, {} tenants, seed {}, load average {}",
        args.rows,
        args.shards,
        args.tenants,
        args.seed,
        load_average()
    );
    let emulator = Emulator::spawn().await?;
    eprintln!(
        "  emulator child {} (limits off); phase 1, not timed: stream, bucket, backlog …",
        emulator.endpoint
    );
    let open = provision(&emulator.endpoint, args.shards).await?;
    let shards: Vec<String> = open.iter().map(|(id, _, _)| id.clone()).collect();
    let ranges = (args.aggregate == Aggregate::Shard)
        .then(|| open.iter().map(|&(_, s, e)| (s, e)).collect());
    let aws = ingest::aws::AwsConfig::local(emulator.endpoint.clone());
    let fill_start = Instant::now();
    let filled: Filled = delivery_fill::fill(
        &aws.kinesis().await,
        Plan {
            stream: STREAM.into(),
            samples,
            events,
            samples_per_request: args.samples_per_request,
            events_per_request: args.events_per_request,
            tenants: args.tenants,
            max_record_bytes: MAX_RECORD_BYTES,
            shards: ranges,
            seed: args.seed,
            in_flight: 4,
        },
    )
    .await?;
    if filled.samples + filled.events != args.rows {
        bail!(
            "the fill put {} rows, {} planned",
            filled.samples + filled.events,
            args.rows
        );
    }
    let items_per_record = args.rows as f64 / filled.records.max(1) as f64;
    eprintln!(
        "  backlog ({:?}-aggregated): {} records ({:.1} MiB, {:.1} items and {:.1} bytes per record, {:.1} record bytes per row) in {:.1} s",
        args.aggregate,
        filled.records,
        filled.record_bytes as f64 / (1 << 20) as f64,
        items_per_record,
        filled.record_bytes as f64 / filled.records.max(1) as f64,
        filled.record_bytes as f64 / args.rows as f64,
        fill_start.elapsed().as_secs_f64()
    );
    let c = worker_config(args, &emulator.endpoint);
    eprintln!(
        "  phase 2, timed: one delivery worker in this process ({} tokio worker threads), buffer max_bytes {} interval {} ms, read limit {} idle_poll {} ms, lease {} ms renew {} ms, sweeper off …",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        c.buffer.max_bytes,
        c.buffer.interval_ms,
        c.read.limit,
        c.read.idle_poll_ms,
        c.lease.duration_ms,
        c.lease.renew_ms,
    );
    let d = drain(args, &emulator, args.rows).await?;
    let committed = delivery_table::read(&aws.s3().await, BUCKET, &shards).await?;
    if committed.total_rows() != args.rows
        || committed.rows_of("metrics") != samples
        || committed.rows_of("events") != events
    {
        bail!(
            "committed rows {:?} (total {}) != rows put ({samples} samples + {events} events = {})",
            committed.rows,
            committed.total_rows(),
            args.rows
        );
    }
    let secs = d.wall.as_secs_f64();
    let rows_per_sec = args.rows as f64 / secs;
    eprintln!(
        "  drained: {} rows in {secs:.2} s ({rows_per_sec:.0} rows/s), verified from the commit chains: {} objects, {} commits, {:.1} MiB Parquet; cores: worker process {:.2}, emulator {:.2}; load average {}",
        committed.total_rows(),
        committed.objects,
        committed.commits,
        committed.bytes as f64 / (1 << 20) as f64,
        d.worker_cpu,
        d.emulator_cpu,
        load_average()
    );
    let per_core = args.rows as f64 / (d.worker_cpu * secs).max(1e-3);
    // Beside the headline, not instead of it: the rows committed after the first commit,
    // over the time from it to the last one (leaves out the start — leases, first reads,
    // the first buffer's `interval_ms` — and keeps the tail's wait for the last buffers).
    let committing = match d.first_commit {
        Some((t, rows)) if secs > t.as_secs_f64() => {
            (args.rows as f64 - rows) / (secs - t.as_secs_f64())
        }
        _ => rows_per_sec,
    };
    eprintln!(
        "  first commit at {:.2} s; from it to the last: {committing:.0} rows/s",
        d.first_commit.map_or(0.0, |(t, _)| t.as_secs_f64())
    );
    if let Some((busy, cores)) = d.machine_busy {
        eprintln!(
            "  machine-wide over the drain (every process, the tail's wait for the last buffers included): {busy:.2} of {cores} cores busy"
        );
    }
    // The worker paces GetRecords as AWS allows (5 calls/s per shard): what reading alone
    // can deliver at this stream's shape, however fast the rest is.
    eprintln!(
        "  read ceiling at this shape: {} shards x 5 GetRecords/s x {} records x {items_per_record:.1} rows = {:.0} rows/s",
        args.shards,
        args.read_limit,
        args.shards as f64 * 5.0 * args.read_limit as f64 * items_per_record
    );
    let mut figures = Figures {
        figures: vec![
            Figure::new("delivery.rows_per_sec", rows_per_sec, "rows/s", true)
                .target(TARGET_ROWS_PER_SEC),
            Figure::new("delivery.wall", secs, "s", false),
            Figure::new(
                "delivery.rows_per_sec_committing",
                committing,
                "rows/s",
                true,
            ),
            Figure::new(
                "delivery.rows_per_worker_core_sec",
                per_core,
                "rows/s",
                true,
            ),
            Figure::new(
                "delivery.parquet_bytes_per_row",
                committed.bytes as f64 / args.rows as f64,
                "B/row",
                false,
            ),
            Figure::new("delivery.worker_cpu", d.worker_cpu, "cores", false),
            Figure::new("delivery.emulator_cpu", d.emulator_cpu, "cores", false),
            Figure::new(
                "delivery.committed_objects",
                committed.objects as f64,
                "objs",
                false,
            ),
            Figure::new(
                "delivery.commits",
                committed.commits as f64,
                "commits",
                false,
            ),
            Figure::new("input.items_per_record", items_per_record, "items", false),
            Figure::new(
                "input.record_bytes_per_row",
                filled.record_bytes as f64 / args.rows as f64,
                "B/row",
                false,
            ),
        ],
        build: None,
    };
    if let Some((busy, _)) = d.machine_busy {
        figures.push(Figure::new("delivery.machine_busy", busy, "cores", false));
    }
    Ok(figures)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_sum_adds_one_family_only() {
        let text = "# HELP x\ndelivery_rows_written_total{shard=\"a\",table=\"metrics\"} 10\n\
delivery_rows_written_total{shard=\"b\",table=\"events\"} 5\n\
delivery_rows_written_totally 99\ndelivery_commits_total{shard=\"a\"} 2\n";
        assert_eq!(counter_sum(text, "delivery_rows_written_total"), 15.0);
        assert_eq!(counter_sum(text, "delivery_commits_total"), 2.0);
    }
}
