//! `gameday bench flush`: the CPU of one delivery flush, stage by stage, without the
//! stream, the SDK or the store — one partition's buffered records (the delivery bench's
//! backlog: the gateway bench's series, packed by the gateway's own aggregation, one
//! tenant's share) decoded as the shard's intake decodes them, built into `metrics` rows
//! and encoded to Parquet. Each stage is timed `--reps` times on the same input and the
//! best time is reported per row (the stage's cost with warm caches: a drain pays more,
//! see `bench delivery`). For finding where a flush's CPU goes and checking a change to
//! it in seconds, beside the drain's end-to-end figure.

use super::delivery_fill::{self, Plan};
use super::figures::{Figure, Figures};
use super::{load_average, measure_and_report};
use anyhow::{Context, bail};
use ingest::delivery::rows::{BufferedRecord, metrics_batch};
use ingest::delivery::view::Body;
use ingest::table::SeqNo;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct FlushBenchArgs {
    /// Samples generated over all tenants; the flush is tenant 0's share (about a third
    /// by default: 50,000 rows, what a 5 MiB buffer of this shape holds).
    #[arg(long, default_value_t = 150_000)]
    pub samples: u64,
    /// Tenants the samples are spread over.
    #[arg(long, default_value_t = 3)]
    pub tenants: usize,
    /// Samples per producer request (sets the items per Kinesis record, as in `bench
    /// delivery`).
    #[arg(long, default_value_t = 500)]
    pub samples_per_request: usize,
    /// Shards the gateway's shard map holds when it packs the records (one envelope per
    /// shard a request's items land on, as `bench delivery --aggregate shard`); 0: no
    /// map, one envelope per partition key (`--aggregate key`).
    #[arg(long, default_value_t = 4)]
    pub shards: u32,
    /// Times each stage runs; the best is reported.
    #[arg(long, default_value_t = 15)]
    pub reps: u32,
    /// Where the previous run's figures are kept (compared, then replaced).
    #[arg(long, default_value = ".gameday/bench/flush.json")]
    pub baseline: PathBuf,
}

pub fn run(args: FlushBenchArgs) -> anyhow::Result<ExitCode> {
    if args.samples == 0 || args.samples > 10_000_000 {
        bail!("--samples must be in [1, 10,000,000]");
    }
    if args.tenants == 0 || args.tenants > 200 || args.samples_per_request == 0 {
        bail!("--tenants must be in [1, 200] and --samples-per-request positive");
    }
    if args.reps == 0 || args.reps > 1_000 {
        bail!("--reps must be in [1, 1000]");
    }
    if args.shards > 1_000 {
        bail!("--shards must be in [0, 1000]");
    }
    crate::component::delivery_memory_settings();
    measure_and_report(&args.baseline, async { figures(&args) })
}

/// Best of `reps` runs of `f` (its last result kept).
fn best<T>(reps: u32, mut f: impl FnMut() -> anyhow::Result<T>) -> anyhow::Result<(Duration, T)> {
    let mut best = Duration::MAX;
    let mut last = None;
    for _ in 0..reps {
        let t = Instant::now();
        let out = f()?;
        best = best.min(t.elapsed());
        last = Some(out);
    }
    Ok((best, last.context("no repetition ran")?))
}

fn figures(args: &FlushBenchArgs) -> anyhow::Result<Figures> {
    let plan = Plan {
        stream: String::new(),
        samples: args.samples,
        events: 0,
        samples_per_request: args.samples_per_request,
        events_per_request: 1,
        tenants: args.tenants,
        max_record_bytes: 256 << 10,
        shards: (args.shards > 0).then(|| mocks::kinesis::hash_ranges(args.shards)),
        seed: 7,
        in_flight: 1,
    };
    let records: Vec<Vec<u8>> = delivery_fill::records_of(&plan)
        .into_iter()
        .filter(|r| r.partition_key.starts_with("tenant-0/"))
        .map(|r| r.data.to_vec())
        .collect();
    let (decode, bodies) = best(args.reps, || {
        records
            .iter()
            .map(|d| Body::decode_record(d).context("decoding a generated record"))
            .collect::<anyhow::Result<Vec<Body>>>()
    })?;
    // Sequence numbers of the length Kinesis gives (56 digits), increasing.
    let buffered: Vec<BufferedRecord> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| BufferedRecord {
            seq: SeqNo::new(format!("49{:054}", 1_000_000_000_000u64 + i as u64)),
            body,
        })
        .collect();
    let rows: usize = buffered.iter().map(|r| r.body.len()).sum();
    if rows == 0 {
        bail!("no rows in tenant 0's share: raise --samples");
    }
    let shard = "shardId-000000000000";
    let (build, batch) = best(args.reps, || Ok(metrics_batch(shard, &buffered)?))?;
    let (encode, parquet) = best(args.reps, || Ok(ingest::delivery::parquet::encode(&batch)?))?;
    let per_row = |d: Duration| d.as_secs_f64() * 1e9 / rows as f64;
    eprintln!(
        "bench flush: {rows} rows in {} records (tenant 0 of {} samples over {} tenants, packed for {} shards), best of {}, load average {}",
        buffered.len(),
        args.samples,
        args.tenants,
        args.shards,
        args.reps,
        load_average()
    );
    let mut f = Figures::default();
    f.push(Figure::new(
        "flush.decode",
        per_row(decode),
        "ns/row",
        false,
    ));
    f.push(Figure::new("flush.rows", per_row(build), "ns/row", false));
    f.push(Figure::new(
        "flush.parquet",
        per_row(encode),
        "ns/row",
        false,
    ));
    f.push(Figure::new(
        "flush.total",
        per_row(decode + build + encode),
        "ns/row",
        false,
    ));
    f.push(Figure::new(
        "flush.parquet_bytes_per_row",
        parquet.len() as f64 / rows as f64,
        "B/row",
        false,
    ));
    f.push(Figure::new(
        "flush.rows_in_flush",
        rows as f64,
        "rows",
        true,
    ));
    Ok(f)
}
