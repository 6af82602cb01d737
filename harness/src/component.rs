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

/// How the delivery process uses memory, set once at its start: both settings are about
/// the large short-lived buffers delivery churns through (GetRecords bodies, decoded
/// records, Arrow columns, Parquet pages).
///
/// - Transparent huge pages off (`PR_SET_THP_DISABLE`): with THP each fresh 2 MiB region
///   is zeroed whole on its first touch, which took a quarter of the worker's CPU in
///   `bench delivery` (perf: `clear_page_erms` under `do_huge_pmd_anonymous_page`);
///   without it, rows per worker CPU-second rose ~15 %.
/// - mimalloc keeps the memory it freed instead of returning it to the system after
///   10 ms (its `purge_delay` option set to -1): every flush otherwise faulted its
///   builders' pages in afresh — `bench delivery`, 5 M rows: 580–640k page faults →
///   ~420k (the emulator child's included). The process then stays at its high-water mark, which delivery bounds
///   (`buffer.max_bytes` per partition, one flush in flight per shard).
///   `MIMALLOC_PURGE_DELAY` in the environment overrides it.
///
/// A failure only costs that speed, so it is logged and ignored; other systems than
/// Linux have no THP switch (nothing to do).
pub fn delivery_memory_settings() {
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
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets one of mimalloc's option values (a plain integer it reads when it
        // next considers purging); no memory is handed over.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, -1) };
    }
}

/// mimalloc's `mi_option_purge_delay`, which the bindings give no constant for: its
/// position in `mi_option_e` (mimalloc.h, v2 and v3 alike), just before
/// `mi_option_use_numa_nodes`.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t =
    libmimalloc_sys::mi_option_use_numa_nodes - 1;

async fn delivery(
    path: PathBuf,
    listen: SocketAddr,
    az: Option<String>,
) -> anyhow::Result<ExitCode> {
    #[cfg(feature = "failpoints")]
    let _failpoints = ingest::delivery::failpoints_from_env();
    delivery_memory_settings();
    let (mut config, text): (ingest::delivery::DeliveryConfig, _) = read_config(&path)?;
    let has_id = toml::from_str::<toml::Table>(&text).is_ok_and(|t| t.contains_key("worker_id"));
    if let Some(az) = az {
        if !has_id {
            config.worker_id = ingest::delivery::config::unique_worker_id(Some(&az));
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
