//! `gameday bench gateway`: one ingest gateway child over an emulator child, driven
//! from this process by an open-model load generator (fixed arrival rate). Figures: max
//! sustained samples/s for remote_write and OTLP/HTTP with TLS on and off, TTFB p50/p99
//! at 50,000 samples/s (steady state after a warm-up, and the warm-up's own figure beside
//! it), peak RSS under 5× overload (with the share of 429/503/dropped),
//! and the CPU cores gateway, emulator and this client used.

use super::figures::{Figure, Figures};
use super::gateway_load::{self, Outcome, Plan};
use super::gateway_payload::{self, Format};
use super::gateway_stack::Stack;
use super::{load_average, measure_and_report};
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, clap::Args)]
pub struct GatewayBenchArgs {
    /// Seconds per offered-rate step.
    #[arg(long, default_value_t = 4.0)]
    pub secs: f64,
    /// Only these parts (comma separated): remote_write, otlp, overload.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "remote_write,otlp,overload"
    )]
    pub only: Vec<String>,
    /// TLS on the gateway listener: on, off or both.
    #[arg(long, default_value = "both", value_parser = ["on", "off", "both"])]
    pub tls: String,
    /// Offered rates (samples/s) stepped through; stepping stops at the first step that
    /// is not sustained.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "50000,100000,200000,300000,350000,400000"
    )]
    pub steps: Vec<f64>,
    /// Samples per request.
    #[arg(long, default_value_t = 500)]
    pub samples_per_request: usize,
    /// Requests outstanding at most; sends beyond are counted as dropped.
    #[arg(long, default_value_t = 256)]
    pub max_in_flight: usize,
    /// Seconds of 50,000 samples/s on each fresh stack before anything is measured (TLS
    /// handshakes, tokens, first hygiene verdicts of every series); its TTFB is reported
    /// as `ttfb_warmup` beside the steady-state figures, never mixed into them.
    #[arg(long, default_value_t = 2.0)]
    pub warmup_secs: f64,
    /// Seconds of the steady-state TTFB step at 50,000 samples/s (remote_write, TLS on);
    /// its p99 is the 1 %-worst of rate × secs / samples-per-request requests.
    #[arg(long, default_value_t = 10.0)]
    pub ttfb_secs: f64,
    /// Where the previous run's figures are kept (compared, then replaced).
    #[arg(long, default_value = ".gameday/bench/gateway.json")]
    pub baseline: PathBuf,
}

const TARGET_SAMPLES: f64 = 300_000.0;
const TTFB_RATE: f64 = 50_000.0;

pub fn run(args: GatewayBenchArgs) -> anyhow::Result<ExitCode> {
    if args.secs <= 0.0 || args.secs > 60.0 {
        bail!("--secs must be in (0, 60]");
    }
    if !(0.0..=60.0).contains(&args.warmup_secs) || args.ttfb_secs <= 0.0 || args.ttfb_secs > 120.0
    {
        bail!("--warmup-secs must be in [0, 60] and --ttfb-secs in (0, 120]");
    }
    if args.steps.is_empty() || args.steps.len() > 12 || args.steps.iter().any(|s| *s <= 0.0) {
        bail!("--steps takes 1 to 12 positive rates");
    }
    if args.samples_per_request == 0 || args.max_in_flight == 0 {
        bail!("--samples-per-request and --max-in-flight must be positive");
    }
    measure_and_report(&args.baseline, figures(&args))
}

async fn figures(args: &GatewayBenchArgs) -> anyhow::Result<Figures> {
    let wants = |p: &str| args.only.iter().any(|o| o == p);
    let tls_modes: &[bool] = match args.tls.as_str() {
        "on" => &[true],
        "off" => &[false],
        _ => &[true, false],
    };
    eprintln!(
        "bench gateway: {} s per step, {} samples/request, ≤ {} in flight, load average {}",
        args.secs,
        args.samples_per_request,
        args.max_in_flight,
        load_average()
    );
    let mut figures = Figures::default();
    let mut sustained_rw_tls: Option<f64> = None;
    for format in [Format::RemoteWrite, Format::Otlp] {
        if !wants(format.name()) {
            continue;
        }
        for &tls in tls_modes {
            let (max, fs) = step_up(args, format, tls).await?;
            figures.extend(fs);
            if format == Format::RemoteWrite && tls {
                sustained_rw_tls = Some(max);
            }
        }
    }
    if wants("overload") {
        figures.extend(overload(args, sustained_rw_tls).await?);
    }
    eprintln!("  done; load average {}", load_average());
    Ok(figures)
}

fn phase_name(format: Format, tls: bool) -> String {
    format!("{}.tls_{}", format.name(), if tls { "on" } else { "off" })
}

