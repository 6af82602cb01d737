//! `gameday component <name>`: one pipeline component as its own process. The harness
//! spawns these; they can be run by hand too.

use anyhow::Context;
use clap::{Args, Subcommand};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Debug, Args)]
pub struct ComponentArgs {
    #[command(subcommand)]
    pub component: Component,
}

#[derive(Debug, Subcommand)]
pub enum Component {
    /// The ingest gateway: TLS, auth, hygiene, quotas, ack after Kinesis.
    Gateway {
        /// Gateway configuration (TOML; see ingest/src/gateway/config.rs).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on; port 0 picks one (printed as `READY <url>`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Availability zone label for logs and the instance name.
        #[arg(long)]
        az: Option<String>,
    },
    /// A delivery worker: shard leases, Parquet buffers, the commit protocol to S3.
    Delivery {
        /// Delivery configuration (TOML; see ingest/src/delivery/config.rs).
        #[arg(long)]
        config: PathBuf,
        /// Address of `/metrics`, `/healthz`, `/readyz`; port 0 picks one (printed as
        /// `READY <url>`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
        /// Availability zone; the worker id becomes `delivery-<az>-<pid>` unless the
        /// config names one.
        #[arg(long)]
        az: Option<String>,
    },
    /// The query service: catalog over SQS, SQL over the committed Parquet objects.
    Query {
        /// Query service configuration (TOML; see ingest/src/query/config.rs).
        #[arg(long)]
        config: PathBuf,
        /// Address to listen on; port 0 picks one (printed as `READY <url>`).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: SocketAddr,
    },
}

pub fn run(args: ComponentArgs) -> anyhow::Result<ExitCode> {
    // Components share a 2-core machine with the harness: small runtimes.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    match args.component {
        Component::Gateway { config, listen, az } => runtime.block_on(gateway(config, listen, az)),
        Component::Delivery { config, listen, az } => {
            runtime.block_on(delivery(config, listen, az))
        }
        Component::Query { config, listen } => runtime.block_on(query(config, listen)),
    }
}

async fn gateway(
    path: PathBuf,
    listen: SocketAddr,
    az: Option<String>,
) -> anyhow::Result<ExitCode> {
    // Crash points from FAILPOINTS (the harness's break-it knobs); alive for the process.
    #[cfg(feature = "failpoints")]
    let _failpoints = ingest::gateway::failpoints_from_env();
    let (mut config, _): (ingest::gateway::GatewayConfig, _) = read_config(&path)?;
    if let Some(az) = az {
        config.instance = format!("gateway-{az}");
    }
    let scheme = if config.plain_http { "http" } else { "https" };
    let gw = ingest::gateway::Gateway::new(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    println!("READY {scheme}://{addr}");
    ingest::gateway::run(listener, gw, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// Turns transparent huge pages off for this process (`PR_SET_THP_DISABLE`). Delivery
/// churns through large short-lived buffers (GetRecords bodies, decoded records, Arrow
/// columns): with THP each fresh 2 MiB region is zeroed whole on its first touch, which
/// took a quarter of the worker's CPU in `bench delivery` (perf: `clear_page_erms` under
/// `do_huge_pmd_anonymous_page`); without it, rows per worker CPU-second rose ~15 %.
/// A failure only costs that speed, so it is logged and ignored; other systems than
/// Linux have no such switch (nothing to do).
pub fn without_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl with PR_SET_THP_DISABLE takes integer arguments only and touches
        // no memory of ours.
        let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
        if r != 0 {
            tracing::warn!(
                error = %std::io::Error::last_os_error(),
                "could not turn transparent huge pages off"
            );
        }
    }
}

async fn delivery(
    path: PathBuf,
    listen: SocketAddr,
    az: Option<String>,
) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "failpoints")]
    let _failpoints = ingest::delivery::failpoints_from_env();
    without_transparent_huge_pages();
    let (mut config, text): (ingest::delivery::DeliveryConfig, _) = read_config(&path)?;
    let has_id = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("worker_id"));
    if let Some(az) = az {
        if !has_id {
            config.worker_id = format!("delivery-{az}-{}", std::process::id());
        }
        config.az = az;
    }
    let worker = ingest::delivery::Worker::new(config).await;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    println!("READY http://{addr}");
    // Ctrl-C or SIGTERM: graceful hand-off (flush, commit, release every lease).
    let exit = ingest::delivery::run(listener, worker, terminated()).await?;
    Ok(match exit {
        ingest::delivery::Exit::Stopped => ExitCode::SUCCESS,
        // A crash point fired: exit at once, as a killed process would (nothing flushed).
        ingest::delivery::Exit::Crashed => std::process::exit(137),
    })
}

async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

async fn query(path: PathBuf, listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let (config, _): (ingest::query::QueryConfig, _) = read_config(&path)?;
    let scheme = if config.plain_http { "http" } else { "https" };
    let svc = ingest::query::QueryService::start(config).await?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    // Ready to answer; `/readyz` turns 200 once the catalog is rebuilt from the lease heads.
    println!("READY {scheme}://{addr}");
    ingest::query::run(listener, svc, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// A component's TOML config, parsed (errors name the file), with its text.
fn read_config<T: serde::de::DeserializeOwned>(path: &Path) -> anyhow::Result<(T, String)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let config = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok((config, text))
}
