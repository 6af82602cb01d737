//! `gameday bench e2e`: the whole pipeline on this machine, the way the gates run it —
//! the rig's producers (remote_write and OTLP, TLS) → the gateways → Kinesis (the
//! embedded backend, AWS limits on, shards from the capacity plan) → delivery →
//! committed Parquet, the query service following with a canary per tenant and shard.
//! Each offered rate is one run of `scenarios/e2e.toml` on a fresh stack sized for it;
//! stepping stops at the first rate that is not sustained by `[e2e]` in thresholds.toml
//! (acked share, no quota 429, freshness p99, nothing lost by the ledger's independent
//! audit, every canary visible, a valid self-check). Figures: the highest sustained
//! samples/s and, at that step, the cores per 100,000 samples/s of each process group
//! and of the machine (comparable between runs whichever step that was).

use super::figures::{Figure, Figures};
use super::{load_average, measure_and_report};
use crate::cli::RunFlags;
use crate::gates::Check;
use crate::report::RunReport;
use crate::scenario::{E2eThresholds, Overrides, Scenario, Thresholds};
use anyhow::bail;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct E2eBenchArgs {
    /// Offered rates (samples/s over all tenants) stepped through in order; stepping
    /// stops at the first one that is not sustained. Each boots a fresh stack.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "100000,150000,200000,250000,300000,400000,500000,600000"
    )]
    pub steps: Vec<f64>,
    /// Seconds of load per step (boot, drain and audit come on top, ~15 s).
    #[arg(long, default_value_t = 20.0)]
    pub secs: f64,
    /// Seed of every step's run (replay a step with `gameday scenario e2e --seed …
    /// --base-rate …`).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where each step's run directory (logs, report.html) goes; default .gameday/runs.
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Where the previous run's figures are kept (compared, then replaced).
    #[arg(long, default_value = ".gameday/bench/e2e.json")]
    pub baseline: PathBuf,
}

pub fn run(args: E2eBenchArgs) -> anyhow::Result<ExitCode> {
    if args.steps.is_empty() || args.steps.len() > 12 || args.steps.iter().any(|s| *s <= 0.0) {
        bail!("--steps takes 1 to 12 positive rates (samples/s)");
    }
    if !(2.0..=600.0).contains(&args.secs) {
        bail!("--secs must be in [2, 600]");
    }
    let path = Scenario::find("e2e")?;
    let template = Scenario::load(&path, &Overrides::default())?;
    let scale = args.secs / template.load_secs();
    measure_and_report(&args.baseline, async move {
        let mut steps = Vec::new();
        eprintln!(
            "bench e2e: {} s per step, rates {:?} samples/s, load average {}",
            args.secs,
            args.steps,
            load_average()
        );
        for &rate in &args.steps {
            let overrides = Overrides {
                seed: args.seed,
                duration_scale: Some(scale),
                base_rate: Some(rate),
                gates: None,
            };
            let s = Scenario::load(&path, &overrides)?;
            let flags = RunFlags {
                report_dir: args.report_dir.clone(),
                ..RunFlags::default()
            };
            eprintln!("\n== e2e step: {rate} samples/s offered ==");
            // A step that cannot run (e.g. a capacity plan refused at this rate) ends the
            // stepping; the steps before it still count.
            let report = match crate::run::run_one(&s, &flags).await {
                Ok(r) => r,
                Err(e) => {
                    eprintln!("the step at {rate} samples/s did not run: {e:#}");
                    break;
                }
            };
            let step = Step::of(rate, &report, &s.thresholds);
            eprintln!("{}", step.describe());
            let sustained = step.sustained();
            steps.push(step);
            if !sustained {
                break;
            }
        }
        eprintln!("\n{}", table(&steps));
        eprintln!("load average {}", load_average());
        Ok(figures(&steps, &template.thresholds.e2e))
    })
}

/// One offered rate's run, judged.
pub struct Step {
    pub offered: f64,
    /// Samples acked per second of load.
    pub acked_per_sec: f64,
    pub checks: Vec<Check>,
    /// Cores by process (`gateway-a`, …, `harness`) and the machine's: CPU seconds spent
    /// on the step's load (its canaries' tail included) per second of the step.
    pub cores: BTreeMap<String, f64>,
    pub machine_cores: f64,
    pub freshness_p99_ms: Option<f64>,
}

