//! `gameday emulate`: the embedded AWS backend as a standalone server.

use crate::cli::EmulateArgs;
use anyhow::Context;
use mocks::{EmulatorConfig, KinesisLimits};
use std::net::SocketAddr;
use std::process::ExitCode;

pub fn load_config(args: &EmulateArgs) -> anyhow::Result<EmulatorConfig> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading emulator config {}", path.display()))?;
            toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        None => EmulatorConfig::default(),
    };
    if args.no_limits {
        config.kinesis = KinesisLimits::unlimited();
    }
    if args.no_verify_signatures {
        config.verify_signatures = false;
    }
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    Ok(config)
}

pub fn run(args: EmulateArgs) -> anyhow::Result<ExitCode> {
    let config = load_config(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let seed = config.seed;
        let limits = config.kinesis.enabled;
        let addr = SocketAddr::new(args.host, args.port);
        let running = mocks::Emulator::start(config, addr)
            .await
            .with_context(|| format!("binding {addr} (is another emulator or LocalStack running?)"))?;
        let endpoint = running.endpoint();
        if args.print_ready {
            println!("READY {endpoint}");
        }
        eprintln!(
            "gameday emulate: Kinesis, S3 and SQS on {endpoint} (seed {seed}, Kinesis limits {})\n  \
             try: AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 aws --endpoint-url {endpoint} kinesis list-streams\n  \
             health: curl {endpoint}/_gameday/health   (Ctrl-C stops)",
            if limits { "on" } else { "off" }
        );
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
        eprintln!("gameday emulate: stopping");
        running.stop().await.context("stopping the emulator")?;
        Ok(ExitCode::SUCCESS)
    })
}
