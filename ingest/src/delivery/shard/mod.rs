//! The task that runs one owned shard: resume from the head commit, read, decode, skip
//! what is already durable, buffer, flush through the commit protocol, renew the lease,
//! and hand the shard off on shutdown. A conditional write that fails fences the task:
//! it drops its buffers and writes nothing more for the shard.

mod intake;

use super::buffer::Buffers;
use super::commit::{self, FlushError, Prepared, ShardState};
use super::keepalive::Keepalive;
use super::lease::{self, Held};
use super::metrics;
use super::reader::Reader;
use super::store::StoreError;
use super::worker::{Inner, Mode};
use crate::table::{Commit, Lease, Partition, Resume, SeqNo};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::{JoinError, JoinHandle};

/// Renewals of an expired lease retried after one failed without an answer (at 50, 100,
/// 200, 400, 800 ms) before the shard is given up without the store's word.
const EXPIRED_RENEWAL_RETRIES: u32 = 5;

type Encoding = Result<Result<Prepared, FlushError>, JoinError>;

/// Resolves when the flush being encoded is ready; never when there is none.
async fn encoding_done(h: &mut Option<JoinHandle<Result<Prepared, FlushError>>>) -> Encoding {
    match h {
        Some(h) => h.await,
        None => std::future::pending().await,
    }
}

fn joined(r: Encoding) -> Result<Prepared, FlushError> {
    r.unwrap_or_else(|e| Err(FlushError::Encode(format!("encoding task: {e}"))))
}

/// Why a shard task ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardExit {
    /// Shutdown: flushed, committed, lease released.
    HandedOff,
    /// A conditional write failed: another worker owns the shard now.
    Fenced,
    /// A crash point fired: stopped dead.
    Crashed,
    /// The shard no longer exists; lease released.
    Gone,
    /// The lease could not be renewed before it expired (S3 unreachable).
    Lost,
}

const MAX_BACKOFF: Duration = Duration::from_secs(5);
const HANDOFF_ATTEMPTS: u32 = 5;

