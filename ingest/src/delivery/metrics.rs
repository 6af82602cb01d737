//! Delivery's own telemetry at `/metrics` (Prometheus text): rows, objects and bytes
//! written, commits, lease changes and epoch per shard, fenced writes, orphans swept,
//! decode errors, GetRecords throttles, records skipped as already durable, failed lease
//! reads/takes/renewals by reason, buffer age, millis behind latest and iterator age per
//! shard.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ShardLabels {
    pub shard: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub shard: String,
    pub table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub shard: String,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LeaseOpLabels {
    pub shard: String,
    /// read | take | renew
    pub op: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabels {
    pub kind: &'static str,
}

pub struct Metrics {
    registry: Registry,
    pub rows_written: Family<TableLabels, Counter>,
    pub objects_written: Family<TableLabels, Counter>,
    pub bytes_written: Family<TableLabels, Counter>,
    pub commits: Family<ShardLabels, Counter>,
    /// change = created | taken | stolen | reclaimed | released | lost
    pub lease_changes: Family<ReasonLabels, Counter>,
    pub epoch: Family<ShardLabels, Gauge>,
    pub owned: Family<ShardLabels, Gauge>,
    /// Conditional writes refused (the worker was fenced), by what was being written.
    pub fenced_writes: Family<ReasonLabels, Counter>,
    pub orphans_swept: Family<KindLabels, Counter>,
    /// Owned shards a sweep left alone (chain not walked to its end, lease unreadable), by
    /// reason; `shard=""` for failed deletes.
    pub sweep_skipped: Family<ReasonLabels, Counter>,
    /// Commits written carrying a checkpoint.
    pub checkpoints: Family<ShardLabels, Counter>,
    /// Owners that could not read their chain back and write no checkpoints, by reason.
    pub checkpoints_skipped: Family<ReasonLabels, Counter>,
    pub decode_errors: Family<ReasonLabels, Counter>,
    pub records_skipped: Family<ShardLabels, Counter>,
    /// GetRecords / GetShardIterator throttled (ProvisionedThroughputExceeded, LimitExceeded).
    pub read_throttles: Family<ReasonLabels, Counter>,
    pub read_errors: Family<ReasonLabels, Counter>,
    pub flush_failures: Family<ReasonLabels, Counter>,
    /// Lease reads (balancing), takes and renewals that failed other than by a lost race,
    /// by operation and reason (`timeout`, `s3_error`, …).
    pub lease_errors: Family<LeaseOpLabels, Counter>,
    pub millis_behind_latest: Family<ShardLabels, Gauge>,
    pub iterator_age_ms: Family<ShardLabels, Gauge>,
    pub buffer_age_ms: Family<ShardLabels, Gauge>,
    pub buffer_bytes: Family<ShardLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("delivery");
        let m = Self {
            registry: Registry::default(),
            rows_written: Family::default(),
            objects_written: Family::default(),
            bytes_written: Family::default(),
            commits: Family::default(),
            lease_changes: Family::default(),
            epoch: Family::default(),
            owned: Family::default(),
            fenced_writes: Family::default(),
            orphans_swept: Family::default(),
            sweep_skipped: Family::default(),
            checkpoints: Family::default(),
            checkpoints_skipped: Family::default(),
            decode_errors: Family::default(),
            records_skipped: Family::default(),
            read_throttles: Family::default(),
            read_errors: Family::default(),
            flush_failures: Family::default(),
            lease_errors: Family::default(),
            millis_behind_latest: Family::default(),
            iterator_age_ms: Family::default(),
            buffer_age_ms: Family::default(),
            buffer_bytes: Family::default(),
        };
        let r = &mut registry;
        r.register(
            "rows_written",
            "Rows committed (samples or events)",
            m.rows_written.clone(),
        );
        r.register(
            "objects_written",
            "Data objects committed",
            m.objects_written.clone(),
        );
        r.register(
            "bytes_written",
            "Parquet bytes committed",
            m.bytes_written.clone(),
        );
        r.register(
            "commits",
            "Commits that took effect (lease head moved)",
            m.commits.clone(),
        );
        r.register(
            "lease_changes",
            "Lease changes by kind",
            m.lease_changes.clone(),
        );
        r.register(
            "lease_epoch",
            "Epoch of the lease this worker holds",
            m.epoch.clone(),
        );
        r.register(
            "shard_owned",
            "1 while this worker owns the shard",
            m.owned.clone(),
        );
        r.register(
            "fenced_writes",
            "Conditional writes refused: fenced",
            m.fenced_writes.clone(),
        );
        r.register(
            "orphans_swept",
            "Unreachable objects deleted by the sweeper",
            m.orphans_swept.clone(),
        );
        r.register(
            "sweep_skipped",
            "Owned shards a sweep deleted nothing of, by reason",
            m.sweep_skipped.clone(),
        );
        r.register(
            "checkpoints",
            "Commits written carrying a checkpoint",
            m.checkpoints.clone(),
        );
        r.register(
            "checkpoints_skipped",
            "Owners writing no checkpoints (chain not read back after 5 tries, still retried; or out of step), by reason",
            m.checkpoints_skipped.clone(),
        );
        r.register(
            "decode_errors",
            "Undecodable records sent to errors/",
            m.decode_errors.clone(),
        );
        r.register(
            "records_skipped_durable",
            "Records re-read after a resume and skipped as already durable",
            m.records_skipped.clone(),
        );
        r.register(
            "read_throttles",
            "Kinesis reads throttled (backed off)",
            m.read_throttles.clone(),
        );
        r.register(
            "read_errors",
            "Kinesis read errors by reason",
            m.read_errors.clone(),
        );
        r.register(
            "flush_failures",
            "Flush attempts that failed, by reason",
            m.flush_failures.clone(),
        );
        r.register(
            "lease_errors",
            "Lease reads, takes and renewals that failed (not a lost race), by reason",
            m.lease_errors.clone(),
        );
        r.register(
            "millis_behind_latest",
            "GetRecords MillisBehindLatest (iterator age)",
            m.millis_behind_latest.clone(),
        );
        r.register(
            "iterator_age_ms",
            "Age of the newest record read (0 when caught up)",
            m.iterator_age_ms.clone(),
        );
        r.register(
            "buffer_age_ms",
            "Age of the oldest buffered record",
            m.buffer_age_ms.clone(),
        );
        r.register(
            "buffer_bytes",
            "Bytes buffered, not yet committed",
            m.buffer_bytes.clone(),
        );
        Self { registry, ..m }
    }
}

pub fn shard(s: &str) -> ShardLabels {
    ShardLabels {
        shard: s.to_string(),
    }
}

pub fn reason(s: &str, reason: &'static str) -> ReasonLabels {
    ReasonLabels {
        shard: s.to_string(),
        reason,
    }
}

pub fn table(s: &str, table: &'static str) -> TableLabels {
    TableLabels {
        shard: s.to_string(),
        table,
    }
}

impl Metrics {
    pub fn render(&self) -> String {
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }

    pub fn lease_change(&self, s: &str, change: &'static str) {
        self.lease_changes.get_or_create(&reason(s, change)).inc();
    }

    pub fn lease_error(&self, s: &str, op: &'static str, reason: &'static str) {
        self.lease_errors
            .get_or_create(&LeaseOpLabels {
                shard: s.to_string(),
                op,
                reason,
            })
            .inc();
    }

    pub fn fenced(&self, s: &str, what: &'static str) {
        self.fenced_writes.get_or_create(&reason(s, what)).inc();
    }
}
