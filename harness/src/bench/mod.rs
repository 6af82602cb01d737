//! `gameday bench …`: measurements with real clients that print figures and compare
//! them with the previous run (kept under `.gameday/bench/`). Speed is measured here,
//! never in timed unit tests.

pub mod all;
mod child;
pub mod delivery;
mod delivery_fill;
mod delivery_table;
pub mod e2e;
mod figures;
pub mod flush;
pub mod gateway;
mod gateway_load;
mod gateway_payload;
mod gateway_stack;
mod kinesis;
pub mod query;
mod query_data;
mod query_service;
mod s3;
mod sqs;

use crate::cli::{BenchArgs, BenchTarget};
use anyhow::Context;
use figures::{Figure, Figures};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct EmulatorBenchArgs {
    /// Seconds per throughput measurement.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
    /// Requests in flight per measurement.
    #[arg(long, default_value_t = 8)]
    pub in_flight: usize,
    /// Records held for the memory measurement (150 bytes each).
    #[arg(long, default_value_t = 2_000_000)]
    pub memory_records: usize,
    /// Measure an already running endpoint instead of a fresh `gameday emulate` child
    /// (no memory figure then). Compare other emulators with the same client this way.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Only these parts (comma separated): kinesis, s3, sqs, memory.
    #[arg(long, value_delimiter = ',', default_value = "kinesis,s3,sqs,memory")]
    pub only: Vec<String>,
    /// Where the previous run's figures are kept (compared, then replaced).
    #[arg(long, default_value = ".gameday/bench/emulator.json")]
    pub baseline: PathBuf,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        None => all::run(args.all),
        Some(BenchTarget::Emulator(a)) => emulator(a),
        Some(BenchTarget::Gateway(a)) => gateway::run(a),
        Some(BenchTarget::Delivery(a)) => delivery::run(a),
        Some(BenchTarget::Query(a)) => query::run(a),
        Some(BenchTarget::Flush(a)) => flush::run(a),
        Some(BenchTarget::E2e(a)) => e2e::run(a),
    }
}

