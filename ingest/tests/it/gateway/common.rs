//! Shared setup: the embedded AWS backend with a 4-shard stream, a TLS gateway in front
//! of it on 127.0.0.1:0 with three tenants, HTTPS and gRPC clients that trust the
//! throwaway CA, and a reader that drains every shard and decodes the envelopes.

#![allow(dead_code)]

use ingest::envelope::{Envelope, Event, Label, Sample};
use ingest::gateway::config::{QuotaConfig, SigningKey, TenantConfig, TlsConfig};
use ingest::gateway::{Gateway, GatewayConfig};
use mocks::{EmulatorConfig, KinesisLimits, RunningEmulator};
use opentelemetry_proto::tonic::collector::metrics::v1::metrics_service_client::MetricsServiceClient;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;
use tokio::sync::oneshot;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

pub const STREAM: &str = "telemetry";
pub const SHARDS: i32 = 4;
pub const KID: &str = "k1";
pub const SECRET: &str = "0123456789abcdef0123456789abcdef-current";
pub const ISSUER: &str = "gameday-gateway";
pub const AUDIENCE: &str = "telemetry-ingest";

/// studio-a: plain tenant. studio-b: job/instance allowed, promotes `region`.
/// studio-c: small quota (set per test).
pub const KEY_A: &str = "key-a-0123456789abcdef0123456789";
pub const KEY_B: &str = "key-b-0123456789abcdef0123456789";
pub const KEY_C: &str = "key-c-0123456789abcdef0123456789";
pub const CLIENT_A: &str = "client-a";
pub const CLIENT_A_SECRET: &str = "client-a-secret-0123456789abcdef";

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

static INIT: Once = Once::new();

