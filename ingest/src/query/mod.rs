//! The query service (`gameday component query`): SQL over the committed Parquet objects
//! of the authenticated tenant, and freshness per shard.
//!
//! - [`catalog`] follows the lease heads (start-up rebuild, then S3 notifications over
//!   SQS) and knows which objects make up each tenant's tables;
//! - [`session`] builds a DataFusion session per request over that tenant's objects only
//!   ([`table`]), through a tenant-scoped read-only object store ([`store`]) over an
//!   in-memory cache of the immutable committed objects ([`cache`]), with per-object
//!   partial aggregation states cached ([`partials`]);
//! - [`exec`] runs the SQL with the limits, [`encode`] writes JSON or Arrow IPC;
//! - [`http`] serves it; [`metrics`] is its own telemetry.
//!
//! [`QueryService::start`] builds the state and starts the catalog; [`router`] is the app;
//! [`run`] serves it on a listener until shutdown.

pub mod cache;
pub mod catalog;
pub mod config;
pub mod encode;
pub mod exec;
pub mod http;
mod lru;
pub mod metrics;
pub mod partials;
pub mod session;
pub mod store;
pub mod table;
pub mod warm;

pub use catalog::wiring::ensure_wiring;
pub use config::QueryConfig;
pub use http::router;

use crate::gateway::auth::{AuthConfigError, Authenticator};
use crate::gateway::serve::{self, ServeError};
use catalog::Catalog;
use catalog::follow::Follower;
use catalog::sqs::Consumer;
use object_store::ObjectStore;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;

