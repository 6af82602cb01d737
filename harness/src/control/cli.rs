//! `gameday fault …`, `gameday status` and `gameday stop`: the control API from a shell,
//! against the running stack found through `.gameday/control.json` (or the flags).

use super::client::{Client, connect};
use super::pb;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the running GameDay is (default: what `.gameday/control.json` says).
#[derive(Debug, Args, Clone)]
pub struct ConnectArgs {
    /// Control API address (host:port), with --control-token; overrides the control file.
    #[arg(long, global = true, requires = "control_token")]
    pub control: Option<String>,
    /// Bearer token for --control.
    #[arg(
        long,
        global = true,
        env = "GAMEDAY_CONTROL_TOKEN",
        hide_env_values = true
    )]
    pub control_token: Option<String>,
    /// A run directory or control.json to read the address and token from.
    #[arg(long, global = true)]
    pub control_file: Option<PathBuf>,
}

impl ConnectArgs {
    pub async fn client(&self) -> Result<Client, String> {
        match (&self.control, &self.control_token) {
            (Some(addr), Some(token)) => connect(addr, token).await,
            _ => {
                let f = super::endpoint::find(self.control_file.as_deref())?;
                connect(&f.addr.to_string(), &f.token).await
            }
        }
    }
}

#[derive(Debug, Args)]
pub struct FaultArgs {
    #[command(subcommand)]
    pub command: FaultCommand,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Subcommand)]
pub enum FaultCommand {
    /// Inject a fault now, e.g. `gameday fault add shard-pause --shard 1 --mode reads --for 30s`.
    ///
    /// Verbs: shard-pause, shard-throttle, gateway-kill, gateway-restart, worker-kill,
    /// worker-stall, az-loss, az-restore, latency, s3-errors, sqs-errors,
    /// network-partition (docs/scenarios.md "Faults" says which fields each takes).
    Add(Box<AddArgs>),
    /// Every fault of the run, with its state.
    Ls,
    /// End one fault by id, or every active one with --all.
    Clear {
        /// The fault's id (from `gameday fault ls`).
        id: Option<u64>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The fault verb.
    pub verb: String,
    /// What it acts on: a component (gateway-b, delivery-a), an AZ (b),
    /// owner-of-shard:N, or random.
    #[arg(long)]
    pub target: Option<String>,
    /// How long (30s, 2m, 500ms); open-ended when not given.
    #[arg(long = "for", value_parser = parse_duration)]
    pub duration: Option<f64>,
    /// shard-pause/shard-throttle: a shard index (repeat or comma-separate).
    #[arg(long = "shard", value_delimiter = ',')]
    pub shards: Vec<u32>,
    /// shard-pause/shard-throttle: a fraction of the shards instead.
    #[arg(long)]
    pub fraction: Option<f64>,
    /// shard-pause: reads, writes or both.
    #[arg(long)]
    pub mode: Option<String>,
    /// shard-throttle, s3-errors, sqs-errors: share of calls (0..=1).
    #[arg(long)]
    pub probability: Option<f64>,
    /// latency: kinesis, s3 or sqs.
    #[arg(long)]
    pub service: Option<String>,
    /// latency, s3-errors, sqs-errors: one operation only (PutObject, GetRecords…).
    #[arg(long)]
    pub operation: Option<String>,
    /// latency: median added, ms.
    #[arg(long)]
    pub p50: Option<f64>,
    /// latency: 99th percentile added, ms.
    #[arg(long)]
    pub p99: Option<f64>,
    /// s3-errors, sqs-errors: 500, 503, slowdown, conflict.
    #[arg(long)]
    pub error: Option<String>,
    /// network-partition: the other side.
    #[arg(long)]
    pub peer: Option<String>,
}

impl AddArgs {
    pub fn spec(&self) -> Result<pb::FaultSpec, String> {
        // Unknown verbs are refused here with the list, before any connection.
        let verb: crate::faults::FaultVerb = self.verb.parse()?;
        Ok(pb::FaultSpec {
            verb: verb.to_string(),
            target: self.target.clone(),
            duration_secs: self.duration,
            shards: self.shards.clone(),
            shard_fraction: self.fraction,
            mode: self.mode.clone(),
            probability: self.probability,
            service: self.service.clone(),
            operation: self.operation.clone(),
            p50_ms: self.p50,
            p99_ms: self.p99,
            error: self.error.clone(),
            peer: self.peer.clone(),
        })
    }
}

/// `30s`, `2m`, `1h`, `500ms`, or plain seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = s.strip_suffix('m') {
        (n, 60.0)
    } else if let Some(n) = s.strip_suffix('h') {
        (n, 3600.0)
    } else {
        (s, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * scale),
        _ => Err(format!("{s:?} is not a duration (e.g. 30s, 2m, 500ms, 1h)")),
    }
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Keep printing one snapshot per second until the run ends or Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// JSON (one object per line) instead of text.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    /// Recorded in the run's events and audit log.
    #[arg(long, default_value = "stopped with `gameday stop`")]
    pub reason: String,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Prints the error as the user should read it; exit 1 for a refused call, 2 for bad
