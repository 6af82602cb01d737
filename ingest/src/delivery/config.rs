//! Delivery configuration (TOML, `deny_unknown_fields`). Every field has a default that
//! works on a laptop; buffering defaults are Firehose's (5 MiB or 300 s), scenarios and
//! tests use ~1 s.

use crate::aws::AwsConfig;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// Owner name written into leases (`delivery-<pid>` by default; the harness sets
    /// `delivery-<az>-<pid>`). Must be unique among running workers.
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
            worker_id: format!("delivery-{}", std::process::id()),
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
}

impl Default for ReadConfig {
    fn default() -> Self {
        Self {
            limit: 10_000,
            idle_poll_ms: 200,
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
}
