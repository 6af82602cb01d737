//! `gameday scenario` and `gameday gates`: parse → capacity plan → boot → load with a
//! live progress line → drain + audit → scrape → gates → summary → reports → shutdown →
//! exit code (0 pass, 1 a gate failed, 2 bad usage/config, 3 invalid run).
//!
//! Pipeline failures are data: a stack that does not boot or a load that breaks ends in a
//! report whose gates are red (with the reason), never in a bare error. Only what a user
//! must fix before a run can mean anything (a bad scenario, a refused capacity plan, an
//! unknown knob) is an error, exit 2.

mod live;
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
use std::sync::Arc;
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
        ("shard-pause", vec![GateId::T5]),
        ("gateway-kill", vec![GateId::T6]),
        ("az-loss", vec![GateId::T7]),
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
    // Gates this build cannot judge yet are reported as not run (JUnit <skipped/>),
    // never as passed; they ride on the first run's report.
    let unbuilt: Vec<gates::GateResult> = selected
        .iter()
        .filter_map(|g| g.not_built().map(|why| gates::GateResult::not_run(*g, why)))
        .collect();
    let report = runtime()?.block_on(async {
        let mut runs = Vec::new();
        for s in &scenarios {
            runs.push(run_one(s, &args.flags).await?);
        }
        if let Some(first) = runs.first_mut() {
            first.gates.extend(unbuilt);
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

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
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
        // Every run leaves its report.html beside its logs (its directory exists once
        // the stack was asked to boot; a run refused before that has none).
        if let Some(d) = run.run_dir.as_deref().filter(|d| d.is_dir()) {
            match Report::new(vec![run.clone()]).write_html(d) {
                Ok(p) => println!("report: {}", p.display()),
                Err(e) => println!("report.html not written: {e:#}"),
            }
        }
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
pub(crate) async fn run_one(s: &Scenario, flags: &RunFlags) -> anyhow::Result<RunReport> {
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
    let mut plan_lines = vec![plan.to_string()];
    if let Some(note) = specs::burst_note(s, &stack_spec) {
        println!("  {note}");
        plan_lines.push(note);
    }
    print_fault_plan(s, &stack_spec);
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
            let stack = Arc::new(stack);
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
            // `drive` scraped the components' counters on every path (`close`).
            Stack::shutdown_shared(stack).await;
        }
    }
    let limits = stack::selfcheck::Thresholds::from(&s.thresholds.self_check);
    ev.self_check = sampler.finish(&limits).await;

    let gate_results = judge(s, &ev);
    let validity = gates::validity(&ev, &s.thresholds);
    Ok(RunReport {
        scenario: s.name.clone(),
        scenario_file: s.path.display().to_string(),
        thresholds_file: s.thresholds_path.display().to_string(),
        seed,
        verdict: RunReport::verdict_of(&validity, &gate_results, ev.faults.stopped_by.is_some()),
        duration_secs: started.elapsed().as_secs_f64(),
        plan: plan_lines,
        validity,
        gates: gate_results,
        aborted,
        run_dir: Some(run_dir),
        evidence: ev,
    })
}

/// The faults on the timeline, and those this backend cannot inject (listed before the
/// run, never silently skipped: their gates are reported as not run).
fn print_fault_plan(s: &Scenario, spec: &stack::StackSpec) {
    if s.file.faults.is_empty() {
        return;
    }
    let list: Vec<String> = s
        .file
        .faults
        .iter()
        .map(|f| {
            let f = f.get_ref();
            format!(
                "{} {} at {} s{}",
                f.verb,
                f.target.as_deref().unwrap_or(""),
                f.at_secs,
                f.duration_secs
                    .map(|d| format!(" for {d} s"))
                    .unwrap_or_default()
            )
        })
        .collect();
    println!("fault timeline: {}", list.join("; "));
    if !matches!(spec.backend, stack::Backend::Embedded) {
        let unsupported: Vec<String> = s
            .file
            .faults
            .iter()
            .map(|f| f.get_ref().verb)
            .filter(|v| v.needs_backend_hooks())
            .map(|v| v.to_string())
            .collect();
        if !unsupported.is_empty() {
            println!(
                "unsupported by this backend (their gates will be reported as not run): {}",
                unsupported.join(", ")
            );
        }
    }
}

/// Load with the progress line, faults on their timeline and stop conditions watching,
/// then the faults repaired, the drain and the storage audit.
async fn drive(
    s: &Scenario,
    seed: u64,
    stack: &Arc<Stack>,
    ev: &mut RunEvidence,
) -> anyhow::Result<()> {
    let target = specs::target(stack);
    let mut load = specs::load_spec(s, seed);
    load.failover = stack.spec.knobs.producers_failover;
    let knob = Arc::new(crate::load::knob::LoadKnob::default());
    load.knob = Some(knob.clone());
    let (tx, rx) = tokio::sync::watch::channel(crate::load::Progress::default());
    let printer = tokio::spawn(progress::print(rx.clone()));
    let live = live::Live::start(s, seed, stack, rx, knob).await;
    let mut tripped = live.tripped.clone();
    let cpu = stack::cpu::CpuMark::take(&stack.pids());
    let outcome = tokio::select! {
        o = crate::load::run(&target, &load, tx) => Some(o),
        // Only a tripped condition ends the load early (the channel stays open: `Live`
        // holds its sender).
        Ok(_) = tripped.wait_for(|t| t.is_some()) => None,
    };
    let _ = printer.await;
    let lease_ms = stack.spec.knobs.delivery_lease_ms.unwrap_or(10_000);
    let Some(outcome) = outcome else {
        live.end_load("run aborted by a stop condition").await;
        close(live, s, stack, lease_ms, ev).await;
        if let Some(t) = &ev.faults.stopped_by {
            println!(
                "\nrun ABORTED: stop condition {} tripped at {:.1} s (measured {:.1})",
                t.condition,
                t.at_ms as f64 / 1000.0,
                t.figure
            );
        }
        return Ok(());
    };
    live.end_load("load ended").await;
    ev.load_cpu = Some(cpu.since(&stack.pids()));
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => {
            close(live, s, stack, lease_ms, ev).await;
            return Err(e);
        }
    };
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
    .context("storage audit");
    let audited = audit.map(|a| ev.audit = Some(a));
    close(live, s, stack, lease_ms, ev).await;
    audited
}

/// The faults' evidence and the components' counters are in: the run is judged as its
/// report will be, the verdicts go out in the control API's last snapshots, and the
/// control API stops.
async fn close(live: live::Live, s: &Scenario, stack: &Stack, lease_ms: u64, ev: &mut RunEvidence) {
    ev.faults = live.evidence(lease_ms);
    ev.component_counters = stack.scrape().await;
    live.close(&judge(s, ev)).await;
}

/// The scenario's gates on this evidence; an aborted run judges nothing (its gates are
/// reported as not run).
fn judge(s: &Scenario, ev: &RunEvidence) -> Vec<gates::GateResult> {
    match &ev.faults.stopped_by {
        Some(t) => s
            .gates()
            .iter()
            .map(|&g| {
                gates::GateResult::not_run(
                    g,
                    format!("run aborted: stop condition {}", t.condition),
                )
            })
            .collect(),
        None => gates::evaluate_all(s.gates(), ev, &s.thresholds),
    }
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
