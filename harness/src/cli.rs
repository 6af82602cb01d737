//! Command-line interface: every subcommand, its flags and the help that teaches them.

use clap::{Args, Parser, Subcommand};
use std::net::IpAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "gameday",
    version,
    about = "Rehearse failures of a game-telemetry pipeline (gateway → Kinesis → Parquet on S3 → SQL) on one machine",
    long_about = "gameday boots an AWS-compatible backend and the real ingest components, drives \
synthetic producers, injects faults on a timeline and judges acceptance gates.\n\n\
Start with:\n  gameday scenario burst           # 1x → 3x → 5x → 1x against the real components, judged\n  \
gameday gates                    # the gate suite T0–T7, with --report-dir for CI\n  \
gameday up --load 1x             # a stack that stays up, to poke at and break\n  \
gameday fault add gateway-kill --target gateway-b --for 30s   # break it (then: gameday status)\n  gameday emulate                  # the embedded AWS backend on 127.0.0.1:4566\n  \
gameday bench emulator           # its throughput, against the same AWS SDK clients"
)]
pub struct Cli {
    /// More log output (-v info, -vv debug); GAMEDAY_LOG overrides with a tracing filter.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the embedded AWS backend (Kinesis, S3, SQS) until Ctrl-C.
    ///
    /// Unmodified AWS SDKs and the AWS CLI talk to it:
    ///   AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
    ///   aws --endpoint-url http://127.0.0.1:4566 kinesis list-streams
    Emulate(EmulateArgs),
    /// Measure components with real clients and compare with the last run; with no
    /// target, every bench in turn and one table (`gameday bench --baseline old.json`).
    Bench(BenchArgs),
    /// Run one pipeline component (the harness spawns these as child processes).
    Component(crate::component::ComponentArgs),
    /// Run a scenario: boot the stack, drive its load, judge its gates.
    ///
    /// A name is looked up as scenarios/<name>.toml (baseline, burst, hygiene); a path is
    /// read as is. Prints the seed, the capacity plan, a live progress line and a summary
    /// table. Exit code: 0 every gate passed, 1 a gate failed, 2 bad usage or scenario,
    /// 3 invalid run (the rig itself saturated).
    Scenario(ScenarioArgs),
    /// Run the gate suite, one stack per scenario: baseline for T0 and T1, burst for T2,
    /// hygiene for T3, shard-pause for T5, gateway-kill for T6, az-loss for T7. Exit codes
    /// as for `scenario`.
    Gates(GatesArgs),
    /// Boot the stack and keep it up until Ctrl-C, printing how to connect.
    ///
    /// Prints the gateways, a tenant's API key and a ready `curl` for /token, the query
    /// URL, AWS_ENDPOINT_URL exports, and the control API's address and token (also in
    /// .gameday/control.json, where `gameday fault` and `gameday status` find them).
    ///   gameday up --load 1x          # with a background load you can break
    Up(crate::up::UpArgs),
    /// Break the running stack: `gameday fault add|ls|clear`.
    ///
    ///   gameday fault add shard-pause --shard 1 --mode reads --for 30s
    ///   gameday fault add gateway-kill --target gateway-b
    ///   gameday fault ls
    ///   gameday fault clear 3        # or --all
    Fault(crate::control::cli::FaultArgs),
    /// The running stack's status: one snapshot, or one a second with --watch.
    Status(crate::control::cli::StatusArgs),
    /// Ask the running `up` (or scenario) to stop: faults repaired, stack torn down.
    Stop(crate::control::cli::StopArgs),
    /// The GameDay console: start a scenario (default `gameday`) or attach to a running
    /// stack; watch it live and break it with a key (`?` lists them, `q` quits).
    Tui(crate::tui::TuiArgs),
    /// Check this machine for a run: cores, memory, open-file limit, loopback ports, free
    /// disk, a backend (`--endpoint URL`), Docker and the token LocalStack in a container
    /// needs, the browser the report test uses; says what to fix (exit 1 on a problem).
    Doctor(crate::doctor::DoctorArgs),
    /// Boot a stack and keep it up, driven by commands on stdin (tests, debugging).
    #[command(hide = true)]
    StackUp(crate::stack::up::StackUpArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    /// Scenario name (scenarios/<name>.toml) or path to a scenario file.
    pub scenario: String,
    #[command(flatten)]
    pub flags: RunFlags,
}

#[derive(Debug, Args)]
pub struct GatesArgs {
    /// Only these gates (comma separated), e.g. --only T0,T2.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    #[command(flatten)]
    pub flags: RunFlags,
}

/// Flags shared by `scenario` and `gates`.
#[derive(Debug, Default, Args)]
pub struct RunFlags {
    /// Seed of every random choice (default: the scenario's, else random; always printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Write report.json, junit.xml and summary.md here (and the run's logs under runs/).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
    /// Multiply every load step's duration (tests: shorter runs, same thresholds).
    #[arg(long)]
    pub duration_scale: Option<f64>,
    /// 1× in samples/s (events/s scale with it; quotas stay at their multiple of 1×).
    #[arg(long)]
    pub base_rate: Option<f64>,
    /// Test-only break-it switch, knob=value: gateway_pii_detectors=false,
    /// gateway_ack_then_drop=true|<fail-rs action> (needs --features failpoints),
    /// query_sees_data=false. Repeatable.
    #[arg(long = "set", value_name = "KNOB=VALUE", hide = true)]
    pub set: Vec<String>,
}

#[derive(Debug, Args)]
pub struct EmulateArgs {
    /// Port to listen on; 0 lets the OS pick one (printed at start).
    #[arg(long, default_value_t = 4566)]
    pub port: u16,
    /// Address to bind. Keep loopback unless other machines must reach it.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: IpAddr,
    /// Turn AWS's Kinesis rate limits off (per-shard records/s, bytes/s, reads/s).
    #[arg(long)]
    pub no_limits: bool,
    /// Accept any signature from a known access key (skip SigV4 verification on Kinesis/SQS).
    #[arg(long)]
    pub no_verify_signatures: bool,
    /// Emulator configuration file (TOML): region, account, credentials, limits, seed.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Seed for fault probabilities and generated ids (printed at start).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Print one line with the endpoint when ready (for scripts and the bench).
    #[arg(long, hide = true)]
    pub print_ready: bool,
}

/// With a target, one bench (its figures compared with its last run); without one,
/// every bench in turn, one table of every figure against its target, one JSON
/// (`--out`), and with `--baseline` the regressions over 10 % flagged (exit code 1).
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub target: Option<BenchTarget>,
    #[command(flatten)]
    pub all: crate::bench::all::AllArgs,
}

