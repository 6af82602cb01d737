//! The worker: evaluates leases every `renew_ms` (take free or expired shards up to a
//! fair share, steal the rest of the deficit from workers above it), runs one task per owned
//! shard and the sweeper of the shards it owns as a task of its own, and on shutdown lets
//! every task hand its shard off. A crash point stops the whole worker dead. Every AWS
//! call it makes is bounded by the lease
//! ([`call_timeout`](super::config::LeaseConfig::call_timeout)); a lease that cannot be
//! read or taken makes only its own shard sit a round out.

use super::config::DeliveryConfig;
use super::hooks::Hook;
use super::lease::{self, Held, Take, View};
use super::metrics::Metrics;
use super::shard::{self, ShardExit};
use super::store::{Store, StoreError};
use aws_sdk_kinesis::error::ProvideErrorMetadata;
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Lease reads of one evaluation in flight at once.
const LEASE_READS_IN_FLIGHT: usize = 16;

/// The worker-wide state every shard task sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Running,
    /// Graceful shutdown: flush, commit, release.
    Stopping,
    /// A crash point fired: stop dead.
    Crashed,
}

/// How a worker's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Shut down gracefully; its shards were handed off.
    Stopped,
    /// Stopped dead at a crash point (nothing flushed or released).
    Crashed,
}

pub struct Inner {
    pub config: DeliveryConfig,
    pub store: Store,
    pub kinesis: aws_sdk_kinesis::Client,
    pub metrics: Metrics,
    pub hook: Option<Hook>,
    mode: watch::Sender<Mode>,
    pub ready: AtomicBool,
    owned: parking_lot::Mutex<BTreeSet<String>>,
}

impl Inner {
    pub fn now_ms(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0)
    }

    pub fn crash(&self) {
        self.mode.send_replace(Mode::Crashed);
    }

    /// Shards this worker runs right now.
    pub fn owned_shards(&self) -> Vec<String> {
        self.owned.lock().iter().cloned().collect()
    }
}

pub struct WorkerBuilder {
    config: DeliveryConfig,
    hook: Option<Hook>,
}

impl WorkerBuilder {
    /// An in-process crash/stall seam (tests); see [`super::hooks`].
    pub fn hook(mut self, hook: Hook) -> Self {
        self.hook = Some(hook);
        self
    }

    pub async fn build(self) -> Arc<Worker> {
        // No call may outlast what the lease leaves for a renewal and its retry.
        let aws = self.config.aws.capped(self.config.lease.call_timeout());
        tracing::info!(
            connect_ms = aws.connect_timeout_ms,
            attempt_ms = aws.attempt_timeout_ms,
            operation_ms = aws.operation_timeout_ms,
            "AWS call timeouts"
        );
        let store = Store::new(aws.s3().await, self.config.bucket.clone());
        let kinesis = aws.kinesis().await;
        let (mode, _) = watch::channel(Mode::Running);
        Arc::new(Worker {
            inner: Arc::new(Inner {
                config: self.config,
                store,
                kinesis,
                metrics: Metrics::default(),
                hook: self.hook,
                mode,
                ready: AtomicBool::new(false),
                owned: parking_lot::Mutex::new(BTreeSet::new()),
            }),
        })
    }
}

pub struct Worker {
    inner: Arc<Inner>,
}

impl Worker {
    pub fn builder(config: DeliveryConfig) -> WorkerBuilder {
        WorkerBuilder { config, hook: None }
    }

    pub async fn new(config: DeliveryConfig) -> Arc<Worker> {
        Self::builder(config).build().await
    }