impl Step {
    pub fn of(offered: f64, r: &RunReport, thresholds: &Thresholds) -> Step {
        let th = &thresholds.e2e;
        let ev = &r.evidence;
        let offered_items: u64 = ev.steps.iter().map(|s| s.items_offered).sum();
        let acked: u64 = ev.steps.iter().map(|s| s.items_acked).sum();
        let quota: u64 = ev
            .steps
            .iter()
            .filter_map(|s| s.items_rejected.get("quota_exceeded"))
            .sum();
        let load_secs: f64 = ev.steps.iter().map(|s| s.duration_secs).sum();
        let planned: f64 = ev
            .steps
            .iter()
            .map(|s| offered * s.multiplier * s.duration_secs)
            .sum();
        let freshness = (ev.probes.freshness.count > 0).then_some(ev.probes.freshness.p99_ms);
        let mut checks = Vec::new();
        let stopped = ev
            .faults
            .stopped_by
            .as_ref()
            .map(|t| format!("stop condition {} tripped", t.condition));
        if let Some(why) = r.aborted.clone().or(stopped) {
            checks.push(Check::new("the run", why, "runs to its end".into(), false));
        }
        checks.push(Check::ratio_at_least(
            "samples offered of the step's rate × seconds",
            offered_items,
            planned.round() as u64,
            th.offered_ratio_min,
        ));
        checks.push(Check::ratio_at_least(
            "samples acked",
            acked,
            offered_items,
            th.acked_ratio_min,
        ));
        checks.push(Check::count_at_most(
            "samples refused 429 quota_exceeded",
            quota,
            th.quota_rejected_max,
            "",
        ));
        // Freshness counts only the canaries that became visible: one that never did is
        // a failure of its own.
        checks.push(Check::ratio_at_least(
            "canaries visible through the query service",
            ev.probes.canaries_visible,
            ev.probes.canaries_sent,
            thresholds.canary.visible_ratio_min,
        ));
        checks.push(Check::ms_at_most(
            "freshness p99 (canaries through the query service)",
            freshness,
            th.freshness_p99_ms_max,
            "no canary became visible",
        ));
        checks.push(match &ev.audit {
            Some(a) => Check::count_at_most(
                "acked samples lost (independent audit)",
                a.lost,
                th.lost_max,
                &format!("of {} acked", a.acked),
            ),
            None => Check::missing(
                "acked samples lost (independent audit)",
                "no audit",
                format!("≤ {}", th.lost_max),
            ),
        });
        checks.push(Check::new(
            "self-check",
            if r.validity.valid {
                "valid".into()
            } else {
                r.validity.reasons.join("; ")
            },
            "valid".into(),
            r.validity.valid,
        ));
        let per_sec = |cpu: f64| cpu / load_secs.max(1e-3);
        let (cores, machine_cores) = match &ev.load_cpu {
            Some(c) => (
                c.cpu_seconds
                    .iter()
                    .map(|(n, s)| (n.clone(), per_sec(*s)))
                    .collect(),
                per_sec(c.machine_busy_seconds),
            ),
            None => (BTreeMap::new(), 0.0),
        };
        Step {
            offered,
            acked_per_sec: acked as f64 / load_secs.max(1e-3),
            checks,
            cores,
            machine_cores,
            freshness_p99_ms: freshness,
        }
    }

    pub fn sustained(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }

    /// Cores of the processes whose name starts with `prefix` (`gateway`, `delivery`,
    /// `query`, `harness`), summed.
    pub fn cores_of(&self, prefix: &str) -> f64 {
        self.cores
            .iter()
            .filter(|(n, _)| n.starts_with(prefix))
            .map(|(_, c)| c)
            .sum()
    }

    fn describe(&self) -> String {
        let mut out = format!(
            "{} samples/s offered: {}",
            self.offered,
            if self.sustained() {
                "sustained"
            } else {
                "NOT sustained"
            }
        );
        for c in &self.checks {
            out.push_str(&format!("\n  {c}"));
        }
        out
    }
}

/// Process groups the CPU is reported by.
const GROUPS: [&str; 4] = ["gateway", "delivery", "query", "harness"];

fn table(steps: &[Step]) -> String {
    let mut out = format!(
        "{:>9} {:>10} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8}  verdict",
        "offered", "acked/s", "fresh p99", "gateway", "delivery", "query", "harness", "machine"
    );
    for s in steps {
        out.push_str(&format!(
            "\n{:>9.0} {:>10.0} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}  {}",
            s.offered,
            s.acked_per_sec,
            s.freshness_p99_ms
                .map_or("-".into(), |f| format!("{f:.0} ms")),
            s.cores_of("gateway"),
            s.cores_of("delivery"),
            s.cores_of("query"),
            s.cores_of("harness"),
            s.machine_cores,
            if s.sustained() {
                "sustained".to_string()
            } else {
                let failed: Vec<&str> = s
                    .checks
                    .iter()
                    .filter(|c| !c.passed)
                    .map(|c| c.what.as_str())
                    .collect();
                format!("not sustained: {}", failed.join(", "))
            }
        ));
    }
    out.push_str("\n(cores: CPU seconds per second of load, by process group)");
    out
}

/// The highest sustained step's figures (0 sustained when none was): its samples/s and,
/// comparable between runs whatever step that was, the cores per 100,000 samples/s of
/// each process group and of the machine.
pub fn figures(steps: &[Step], th: &E2eThresholds) -> Figures {
    let mut f = Figures::default();
    let best = steps
        .iter()
        .filter(|s| s.sustained())
        .max_by(|a, b| a.acked_per_sec.total_cmp(&b.acked_per_sec));
    f.push(
        Figure::new(
            "e2e.max_sustained",
            best.map_or(0.0, |s| s.acked_per_sec),
            "samples/s",
            true,
        )
        .target(th.max_sustained_target),
    );
    let Some(best) = best.filter(|s| s.acked_per_sec > 0.0) else {
        return f;
    };
    let per_100k = |cores: f64| cores / best.acked_per_sec * 100_000.0;
    for g in GROUPS {
        f.push(Figure::new(
            &format!("e2e.cores_per_100k.{g}"),
            per_100k(best.cores_of(g)),
            "cores",
            false,
        ));
    }
    f.push(Figure::new(
        "e2e.cores_per_100k.machine",
        per_100k(best.machine_cores),
        "cores",
        false,
    ));
    f
}

#[cfg(test)]
#[path = "e2e_tests.rs"]
mod tests;
