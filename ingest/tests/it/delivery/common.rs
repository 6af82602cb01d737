//! Shared setup for delivery tests: the embedded backend with a 4-shard stream and the
//! bucket, workers run in-process on 127.0.0.1:0, envelopes put on chosen shards. The
//! independent table reader is in `reader.rs`, the envelopes in `envelopes.rs`.

#![allow(dead_code)]

pub use super::envelopes::*;
pub use super::reader::*;

use ingest::delivery::{DeliveryConfig, Exit, Hook, Worker};
use ingest::envelope::Envelope;
use ingest::table::Lease;
use mocks::{EmulatorConfig, KinesisLimits, RunningEmulator};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub const STREAM: &str = "telemetry";
pub const BUCKET: &str = "gameday-telemetry";
pub const SHARDS: usize = 4;
/// 2026-11-26T10:00:00Z and one hour later: two partitions per tenant and kind.
pub const HOUR_10: i64 = 1_795_687_200_000;
pub const HOUR_11: i64 = HOUR_10 + 3_600_000;

pub struct Env {
    pub emu: RunningEmulator,
    pub kinesis: aws_sdk_kinesis::Client,
    pub s3: aws_sdk_s3::Client,
    /// Hash keys aimed at each shard (start of its range).
    pub shard_keys: Vec<(String, String)>,
}

impl Env {
    pub async fn start() -> Env {
        Self::start_with(KinesisLimits::unlimited()).await
    }

    pub async fn start_with(limits: KinesisLimits) -> Env {
        let emu = mocks::Emulator::start(
            EmulatorConfig {
                kinesis: limits,
                ..EmulatorConfig::default()
            },
            "127.0.0.1:0".parse().expect("loopback"),
        )
        .await
        .expect("emulator binds");
        let aws = ingest::aws::AwsConfig::local(emu.endpoint());
        let kinesis = aws.kinesis().await;
        let s3 = aws.s3().await;
        kinesis
            .create_stream()
            .stream_name(STREAM)
            .shard_count(SHARDS as i32)
            .send()
            .await
            .expect("CreateStream");
        for _ in 0..100 {
            let s = kinesis
                .describe_stream_summary()
                .stream_name(STREAM)
                .send()
                .await
                .expect("DescribeStreamSummary");
            if s.stream_description_summary()
                .is_some_and(|d| d.stream_status().as_str() == "ACTIVE")
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        s3.create_bucket()
            .bucket(BUCKET)
            .send()
            .await
            .expect("CreateBucket");
        let shards = kinesis
            .list_shards()
            .stream_name(STREAM)
            .send()
            .await
            .expect("ListShards");
        let shard_keys = shards
            .shards()
            .iter()
            .map(|s| {
                (
                    s.shard_id().to_string(),
                    s.hash_key_range()
                        .map(|r| r.starting_hash_key().to_string())
                        .unwrap_or_default(),
                )
            })
            .collect();
        Env {
            emu,
            kinesis,
            s3,
            shard_keys,
        }
    }

    /// A worker config with short leases and buffers (tests run on real time).
    pub fn config(&self, id: &str) -> DeliveryConfig {
        let mut c = DeliveryConfig {
            worker_id: id.into(),
            aws: ingest::aws::AwsConfig::local(self.emu.endpoint()),
            ..DeliveryConfig::default()
        };
        c.lease.duration_ms = 2_000;
        c.lease.renew_ms = 400;
        c.buffer.interval_ms = 300;
        c.read.idle_poll_ms = 50;
        c.sweeper.interval_ms = 0;
        c
    }

    pub fn shard_id(&self, i: usize) -> &str {
        &self.shard_keys[i].0
    }

    /// Puts raw bytes on shard `i`; returns (shard id, sequence number).
    pub async fn put_raw(&self, i: usize, data: Vec<u8>) -> (String, String) {
        let (shard, hash) = &self.shard_keys[i];
        let out = self
            .kinesis
            .put_record()
            .stream_name(STREAM)
            .partition_key("p")
            .explicit_hash_key(hash)
            .data(aws_sdk_kinesis::primitives::Blob::new(data))
            .send()
            .await
            .expect("PutRecord");
        assert_eq!(out.shard_id(), shard);
        (shard.clone(), out.sequence_number().to_string())
    }

    /// Puts an envelope on shard `i`; returns the items it should become, keyed by
    /// (shard, seq, sub_seq).
    pub async fn put(&self, i: usize, env: &Envelope) -> BTreeMap<RowKey, serde_json::Value> {
        let (shard, seq) = self.put_raw(i, env.encode_record()).await;
        expected_items(&shard, &seq, env)
    }

    pub async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let o = self
            .s3
            .get_object()
            .bucket(BUCKET)
            .key(key)
            .send()
            .await
            .ok()?;
        Some(o.body.collect().await.ok()?.into_bytes().to_vec())
    }

