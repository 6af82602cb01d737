//! `gameday scenario` and `gameday gates`: parse → capacity plan → boot → load with a
//! live progress line → drain + audit → scrape → gates → summary → reports → shutdown →
//! exit code (0 pass, 1 a gate failed, 2 bad usage/config, 3 invalid run).
//!
//! Pipeline failures are data: a stack that does not boot or a load that breaks ends in a
//! report whose gates are red (with the reason), never in a bare error. Only what a user
//! must fix before a run can mean anything (a bad scenario, a refused capacity plan, an
//! unknown knob) is an error, exit 2.

mod progress;
pub(crate) mod specs;

use crate::cli::{GatesArgs, RunFlags, ScenarioArgs};
use crate::evidence::RunEvidence;
use crate::gates::{self, GateId};
use crate::report::{Report, RunReport, summary_table};
use crate::scenario::{Overrides, Scenario};
use crate::stack::{self, Stack};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

pub fn scenario(args: ScenarioArgs) -> anyhow::Result<ExitCode> {
    let path = Scenario::find(&args.scenario)?;
    let scenario = Scenario::load(&path, &overrides(&args.flags, None)?)?;
    let report = runtime()?.block_on(async {
        let run = run_one(&scenario, &args.flags).await?;
        anyhow::Ok(Report::new(vec![run]))
    })?;
    finish(&report, args.flags.report_dir.as_deref())
}

