//! Gateway configuration (TOML, `deny_unknown_fields`). Every field has a default that
//! works on a laptop; tenants, secrets and TLS files come from the harness.

use crate::config::Secret;
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct GatewayConfig {
    /// Name in logs, metrics and envelopes, e.g. `gateway-b`.
    pub instance: String,
    /// Serve plain HTTP instead of TLS. Only with this explicit flag.
    pub plain_http: bool,
    pub tls: Option<TlsConfig>,
    pub auth: AuthConfig,
    pub kinesis: KinesisConfig,
    pub limits: RequestLimits,
    pub hygiene: HygieneConfig,
    pub tenants: Vec<TenantConfig>,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            instance: "gateway".into(),
            plain_http: false,
            tls: None,
            auth: AuthConfig::default(),
            kinesis: KinesisConfig::default(),
            limits: RequestLimits::default(),
            hygiene: HygieneConfig::default(),
            tenants: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `iss` of issued tokens, required on presented ones.
    pub issuer: String,
    /// `aud` a token must carry; `/token` refuses any other audience.
    pub audience: String,
    pub token_ttl_secs: u64,
    /// Signing keys, current first; every listed key is accepted so a secret can rotate.
    pub keys: Vec<SigningKey>,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "gameday-gateway".into(),
            audience: "telemetry-ingest".into(),
            token_ttl_secs: 20 * 60,
            keys: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigningKey {
    pub kid: String,
    pub secret: Secret,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KinesisConfig {
    pub stream: String,
    /// Endpoint URL (embedded backend, LocalStack); None = the AWS SDK's own resolution.
    pub endpoint: Option<String>,
    pub region: String,
    /// Static credentials (the embedded backend and LocalStack know `test`/`test`);
    /// unset = the AWS SDK's default credential chain (real AWS).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// PutRecords calls in flight at once; more requests wait (bounded memory).
    pub max_in_flight: usize,
    /// How long partial failures are retried before the request gets 503.
    pub deadline_ms: u64,
    pub retry_base_ms: u64,
    /// Target size of one aggregated record (Kinesis allows 1 MiB).
    pub max_record_bytes: usize,
    /// How often the stream's shard map is listed again (ListShards): with it, the items
    /// of one request that land on one shard share a record. 0: no map, one record per
    /// partition key (fewer items per record).
    pub shard_map_refresh_ms: u64,
}

impl Default for KinesisConfig {
    fn default() -> Self {
        Self {
            stream: "telemetry".into(),
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            max_in_flight: 16,
            deadline_ms: 2_000,
            retry_base_ms: 25,
            max_record_bytes: 256 << 10,
            shard_map_refresh_ms: 30_000,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RequestLimits {
    /// Compressed body size; larger → 413.
    pub max_body_bytes: usize,
    /// Decompressed size of a snappy or gzip body; larger → 413.
    pub max_decompressed_bytes: usize,
    pub max_events_per_request: usize,
    pub max_event_bytes: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_body_bytes: 4 << 20,
            max_decompressed_bytes: 32 << 20,
            max_events_per_request: 500,
            max_event_bytes: 64 << 10,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HygieneConfig {
    /// Label names a series may carry besides the structural ones (`__name__`, `le`,
    /// `quantile`) and, per tenant, `job`/`instance`.
    pub allowlist: Vec<String>,
    pub detect_email: bool,
    pub detect_phone: bool,
    pub detect_ip: bool,
    pub detect_card: bool,
    /// Extra regular expressions; a match anywhere in a value is PII.
    pub deny_patterns: Vec<String>,
    pub max_labels_per_series: usize,
    pub max_label_value_bytes: usize,
    /// Per-series verdicts kept so that hygiene stays cheap at high rates.
    pub verdict_cache_entries: usize,
    /// A series is active for this long after its last sample (cardinality budget).
    pub active_series_window_secs: u64,
}

impl Default for HygieneConfig {
    fn default() -> Self {
        Self {
            // The stored table gives these their own columns (table::schema).
            allowlist: crate::table::schema::PROMOTED_LABELS
                .map(String::from)
                .to_vec(),
            detect_email: true,
            detect_phone: true,
            detect_ip: true,
            detect_card: true,
            deny_patterns: Vec::new(),
            max_labels_per_series: 32,
            max_label_value_bytes: 256,
            verdict_cache_entries: 200_000,
            active_series_window_secs: 600,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    /// OAuth client credentials (`POST /token`); the secret is stored as its SHA-256.
    #[serde(default)]
    pub client_id: Option<String>,
    #[serde(default)]
    pub client_secret_sha256: Option<String>,
    /// API keys, stored as SHA-256 hex digests, never in clear.
    #[serde(default)]
    pub api_key_sha256: Vec<String>,
    /// Whether `job` and `instance` labels are allowed (agents that do not relabel).
    #[serde(default)]
    pub allow_job_instance: bool,
    /// OTLP resource attributes judged like labels and kept; others are dropped.
    #[serde(default)]
    pub promoted_resource_attributes: Vec<String>,
    #[serde(default = "default_series_budget")]
    pub active_series_budget: usize,
    #[serde(default)]
    pub quota: QuotaConfig,
}

fn default_series_budget() -> usize {
    50_000
}

/// Per-tenant token buckets; each holds `burst_secs` of its rate.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotaConfig {
    pub samples_per_sec: f64,
    pub bytes_per_sec: f64,
    pub events_per_sec: f64,
    pub burst_secs: f64,
}

impl Default for QuotaConfig {
    fn default() -> Self {
        Self {
            samples_per_sec: 30_000.0,
            bytes_per_sec: 8.0 * 1024.0 * 1024.0,
            events_per_sec: 1_500.0,
            burst_secs: 1.0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_and_unknown_fields_are_refused() {
        let c: GatewayConfig = toml::from_str(
            r#"
            instance = "gateway-a"
            [[auth.keys]]
            kid = "k1"
            secret = "s"
            [[tenants]]
            id = "studio-a"
            api_key_sha256 = ["00"]
            "#,
        )
        .unwrap();
        assert_eq!(c.tenants[0].active_series_budget, 50_000);
        assert_eq!(c.hygiene.allowlist.len(), 8);
        let e = toml::from_str::<GatewayConfig>("instanse = \"typo\"").unwrap_err();
        assert!(e.to_string().contains("instanse"), "{e}");
    }
}
