//! The components' configuration files, written under the run directory: one TOML per
//! instance (`gateway-a.toml`, `delivery-b.toml`, `query.toml`) in the shapes the
//! components parse with `deny_unknown_fields`. Tenants' secrets go in as SHA-256 digests;
//! the token signing key is fresh for every stack.

use super::StackError;
use super::spec::{Knobs, TenantSpec};
use serde_json::{Value, json};
use sha2::Digest;
use std::path::{Path, PathBuf};

/// What every component config shares.
pub struct Common<'a> {
    pub tenants: &'a [TenantSpec],
    pub knobs: &'a Knobs,
    pub cert_file: &'a Path,
    pub key_file: &'a Path,
    /// Secret of the JWT signing key shared by the gateways and the query service.
    pub signing_secret: &'a str,
    pub stream: &'a str,
    pub bucket: &'a str,
    pub queue: &'a str,
    pub region: &'a str,
    pub access_key_id: &'a str,
    pub secret_access_key: &'a str,
    pub delivery_buffer_interval_ms: u64,
    /// How many gateways share each tenant's quota. Producers spread a tenant's
    /// requests evenly over the gateways and each gateway meters locally, so each gets
    /// 1/n of every rate: together they admit the tenant's quota, not n times it.
    pub gateways: usize,
}

fn sha256_hex(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

impl Common<'_> {
    fn tls(&self) -> Value {
        json!({
            "cert_file": self.cert_file.display().to_string(),
            "key_file": self.key_file.display().to_string(),
        })
    }

    fn auth(&self) -> Value {
        json!({ "keys": [{ "kid": "gameday-1", "secret": self.signing_secret }] })
    }

    fn tenants(&self) -> Value {
        let share = 1.0 / self.gateways.max(1) as f64;
        self.tenants
            .iter()
            .map(|t| {
                json!({
                    "id": t.id,
                    "client_id": t.client_id,
                    "client_secret_sha256": sha256_hex(&t.client_secret),
                    "api_key_sha256": [sha256_hex(&t.api_key)],
                    "allow_job_instance": t.allow_job_instance,
                    "active_series_budget": t.active_series_budget,
                    "quota": {
                        "samples_per_sec": t.samples_per_sec * share,
                        "bytes_per_sec": t.bytes_per_sec * share,
                        "events_per_sec": t.events_per_sec * share,
                        "burst_secs": t.burst_secs,
                    },
                })
            })
            .collect()
    }

    fn aws(&self, endpoint: &str) -> Value {
        json!({
            "endpoint": endpoint,
            "region": self.region,
            "access_key_id": self.access_key_id,
            "secret_access_key": self.secret_access_key,
        })
    }

    /// `gameday component gateway` (ingest/src/gateway/config.rs).
    pub fn gateway(&self, instance: &str, aws_endpoint: &str) -> Value {
        let pii = self.knobs.gateway_pii_detectors;
        json!({
            "instance": instance,
            "plain_http": false,
            "tls": self.tls(),
            "auth": self.auth(),
            "kinesis": {
                "stream": self.stream,
                "endpoint": aws_endpoint,
                "region": self.region,
                "access_key_id": self.access_key_id,
                "secret_access_key": self.secret_access_key,
            },
            "hygiene": {
                "detect_email": pii,
                "detect_phone": pii,
                "detect_ip": pii,
                "detect_card": pii,
            },
            "tenants": self.tenants(),
        })
    }

    /// `gameday component delivery` (DeliveryConfig). No `worker_id`: the component
    /// names itself `delivery-<az>-<pid>-<random>`, so a restarted worker is a new lease owner.
    pub fn delivery(&self, az: &str, aws_endpoint: &str) -> Value {
        let mut v = json!({
            "az": az,
            "stream": self.stream,
            "bucket": self.bucket,
            "aws": self.aws(aws_endpoint),
            "buffer": { "interval_ms": self.delivery_buffer_interval_ms },
        });
        if self.knobs.delivery_resume_at_latest {
            v["read"] = json!({ "unsafe_start_at_latest": true });
        }
        if let Some(ms) = self.knobs.delivery_lease_ms {
            // Renewal and evaluation stay at a third of the lease, as by default.
            v["lease"] = json!({ "duration_ms": ms, "renew_ms": (ms / 3).max(100) });
        }
        v
    }

    /// `gameday component query` (QueryConfig); `bucket`/`queue` may be the empty pair
    /// when the query service must not see data (a break-it knob).
    pub fn query(&self, aws_endpoint: &str, bucket: &str, queue: &str) -> Value {
        json!({
            "instance": "query",
            "plain_http": false,
            "tls": self.tls(),
            "bucket": bucket,
            "queue": queue,
            "aws": self.aws(aws_endpoint),
            "auth": self.auth(),
            "tenants": self.tenants(),
        })
    }
}

/// Writes `value` as TOML to `<dir>/<name>.toml`; returns the path.
pub fn write(dir: &Path, name: &str, value: &Value) -> Result<PathBuf, StackError> {
    let text = toml::to_string(value)
        .map_err(|e| StackError::Spec(format!("rendering the {name} config: {e}")))?;
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text)
        .map_err(|e| StackError::io(format!("writing {}", path.display()), e))?;
    Ok(path)
}

/// 32 random bytes from the OS, hex: a fresh signing secret per stack.
pub fn random_secret() -> Result<String, StackError> {
    use std::io::Read;
    let mut buf = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .map_err(|e| StackError::io("reading /dev/urandom", e))?;
    Ok(hex::encode(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_configs_parse_as_the_components_read_them() {
        let tenants = TenantSpec::even_split(3, 20_000.0, 1_000.0, 4.0);
        let knobs = Knobs {
            gateway_pii_detectors: false,
            ..Knobs::default()
        };
        let c = Common {
            tenants: &tenants,
            knobs: &knobs,
            cert_file: Path::new("/tmp/cert.pem"),
            key_file: Path::new("/tmp/key.pem"),
            signing_secret: "s3cret",
            stream: "telemetry",
            bucket: "b",
            queue: "q",
            region: "us-east-1",
            access_key_id: "test",
            secret_access_key: "test",
            delivery_buffer_interval_ms: 1000,
            gateways: 3,
        };
        let text = toml::to_string(&c.gateway("gateway-a", "http://127.0.0.1:1")).unwrap();
        let g: ingest::gateway::GatewayConfig = toml::from_str(&text).unwrap();
        assert_eq!(g.instance, "gateway-a");
        assert!(!g.plain_http && g.tls.is_some());
        assert_eq!(g.tenants.len(), 3);
        assert_eq!(g.tenants[1].id, "studio-b");
        // 3 gateways share the tenant's 26,667 samples/s quota.
        assert!((g.tenants[0].quota.samples_per_sec - 8_888.89).abs() < 1.0);
        assert!(!g.hygiene.detect_email && !g.hygiene.detect_card);
        assert_eq!(g.kinesis.endpoint.as_deref(), Some("http://127.0.0.1:1"));
        assert!(!text.contains(&tenants[0].api_key), "keys go in hashed");

        let text = toml::to_string(&c.delivery("b", "http://127.0.0.1:2")).unwrap();
        let d: ingest::delivery::DeliveryConfig = toml::from_str(&text).unwrap();
        assert_eq!(d.az, "b");
        assert_eq!(d.bucket, "b");
        assert_eq!(d.buffer.interval_ms, 1000);
        assert_eq!(d.aws.endpoint.as_deref(), Some("http://127.0.0.1:2"));
    }
}