/// Pause between attempts of the start-up rebuild (listing or queue lookup failed):
/// doubling from the first to the last.
const REBUILD_RETRY: (Duration, Duration) = (Duration::from_millis(250), Duration::from_secs(5));

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Auth(#[from] AuthConfigError),
    #[error(transparent)]
    Serve(#[from] ServeError),
    #[error("object store: {0}")]
    Store(#[from] object_store::Error),
    #[error("query engine: {0}")]
    Engine(#[from] datafusion::error::DataFusionError),
    #[error("[warm]: {0}")]
    Warm(String),
}

pub struct QueryService {
    pub config: QueryConfig,
    pub auth: Authenticator,
    pub catalog: Arc<Catalog>,
    pub metrics: Arc<metrics::Metrics>,
    pub sessions: session::Sessions,
    permits: HashMap<String, Arc<Semaphore>>,
    /// The catalog follower, then the warmer (if any): aborted on stop.
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

/// The bucket as an object_store (path-style and plain HTTP for local endpoints; the
/// store's own retries kept short: a query has a deadline).
fn bucket_store(config: &QueryConfig) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    use object_store::aws::AmazonS3Builder;
    let aws = &config.aws;
    let mut b = AmazonS3Builder::from_env()
        .with_bucket_name(&config.bucket)
        .with_region(&aws.region)
        .with_retry(object_store::RetryConfig {
            max_retries: 2,
            retry_timeout: Duration::from_secs(5),
            ..Default::default()
        });
    if let Some(ep) = &aws.endpoint {
        b = b
            .with_endpoint(ep)
            .with_allow_http(ep.starts_with("http://"))
            .with_virtual_hosted_style_request(false);
    }
    if let (Some(id), Some(secret)) = (&aws.access_key_id, &aws.secret_access_key) {
        b = b
            .with_access_key_id(id)
            .with_secret_access_key(secret.expose());
    }
    Ok(Arc::new(b.build()?))
}

impl QueryService {
    /// Builds the service and starts the catalog in the background: rebuild from the lease
    /// heads (then `/readyz` answers 200), then follow the queue.
    pub async fn start(config: QueryConfig) -> Result<Arc<Self>, QueryError> {
        let auth = Authenticator::new(&config.auth, &config.tenants)?;
        let warm = config.warm.load().map_err(QueryError::Warm)?;
        let catalog = Arc::new(Catalog::new());
        let metrics = Arc::new(metrics::Metrics::default());
        let sessions = session::Sessions::new(
            &config.bucket,
            Arc::new(cache::CachedStore::new(
                bucket_store(&config)?,
                config.cache.object_bytes,
                metrics.cache.clone(),
            )),
            config.limits.memory_bytes,
            Arc::new(partials::PartialsCache::new(
                config.cache.partial_bytes,
                metrics.partials.clone(),
            )),
            catalog.clone(),
            metrics.clone(),
        )?;
        let permits = config
            .tenants
            .iter()
            .map(|t| {
                let n = config.limits.concurrency_per_tenant.max(1);
                (t.id.clone(), Arc::new(Semaphore::new(n)))
            })
            .collect();
        let svc = Arc::new(Self {
            auth,
            catalog,
            metrics,
            sessions,
            permits,
            tasks: Mutex::new(Vec::new()),
            config,
        });
        let mut tasks = vec![tokio::spawn(follow_catalog(svc.clone()))];
        if !warm.is_empty() {
            let every = Duration::from_millis(svc.config.warm.interval_ms.max(10));
            tasks.push(tokio::spawn(warm::run(Arc::downgrade(&svc), warm, every)));
        }
        *svc.tasks.lock() = tasks;
        Ok(svc)
    }

    /// A query slot of `tenant` (`None`: all in use).
    pub fn permit(&self, tenant: &str) -> Option<OwnedSemaphorePermit> {
        self.permits.get(tenant)?.clone().try_acquire_owned().ok()
    }

    /// Waits (bounded) until the start-up rebuild is done.
    pub async fn wait_ready(&self, within: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + within;
        while !self.catalog.is_ready() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops following the catalog and warming (the service still answers from what it
    /// has).
    pub fn stop(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }
}

impl Drop for QueryService {
    fn drop(&mut self) {
        for t in self.tasks.get_mut().drain(..) {
            t.abort();
        }
    }
}

/// Rebuild from the lease heads, then consume notifications. Retries until it succeeds
/// (bounded only by the service's life: the task is aborted on stop).
async fn follow_catalog(svc: Arc<QueryService>) {
    // Hold the service weakly inside the loop so that dropping it ends the task.
    let weak = Arc::downgrade(&svc);
    drop(svc);
    let mut pause = REBUILD_RETRY.0;
    let consumer = loop {
        let Some(svc) = weak.upgrade() else { return };
        match prepare(&svc).await {
            Ok(c) => break c,
            Err(e) => {
                svc.metrics.catalog_message("failed", "startup");
                tracing::warn!(error = %e, retry_in_ms = pause.as_millis() as u64, "catalog start-up failed");
                drop(svc);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(REBUILD_RETRY.1);
            }
        }
    };
    consumer.run().await;
}

/// The start-up rebuild; returns the queue consumer to run next.
async fn prepare(svc: &Arc<QueryService>) -> Result<Consumer, String> {
    let c = &svc.config;
    let follower = Follower {
        s3: c.aws.s3().await,
        bucket: c.bucket.clone(),
        max_chain_walk: c.catalog.max_chain_walk,
    };
    let sqs = c.aws.sqs().await;
    let queue_url = sqs
        .get_queue_url()
        .queue_name(&c.queue)
        .send()
        .await
        .map_err(|e| format!("GetQueueUrl {}: {}", c.queue, catalog::sdk_error(&e)))?
        .queue_url
        .ok_or("GetQueueUrl: no URL")?;
    let shards = follower.shards().await.map_err(|e| e.to_string())?;
    for shard in &shards {
        match follower.follow(&svc.catalog, shard).await {
            Ok(done) => svc.metrics.applied(done),
            Err(e) => {
                // The other shards are applied and queryable, but the catalog stays not
                // ready (`/readyz` 503) until this one is: its next lease change or the
                // consumer's retry applies it.
                svc.metrics.catalog_message("failed", e.reason());
                let missing = svc.catalog.mark_missing(shard, e.reason());
                svc.metrics.shards_missing.set(missing as i64);
                tracing::warn!(shard, error = %e, reason = e.reason(), "start-up rebuild of a shard failed: catalog not ready");
            }
        }
    }
    svc.metrics.rebuilds.inc();
    svc.catalog.set_ready();
    tracing::info!(
        shards = shards.len(),
        "catalog rebuilt from the lease heads"
    );
    Ok(Consumer {
        sqs,
        queue_url,
        bucket: c.bucket.clone(),
        follower,
        catalog: svc.catalog.clone(),
        metrics: svc.metrics.clone(),
        config: c.catalog.clone(),
    })
}

/// Serves the query service on `listener` until `shutdown` resolves, then drains.
pub async fn run(
    listener: tokio::net::TcpListener,
    svc: Arc<QueryService>,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> Result<(), QueryError> {
    let tls = match (&svc.config.tls, svc.config.plain_http) {
        (_, true) => None,
        (Some(t), false) => Some(serve::tls_acceptor(t)?),
        (None, false) => return Err(ServeError::TlsRequired.into()),
    };
    serve::serve(listener, router(svc.clone()), tls, shutdown).await?;
    svc.stop();
    Ok(())
}