struct Task {
    w: Arc<Inner>,
    shard: String,
    state: ShardState,
    reader: Reader,
    buffers: Buffers,
    pending: Option<Prepared>,
    /// The next flush being encoded on a blocking thread while reading goes on; at most
    /// one of `encoding`, `encoded` and `pending` exists, so flushes stay in order.
    encoding: Option<JoinHandle<Result<Prepared, FlushError>>>,
    encoded: Option<Result<Prepared, FlushError>>,
    /// Undecodable records whose `errors/` object is not written yet.
    pending_errors: Vec<(SeqNo, Vec<u8>, &'static str, String)>,
    last_lease_write: Instant,
    next_read_at: Instant,
    backoff: Duration,
    mode: watch::Receiver<Mode>,
}

/// Reads the head commit's durable marks (`None` head: nothing durable yet).
async fn load_durable(w: &Inner, lease: &Lease) -> Result<Commit, StoreError> {
    let Some(head) = &lease.head else {
        return Ok(Commit {
            shard_id: lease.shard_id.clone(),
            epoch: lease.epoch,
            number: 0,
            parent: None,
            created_ms: 0,
            objects: Vec::new(),
            durable: Default::default(),
            resume: lease.resume.clone(),
            checkpoint: None,
        });
    };
    match w.store.get(head).await? {
        Some((body, _)) => Commit::from_json(&body).map_err(|e| StoreError::Transient {
            op: "ParseCommit",
            key: head.clone(),
            detail: e.to_string(),
        }),
        None => Err(StoreError::Transient {
            op: "GetObject",
            key: head.clone(),
            detail: "head commit missing".into(),
        }),
    }
}

pub async fn run(w: Arc<Inner>, held: Held, mode: watch::Receiver<Mode>) -> ShardExit {
    let shard = held.lease.shard_id.clone();
    let m = &w.metrics;
    m.owned.get_or_create(&metrics::shard(&shard)).set(1);
    m.epoch
        .get_or_create(&metrics::shard(&shard))
        .set(held.lease.epoch as i64);
    let mut head = None;
    for attempt in 0..5u32 {
        match load_durable(&w, &held.lease).await {
            Ok(c) => {
                head = Some(c);
                break;
            }
            Err(e) => {
                tracing::warn!(shard, %e, attempt, "reading head commit");
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    let Some(head) = head else {
        m.owned.get_or_create(&metrics::shard(&shard)).set(0);
        return ShardExit::Lost;
    };
    let mut reader = Reader::new(
        w.kinesis.clone(),
        &w.config.stream,
        &shard,
        held.lease.resume.clone(),
    );
    if w.config.read.unsafe_start_at_latest {
        tracing::warn!(
            shard,
            "read.unsafe_start_at_latest: skipping to the stream's tip"
        );
        reader.start_at_latest();
    }
    let buffers = Buffers::new(w.config.buffer.max_bytes, w.config.buffer.interval());
    let mut task = Task {
        shard: shard.clone(),
        state: ShardState {
            history: super::history::History::start(&w, &held.lease),
            held,
            durable: head.durable,
        },
        reader,
        buffers,
        pending: None,
        encoding: None,
        encoded: None,
        pending_errors: Vec::new(),
        last_lease_write: Instant::now(),
        next_read_at: Instant::now(),
        backoff: Duration::ZERO,
        mode,
        w: w.clone(),
    };
    let exit = task.run().await;
    let m = &w.metrics;
    m.owned.get_or_create(&metrics::shard(&shard)).set(0);
    m.buffer_bytes.get_or_create(&metrics::shard(&shard)).set(0);
    m.buffer_age_ms
        .get_or_create(&metrics::shard(&shard))
        .set(0);
    tracing::info!(shard, ?exit, "shard task ended");
    exit
}

impl Task {
    fn mode(&self) -> Mode {
        *self.mode.borrow()
    }

    async fn run(&mut self) -> ShardExit {
        loop {
            match self.mode() {
                Mode::Crashed => return ShardExit::Crashed,
                Mode::Stopping => return self.hand_off().await,
                Mode::Running => {}
            }
            if let Some(exit) = self.renew_if_due().await {
                return exit;
            }
            self.write_errors().await;
            let now = Instant::now();
            if self.flush_idle() && self.buffers.any_due(now) {
                let parts = self.buffers.take_due(now, false);
                self.start_encoding(parts);
            }
            if self.encoding.as_ref().is_some_and(|h| h.is_finished()) {
                self.await_encoding().await;
            }
            if let Some(r) = self.encoded.take() {
                match r {
                    Ok(p) => self.pending = Some(p),
                    Err(e) => return self.fail(e),
                }
            }
            if self.pending.is_some() {
                match self.flush().await {
                    Ok(()) => self.backoff = Duration::ZERO,
                    Err(FlushError::Store(_)) | Err(FlushError::Encode(_)) => {
                        let d = self.next_backoff();
                        self.pause(d).await;
                        continue;
                    }
                    Err(e) => return self.fail(e),
                }
            }
            // GetRecords at most once per pace (AWS allows 5 calls/s per shard), however
            // often flushes and renewals wake the loop; paced from the call's start, so the
            // decoding of a batch overlaps the pause instead of adding to it. While a flush
            // is in flight and a full buffer's worth is read already, reading waits for it
            // (backpressure: memory stays bounded when encoding is the bottleneck).
            let held_back =
                !self.flush_idle() && self.buffers.total_bytes() >= self.w.config.buffer.max_bytes;
            if !held_back && Instant::now() >= self.next_read_at {
                let started = Instant::now();
                match self.read().await {
                    Ok(d) => self.next_read_at = started + d,
                    Err(exit) => return exit,
                }
            }
            let wait = if held_back {
                Duration::from_millis(self.w.config.read.idle_poll_ms)
            } else {
                self.next_read_at.saturating_duration_since(Instant::now())
            };
            self.pause(wait).await;
        }
    }

    fn next_backoff(&mut self) -> Duration {
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(100), MAX_BACKOFF);
        self.backoff
    }

    /// Sleeps `d` (shortened to the next due buffer or renewal), waking on a mode change
    /// or when the flush being encoded is ready.
    async fn pause(&mut self, d: Duration) {
        let now = Instant::now();
        let renew_in = self
            .w
            .config
            .lease
            .renew()
            .saturating_sub(now.duration_since(self.last_lease_write));
        let mut d = d.min(renew_in);
        // A due buffer only matters once no flush is in flight (then it is taken at once);
        // meanwhile the encoding's end wakes the pause.
        if let Some(due) = self.buffers.next_due_in(now).filter(|_| self.flush_idle()) {
            d = d.min(due);
        }
        let m = &self.w.metrics;
        m.buffer_age_ms
            .get_or_create(&metrics::shard(&self.shard))
            .set(self.buffers.oldest_age(now).as_millis() as i64);
        m.buffer_bytes
            .get_or_create(&metrics::shard(&self.shard))
            .set(self.buffers.total_bytes() as i64);
        if d.is_zero() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.mode.changed() => {}
            r = encoding_done(&mut self.encoding) => {
                self.encoding = None;
                self.encoded = Some(joined(r));
            }
        }
    }

    /// No flush is being encoded, waiting or being written.
    fn flush_idle(&self) -> bool {
        self.pending.is_none() && self.encoding.is_none() && self.encoded.is_none()
    }

    /// Encodes the taken buffers (rows → Parquet, the commit built) on a blocking thread,
    /// so this shard goes on reading and decoding meanwhile. What `prepare` reads of the
    /// shard (epoch, head, commit number, durable marks) only changes when a flush lands,
    /// and none can land before this one; the resume point is fixed now, as it would be
    /// inline: records read later are after it.
    fn start_encoding(&mut self, parts: Vec<(Partition, super::buffer::PartitionBuffer)>) {
        if parts.is_empty() {
            return;
        }
        let state = ShardState {
            held: self.state.held.clone(),
            durable: self.state.durable.clone(),
            history: self.state.history.clone(),
        };
        let resume = self.resume_point();
        let now_ms = self.w.now_ms();
        self.encoding = Some(tokio::task::spawn_blocking(move || {
            commit::prepare(&state, parts, resume, now_ms)
        }));
    }

    async fn await_encoding(&mut self) {
        if let Some(h) = self.encoding.take() {
            self.encoded = Some(joined(h.await));
        }
    }

    fn fail(&mut self, e: FlushError) -> ShardExit {
        match e {
            FlushError::Crash(point) => {
                tracing::warn!(shard = self.shard, ?point, "crash point: worker stops dead");
                self.w.crash();
                ShardExit::Crashed
            }
            FlushError::Fenced(what) => {
                self.w.metrics.fenced(&self.shard, what);
                self.w.metrics.lease_change(&self.shard, "lost");
                tracing::warn!(shard = self.shard, what, "fenced: dropping buffers");
                ShardExit::Fenced
            }
            other => {
                tracing::error!(shard = self.shard, %other, "giving the shard up");
                ShardExit::Lost
            }
        }
    }

    /// The resume point once the flushed buffers are durable.
    fn resume_point(&self) -> Resume {
        let oldest = self
            .buffers
            .oldest_seq()
            .into_iter()
            .chain(self.pending_errors.iter().map(|e| e.0.clone()))
            .min();
        match (oldest, self.reader.last_read()) {
            (Some(s), _) => Resume::At(s),
            (None, Some(last)) => Resume::After(last.clone()),
            (None, None) => self.state.held.lease.resume.clone(),
        }
    }

    fn prepare(
        &mut self,
        parts: Vec<(Partition, super::buffer::PartitionBuffer)>,
    ) -> Result<(), FlushError> {
        if parts.is_empty() {
            return Ok(());
        }
        let resume = self.resume_point();
        let p = commit::prepare(&self.state, parts, resume, self.w.now_ms())?;
        self.pending = Some(p);
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), FlushError> {
        let Some(p) = self.pending.as_mut() else {
            return Ok(());
        };
        let w = &self.w;
        let now_ms = || w.now_ms();
        let mut keep = Keepalive {
            store: &w.store,
            metrics: &w.metrics,
            shard: &self.shard,
            lease: &w.config.lease,
            now_ms: &now_ms,
            last_write: &mut self.last_lease_write,
        };
        let r = commit::execute(
            &w.store,
            &mut self.state,
            p,
            &mut keep,
            w.hook.as_ref(),
            &w.metrics,
        )
        .await;
        match &r {
            Ok(()) | Err(FlushError::Crash(crate::delivery::Point::AfterLease)) => {
                self.pending = None;
                self.last_lease_write = Instant::now();
            }
            Err(e) => {
                w.metrics
                    .flush_failures
                    .get_or_create(&metrics::reason(&self.shard, e.reason()))
                    .inc();
                tracing::warn!(shard = self.shard, %e, "flush failed");
            }
        }
        r
    }

    async fn renew_if_due(&mut self) -> Option<ShardExit> {
        if self.last_lease_write.elapsed() < self.w.config.lease.renew() {
            return None;
        }
        let mut retries = 0;
        loop {
            let next = Lease {
                expires_at_ms: self.w.now_ms() + self.w.config.lease.duration_ms as i64,
                ..self.state.held.lease.clone()
            };
            match lease::write(&self.w.store, &mut self.state.held, next).await {
                Ok(()) => {
                    self.last_lease_write = Instant::now();
                    return None;
                }
                Err(StoreError::Precondition(_)) => {
                    return Some(self.fail(FlushError::Fenced("lease renewal")));
                }
                Err(e) => {
                    tracing::warn!(shard = self.shard, %e, retries, "lease renewal failed");
                    self.w.metrics.lease_error(&self.shard, "renew", e.reason());
                    if !self.state.held.lease.is_expired(self.w.now_ms()) {
                        return None;
                    }
                    // Expired by our clock (a long pause, a frozen process) and the store
                    // gave no answer: only it can say whether another worker took the
                    // lease. Ask again — a pooled connection that died while we were away
                    // fails at once, a fresh one gets the answer — before giving the
                    // shard up unseen; a refusal is then counted as a fenced write.
                    if retries == EXPIRED_RENEWAL_RETRIES {
                        self.w
                            .metrics
                            .lease_change(&self.shard, "expired_unanswered");
                        return Some(ShardExit::Lost);
                    }
                    tokio::time::sleep(Duration::from_millis(50 << retries)).await;
                    retries += 1;
                }
            }
        }
    }

    /// Shutdown: flush everything, commit, release (owner "", expires now). Whatever
    /// could not be committed is simply read again by the next owner.
    async fn hand_off(&mut self) -> ShardExit {
        self.write_errors().await;
        // A flush being encoded holds buffers taken out already: it goes first.
        self.await_encoding().await;
        if let Some(r) = self.encoded.take() {
            match r {
                Ok(p) => self.pending = Some(p),
                Err(e) => return self.fail(e),
            }
        }
        for _ in 0..HANDOFF_ATTEMPTS {
            if self.pending.is_none() {
                if self.buffers.is_empty() {
                    break;
                }
                let parts = self.buffers.take_due(Instant::now(), true);
                if let Err(e) = self.prepare(parts) {
                    return self.fail(e);
                }
            }
            match self.flush().await {
                Ok(()) => {}
                Err(FlushError::Store(_)) => tokio::time::sleep(Duration::from_millis(200)).await,
                Err(e) => return self.fail(e),
            }
        }
        self.release().await;
        ShardExit::HandedOff
    }

    async fn release(&mut self) {
        let next = Lease {
            owner: String::new(),
            expires_at_ms: self.w.now_ms(),
            ..self.state.held.lease.clone()
        };
        match lease::write(&self.w.store, &mut self.state.held, next).await {
            Ok(()) => self.w.metrics.lease_change(&self.shard, "released"),
            Err(e) => tracing::warn!(shard = self.shard, %e, "releasing the lease"),
        }
    }

    async fn shard_gone(&mut self) -> ShardExit {
        tracing::warn!(shard = self.shard, "shard no longer exists: releasing");
        self.hand_off().await;
        ShardExit::Gone
    }
}
