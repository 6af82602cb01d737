//! `gameday bench …`: measurements that print figures and compare with the last run.

use crate::cli::{BenchArgs, BenchTarget};
use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct EmulatorBenchArgs {
    /// Seconds per measurement.
    #[arg(long, default_value_t = 5.0)]
    pub secs: f64,
}

pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.target {
        BenchTarget::Emulator(_a) => anyhow::bail!("bench emulator is not built yet"),
    }
}
