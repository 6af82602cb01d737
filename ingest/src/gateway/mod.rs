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

use sink::{KinesisSink, RecordSink, Writer};
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
    pub metrics: metrics::Metrics,
}

impl Gateway {
    /// A gateway writing to Kinesis through aws-sdk-kinesis (endpoint from config).
    pub async fn new(config: GatewayConfig) -> Result<Arc<Self>, GatewayError> {
        let sink = Arc::new(KinesisSink::new(&config.kinesis).await);
        Self::with_sink(config, sink)
    }

    /// A gateway writing to any sink (tests reach behind the network call this way).
    pub fn with_sink(
        config: GatewayConfig,
        sink: Arc<dyn RecordSink>,
    ) -> Result<Arc<Self>, GatewayError> {
        let k = &config.kinesis;
        let writer = Writer::new(
            sink,
            k.max_in_flight,
            Duration::from_millis(k.deadline_ms),
            Duration::from_millis(k.retry_base_ms),
        );
        Ok(Arc::new(Self {
            auth: Arc::new(auth::Authenticator::new(&config.auth, &config.tenants)?),
            hygiene: hygiene::Hygiene::new(&config.hygiene, &config.tenants)?,
            quotas: quota::Quotas::new(&config.tenants),
            writer,
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
