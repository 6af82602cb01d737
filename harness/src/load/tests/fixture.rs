//! Shared setup: stub HTTP servers on 127.0.0.1:0 and a real gateway (TLS) in front of
//! the embedded backend.

use crate::load::{LoadSpec, StepSpec, Target, TenantCreds};
use ingest::aws::AwsConfig;
use ingest::gateway::config::{QuotaConfig, SigningKey, TenantConfig, TlsConfig};
use ingest::gateway::{Gateway, GatewayConfig};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::oneshot;

pub const AUDIENCE: &str = "telemetry-ingest";

/// Serves `app` on 127.0.0.1:0 until the returned sender drops; returns its base URL.
pub async fn serve(app: axum::Router) -> (String, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
            })
            .await;
    });
    (format!("http://{addr}"), tx)
}

pub fn tenant(i: usize) -> TenantCreds {
    TenantCreds {
        id: format!("studio-{}", (b'a' + i as u8) as char),
        api_key: format!("key-{i}-0123456789abcdef0123456789"),
        client_id: Some(format!("client-{i}")),
        client_secret: Some(format!("client-{i}-secret-0123456789abcdef")),
        samples_per_sec: 30_000.0,
        events_per_sec: 1_500.0,
        active_series_budget: 4_000,
        allow_job_instance: false,
    }
}

pub fn target(gateways: Vec<String>, tenants: Vec<TenantCreds>) -> Target {
    Target {
        gateways,
        query: None,
        ca_pem: None,
        audience: AUDIENCE.into(),
        aws: AwsConfig::local("http://127.0.0.1:1"),
        bucket: "telemetry".into(),
        shards: vec![
            ("shardId-000000000000".into(), 0, u128::MAX / 2),
            ("shardId-000000000001".into(), u128::MAX / 2 + 1, u128::MAX),
        ],
        tenants,
        allowlist: ingest::gateway::config::HygieneConfig::default().allowlist,
    }
}

pub fn spec(seed: u64, samples: f64, events: f64, secs: f64) -> LoadSpec {
    LoadSpec {
        seed,
        base_samples_per_sec: samples,
        base_events_per_sec: events,
        steps: vec![StepSpec {
            name: "1x".into(),
            multiplier: 1.0,
            secs,
            settle: false,
        }],
        samples_per_request: 100,
        events_per_request: 10,
        canary_interval_ms: 0,
        series_per_tenant: 600,
        ..LoadSpec::default()
    }
}

fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// The embedded backend with a stream, and a TLS gateway in front of it.
pub struct GatewayStack {
    pub emu: mocks::RunningEmulator,
    pub gw: Arc<Gateway>,
    pub target: Target,
    _stop: oneshot::Sender<()>,
    _dir: tempdir::Dir,
}

mod tempdir {
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub async fn gateway(
    tenants: Vec<TenantCreds>,
    shards: i32,
    tweak: impl FnOnce(&mut GatewayConfig),
) -> GatewayStack {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let emu = mocks::Emulator::start(
        mocks::EmulatorConfig {
            kinesis: mocks::KinesisLimits::unlimited(),
            ..mocks::EmulatorConfig::default()
        },
        "127.0.0.1:0".parse().unwrap(),
    )
    .await
    .unwrap();
    let aws = AwsConfig::local(emu.endpoint());
    let k = aws.kinesis().await;
    k.create_stream()
        .stream_name("telemetry")
        .shard_count(shards)
        .send()
        .await
        .unwrap();
    let mut ranges = Vec::new();
    for _ in 0..100 {
        let r = k
            .list_shards()
            .stream_name("telemetry")
            .send()
            .await
            .unwrap();
        if !r.shards().is_empty() {
            for s in r.shards() {
                let h = s.hash_key_range().unwrap();
                ranges.push((
                    s.shard_id().to_string(),
                    h.starting_hash_key().parse().unwrap(),
                    h.ending_hash_key().parse().unwrap(),
                ));
            }
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let certs = ingest::certs::generate(&["localhost", "127.0.0.1"]).unwrap();
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gameday-load-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert_file, key_file) = certs.write_to(&dir).unwrap();
    let mut cfg = GatewayConfig {
        instance: "gateway-a".into(),
        tls: Some(TlsConfig {
            cert_file,
            key_file,
        }),
        tenants: tenants
            .iter()
            .map(|t| TenantConfig {
                id: t.id.clone(),
                client_id: t.client_id.clone(),
                client_secret_sha256: t.client_secret.as_deref().map(sha256_hex),
                api_key_sha256: vec![sha256_hex(&t.api_key)],
                allow_job_instance: t.allow_job_instance,
                promoted_resource_attributes: Vec::new(),
                active_series_budget: t.active_series_budget as usize,
                quota: QuotaConfig {
                    samples_per_sec: t.samples_per_sec,
                    events_per_sec: t.events_per_sec,
                    ..QuotaConfig::default()
                },
            })
            .collect(),
        ..GatewayConfig::default()
    };
    cfg.auth.audience = AUDIENCE.into();
    cfg.auth.keys = vec![SigningKey {
        kid: "k1".into(),
        secret: ingest::config::Secret::new("0123456789abcdef0123456789abcdef-current"),
    }];
    cfg.kinesis.stream = "telemetry".into();
    cfg.kinesis.endpoint = Some(emu.endpoint());
    cfg.kinesis.access_key_id = Some("test".into());
    cfg.kinesis.secret_access_key = Some(ingest::config::Secret::new("test"));
    tweak(&mut cfg);
    let gw = Gateway::new(cfg).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    tokio::spawn(ingest::gateway::run(listener, gw.clone(), async move {
        let _ = rx.await;
    }));
    let mut t = target(vec![format!("https://127.0.0.1:{}", addr.port())], tenants);
    t.ca_pem = Some(certs.ca_pem.clone());
    t.aws = aws;
    t.shards = ranges;
    GatewayStack {
        emu,
        gw,
        target: t,
        _stop: tx,
        _dir: tempdir::Dir(dir),
    }
}

/// A tenant that authenticates with its API key only (stub servers have no `/token`).
pub fn key_tenant(i: usize) -> TenantCreds {
    TenantCreds {
        client_id: None,
        client_secret: None,
        ..tenant(i)
    }
}
