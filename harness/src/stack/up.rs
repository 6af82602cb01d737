//! `gameday stack-up` (hidden): boots a stack and keeps it up, driven by one-line
//! commands on stdin — the integration tests' handle on a real stack in a separate
//! process (so they can SIGKILL the harness and watch the children die), and a manual
//! debugging aid. Prints `STACK <json>` when ready (or `ERR <message>`), answers each
//! command with `OK <json>` or `ERR <message>`, stops on `quit`, stdin EOF or Ctrl-C.
//!
//! Commands: `cut <az>`, `restore <az>`, `kill <name> <KILL|STOP|CONT|TERM|INT>`,
//! `restart <name>`, `running <name>`, `pids`, `scrape`, `scrape <name>` (one
//! component's `/metrics`), `describe`, `events <id-prefix>` (the committed events,
//! read by the harness's own table reader), `quit`; a short background load
//! (`up_load`): `load <secs> <samples_per_sec> <on|off>`, `load-wait`; and the fault
//! engine's run-time API: `fault <entry as JSON>` (inject; answers the record), `faults`
//! (list), `clear <id>`, `repair` (clear all), `fault-events`.

use super::{Backend, Stack, StackSpec};
use crate::faults::{EventLog, FaultEngine, FaultEntry, Source, StackTarget};
use anyhow::Context;
use clap::Args;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Debug, Args)]
pub struct StackUpArgs {
    /// Where configs, certificates and logs go.
    #[arg(long)]
    pub run_dir: PathBuf,
    /// Kinesis shards (default: what the capacity plan needs).
    #[arg(long)]
    pub shards: Option<u32>,
    /// An already running backend (LocalStack, `gameday emulate`) instead of the embedded one.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Availability zones.
    #[arg(long, value_delimiter = ',', default_value = "a,b,c")]
    pub azs: Vec<String>,
    /// Delivery's buffer interval (how long a worker holds rows before a flush).
    #[arg(long, default_value_t = 1_000)]
    pub delivery_buffer_ms: u64,
}

pub fn run(args: StackUpArgs) -> anyhow::Result<ExitCode> {
    crate::run::runtime()?.block_on(up(args))
}

async fn up(args: StackUpArgs) -> anyhow::Result<ExitCode> {
    let mut spec = StackSpec::new(&args.run_dir);
    spec.shards = args.shards;
    spec.azs = args.azs;
    spec.delivery_buffer_interval_ms = args.delivery_buffer_ms;
    if let Some(ep) = args.endpoint {
        spec.backend = Backend::Endpoint(ep);
    }
    // Registered before anything starts, so a Ctrl-C at any point is ours to handle
    // (tokio's `ctrl_c()` registers only when first polled).
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())
        .context("listening for Ctrl-C")?;
    let booted = tokio::select! {
        b = Stack::boot(&spec) => b,
        // Dropping the half-booted stack kills what was started.
        _ = interrupt.recv() => return Ok(ExitCode::from(130)),
    };
    let stack = match booted {
        Ok(s) => s,
        Err(e) => {
            println!("ERR {}", one_line(&e.to_string()));
            return Ok(ExitCode::from(1));
        }
    };
    println!("STACK {}", stack.describe());
    let stack = Arc::new(stack);
    let engine = FaultEngine::new(
        Arc::new(StackTarget::new(stack.clone()).await),
        Arc::new(EventLog::new()),
        0,
    );
    let mut lines = stdin_lines();
    let mut bg = super::up_load::BackgroundLoad::default();
    loop {
        let line = tokio::select! {
            l = lines.recv() => l,
            _ = interrupt.recv() => break,
        };
        let Some(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.first() == Some(&"quit") {
            break;
        }
        let answer = match words.as_slice() {
            ["load", args @ ..] => bg.start(&stack, args),
            ["load-wait"] => bg.wait().await,
            ["fault", ..] => {
                let json = line.trim_start().trim_start_matches("fault").trim();
                match serde_json::from_str::<FaultEntry>(json) {
                    Ok(entry) => engine
                        .inject(entry, Source::Api)
                        .await
                        .map(|r| serde_json::json!(r))
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(format!("bad fault entry: {e}")),
                }
            }
            ["faults"] => Ok(serde_json::json!(engine.list())),
            ["fault-events"] => Ok(serde_json::json!(engine.events().snapshot())),
            ["repair"] => Ok(serde_json::json!(engine.repair_all("repair").await)),
            ["clear", id] => match id.parse::<u64>().ok() {
                Some(id) => engine
                    .clear(id, "cleared")
                    .await
                    .map(|r| serde_json::json!(r))
                    .map_err(|e| e.to_string()),
                None => Err("clear takes a fault id".into()),
            },
            _ => command(&stack, &words).await,
        };
        match answer {
            Ok(v) => println!("OK {v}"),
            Err(e) => println!("ERR {}", one_line(&e)),
        }
    }
    engine.repair_all("stack stopping").await;
    drop(engine);
    Stack::shutdown_shared(stack).await;
    println!("STOPPED");
    Ok(ExitCode::SUCCESS)
}

