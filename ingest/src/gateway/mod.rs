//! The gateway (`gameday component gateway`): TLS, auth, edge hygiene, per-tenant
//! quotas, aggregation into envelopes, and an ack only after Kinesis accepted them.
//!
//! `Gateway::new` builds the state, [`router`] is the app, [`run`] serves it on a
//! listener until shutdown.

pub mod auth;
pub mod config;
pub mod grpc;
pub mod http;
pub mod hygiene;
pub mod inputs;
pub mod metrics;
pub mod pipeline;
pub mod quota;
pub mod serve;
pub mod sink;

pub use config::GatewayConfig;
pub use http::router;

use sink::{KinesisSink, RecordSink, ShardMap, Writer};
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    #[error(transparent)]
    Auth(#[from] auth::AuthConfigError),
    #[error(transparent)]
    Hygiene(#[from] hygiene::HygieneConfigError),
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
}

pub struct Gateway {
    pub config: GatewayConfig,
    pub auth: Arc<auth::Authenticator>,
    pub hygiene: hygiene::Hygiene,
    pub quotas: quota::Quotas,
    pub writer: Writer,
    /// The stream's open shards, which aggregation groups records by (`sink::shards`).
    pub shards: Arc<ShardMap>,
    pub metrics: metrics::Metrics,
}

impl Gateway {
    /// A gateway writing to Kinesis through aws-sdk-kinesis (endpoint from config). Lists
    /// the stream's shards once before it returns (a failure is counted and leaves
    /// aggregation by partition key until a later refresh succeeds), then every
    /// `shard_map_refresh_ms` in the background.
    pub async fn new(config: GatewayConfig) -> Result<Arc<Self>, GatewayError> {
        let sink = Arc::new(KinesisSink::new(&config.kinesis).await);
        let every = config.kinesis.shard_map_refresh_ms;
        #[cfg(feature = "failpoints")]
        let crash_point = Some(sink::writer::ack_then_drop_failpoint());
        #[cfg(not(feature = "failpoints"))]
        let crash_point = None;
        let gw = Self::build(config, sink, crash_point)?;
        if every > 0 {
            gw.refresh_shard_map().await;
            // Until the gateway is dropped.
            let weak = Arc::downgrade(&gw);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(Duration::from_millis(every)).await;
                    let Some(gw) = weak.upgrade() else { return };
                    gw.refresh_shard_map().await;
                }
            });
        }
        Ok(gw)
    }

    /// Lists the stream's shards now (counted by outcome).
    pub async fn refresh_shard_map(&self) -> sink::shards::Refresh {
        let r = sink::shards::refresh(&self.shards, self.writer.sink().as_ref()).await;
        self.metrics.shard_map_refreshed(r);
        r
    }

    /// A gateway writing to any sink (tests reach behind the network call this way); no
    /// shard map until [`Gateway::refresh_shard_map`].
    pub fn with_sink(
        config: GatewayConfig,
        sink: Arc<dyn RecordSink>,
    ) -> Result<Arc<Self>, GatewayError> {
        Self::build(config, sink, None)
    }

    /// `crash_point`: the writer's `ack_then_drop` hook (the `gateway::ack_then_drop`
    /// fail-rs point in a gateway built with the `failpoints` feature).
    fn build(
        config: GatewayConfig,
        sink: Arc<dyn RecordSink>,
        crash_point: Option<sink::AckThenDrop>,
    ) -> Result<Arc<Self>, GatewayError> {
        let k = &config.kinesis;
        let mut writer = Writer::new(
            sink,
            k.max_in_flight,
            Duration::from_millis(k.deadline_ms),
            Duration::from_millis(k.retry_base_ms),
        );
        if let Some(hook) = crash_point {
            writer = writer.ack_then_drop(hook);
        }
        Ok(Arc::new(Self {
            auth: Arc::new(auth::Authenticator::new(&config.auth, &config.tenants)?),
            hygiene: hygiene::Hygiene::new(&config.hygiene, &config.tenants)?,
            quotas: quota::Quotas::new(&config.tenants),
            writer,
            shards: Arc::default(),
            metrics: metrics::Metrics::default(),
            config,
        }))
    }
}

/// Serves the gateway on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: tokio::net::TcpListener,
    gw: Arc<Gateway>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), GatewayError> {
    let tls = match (&gw.config.tls, gw.config.plain_http) {
        (_, true) => None,
        (Some(t), false) => Some(serve::tls_acceptor(t)?),
        (None, false) => return Err(serve::ServeError::TlsRequired.into()),
    };
    serve::serve(listener, router(gw), tls, shutdown).await?;
    Ok(())
}

/// Reads crash points from the `FAILPOINTS` environment variable (fail-rs syntax, e.g.
/// `FAILPOINTS=gateway::ack_then_drop=10%return`). Only with the `failpoints` feature;
/// keep the returned guard alive for the life of the process.
#[cfg(feature = "failpoints")]
pub fn failpoints_from_env() -> fail::FailScenario<'static> {
    fail::FailScenario::setup()
}