/// usage or no stack.
fn fail(e: impl std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(code)
}

fn refused(s: tonic::Status) -> ExitCode {
    let code = match s.code() {
        tonic::Code::InvalidArgument | tonic::Code::NotFound => 2,
        _ => 1,
    };
    fail(format!("{} ({:?})", s.message(), s.code()), code)
}

pub fn fault(args: FaultArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        if let FaultCommand::Add(a) = &args.command
            && let Err(e) = a.spec()
        {
            return Ok(fail(e, 2));
        }
        let mut c = match args.connect.client().await {
            Ok(c) => c,
            Err(e) => return Ok(fail(e, 2)),
        };
        let out = match &args.command {
            FaultCommand::Add(a) => {
                let fault = a.spec().expect("checked above");
                c.inject_fault(pb::InjectFaultRequest { fault: Some(fault) })
                    .await
                    .map(|r| super::show::faults(&[r.into_inner()]))
            }
            FaultCommand::Ls => c
                .list_faults(pb::ListFaultsRequest {})
                .await
                .map(|r| super::show::faults(&r.into_inner().faults)),
            FaultCommand::Clear { id, all } => {
                if id.is_none() && !all {
                    return Ok(fail("fault clear takes a fault id or --all", 2));
                }
                c.clear_fault(pb::ClearFaultRequest {
                    id: id.unwrap_or(0),
                    all: *all,
                })
                .await
                .map(|r| {
                    let cleared = r.into_inner().cleared;
                    if cleared.is_empty() {
                        "no active fault to clear".to_string()
                    } else {
                        super::show::faults(&cleared)
                    }
                })
            }
        };
        Ok(match out {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(s) => refused(s),
        })
    })
}

pub fn status(args: StatusArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let mut c = match args.connect.client().await {
            Ok(c) => c,
            Err(e) => return Ok(fail(e, 2)),
        };
        let mut stream = match c.status(pb::StatusRequest { interval_ms: 1000 }).await {
            Ok(r) => r.into_inner(),
            Err(s) => return Ok(refused(s)),
        };
        loop {
            let snap = tokio::select! {
                m = stream.message() => m,
                _ = tokio::signal::ctrl_c() => return Ok(ExitCode::SUCCESS),
            };
            match snap {
                Ok(Some(s)) => {
                    if args.json {
                        println!("{}", serde_json::to_string(&s)?);
                    } else {
                        println!("{}", super::show::snapshot(&s));
                    }
                    if !args.watch || !s.running {
                        return Ok(ExitCode::SUCCESS);
                    }
                }
                Ok(None) => return Ok(ExitCode::SUCCESS),
                Err(s) => return Ok(refused(s)),
            }
        }
    })
}

pub fn stop(args: StopArgs) -> anyhow::Result<ExitCode> {
    runtime()?.block_on(async {
        let mut c = match args.connect.client().await {
            Ok(c) => c,
            Err(e) => return Ok(fail(e, 2)),
        };
        match c
            .stop(pb::StopRequest {
                reason: args.reason.clone(),
            })
            .await
        {
            Ok(_) => {
                println!("stop requested: the run repairs its faults and tears the stack down");
                Ok(ExitCode::SUCCESS)
            }
            Err(s) => Ok(refused(s)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(parse_duration("30s"), Ok(30.0));
        assert_eq!(parse_duration("2m"), Ok(120.0));
        assert_eq!(parse_duration("500ms"), Ok(0.5));
        assert_eq!(parse_duration("1h"), Ok(3600.0));
        assert_eq!(parse_duration("45"), Ok(45.0));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("soon").unwrap_err().contains("30s"));
    }
}