/// CPU seconds of gateway, emulator and this process.
struct Cpu {
    gateway: f64,
    emulator: f64,
    client: f64,
    at: Instant,
}

impl Cpu {
    fn mark(stack: &Stack) -> Cpu {
        Cpu {
            gateway: stack.gateway_cpu_seconds().unwrap_or(0.0),
            emulator: stack.emulator.cpu_seconds().unwrap_or(0.0),
            client: super::child::cpu_seconds_of(std::process::id()).unwrap_or(0.0),
            at: Instant::now(),
        }
    }

    /// Cores used since `self`: (gateway, emulator, client).
    fn cores_since(&self, stack: &Stack) -> (f64, f64, f64) {
        let now = Cpu::mark(stack);
        let secs = now.at.duration_since(self.at).as_secs_f64().max(1e-3);
        (
            (now.gateway - self.gateway) / secs,
            (now.emulator - self.emulator) / secs,
            (now.client - self.client) / secs,
        )
    }
}

struct Step {
    outcome: Outcome,
    cores: (f64, f64, f64),
}

async fn offer(
    args: &GatewayBenchArgs,
    stack: &Stack,
    format: Format,
    bodies: &Arc<Vec<bytes::Bytes>>,
    samples_per_sec: f64,
    secs: f64,
) -> anyhow::Result<Step> {
    let mut headers: Vec<(&'static str, String)> = format
        .headers()
        .iter()
        .map(|(h, v)| (*h, v.to_string()))
        .collect();
    headers.push(("x-api-key", stack.api_key.to_string()));
    let plan = Plan {
        url: format!("{}{}", stack.url, format.path()),
        headers,
        bodies: bodies.clone(),
        rate: samples_per_sec / args.samples_per_request as f64,
        secs: Duration::from_secs_f64(secs),
        max_in_flight: args.max_in_flight,
        drain: Duration::from_secs(5),
    };
    let cpu = Cpu::mark(stack);
    let outcome = gateway_load::run(&stack.client, plan).await?;
    let cores = cpu.cores_since(stack);
    Ok(Step { outcome, cores })
}

fn progress(label: &str, offered: f64, spr: usize, s: &Step) {
    let o = &s.outcome;
    let acked = o.acked_rate(spr);
    eprintln!(
        "    {label} offered {:>7.0}/s: acked {:>7.0}/s ({:.2} % of {} req), 429 {} 503 {} other {} err {} dropped {} unfinished {}, TTFB p50 {:.1} ms p99 {:.1} ms, backlog {:?}{}, cores gw {:.2} emu {:.2} client {:.2} → {}",
        offered,
        acked,
        o.ok_share() * 100.0,
        o.scheduled,
        o.status_429,
        o.status_503,
        o.status_other,
        o.errors,
        o.dropped,
        o.unfinished,
        o.ttfb.value_at_quantile(0.5) as f64 / 1000.0,
        o.ttfb.value_at_quantile(0.99) as f64 / 1000.0,
        o.backlog.iter().max().copied().unwrap_or(0),
        if o.backlog_grew() { " growing" } else { "" },
        s.cores.0,
        s.cores.1,
        s.cores.2,
        if o.sustained() {
            "sustained"
        } else {
            "NOT sustained"
        },
    );
    if let Some(d) = &o.first_other {
        eprintln!("      first unexpected answer: {}", truncate(d, 300));
    }
}

fn truncate(s: &str, n: usize) -> &str {
    match s.char_indices().nth(n) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// One request before measuring: a refusal here is a bench bug, not a speed figure.
async fn check_accepted(stack: &Stack, format: Format, body: &bytes::Bytes) -> anyhow::Result<()> {
    let mut req = stack
        .client
        .post(format!("{}{}", stack.url, format.path()))
        .header("x-api-key", stack.api_key)
        .body(body.clone());
    for (h, v) in format.headers() {
        req = req.header(*h, *v);
    }
    let resp = req.send().await.context("first request")?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() || text.contains("rejected") {
        bail!(
            "the gateway refused the bench's {} payload: {status} {}\n{}",
            format.name(),
            truncate(&text, 500),
            stack.gateway_log_tail()
        );
    }
    Ok(())
}

/// Steps the offered rate up on a fresh stack; returns the highest sustained acked rate.
async fn step_up(
    args: &GatewayBenchArgs,
    format: Format,
    tls: bool,
) -> anyhow::Result<(f64, Vec<Figure>)> {
    let name = phase_name(format, tls);
    eprintln!("  {name}: fresh emulator + gateway, stepping the offered rate …");
    let stack = Stack::start(tls, args.max_in_flight).await?;
    let bodies = Arc::new(gateway_payload::bodies(
        format,
        args.samples_per_request,
        64,
    )?);
    check_accepted(&stack, format, &bodies[0]).await?;
    let spr = args.samples_per_request;
    let mut figures = Vec::new();
    let mut best = 0.0f64;
    let mut top: Option<Step> = None;
    let ttfb_phase = format == Format::RemoteWrite && tls;
    if args.warmup_secs > 0.0 {
        let s = offer(args, &stack, format, &bodies, TTFB_RATE, args.warmup_secs).await?;
        progress(&format!("{name} warm-up"), TTFB_RATE, spr, &s);
        if ttfb_phase {
            let p99 = s.outcome.ttfb.value_at_quantile(0.99) as f64 / 1000.0;
            figures.push(Figure::new(
                &format!("{name}.ttfb_warmup.p99"),
                p99,
                "ms",
                false,
            ));
        }
    }
    // TTFB at 50,000 samples/s in steady state: its own, longer step.
    if ttfb_phase {
        let s = offer(args, &stack, format, &bodies, TTFB_RATE, args.ttfb_secs).await?;
        progress(&format!("{name} TTFB"), TTFB_RATE, spr, &s);
        figures.extend(ttfb_figures(&name, &s.outcome));
    }
    for &rate in &args.steps {
        let s = offer(args, &stack, format, &bodies, rate, args.secs).await?;
        progress(&name, rate, spr, &s);
        let sustained = s.outcome.sustained();
        if sustained {
            let o = &s.outcome;
            best = best.max(o.acked_rate(spr).min(rate));
        }
        top = Some(s);
        if !sustained {
            break;
        }
    }
    figures.push(
        Figure::new(&format!("{name}.max_sustained"), best, "smp/s", true).target(TARGET_SAMPLES),
    );
    if let Some(s) = top {
        let o = &s.outcome;
        figures.push(Figure::new(
            &format!("{name}.top_step_acked"),
            o.acked_rate(spr),
            "smp/s",
            true,
        ));
        figures.push(Figure::new(
            &format!("{name}.gateway_cpu"),
            s.cores.0,
            "cores",
            false,
        ));
        figures.push(Figure::new(
            &format!("{name}.emulator_cpu"),
            s.cores.1,
            "cores",
            false,
        ));
        figures.push(Figure::new(
            &format!("{name}.client_cpu"),
            s.cores.2,
            "cores",
            false,
        ));
    }
    Ok((best, figures))
}

fn ttfb_figures(name: &str, o: &Outcome) -> Vec<Figure> {
    let ms = |q: f64| o.ttfb.value_at_quantile(q) as f64 / 1000.0;
    vec![
        Figure::new(&format!("{name}.ttfb_at_50k.p50"), ms(0.5), "ms", false),
        Figure::new(&format!("{name}.ttfb_at_50k.p99"), ms(0.99), "ms", false).target(10.0),
    ]
}

/// 5× the sustained rate (remote_write, TLS on) on a fresh stack: peak RSS and shares.
async fn overload(args: &GatewayBenchArgs, sustained: Option<f64>) -> anyhow::Result<Vec<Figure>> {
    let base = match sustained {
        Some(s) if s > 0.0 => s,
        Some(_) => args.steps[0],
        None => TARGET_SAMPLES,
    };
    let rate = 5.0 * base;
    let format = Format::RemoteWrite;
    eprintln!(
        "  overload: remote_write, TLS on, offered {rate:.0} samples/s (5 × {base:.0}) on a fresh stack …"
    );
    let stack = Stack::start(true, args.max_in_flight).await?;
    let bodies = Arc::new(gateway_payload::bodies(
        format,
        args.samples_per_request,
        64,
    )?);
    check_accepted(&stack, format, &bodies[0]).await?;
    let s = offer(args, &stack, format, &bodies, rate, args.secs.max(3.0)).await?;
    progress("overload", rate, args.samples_per_request, &s);
    let o = &s.outcome;
    let peak = stack.gateway_peak_rss()? as f64 / (1 << 20) as f64;
    let share = |n: u64| n as f64 / o.scheduled.max(1) as f64 * 100.0;
    Ok(vec![
        Figure::new("overload.offered", rate, "smp/s", false),
        Figure::new("overload.gateway_peak_rss", peak, "MiB", false).target(200.0),
        Figure::new("overload.share_2xx", share(o.ok), "%", true),
        Figure::new("overload.share_429", share(o.status_429), "%", false),
        Figure::new("overload.share_503", share(o.status_503), "%", false),
        Figure::new("overload.share_dropped", share(o.dropped), "%", false),
        Figure::new(
            "overload.share_other",
            share(o.status_other + o.errors + o.unfinished),
            "%",
            false,
        ),
        Figure::new("overload.gateway_cpu", s.cores.0, "cores", false),
        Figure::new("overload.emulator_cpu", s.cores.1, "cores", false),
        Figure::new("overload.client_cpu", s.cores.2, "cores", false),
    ])
}