pub fn gates(args: GatesArgs) -> anyhow::Result<ExitCode> {
    let selected: Vec<GateId> = if args.only.is_empty() {
        GateId::ALL.to_vec()
    } else {
        args.only
            .iter()
            .map(|g| g.parse::<GateId>().map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<_>>()?
    };
    // One stack per scenario; each scenario judges only the selected gates it carries.
    let plan: Vec<(&str, Vec<GateId>)> = [
        ("baseline", vec![GateId::T0, GateId::T1]),
        ("burst", vec![GateId::T2]),
        ("hygiene", vec![GateId::T3]),
    ]
    .into_iter()
    .map(|(name, gs)| {
        (
            name,
            gs.into_iter().filter(|g| selected.contains(g)).collect(),
        )
    })
    .filter(|(_, gs): &(&str, Vec<GateId>)| !gs.is_empty())
    .collect();
    let mut scenarios = Vec::new();
    for (name, gs) in &plan {
        let path = Scenario::find(name)?;
        let s = Scenario::load(&path, &overrides(&args.flags, Some(gs.clone()))?)?;
        let missing: Vec<String> = gs
            .iter()
            .filter(|g| !s.gates().contains(g))
            .map(|g| g.to_string())
            .collect();
        anyhow::ensure!(
            missing.is_empty(),
            "{}: gates = {:?} does not judge {} (the gates suite runs it for them)",
            path.display(),
            s.gates(),
            missing.join(", ")
        );
        scenarios.push(s);
    }
    println!(
        "gameday gates: {} → {}",
        selected
            .iter()
            .map(|g| g.to_string())
            .collect::<Vec<_>>()
            .join(","),
        scenarios
            .iter()
            .map(|s| s.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let report = runtime()?.block_on(async {
        let mut runs = Vec::new();
        for s in &scenarios {
            runs.push(run_one(s, &args.flags).await?);
        }
        anyhow::Ok(Report::new(runs))
    })?;
    finish(&report, args.flags.report_dir.as_deref())
}

fn overrides(f: &RunFlags, gates: Option<Vec<GateId>>) -> anyhow::Result<Overrides> {
    if let Some(s) = f.duration_scale {
        anyhow::ensure!(s > 0.0 && s.is_finite(), "--duration-scale must be > 0");
    }
    if let Some(r) = f.base_rate {
        anyhow::ensure!(r > 0.0 && r.is_finite(), "--base-rate must be > 0");
    }
    Ok(Overrides {
        seed: f.seed,
        duration_scale: f.duration_scale,
        base_rate: f.base_rate,
        gates,
    })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    // The harness shares 2 cores with every component: two workers.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")
}

fn finish(report: &Report, dir: Option<&Path>) -> anyhow::Result<ExitCode> {
    for run in &report.runs {
        println!("{}", summary_table(run));
    }
    if let Some(dir) = dir {
        report.write(dir)?;
        println!("reports: {}", dir.display());
    }
    println!(
        "verdict: {} (exit code {})",
        report.verdict.label(),
        report.exit_code
    );
    Ok(report.exit())
}

/// One scenario, judged. Errors only for what makes the run meaningless (exit 2).
async fn run_one(s: &Scenario, flags: &RunFlags) -> anyhow::Result<RunReport> {
    if let Some(f) = s.file.faults.first() {
        anyhow::bail!(
            "{}: fault verb {:?} is not implemented yet (faults arrive with their gates); \
             remove [[faults]] to run this scenario",
            s.path.display(),
            f.verb
        );
    }
    let started = Instant::now();
    let seed = s.file.seed.unwrap_or_else(rand::random);
    let run_dir = run_dir(s, flags);
    let knobs = specs::knobs(&flags.set)?;
    let stack_spec = specs::stack_spec(s, seed, &run_dir, knobs, None);
    let plan = stack::capacity_plan(&stack_spec)
        .map_err(|e| anyhow::anyhow!("{}: {e}", s.path.display()))?;
    println!(
        "scenario {} — {} ({:.0} s of load; seed {seed}, replay with --seed {seed})",
        s.name,
        s.file.description,
        s.load_secs()
    );
    println!("capacity plan: {plan}");
    println!("run directory: {}", run_dir.display());

    let mut ev = RunEvidence {
        scenario: s.name.clone(),
        seed,
        ..RunEvidence::default()
    };
    let sampler = stack::selfcheck::SelfCheckSampler::start();
    let mut aborted = None;
    match Stack::boot(&stack_spec).await {
        Err(e) => {
            println!("stack did not boot: {e}");
            aborted = Some(format!("stack did not boot: {e}"));
        }
        Ok(stack) => {
            ev.stack_booted = true;
            ev.boot_ms = stack.boot_ms;
            println!(
                "booted in {} ms: {} gateways, {} delivery workers, query, {} shards",
                stack.boot_ms,
                stack.gateways.len(),
                stack.delivery.len(),
                stack.shards.len()
            );
            for m in &stack.missing {
                println!("  not booted: {m}");
            }
            if let Err(e) = drive(s, seed, &stack, &mut ev).await {
                println!("load stopped: {e:#}");
                aborted = Some(format!("load stopped: {e:#}"));
            }
            ev.component_counters = stack.scrape().await;
            if let Err(e) = stack.shutdown().await {
                tracing::warn!("stack shutdown: {e:#}");
            }
        }
    }
    let limits = stack::selfcheck::Thresholds::from(&s.thresholds.self_check);
    ev.self_check = sampler.finish(&limits).await;

    let gate_results = gates::evaluate_all(s.gates(), &ev, &s.thresholds);
    let validity = gates::validity(&ev, &s.thresholds);
    Ok(RunReport {
        scenario: s.name.clone(),
        scenario_file: s.path.display().to_string(),
        thresholds_file: s.thresholds_path.display().to_string(),
        seed,
        verdict: RunReport::verdict_of(&validity, &gate_results),
        duration_secs: started.elapsed().as_secs_f64(),
        plan: vec![plan.to_string()],
        validity,
        gates: gate_results,
        aborted,
        evidence: ev,
    })
}

/// Load with the progress line, then drain and the storage audit.
async fn drive(s: &Scenario, seed: u64, stack: &Stack, ev: &mut RunEvidence) -> anyhow::Result<()> {
    let target = specs::target(stack);
    let load = specs::load_spec(s, seed);
    let (tx, rx) = tokio::sync::watch::channel(crate::load::Progress::default());
    let printer = tokio::spawn(progress::print(rx));
    let outcome = crate::load::run(&target, &load, tx).await;
    let _ = printer.await;
    let outcome = outcome?;
    ev.steps = outcome.steps;
    ev.hygiene = outcome.hygiene;
    ev.probes = outcome.probes;
    let mut failover = outcome.failover;
    let names: Vec<(String, String)> = stack
        .gateways
        .iter()
        .map(|c| (c.url.clone(), c.name.clone()))
        .collect();
    failover.name_gateways(&names);
    ev.failover = Some(failover);
    println!(
        "load done; draining (up to {:.0} s) and auditing storage",
        load.drain_timeout_secs
    );
    let audit = crate::load::audit(
        &target,
        &outcome.ledger,
        Duration::from_secs_f64(load.drain_timeout_secs),
    )
    .await
    .context("storage audit")?;
    ev.audit = Some(audit);
    Ok(())
}

fn run_dir(s: &Scenario, flags: &RunFlags) -> PathBuf {
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let name = format!("{}-{stamp}", s.name);
    match &flags.report_dir {
        Some(dir) => dir.join("runs").join(name),
        None => PathBuf::from(".gameday/runs").join(name),
    }
}