/// Runs a bench's measurement on a fresh runtime, prints its figures against the previous
/// run's (kept at `baseline`) and saves them as the next run's baseline.
fn measure_and_report(
    baseline: &std::path::Path,
    measure: impl std::future::Future<Output = anyhow::Result<Figures>>,
) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: this gameday is a {} build, far slower than a release build; \
             measure with `cargo run --release -- bench …`",
            figures::BUILD
        );
    }
    let mut figures = runtime.block_on(measure)?;
    figures.build = Some(figures::BUILD.to_string());
    let previous = Figures::load(baseline);
    println!("{}", figures.table(previous.as_ref()));
    if let Some(note) = previous.as_ref().and_then(|p| figures.build_mismatch(p)) {
        println!("{note}");
    }
    figures
        .save(baseline)
        .with_context(|| format!("saving figures to {}", baseline.display()))?;
    println!(
        "figures saved to {} (the next run compares against them)",
        baseline.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// The machine's 1, 5 and 15 minute load averages, printed beside figures (a busy
/// machine explains a slow run).
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn emulator(args: EmulatorBenchArgs) -> anyhow::Result<ExitCode> {
    measure_and_report(&args.baseline, emulator_figures(&args))
}

async fn emulator_figures(args: &EmulatorBenchArgs) -> anyhow::Result<Figures> {
    let wants = |p: &str| args.only.iter().any(|o| o == p);
    let secs = Duration::from_secs_f64(args.secs);
    let mut figures = Figures::default();
    eprintln!(
        "bench emulator: {} s per measurement, {} in flight (client: aws-sdk-rust in this process)",
        args.secs, args.in_flight
    );
    let (endpoint, child) = match &args.endpoint {
        Some(e) => (e.clone(), None),
        None => {
            let c = child::Emulator::spawn().await?;
            (c.endpoint.clone(), Some(c))
        }
    };
    eprintln!("  endpoint {endpoint}");
    let conf = sdk_config(&endpoint).await;
    // How many cores the emulator used during a phase: the rest went to the client.
    let cores = |name: &str, before: Option<(f64, std::time::Instant)>| {
        let (cpu0, t0) = before?;
        let cpu1 = child.as_ref()?.cpu_seconds()?;
        Some(Figure::new(
            name,
            (cpu1 - cpu0) / t0.elapsed().as_secs_f64(),
            "cores",
            false,
        ))
    };
    let mark = || Some((child.as_ref()?.cpu_seconds()?, std::time::Instant::now()));
    if wants("kinesis") {
        eprintln!("  kinesis: PutRecords of 500, then GetRecords of everything …");
        let m = mark();
        figures.extend(kinesis::throughput(&conf, secs, args.in_flight).await?);
        figures.extend(cores("kinesis.emulator_cpu", m));
    }
    if wants("s3") {
        eprintln!("  s3: PutObject of 64 KiB …");
        let m = mark();
        figures.extend(s3::put_objects(&conf, secs, args.in_flight).await?);
        figures.extend(cores("s3.emulator_cpu", m));
    }
    if wants("sqs") {
        eprintln!("  sqs: SendMessageBatch of 10 …");
        let m = mark();
        figures.extend(sqs::send_batches(&conf, secs, args.in_flight).await?);
        figures.extend(cores("sqs.emulator_cpu", m));
    }
    drop(child);
    if wants("memory") && args.endpoint.is_none() {
        eprintln!(
            "  memory: holding {} records of 150 bytes in a fresh emulator …",
            args.memory_records
        );
        let c = child::Emulator::spawn().await?;
        let conf = sdk_config(&c.endpoint).await;
        kinesis::fill(&conf, args.memory_records, args.in_flight).await?;
        let peak = c.peak_rss_bytes()?;
        let payload = args.memory_records as f64 * 150.0;
        figures.push(
            Figure::new(
                "memory.peak_rss",
                peak as f64 / (1 << 20) as f64,
                "MiB",
                false,
            )
            .target(600.0 * args.memory_records as f64 / 2e6),
        );
        figures.push(
            Figure::new("memory.rss_per_payload", peak as f64 / payload, "x", false).target(2.0),
        );
    }
    Ok(figures)
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "test",
            "test",
            None,
            None,
            "gameday-bench",
        ))
        .load()
        .await
}

/// Runs `in_flight` workers calling `op` until `secs` pass; each returns items done and
/// the latency of every call in an HDR histogram (microseconds).
pub async fn drive<F, Fut>(
    secs: Duration,
    in_flight: usize,
    op: F,
) -> anyhow::Result<(u64, hdrhistogram::Histogram<u64>, Duration)>
where
    F: Fn(usize, u64) -> Fut + Clone + Send + 'static,
    Fut: std::future::Future<Output = anyhow::Result<u64>> + Send,
{
    let start = std::time::Instant::now();
    let mut tasks = Vec::new();
    for w in 0..in_flight {
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut h = hdrhistogram::Histogram::<u64>::new(3)?;
            let mut done = 0u64;
            let mut i = 0u64;
            while start.elapsed() < secs {
                let t = std::time::Instant::now();
                done += op(w, i).await?;
                h.record(t.elapsed().as_micros() as u64)?;
                i += 1;
            }
            anyhow::Ok((done, h))
        }));
    }
    let mut total = 0;
    let mut hist = hdrhistogram::Histogram::<u64>::new(3)?;
    for t in tasks {
        let (d, h) = t.await??;
        total += d;
        hist.add(h)?;
    }
    Ok((total, hist, start.elapsed()))
}

/// p50 and p99 latency figures (ms) from a histogram of microseconds.
pub fn latency_figures(name: &str, h: &hdrhistogram::Histogram<u64>) -> [Figure; 2] {
    [
        Figure::new(
            &format!("{name}.p50"),
            h.value_at_quantile(0.5) as f64 / 1000.0,
            "ms",
            false,
        ),
        Figure::new(
            &format!("{name}.p99"),
            h.value_at_quantile(0.99) as f64 / 1000.0,
            "ms",
            false,
        ),
    ]
}
