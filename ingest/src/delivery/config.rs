//! Delivery configuration (TOML, `deny_unknown_fields`). Every field has a default that
//! works on a laptop; buffering defaults are Firehose's (5 MiB or 300 s), scenarios and
//! tests use ~1 s.

use crate::aws::AwsConfig;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Owner name written into leases. Must be unique among running workers: two workers
    /// with one id take each other's leases as their own. Unset = [`unique_worker_id`]
    /// (`delivery-<pid>-<random>`, new at every process start); a configured id is kept
    /// as configured.
    pub worker_id: String,
    /// Availability zone label (metrics, logs).
    pub az: String,
    pub stream: String,
    pub bucket: String,
    pub aws: AwsConfig,
    pub lease: LeaseConfig,
    pub buffer: BufferConfig,
    pub read: ReadConfig,
    pub sweeper: SweeperConfig,
    pub checkpoint: CheckpointConfig,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            worker_id: unique_worker_id(None),
            az: "a".into(),
            stream: "telemetry".into(),
            bucket: "gameday-telemetry".into(),
            aws: AwsConfig::default(),
            lease: LeaseConfig::default(),
            buffer: BufferConfig::default(),
            read: ReadConfig::default(),
            sweeper: SweeperConfig::default(),
            checkpoint: CheckpointConfig::default(),
        }
    }
}

/// A worker id no other worker has: `delivery-[<az>-]<pid>-<8 random hex digits>`. The pid
/// alone is not enough (two workers in one process, a pid reused after a restart or on
/// another host sharing the bucket).
pub fn unique_worker_id(az: Option<&str>) -> String {
    let suffix: u32 = rand::random();
    match az {
        Some(az) => format!("delivery-{az}-{}-{suffix:08x}", std::process::id()),
        None => format!("delivery-{}-{suffix:08x}", std::process::id()),
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LeaseConfig {
    /// How long a lease stays valid without renewal; a dead worker's shards are taken
    /// after at most this plus one evaluation period.
    pub duration_ms: u64,
    /// Renewal and evaluation period (taking free, expired or stolen leases).
    pub renew_ms: u64,
}

impl Default for LeaseConfig {
    fn default() -> Self {
        Self {
            duration_ms: 10_000,
            renew_ms: 3_000,
        }
    }
}

impl LeaseConfig {
    pub fn duration(&self) -> Duration {
        Duration::from_millis(self.duration_ms)
    }
    pub fn renew(&self) -> Duration {
        Duration::from_millis(self.renew_ms.max(1))
    }

    /// The bound on every AWS call a worker makes (the `[aws]` timeouts are lowered to
    /// it): a third of what the lease leaves after a renewal period, so that a renewal
    /// that waits behind one slow call and then times out itself still has time for
    /// another attempt before the lease expires (renew + 3 × this ≤ duration). 2.33 s
    /// with the defaults.
    pub fn call_timeout(&self) -> Duration {
        let spare = self.duration_ms.saturating_sub(self.renew_ms) / 3;
        Duration::from_millis(spare.max(100))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BufferConfig {
    /// A partition's buffer is flushed when the Kinesis record bytes in it reach this...
    pub max_bytes: u64,
    /// ...or when its oldest record has waited this long.
    pub interval_ms: u64,
}

impl Default for BufferConfig {
    fn default() -> Self {
        Self {
            max_bytes: 5 << 20,
            interval_ms: 300_000,
        }
    }
}

impl BufferConfig {
    pub fn interval(&self) -> Duration {
        Duration::from_millis(self.interval_ms)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReadConfig {
    /// `Limit` of each GetRecords call.
    pub limit: i32,
    /// Pause after an empty GetRecords answer (AWS allows 5 calls/s per shard).
    pub idle_poll_ms: u64,
    /// BREAKS EXACTLY-ONCE — test-only: a shard taken over starts at the stream's tip
    /// (`LATEST`) instead of its commit's resume point, so whatever the last owner had
    /// not committed is skipped. Gate T5's break-it test sets it to watch the gate catch
    /// the loss; never set it otherwise.
    pub unsafe_start_at_latest: bool,
}

impl Default for ReadConfig {
    fn default() -> Self {
        Self {
            limit: 10_000,
            idle_poll_ms: 200,
            unsafe_start_at_latest: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SweeperConfig {
    /// How often a worker sweeps the orphans of the shards it owns (0 = never).
    pub interval_ms: u64,
    /// Orphans younger than this are left alone.
    pub grace_ms: u64,
    /// Keys per listing page, and pages per sweep; the listing resumes where it stopped.
    pub page_keys: i32,
    pub pages_per_sweep: usize,
}

impl Default for SweeperConfig {
    fn default() -> Self {
        Self {
            interval_ms: 60_000,
            grace_ms: 300_000,
            page_keys: 1_000,
            pages_per_sweep: 100,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CheckpointConfig {
    /// A commit carries a checkpoint (the shard's whole table) once this many commits
    /// passed since the last one; readers walk back at most this far (0 = never).
    pub every_commits: u64,
}

impl Default for CheckpointConfig {
    fn default() -> Self {
        Self {
            every_commits: 1_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_unknown_fields() {
        let c: DeliveryConfig = toml::from_str("").unwrap();
        assert_eq!(c.stream, "telemetry");
        assert_eq!(c.buffer.max_bytes, 5 << 20);
        assert!(c.worker_id.starts_with("delivery-"));
        let c: DeliveryConfig =
            toml::from_str("[buffer]\ninterval_ms = 1000\n[aws]\nendpoint = \"http://x\"").unwrap();
        assert_eq!(c.buffer.interval_ms, 1000);
        assert_eq!(c.buffer.max_bytes, 5 << 20);
        assert!(toml::from_str::<DeliveryConfig>("surprise = 1").is_err());
        assert!(toml::from_str::<DeliveryConfig>("[lease]\nsurprise = 1").is_err());
    }

    #[test]
    fn default_worker_ids_are_unique_and_a_configured_one_is_kept() {
        // Two workers started without an id (in one process, so with one pid) must not
        // share a lease owner: each would take the other's leases as its own.
        let a = DeliveryConfig::default();
        let b: DeliveryConfig = toml::from_str("").unwrap();
        assert_ne!(a.worker_id, b.worker_id);
        assert!(a.worker_id.starts_with("delivery-"));
        let c: DeliveryConfig = toml::from_str("worker_id = \"delivery-x\"").unwrap();
        assert_eq!(c.worker_id, "delivery-x");
    }
}
