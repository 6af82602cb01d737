//! Delivery workers (`gameday component delivery`): exactly once in storage. Each worker
//! leases Kinesis shards through lease objects in S3 (epochs, conditional writes), reads
//! them, buffers rows per partition, and flushes Parquet (Snappy) through the commit
//! protocol: data objects, commit object, lease update — never another order. The
//! protocol and why each crash point loses and duplicates nothing: `design.md` here.
//!
//! [`Worker::builder`] builds a worker (with an optional crash/stall [`Hook`]),
//! [`router`] is its HTTP app, [`run`] serves it and runs the worker until shutdown.

pub mod buffer;
pub mod commit;
pub mod config;
pub mod history;
pub mod hooks;
pub mod http;
pub mod keepalive;
pub mod lease;
pub mod metrics;
pub mod parquet;
pub mod reader;
pub mod rows;
pub mod shard;
pub mod store;
pub mod sweeper;
pub mod view;
pub mod worker;

pub use config::DeliveryConfig;
pub use hooks::{Hook, HookAction, Point};
pub use http::router;
pub use worker::{Exit, Worker};

use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("serving HTTP: {0}")]
    Serve(#[from] std::io::Error),
}

/// Serves `/metrics`, `/healthz`, `/readyz` on `listener` and runs the worker until
/// `shutdown` resolves (then hands every shard off) or a crash point stops it dead.
pub async fn run(
    listener: tokio::net::TcpListener,
    worker: Arc<Worker>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<Exit, DeliveryError> {
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, router(worker.clone())).with_graceful_shutdown(async move {
        let _ = stop_rx.await;
    });
    let server = tokio::spawn(async move { server.await });
    let exit = worker.run(shutdown).await;
    let _ = stop_tx.send(());
    match server.await {
        Ok(r) => r?,
        Err(e) => tracing::error!(%e, "HTTP server task failed"),
    }
    Ok(exit)
}

/// Reads crash points from the `FAILPOINTS` environment variable (fail-rs syntax, e.g.
/// `FAILPOINTS=delivery::after_commit=return`). Only with the `failpoints` feature; keep
/// the returned guard alive for the life of the process.
#[cfg(feature = "failpoints")]
pub fn failpoints_from_env() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}
