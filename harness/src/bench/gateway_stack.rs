//! The system under test for one bench phase: a fresh emulator child with the stream,
//! a gateway config in a temp dir (TLS or plain HTTP, generous quotas, one tenant with
//! an API key), the `gameday component gateway` child, and an HTTP/1.1 keep-alive
//! client that trusts the generated CA. Everything is torn down when dropped.

use super::child::{self, Emulator};
use anyhow::{Context, bail};
use sha2::Digest;
use std::path::PathBuf;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub const SHARDS: i32 = 8;
const STREAM: &str = "telemetry";
const API_KEY: &str = "gwbench-api-key-0123456789abcdef";

pub struct Stack {
    pub url: String,
    pub client: reqwest::Client,
    pub api_key: &'static str,
    pub emulator: Emulator,
    gateway: Child,
    dir: TempDir,
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Stack {
    pub async fn start(tls: bool, max_in_flight: usize) -> anyhow::Result<Stack> {
        let emulator = Emulator::spawn().await?;
        let conf = super::sdk_config(&emulator.endpoint).await;
        let k = aws_sdk_kinesis::Client::new(&conf);
        k.create_stream()
            .stream_name(STREAM)
            .shard_count(SHARDS)
            .send()
            .await
            .context("CreateStream")?;

        static SEQ: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = TempDir(
            std::env::temp_dir().join(format!("gameday-gwbench-{}-{n}", std::process::id())),
        );
        std::fs::create_dir_all(&dir.0).context("creating the bench temp dir")?;
        let certs = ingest::certs::generate(&["localhost", "127.0.0.1"])?;
        let (cert, key) = certs.write_to(&dir.0)?;
        let config = config_toml(tls, &emulator.endpoint, &cert, &key);
        let config_path = dir.0.join("gateway.toml");
        std::fs::write(&config_path, config).context("writing the gateway config")?;
        let log = std::fs::File::create(dir.0.join("gateway.log"))?;

        let exe = std::env::current_exe().context("locating the gameday binary")?;
        let mut gateway = Command::new(exe)
            .arg("component")
            .arg("gateway")
            .arg("--config")
            .arg(&config_path)
            .args(["--listen", "127.0.0.1:0"])
            // The emulator's credentials, through the SDK's default chain as in production.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .context("spawning `gameday component gateway`")?;
        let stdout = gateway.stdout.take().context("gateway stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .context("gateway did not get ready within 20 s")??
            .with_context(|| {
                let log = std::fs::read_to_string(dir.0.join("gateway.log")).unwrap_or_default();
                format!("gateway exited before it was ready: {log}")
            })?;
        let Some(url) = line.strip_prefix("READY ") else {
            bail!("unexpected first line from the gateway: {line:?}");
        };
        let url = url.replace("127.0.0.1", if tls { "localhost" } else { "127.0.0.1" });

        let mut builder = reqwest::Client::builder()
            .http1_only()
            .pool_max_idle_per_host(max_in_flight)
            .pool_idle_timeout(Duration::from_secs(30))
            .tcp_nodelay(true)
            .timeout(Duration::from_secs(10));
        if tls {
            builder = builder
                .tls_built_in_root_certs(false)
                .add_root_certificate(reqwest::Certificate::from_pem(certs.ca_pem.as_bytes())?)
                .https_only(true);
        }
        let stack = Stack {
            url,
            client: builder.build().context("building the HTTP client")?,
            api_key: API_KEY,
            emulator,
            gateway,
            dir,
        };
        stack.wait_ready().await?;
        Ok(stack)
    }

    async fn wait_ready(&self) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let r = self.client.get(format!("{}/readyz", self.url)).send().await;
            match r {
                Ok(r) if r.status().is_success() => return Ok(()),
                _ if std::time::Instant::now() > deadline => {
                    bail!("gateway not ready (/readyz) within 20 s: {r:?}")
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    pub fn gateway_cpu_seconds(&self) -> Option<f64> {
        child::cpu_seconds_of(self.gateway.id()?)
    }

    pub fn gateway_peak_rss(&self) -> anyhow::Result<u64> {
        child::peak_rss_of(self.gateway.id().context("gateway already exited")?)
    }

    /// The last lines of the gateway's log (for errors).
    pub fn gateway_log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.dir.0.join("gateway.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

fn config_toml(tls: bool, endpoint: &str, cert: &std::path::Path, key: &std::path::Path) -> String {
    let key_hash = hex::encode(sha2::Sha256::digest(API_KEY.as_bytes()));
    let tls_part = if tls {
        format!(
            "[tls]\ncert_file = {:?}\nkey_file = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        )
    } else {
        String::new()
    };
    // Quotas far above anything this machine can offer: the quota is not what limits.
    format!(
        r#"instance = "gateway-bench"
plain_http = {plain}
{tls_part}
[auth]
[[auth.keys]]
kid = "bench-1"
secret = "gwbench-signing-secret-0123456789abcdef-xyz"

[kinesis]
stream = "{STREAM}"
endpoint = "{endpoint}"

[[tenants]]
id = "bench"
api_key_sha256 = ["{key_hash}"]
active_series_budget = 1000000

[tenants.quota]
samples_per_sec = 100000000.0
bytes_per_sec = 10000000000.0
events_per_sec = 10000000.0
burst_secs = 1.0
"#,
        plain = !tls,
    )
}