#[derive(Debug, Subcommand)]
pub enum BenchTarget {
    /// Throughput and latency of the embedded backend, driven by the AWS SDK from this
    /// process against an emulator child process (limits off).
    Emulator(crate::bench::EmulatorBenchArgs),
    /// Throughput (samples/s), TTFB and memory of one ingest gateway child process
    /// (remote_write and OTLP/HTTP, TLS on and off) over an emulator child, driven by an
    /// open-model load generator in this process.
    Gateway(crate::bench::gateway::GatewayBenchArgs),
    /// Rows/s into committed Parquet: one delivery worker in this process drains a stream
    /// pre-filled (untimed) with envelopes packed as the gateway packs them, on an emulator
    /// child (limits off); the committed rows are then counted from the commit chains and
    /// must equal the rows put.
    Delivery(crate::bench::delivery::DeliveryBenchArgs),
    /// Latency (p50/p95/p99) of the dashboard's panel queries over millions of rows
    /// committed through delivery's commit protocol, against the query service in this
    /// process (embedded backend, 1 h and 12 h ranges; target p95 ≤ 100 ms for ≤ 12 h).
    Query(crate::bench::query::QueryBenchArgs),
    /// CPU of one delivery flush by stage (record decode, rows, Parquet), in ns per row:
    /// one tenant's share of the delivery bench's backlog, no stream or store, best of
    /// --reps runs. Quick to rerun when changing how delivery builds or encodes rows.
    Flush(crate::bench::flush::FlushBenchArgs),
    /// The whole pipeline end to end: the rig's producers → gateways (TLS) → Kinesis
    /// (AWS limits on, shards from the capacity plan) → delivery → committed Parquet, the
    /// query service following. Steps the offered rate up, a fresh stack per step, until
    /// one is not sustained by `[e2e]` in thresholds.toml (acked share, no quota 429,
    /// freshness p99, nothing lost by the independent audit, a valid self-check); reports
    /// the highest sustained samples/s and the cores of every process at that step.
    E2e(crate::bench::e2e::E2eBenchArgs),
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent_and_the_console_commands_parse() {
        Cli::command().debug_assert();
        let parse = |args: &[&str]| Cli::try_parse_from([&["gameday"], args].concat());
        let Command::Up(up) = parse(&["up", "--load", "2x"]).unwrap().command else {
            panic!("up")
        };
        assert_eq!(up.load.0, Some(2.0));
        let Command::Up(up) = parse(&["up"]).unwrap().command else {
            panic!("up")
        };
        assert_eq!(up.load.0, None, "no load by default");
        assert!(parse(&["up", "--load", "lots"]).is_err());
        let Command::Fault(f) = parse(&[
            "fault",
            "add",
            "shard-pause",
            "--shard",
            "1,2",
            "--mode",
            "reads",
            "--for",
            "30s",
        ])
        .unwrap()
        .command
        else {
            panic!("fault")
        };
        let crate::control::cli::FaultCommand::Add(add) = f.command else {
            panic!("add")
        };
        let spec = add.spec().unwrap();
        assert_eq!((spec.shards, spec.duration_secs), (vec![1, 2], Some(30.0)));
        assert!(
            parse(&["fault", "clear", "3", "--all"]).is_err(),
            "one or the other"
        );
    }
}