    pub async fn keys(&self, prefix: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token = None;
        for _ in 0..100 {
            let r = self
                .s3
                .list_objects_v2()
                .bucket(BUCKET)
                .prefix(prefix)
                .set_continuation_token(token)
                .send()
                .await
                .expect("ListObjectsV2");
            out.extend(
                r.contents()
                    .iter()
                    .filter_map(|o| o.key().map(String::from)),
            );
            match r.next_continuation_token() {
                Some(t) => token = Some(t.to_string()),
                None => break,
            }
        }
        out
    }

    pub async fn lease(&self, shard: &str) -> Option<Lease> {
        let body = self.get(&ingest::table::layout::lease_key(shard)).await?;
        Some(Lease::from_json(&body).expect("lease parses"))
    }
}

/// Polls `f` every 50 ms until it holds or `within` passes; returns whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut f: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + within;
    loop {
        if f().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A worker running in-process with its HTTP endpoints on 127.0.0.1:0.
pub struct Running {
    pub worker: Arc<Worker>,
    pub base: String,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<Exit, ingest::delivery::DeliveryError>>,
}

impl Running {
    pub async fn start(config: DeliveryConfig, hook: Option<Hook>) -> Running {
        let mut b = Worker::builder(config);
        if let Some(h) = hook {
            b = b.hook(h);
        }
        let worker = b.build().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(ingest::delivery::run(
            listener,
            worker.clone(),
            async move {
                let _ = rx.await;
            },
        ));
        Running {
            worker,
            base,
            stop: Some(tx),
            task,
        }
    }

    /// Graceful stop (hand-off); returns how the worker ended.
    pub async fn stop(mut self) -> Exit {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        self.join().await
    }

    /// Waits for the worker to end by itself (a crash point), bounded.
    pub async fn join(self) -> Exit {
        tokio::time::timeout(Duration::from_secs(30), self.task)
            .await
            .expect("worker ends within 30 s")
            .expect("worker task")
            .expect("worker run")
    }

    pub async fn metrics(&self) -> String {
        reqwest::get(format!("{}/metrics", self.base))
            .await
            .expect("/metrics")
            .text()
            .await
            .expect("text")
    }

    /// Sum of every sample of metric family `name` whose labels contain `filter`.
    pub async fn metric(&self, name: &str, filter: &str) -> f64 {
        sum_metric(&self.metrics().await, name, filter)
    }
}

pub fn sum_metric(text: &str, name: &str, filter: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter(|l| {
            l.starts_with(name)
                && l[name.len()..].starts_with(['{', ' ', '_'])
                && l.contains(filter)
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The data objects a catalog rebuilt from the lease heads (walks, checkpoints and their
/// segments) holds, over every tenant of `expected`; panics naming a shard that cannot
/// be rebuilt.
pub async fn rebuilt_catalog(
    env: &Env,
    expected: &std::collections::BTreeSet<String>,
) -> std::collections::BTreeSet<String> {
    use ingest::query::catalog::{Catalog, follow::Follower};
    let catalog = Catalog::new();
    let follower = Follower {
        s3: env.s3.clone(),
        bucket: BUCKET.into(),
        max_chain_walk: 100,
    };
    for shard in follower.shards().await.expect("lease listing") {
        follower
            .follow(&catalog, &shard)
            .await
            .unwrap_or_else(|e| panic!("{shard} rebuilt from its checkpoint: {e}"));
    }
    let tenants: std::collections::BTreeSet<String> = expected
        .iter()
        .filter_map(|k| ingest::table::Partition::of_data_key(k).map(|p| p.tenant))
        .collect();
    let mut seen = std::collections::BTreeSet::new();
    for t in &tenants {
        let snap = catalog.snapshot(t);
        seen.extend(snap.metrics.iter().map(|o| o.key.clone()));
        seen.extend(snap.events.iter().map(|o| o.key.clone()));
    }
    seen
}
