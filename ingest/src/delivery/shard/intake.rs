//! The intake half of a shard task: one paced GetRecords call, each record decoded into a
//! checked envelope body (`view::Body`) and buffered in its partition unless already
//! durable, and undecodable records written to `errors/` (they hold the resume point back
//! until written).

use super::super::metrics;
use super::super::reader::ReadError;
use super::super::rows::BufferedRecord;
use super::super::view::Body;
use super::{ShardExit, Task};
use crate::envelope::Kind;
use crate::table::layout::error_key;
use crate::table::{Partition, SeqNo};
use base64::Engine;
use std::time::{Duration, Instant};

impl Task {
    /// Writes pending `errors/` objects (idempotent: same key and body on a replay).
    pub(super) async fn write_errors(&mut self) {
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
    pub(super) async fn read(&mut self) -> Result<Duration, ShardExit> {
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
}
