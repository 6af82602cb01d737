//! `gameday`: rehearse failures of a game-telemetry pipeline on one machine.
//! Thin binary: argument parsing here, the work in the modules.

mod audit;
mod bench;
mod cli;
mod component;
mod control;
mod doctor;
mod emulate;
#[allow(dead_code)] // filled and read by the harness modules (stack, load, gates) as they land
mod evidence;
#[allow(dead_code)] // the run-time API (inject/list/clear) is also the console's
mod faults;
mod gates;
#[allow(dead_code)] // parts of the load API are for fault gates and tests
mod load;
mod monitor;
mod report;
mod run;
mod scenario;
#[allow(dead_code)] // the stack's API is driven by load/, scenario/ and gates/ as they land
mod stack;
#[allow(dead_code)] // the console streams it
mod status;
mod tui;
mod up;

use clap::Parser;
use std::process::ExitCode;

/// Every component runs as this binary; allocation-heavy paths (protobuf decode, JSON,
/// Parquet) spent a quarter of the CPU in glibc malloc under load.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    // The judge commands print their own progress and summary; their logs stay quiet.
    let judge = matches!(
        cli.command,
        cli::Command::Scenario(_) | cli::Command::Gates(_)
    );
    init_tracing(cli.verbose, judge);
    let result = match cli.command {
        cli::Command::Emulate(args) => emulate::run(args),
        cli::Command::Bench(args) => bench::run(args),
        cli::Command::Component(args) => component::run(args),
        cli::Command::Scenario(args) => run::scenario(args),
        cli::Command::Gates(args) => run::gates(args),
        cli::Command::StackUp(args) => stack::up::run(args),
        cli::Command::Up(args) => up::run(args),
        cli::Command::Fault(args) => control::cli::fault(args),
        cli::Command::Status(args) => control::cli::status(args),
        cli::Command::Stop(args) => control::cli::stop(args),
        cli::Command::Tui(args) => tui::run(args),
        cli::Command::Doctor(args) => doctor::run(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("gameday: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_tracing(verbose: u8, judge: bool) {
    let default = match verbose {
        0 if judge => "warn",
        0 => "warn,gameday=info,mocks=info",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("GAMEDAY_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