    pub fn id(&self) -> &str {
        &self.inner.config.worker_id
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    pub fn is_ready(&self) -> bool {
        self.inner.ready.load(Ordering::Relaxed)
    }

    /// Shards this worker runs right now.
    pub fn owned(&self) -> BTreeSet<String> {
        self.inner.owned.lock().clone()
    }

    /// Stops the worker dead, as a crash point would (tests, `kill -9` stand-in).
    pub fn crash(&self) {
        self.inner.crash();
    }

    /// Runs until `shutdown` resolves (graceful hand-off) or a crash point fires.
    pub async fn run(&self, shutdown: impl std::future::Future<Output = ()> + Send) -> Exit {
        let w = &self.inner;
        let mut tasks: HashMap<String, JoinHandle<ShardExit>> = HashMap::new();
        // Its own task: lease evaluation never waits on a sweep.
        let _sweeper = super::sweeper::spawn(w.clone());
        let mut mode = w.mode.subscribe();
        tokio::pin!(shutdown);
        loop {
            self.reap(&mut tasks);
            if *mode.borrow() == Mode::Crashed {
                for (_, t) in tasks.drain() {
                    t.abort();
                }
                w.owned.lock().clear();
                return Exit::Crashed;
            }
            // A shutdown does not wait for a slow evaluation. Dropping one mid-way is safe: a
            // take whose write lands without its task only holds the lease until it expires.
            let evaluated = tokio::select! {
                r = self.evaluate(&mut tasks) => r,
                _ = &mut shutdown => break,
            };
            match evaluated {
                Ok(()) => {
                    if !w.ready.load(Ordering::Relaxed) && w.store.check().await.is_ok() {
                        w.ready.store(true, Ordering::Relaxed);
                    }
                }
                Err(e) => tracing::warn!(%e, "lease evaluation failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(w.config.lease.renew()) => {}
                _ = &mut shutdown => break,
                _ = mode.changed() => {}
            }
        }
        w.mode.send_replace(Mode::Stopping);
        let deadline = Instant::now() + w.config.lease.duration() + Duration::from_secs(10);
        for (shard, t) in tasks.drain() {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, t).await {
                Ok(Ok(exit)) => tracing::info!(shard, ?exit, "shard handed off"),
                Ok(Err(e)) => tracing::error!(shard, %e, "shard task failed"),
                Err(_) => tracing::error!(shard, "shard task did not hand off in time"),
            }
        }
        w.owned.lock().clear();
        if *w.mode.borrow() == Mode::Crashed {
            Exit::Crashed
        } else {
            Exit::Stopped
        }
    }

    fn reap(&self, tasks: &mut HashMap<String, JoinHandle<ShardExit>>) {
        let done: Vec<String> = tasks
            .iter()
            .filter(|(_, t)| t.is_finished())
            .map(|(s, _)| s.clone())
            .collect();
        for s in done {
            tasks.remove(&s);
            self.inner.owned.lock().remove(&s);
        }
    }

    async fn list_shards(&self) -> Result<Vec<String>, EvalError> {
        let w = &self.inner;
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..100 {
            let req = match token.take() {
                Some(t) => w.kinesis.list_shards().next_token(t),
                None => w.kinesis.list_shards().stream_name(&w.config.stream),
            };
            let resp = req.send().await.map_err(|e| {
                EvalError::Kinesis(format!(
                    "{} {}",
                    e.code().unwrap_or("?"),
                    e.message().unwrap_or("")
                ))
            })?;
            out.extend(resp.shards().iter().map(|s| s.shard_id().to_string()));
            match resp.next_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        Ok(out)
    }

    /// One lease evaluation: read every lease, plan, take.
    /// One balancing evaluation; when a take lost its conditional write to another
    /// worker (the survivors of a dead worker plan on the same snapshot), it looks again
    /// at once instead of a renewal period later, so takeovers stay within lease + slack.
    async fn evaluate(
        &self,
        tasks: &mut HashMap<String, JoinHandle<ShardExit>>,
    ) -> Result<(), EvalError> {
        if self.evaluate_once(tasks).await? > 0 {
            self.evaluate_once(tasks).await?;
        }
        Ok(())
    }

    /// Returns how many takes lost their conditional write.
    async fn evaluate_once(
        &self,
        tasks: &mut HashMap<String, JoinHandle<ShardExit>>,
    ) -> Result<usize, EvalError> {
        let w = &self.inner;
        let mut conflicts = 0;
        let shards = self.list_shards().await?;
        // Leases are read a few at a time, each call bounded; a read that fails makes only
        // its shard sit this round out (it is neither planned as free nor taken).
        let reads: Vec<_> = futures::stream::iter(shards.clone())
            .map(|s| {
                let store = w.store.clone();
                async move { lease::read(&store, &s).await }
            })
            .buffered(LEASE_READS_IN_FLIGHT)
            .collect()
            .await;
        let now = w.now_ms();
        let mut seen: BTreeMap<String, Held> = BTreeMap::new();
        let mut views: BTreeMap<String, View> = BTreeMap::new();
        let mut unreadable: BTreeSet<&String> = BTreeSet::new();
        for (s, read) in shards.iter().zip(reads) {
            match read {
                Ok(Some(h)) => {
                    views.insert(
                        s.clone(),
                        View {
                            owner: h.lease.owner.clone(),
                            expired: h.lease.is_expired(now),
                        },
                    );
                    seen.insert(s.clone(), h);
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(shard = %s, %e, "reading lease: shard skipped this round");
                    w.metrics.lease_error(s, "read", e.reason());
                    unreadable.insert(s);
                }
            }
        }
        let held: BTreeSet<String> = tasks.keys().cloned().collect();
        let me = w.config.worker_id.as_str();
        for take in lease::plan(me, &shards, &views, &held) {
            let (shard, change) = match &take {
                Take::Free(s) => (
                    s,
                    match seen.get(s) {
                        None => "created",
                        Some(h) if h.lease.owner == me => "reclaimed",
                        Some(_) => "taken",
                    },
                ),
                Take::Steal(s) => (s, "stolen"),
            };
            if unreadable.contains(shard) {
                continue;
            }
            let current = seen.get(shard);
            match lease::take(
                &w.store,
                shard,
                current,
                me,
                w.now_ms(),
                w.config.lease.duration_ms,
            )
            .await
            {
                Ok(h) => {
                    tracing::info!(shard, change, epoch = h.lease.epoch, "lease taken");
                    w.metrics.lease_change(shard, change);
                    w.owned.lock().insert(shard.clone());
                    let t = tokio::spawn(shard::run(w.clone(), h, w.mode.subscribe()));
                    tasks.insert(shard.clone(), t);
                }
                Err(StoreError::Precondition(_)) => {
                    // Someone else moved first.
                    w.metrics.lease_change(shard, "take_conflict");
                    conflicts += 1;
                }
                Err(e) => {
                    // Only this shard: the rest of the plan is still taken.
                    tracing::warn!(shard, %e, "taking lease");
                    w.metrics.lease_error(shard, "take", e.reason());
                }
            }
        }
        Ok(conflicts)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("ListShards: {0}")]
    Kinesis(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}