async fn command(stack: &Stack, words: &[&str]) -> Result<serde_json::Value, String> {
    let ok = serde_json::Value::Bool(true);
    match words {
        ["cut", az] => stack.cut(az).map(|_| ok).map_err(|e| e.to_string()),
        ["restore", az] => stack.restore(az).map(|_| ok).map_err(|e| e.to_string()),
        ["kill", name, sig] => {
            let signal = match *sig {
                "KILL" => libc::SIGKILL,
                "STOP" => libc::SIGSTOP,
                "CONT" => libc::SIGCONT,
                "TERM" => libc::SIGTERM,
                "INT" => libc::SIGINT,
                other => return Err(format!("unknown signal {other}")),
            };
            stack
                .kill(name, signal)
                .await
                .map(|_| ok)
                .map_err(|e| e.to_string())
        }
        ["restart", name] => stack
            .restart(name)
            .await
            .map(|_| ok)
            .map_err(|e| e.to_string()),
        ["running", name] => Ok(serde_json::Value::Bool(stack.is_running(name))),
        ["pids"] => Ok(serde_json::json!(stack.pids())),
        ["scrape"] => Ok(serde_json::json!(stack.scrape().await)),
        ["scrape", name] => match stack
            .scrape_each(std::time::Duration::from_secs(2))
            .await
            .remove(*name)
        {
            Some(Ok(m)) => Ok(serde_json::json!(m)),
            Some(Err(e)) => Err(format!("{name}: {e}")),
            None => Err(format!("no component {name}")),
        },
        ["describe"] => Ok(stack.describe()),
        ["events", prefix] => stored_events(stack, prefix).await,
        _ => Err(format!("unknown command {:?}", words.join(" "))),
    }
}

/// The committed events whose id starts with `prefix`, read the way the storage contract
/// defines the table (lease heads → commit chains → Parquet objects, `load::storage`),
/// never through the query service: `{"rows": n, "ids": {id: times stored},
/// "shards": {shard: rows}}`.
async fn stored_events(stack: &Stack, prefix: &str) -> Result<serde_json::Value, String> {
    let shards = stack.shards.iter().map(|s| s.0.clone()).collect();
    let store = crate::load::storage::Store::open(stack.aws.s3().await, &stack.bucket, shards);
    let events = store.events().await.map_err(|e| format!("{e:#}"))?;
    let mut ids: BTreeMap<&str, u64> = BTreeMap::new();
    let mut per_shard: BTreeMap<&str, u64> = BTreeMap::new();
    let mut rows = 0u64;
    for e in events.iter().filter(|e| e.event_id.starts_with(prefix)) {
        rows += 1;
        *ids.entry(&e.event_id).or_default() += 1;
        *per_shard.entry(&e.shard).or_default() += 1;
    }
    Ok(serde_json::json!({ "rows": rows, "ids": ids, "shards": per_shard }))
}

/// Lines of stdin, read on a plain thread (blocking reads; ends at EOF).
fn stdin_lines() -> tokio::sync::mpsc::Receiver<String> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    rx
}

fn one_line(s: &str) -> String {
    s.replace('\n', " | ")
}