/// Process-wide setup, done once before any client or SDK reads the environment: the
/// gateway's KinesisSink uses the SDK's default credential chain (env), as a deployed
/// gateway does; the emulator knows the key `test`/`test`.
fn init() {
    INIT.call_once(|| {
        // SAFETY: runs once, before any test thread reads the environment (every test
        // calls `init` through `Stack::start` before building SDK clients).
        unsafe {
            std::env::set_var("AWS_ACCESS_KEY_ID", "test");
            std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
            std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

pub fn tenant(id: &str, key: &str) -> TenantConfig {
    TenantConfig {
        id: id.into(),
        client_id: None,
        client_secret_sha256: None,
        api_key_sha256: vec![sha256_hex(key)],
        allow_job_instance: false,
        promoted_resource_attributes: Vec::new(),
        active_series_budget: 50_000,
        quota: QuotaConfig::default(),
    }
}

/// The configuration every test starts from (TLS files filled in by `Stack::start`).
pub fn base_config(endpoint: &str) -> GatewayConfig {
    let mut a = tenant("studio-a", KEY_A);
    a.client_id = Some(CLIENT_A.into());
    a.client_secret_sha256 = Some(sha256_hex(CLIENT_A_SECRET));
    let mut b = tenant("studio-b", KEY_B);
    b.allow_job_instance = true;
    b.promoted_resource_attributes = vec!["region".into()];
    let c = tenant("studio-c", KEY_C);
    let mut cfg = GatewayConfig {
        instance: "gateway-test".into(),
        tenants: vec![a, b, c],
        ..GatewayConfig::default()
    };
    cfg.auth.issuer = ISSUER.into();
    cfg.auth.audience = AUDIENCE.into();
    cfg.auth.keys = vec![SigningKey {
        kid: KID.into(),
        secret: ingest::config::Secret::new(SECRET),
    }];
    cfg.kinesis.stream = STREAM.into();
    cfg.kinesis.endpoint = Some(endpoint.to_string());
    cfg.kinesis.deadline_ms = 1_500;
    cfg
}

pub struct Stack {
    pub emu: RunningEmulator,
    pub kinesis: aws_sdk_kinesis::Client,
    pub gw: Arc<Gateway>,
    pub addr: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub ca_pem: String,
    shutdown: Option<oneshot::Sender<()>>,
    pub server: Option<tokio::task::JoinHandle<Result<(), ingest::gateway::GatewayError>>>,
    dir: PathBuf,
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(|_| {}).await
    }

    /// Emulator + stream + gateway; `tweak` adjusts the gateway config before it starts.
    pub async fn start_with(tweak: impl FnOnce(&mut GatewayConfig)) -> Stack {
        init();
        let emu = mocks::Emulator::start(
            EmulatorConfig {
                kinesis: KinesisLimits::unlimited(),
                ..EmulatorConfig::default()
            },
            "127.0.0.1:0".parse().expect("loopback"),
        )
        .await
        .expect("emulator binds 127.0.0.1:0");
        let kinesis = kinesis_client(&emu.endpoint()).await;
        create_stream(&kinesis).await;

        let certs = ingest::certs::generate(&["localhost", "127.0.0.1"]).expect("certs");
        let dir = unique_dir();
        let (cert_file, key_file) = certs.write_to(&dir).expect("write certs");
        let mut cfg = base_config(&emu.endpoint());
        cfg.tls = Some(TlsConfig {
            cert_file,
            key_file,
        });
        tweak(&mut cfg);
        let gw = Gateway::new(cfg).await.expect("gateway config");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (tx, rx) = oneshot::channel::<()>();
        let server = tokio::spawn(ingest::gateway::run(listener, gw.clone(), async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .add_root_certificate(
                reqwest::Certificate::from_pem(certs.ca_pem.as_bytes()).expect("CA PEM"),
            )
            .timeout(Duration::from_secs(10))
            .build()
            .expect("reqwest client");
        Stack {
            emu,
            kinesis,
            gw,
            addr,
            base: format!("https://127.0.0.1:{}", addr.port()),
            http,
            ca_pem: certs.ca_pem,
            shutdown: Some(tx),
            server: Some(server),
            dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Starts graceful shutdown.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub async fn grpc(&self) -> MetricsServiceClient<Channel> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&self.ca_pem))
            .domain_name("localhost");
        let channel = Endpoint::from_shared(format!("https://127.0.0.1:{}", self.addr.port()))
            .expect("endpoint")
            .tls_config(tls)
            .expect("tls config")
            .timeout(Duration::from_secs(10))
            .connect()
            .await
            .expect("gRPC connects over TLS");
        MetricsServiceClient::new(channel)
    }

    /// POST with an API key.
    pub async fn post(&self, path: &str, key: &str, body: Vec<u8>) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("x-api-key", key)
            .body(body)
            .send()
            .await
            .expect("request answered")
    }

    pub async fn metrics_text(&self) -> String {
        self.http
            .get(self.url("/metrics"))
            .send()
            .await
            .expect("/metrics")
            .text()
            .await
            .expect("/metrics text")
    }

    /// Every envelope in the stream, all shards, from the start.
    pub async fn envelopes(&self) -> Vec<Envelope> {
        read_all(&self.kinesis).await
    }

    pub async fn samples(&self, tenant: &str) -> Vec<Sample> {
        let mut out: Vec<Sample> = self
            .envelopes()
            .await
            .into_iter()
            .filter(|e| e.tenant == tenant)
            .flat_map(|e| e.samples)
            .collect();
        sort_samples(&mut out);
        out
    }

    pub async fn events(&self, tenant: &str) -> Vec<Event> {
        let mut out: Vec<Event> = self
            .envelopes()
            .await
            .into_iter()
            .filter(|e| e.tenant == tenant)
            .flat_map(|e| e.events)
            .collect();
        out.sort_by(|a, b| a.event_id.cmp(&b.event_id));
        out
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.shutdown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn sort_samples(s: &mut [Sample]) {
    s.sort_by(|a, b| {
        a.labels
            .cmp(&b.labels)
            .then(a.timestamp_ms.cmp(&b.timestamp_ms))
    });
}

fn unique_dir() -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gwtest-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub async fn kinesis_client(endpoint: &str) -> aws_sdk_kinesis::Client {
    let conf = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await;
    aws_sdk_kinesis::Client::new(&conf)
}

async fn create_stream(k: &aws_sdk_kinesis::Client) {
    k.create_stream()
        .stream_name(STREAM)
        .shard_count(SHARDS)
        .send()
        .await
        .expect("CreateStream");
    for _ in 0..100 {
        let s = k
            .describe_stream_summary()
            .stream_name(STREAM)
            .send()
            .await
            .expect("DescribeStreamSummary");
        if s.stream_description_summary()
            .is_some_and(|d| d.stream_status().as_str() == "ACTIVE")
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("stream never became ACTIVE");
}

/// Drains every shard from TRIM_HORIZON (bounded number of calls per shard).
pub async fn read_all(k: &aws_sdk_kinesis::Client) -> Vec<Envelope> {
    let shards = k
        .list_shards()
        .stream_name(STREAM)
        .send()
        .await
        .expect("ListShards");
    let mut out = Vec::new();
    for shard in shards.shards() {
        out.extend(read_shard(k, shard.shard_id()).await);
    }
    out
}

/// Drains one shard from TRIM_HORIZON (at most 50 GetRecords calls).
pub async fn read_shard(k: &aws_sdk_kinesis::Client, shard_id: &str) -> Vec<Envelope> {
    let mut it = k
        .get_shard_iterator()
        .stream_name(STREAM)
        .shard_id(shard_id)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .expect("GetShardIterator")
        .shard_iterator
        .expect("iterator");
    let mut out = Vec::new();
    for _ in 0..50 {
        let r = k
            .get_records()
            .shard_iterator(&it)
            .limit(10_000)
            .send()
            .await
            .expect("GetRecords");
        let empty = r.records().is_empty();
        for rec in r.records() {
            out.push(Envelope::decode_record(rec.data().as_ref()).expect("record is an envelope"));
        }
        match r.next_shard_iterator {
            Some(next) if !empty || r.millis_behind_latest.unwrap_or(0) > 0 => it = next,
            _ => break,
        }
    }
    out
}

pub fn label(name: &str, value: &str) -> Label {
    Label {
        name: name.into(),
        value: value.into(),
    }
}

/// Sorted labels from pairs.
pub fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
    let mut l: Vec<Label> = pairs.iter().map(|(n, v)| label(n, v)).collect();
    l.sort_by(|a, b| a.name.cmp(&b.name));
    l
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
