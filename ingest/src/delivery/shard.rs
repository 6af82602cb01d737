//! The task that runs one owned shard: resume from the head commit, read, decode, skip
//! what is already durable, buffer, flush through the commit protocol, renew the lease,
//! and hand the shard off on shutdown. A conditional write that fails fences the task:
//! it drops its buffers and writes nothing more for the shard.

use super::buffer::Buffers;
use super::commit::{self, FlushError, Prepared, ShardState};
use super::lease::{self, Held};
use super::metrics;
use super::reader::{ReadError, Reader};
use super::rows::BufferedRecord;
use super::store::StoreError;
use super::view::Body;
use super::worker::{Inner, Mode};
use crate::envelope::Kind;
use crate::table::layout::error_key;
use crate::table::{Commit, Lease, Partition, Resume, SeqNo};
use base64::Engine;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

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
    let reader = Reader::new(
        w.kinesis.clone(),
        &w.config.stream,
        &shard,
        held.lease.resume.clone(),
    );
    let buffers = Buffers::new(w.config.buffer.max_bytes, w.config.buffer.interval());
    let mut task = Task {
        shard: shard.clone(),
        state: ShardState {
            held,
            durable: head.durable,
        },
        reader,
        buffers,
        pending: None,
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
            if self.pending.is_none() && self.buffers.any_due(now) {
                let parts = self.buffers.take_due(now, false);
                if let Err(e) = self.prepare(parts) {
                    return self.fail(e);
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
            // often flushes and renewals wake the loop.
            // Paced from the call's start (5 calls/s is AWS's limit on call starts), so the
            // decoding of a batch overlaps the pause instead of adding to it.
            if Instant::now() >= self.next_read_at {
                let started = Instant::now();
                match self.read().await {
                    Ok(d) => self.next_read_at = started + d,
                    Err(exit) => return exit,
                }
            }
            let wait = self.next_read_at.saturating_duration_since(Instant::now());
            self.pause(wait).await;
        }
    }

    fn next_backoff(&mut self) -> Duration {
        self.backoff = (self.backoff * 2).clamp(Duration::from_millis(100), MAX_BACKOFF);
        self.backoff
    }

    /// Sleeps `d` (shortened to the next due buffer or renewal), waking on a mode change.
    async fn pause(&mut self, d: Duration) {
        let now = Instant::now();
        let renew_in = self
            .w
            .config
            .lease
            .renew()
            .saturating_sub(now.duration_since(self.last_lease_write));
        let mut d = d.min(renew_in);
        if let Some(due) = self.buffers.next_due_in(now) {
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
        let r = commit::execute(
            &w.store,
            &mut self.state,
            p,
            w.config.lease.duration_ms,
            || w.now_ms(),
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
        let next = Lease {
            expires_at_ms: self.w.now_ms() + self.w.config.lease.duration_ms as i64,
            ..self.state.held.lease.clone()
        };
        match lease::write(&self.w.store, &mut self.state.held, next).await {
            Ok(()) => {
                self.last_lease_write = Instant::now();
                None
            }
            Err(StoreError::Precondition(_)) => {
                Some(self.fail(FlushError::Fenced("lease renewal")))
            }
            Err(e) => {
                tracing::warn!(shard = self.shard, %e, "lease renewal failed");
                if self.state.held.lease.is_expired(self.w.now_ms()) {
                    Some(ShardExit::Lost)
                } else {
                    None
                }
            }
        }
    }

    /// Writes pending `errors/` objects (idempotent: same key and body on a replay).
    async fn write_errors(&mut self) {
        let mut left = Vec::new();
        for (seq, data, reason, detail) in std::mem::take(&mut self.pending_errors) {
            let body = serde_json::json!({
                "shard_id": self.shard,
                "sequence_number": seq.as_str(),
                "reason": reason,
                "detail": detail,
                "data_base64": base64::engine::general_purpose::STANDARD.encode(&data),
            })
            .to_string()
            .into_bytes();
            match self
                .w
                .store
                .put_any(&error_key(&self.shard, &seq), body)
                .await
            {
                Ok(_) => {
                    self.w
                        .metrics
                        .decode_errors
                        .get_or_create(&metrics::reason(&self.shard, reason))
                        .inc();
                }
                Err(e) => {
                    tracing::warn!(shard = self.shard, %e, "writing errors/ object");
                    left.push((seq, data, reason, detail));
                }
            }
        }
        self.pending_errors = left;
    }

    /// One GetRecords call; returns how long after its start the next one may begin.
    async fn read(&mut self) -> Result<Duration, ShardExit> {
        let idle = Duration::from_millis(self.w.config.read.idle_poll_ms);
        let m = &self.w.metrics;
        let batch = match self.reader.next(self.w.config.read.limit).await {
            Ok(b) => b,
            Err(ReadError::Throttled(reason)) => {
                m.read_throttles
                    .get_or_create(&metrics::reason(&self.shard, reason))
                    .inc();
                return Ok(self.next_backoff().max(idle));
            }
            Err(ReadError::ShardGone) => return Err(self.shard_gone().await),
            Err(ReadError::Other { reason, detail }) => {
                m.read_errors
                    .get_or_create(&metrics::reason(&self.shard, reason))
                    .inc();
                tracing::warn!(shard = self.shard, reason, detail, "GetRecords failed");
                return Ok(self.next_backoff().max(idle));
            }
        };
        self.backoff = Duration::ZERO;
        if batch.iterator_renewed {
            m.read_errors
                .get_or_create(&metrics::reason(&self.shard, "expired_iterator"))
                .inc();
            return Ok(Duration::ZERO);
        }
        if let Some(behind) = batch.millis_behind_latest {
            m.millis_behind_latest
                .get_or_create(&metrics::shard(&self.shard))
                .set(behind);
        }
        // Iterator age: how old the newest record read is (0 once caught up).
        let age = match (batch.last_arrival_ms, batch.millis_behind_latest) {
            (_, Some(0)) | (None, _) => 0,
            (Some(t), _) => (self.w.now_ms() - t).max(0),
        };
        m.iterator_age_ms
            .get_or_create(&metrics::shard(&self.shard))
            .set(age);
        let empty = batch.records.is_empty();
        let now = Instant::now();
        for (seq, data) in batch.records {
            self.accept(seq, data, now);
        }
        Ok(if empty || self.reader.closed {
            idle
        } else {
            idle.min(Duration::from_millis(200))
        })
    }

    fn accept(&mut self, seq: SeqNo, data: Vec<u8>, now: Instant) {
        let env = match Body::decode_record(&data) {
            Ok(env) => env,
            Err(e) => {
                let reason = e.reason();
                self.pending_errors.push((seq, data, reason, e.to_string()));
                return;
            }
        };
        let kind = env.kind();
        let mixed = match kind {
            Kind::Metrics => env.events > 0,
            Kind::Events => env.samples > 0,
            Kind::Unspecified => true,
        };
        if mixed {
            let detail = format!(
                "kind {kind:?} with {} samples and {} events",
                env.samples, env.events
            );
            self.pending_errors.push((seq, data, "bad_kind", detail));
            return;
        }
        let partition = Partition::of(kind, &env.tenant, env.ingest_time_ms);
        if env.is_empty() || self.state.is_durable(&partition, &seq) {
            self.w
                .metrics
                .records_skipped
                .get_or_create(&metrics::shard(&self.shard))
                .inc();
            return;
        }
        let size = data.len() as u64;
        self.buffers
            .push(partition, BufferedRecord { seq, body: env }, size, now);
    }

    /// Shutdown: flush everything, commit, release (owner "", expires now). Whatever
    /// could not be committed is simply read again by the next owner.
    async fn hand_off(&mut self) -> ShardExit {
        self.write_errors().await;
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
