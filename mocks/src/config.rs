//! Emulator configuration: region, account, known credentials and AWS's own limits.
//! Every field has a default that matches AWS (limits on) and works on a laptop.

use serde::{Deserialize, Serialize};

/// One known access key and its secret. AWS's default for emulators is `test`/`test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub access_key_id: String,
    pub secret_access_key: String,
}

impl Credentials {
    pub fn new(access_key_id: impl Into<String>, secret_access_key: impl Into<String>) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
        }
    }
}

/// Kinesis Data Streams service limits (provisioned mode), per AWS's documentation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KinesisLimits {
    /// Off: no rate limits at all (size limits on records and requests still hold).
    pub enabled: bool,
    pub shard_write_records_per_sec: u64,
    pub shard_write_bytes_per_sec: u64,
    pub shard_read_calls_per_sec: u64,
    pub shard_read_bytes_per_sec: u64,
    /// Data blob plus partition key.
    pub max_record_bytes: u64,
    pub put_records_max_records: usize,
    pub put_records_max_bytes: u64,
    pub get_records_max_records: usize,
    pub get_records_max_bytes: u64,
}

impl Default for KinesisLimits {
    fn default() -> Self {
        Self {
            enabled: true,
            shard_write_records_per_sec: 1_000,
            shard_write_bytes_per_sec: 1 << 20,
            shard_read_calls_per_sec: 5,
            shard_read_bytes_per_sec: 2 << 20,
            max_record_bytes: 1 << 20,
            put_records_max_records: 500,
            put_records_max_bytes: 5 << 20,
            get_records_max_records: 10_000,
            get_records_max_bytes: 10 << 20,
        }
    }
}

impl KinesisLimits {
    /// Rate limits off, size limits as AWS has them: what benchmarks use.
    pub fn unlimited() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmulatorConfig {
    pub region: String,
    pub account_id: String,
    /// Known access keys; a request signed with any other gets AWS's error.
    pub credentials: Vec<Credentials>,
    /// Verify SigV4 signatures (not only the access key) on Kinesis and SQS calls.
    /// S3 signatures are always verified by s3s.
    pub verify_signatures: bool,
    pub kinesis: KinesisLimits,
    /// S3 object and part size limits (AWS's by default) and ETag mode.
    pub s3: crate::s3::S3Config,
    /// Largest request body accepted by the JSON services (Kinesis, SQS); AWS's own
    /// request limits are checked separately and answered with their own errors.
    pub max_json_body_bytes: usize,
    /// Seed for every random choice (fault probabilities, ids): printed, replayable.
    pub seed: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            region: "us-east-1".into(),
            account_id: "000000000000".into(),
            credentials: vec![Credentials::new("test", "test")],
            verify_signatures: true,
            kinesis: KinesisLimits::default(),
            s3: crate::s3::S3Config::default(),
            max_json_body_bytes: 16 << 20,
            seed: 0x5EED,
        }
    }
}

impl EmulatorConfig {
    pub fn secret_for(&self, access_key_id: &str) -> Option<&str> {
        self.credentials
            .iter()
            .find(|c| c.access_key_id == access_key_id)
            .map(|c| c.secret_access_key.as_str())
    }
}
