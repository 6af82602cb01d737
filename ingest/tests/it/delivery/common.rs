//! Shared setup for delivery tests: the embedded backend with a 4-shard stream and the
//! bucket, workers run in-process on 127.0.0.1:0, envelopes put on chosen shards, and an
//! INDEPENDENT reader of the table (lease heads → commit chain → Parquet via the parquet
//! crate) that turns rows back into comparable items.

#![allow(dead_code)]

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMillisecondType, UInt32Type, UInt64Type};
use ingest::delivery::{DeliveryConfig, Exit, Hook, Worker};
use ingest::envelope::{
    Buckets, Envelope, Event, Exemplar, Histogram, Kind, Label, MetricType, Sample, Value,
};
use ingest::table::{Commit, Lease};
use mocks::{EmulatorConfig, KinesisLimits, RunningEmulator};
use serde_json::json;
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

    /// Every data object reachable from the lease heads, walking each commit chain.
    pub async fn reachable(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.keys("_leases/").await {
            let lease = Lease::from_json(&self.get(&key).await.expect("lease")).expect("lease");
            let mut next = lease.head.clone();
            let mut expect_number = lease.commits;
            while let Some(k) = next {
                let c = Commit::from_json(&self.get(&k).await.expect("commit on chain"))
                    .expect("commit parses");
                assert_eq!(c.number, expect_number, "chain numbers are contiguous");
                expect_number -= 1;
                out.push(k.clone());
                out.extend(c.objects.iter().map(|o| o.key.clone()));
                next = c.parent;
            }
            assert_eq!(expect_number, 0, "chain of {key} reaches the first commit");
        }
        out
    }

    /// The table as an independent reader sees it: every row of every committed object,
    /// as (key, item) pairs (duplicates kept, so callers can count them).
    pub async fn table(&self) -> Vec<(RowKey, serde_json::Value)> {
        let mut rows = Vec::new();
        for key in self.reachable().await {
            if !key.ends_with(".parquet") {
                continue;
            }
            let body = self.get(&key).await.expect("committed object exists");
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                bytes::Bytes::from(body),
            )
            .expect("parquet")
            .build()
            .expect("reader");
            for batch in reader {
                let batch = batch.expect("batch");
                if key.starts_with("events/") {
                    rows.extend(event_rows(&batch));
                } else {
                    rows.extend(metric_rows(&batch));
                }
            }
        }
        rows
    }

    /// Waits (bounded) until the table holds at least `n` rows; returns them.
    pub async fn wait_rows(&self, n: usize, within: Duration) -> Vec<(RowKey, serde_json::Value)> {
        let deadline = Instant::now() + within;
        loop {
            let rows = self.table().await;
            if rows.len() >= n || Instant::now() >= deadline {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
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

pub type RowKey = (String, String, u32);

fn labels_json(labels: &[Label]) -> serde_json::Value {
    let m: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .filter(|l| l.name != "__name__")
        .map(|l| (l.name.clone(), json!(l.value)))
        .collect();
    serde_json::Value::Object(m)
}

fn metric_type(t: i32) -> &'static str {
    match MetricType::try_from(t).unwrap_or(MetricType::Unknown) {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::ExponentialHistogram => "exponential_histogram",
        MetricType::Summary => "summary",
        MetricType::Unknown => "unknown",
    }
}

/// What a sample must look like once stored (test's own mapping, not delivery's code).
fn sample_item(tenant: &str, ingest: i64, s: &Sample) -> serde_json::Value {
    let name = s
        .labels
        .iter()
        .find(|l| l.name == "__name__")
        .map(|l| l.value.clone())
        .unwrap_or_default();
    let mut v = json!({
        "tenant": tenant,
        "metric": name,
        "labels": labels_json(&s.labels),
        "series_id": ingest::keys::series_fingerprint(&s.labels),
        "timestamp": s.timestamp_ms,
        "ingest_time": ingest,
        "metric_type": metric_type(s.metric_type),
    });
    match &s.value {
        Some(Value::Number(x)) => v["value"] = json!(x),
        Some(Value::Histogram(h)) => {
            v["hist_count"] = json!(h.count);
            v["hist_sum"] = json!(h.sum);
            v["hist_cumulative"] = json!(h.cumulative);
            if s.metric_type == MetricType::ExponentialHistogram as i32 {
                let p = h.positive.clone().unwrap_or_default();
                let n = h.negative.clone().unwrap_or_default();
                v["exp"] = json!([
                    h.scale,
                    h.zero_count,
                    h.zero_threshold,
                    p.offset,
                    p.bucket_counts,
                    n.offset,
                    n.bucket_counts
                ]);
            } else {
                v["bounds"] = json!(h.explicit_bounds);
                v["buckets"] = json!(h.bucket_counts);
            }
        }
        None => {}
    }
    if let Some(e) = s.exemplars.first() {
        v["exemplar_trace"] = json!(hex::encode(&e.trace_id));
    }
    v
}

fn event_item(tenant: &str, ingest: i64, e: &Event) -> serde_json::Value {
    json!({
        "tenant": tenant,
        "event_id": e.event_id,
        "event_type": e.event_type,
        "event_name": e.event_name,
        "event_timestamp": e.event_timestamp_ms,
        "app_version": e.app_version,
        "event_data": serde_json::from_str::<serde_json::Value>(&e.event_data_json).unwrap_or(json!({})),
        "ingest_time": ingest,
    })
}

pub fn expected_items(
    shard: &str,
    seq: &str,
    env: &Envelope,
) -> BTreeMap<RowKey, serde_json::Value> {
    let key = |i: usize| (shard.to_string(), seq.to_string(), i as u32);
    let mut out = BTreeMap::new();
    for (i, s) in env.samples.iter().enumerate() {
        out.insert(key(i), sample_item(&env.tenant, env.ingest_time_ms, s));
    }
    for (i, e) in env.events.iter().enumerate() {
        out.insert(key(i), event_item(&env.tenant, env.ingest_time_ms, e));
    }
    out
}

fn str_col<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::StringArray {
    b.column_by_name(name).expect(name).as_string::<i32>()
}

fn row_key(b: &RecordBatch, i: usize) -> RowKey {
    (
        str_col(b, "kinesis_shard").value(i).to_string(),
        str_col(b, "kinesis_seq").value(i).to_string(),
        b.column_by_name("sub_seq")
            .expect("sub_seq")
            .as_primitive::<UInt32Type>()
            .value(i),
    )
}

fn ts(b: &RecordBatch, name: &str, i: usize) -> i64 {
    b.column_by_name(name)
        .expect(name)
        .as_primitive::<TimestampMillisecondType>()
        .value(i)
}

fn u64_list(b: &RecordBatch, name: &str, i: usize) -> Vec<u64> {
    let l = b.column_by_name(name).expect(name).as_list::<i32>();
    l.value(i).as_primitive::<UInt64Type>().values().to_vec()
}

fn metric_rows(b: &RecordBatch) -> Vec<(RowKey, serde_json::Value)> {
    let labels = b.column_by_name("labels").expect("labels").as_map();
    let f64c = |n: &str| {
        b.column_by_name(n)
            .expect("col")
            .as_primitive::<Float64Type>()
            .clone()
    };
    let value = f64c("value");
    let hist_sum = f64c("hist_sum");
    let zero_thr = f64c("exp_zero_threshold");
    let hist_count = b
        .column_by_name("hist_count")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let exp_zero = b
        .column_by_name("exp_zero_count")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let i32c = |n: &str| {
        b.column_by_name(n)
            .expect("col")
            .as_primitive::<Int32Type>()
            .clone()
    };
    let (scale, poff, noff) = (
        i32c("exp_scale"),
        i32c("exp_positive_offset"),
        i32c("exp_negative_offset"),
    );
    let cumulative = b
        .column_by_name("hist_cumulative")
        .expect("c")
        .as_boolean()
        .clone();
    let series = b
        .column_by_name("series_id")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let exemplars = str_col(b, "exemplars");
    (0..b.num_rows())
        .map(|i| {
            let entries = labels.value(i);
            let keys = entries.column(0).as_string::<i32>();
            let vals = entries.column(1).as_string::<i32>();
            let lm: serde_json::Map<String, serde_json::Value> = (0..keys.len())
                .map(|j| (keys.value(j).to_string(), json!(vals.value(j))))
                .collect();
            let mut v = json!({
                "tenant": str_col(b, "tenant").value(i),
                "metric": str_col(b, "metric").value(i),
                "labels": lm,
                "series_id": series.value(i),
                "timestamp": ts(b, "timestamp", i),
                "ingest_time": ts(b, "ingest_time", i),
                "metric_type": str_col(b, "metric_type").value(i),
            });
            if value.is_valid(i) {
                v["value"] = json!(value.value(i));
            }
            if hist_count.is_valid(i) {
                v["hist_count"] = json!(hist_count.value(i));
                v["hist_sum"] = if hist_sum.is_valid(i) {
                    json!(hist_sum.value(i))
                } else {
                    json!(null)
                };
                v["hist_cumulative"] = json!(cumulative.value(i));
                if scale.is_valid(i) {
                    v["exp"] = json!([
                        scale.value(i),
                        exp_zero.value(i),
                        zero_thr.value(i),
                        poff.value(i),
                        u64_list(b, "exp_positive_counts", i),
                        noff.value(i),
                        u64_list(b, "exp_negative_counts", i)
                    ]);
                } else {
                    let bl = b.column_by_name("hist_bounds").expect("c").as_list::<i32>();
                    v["bounds"] =
                        json!(bl.value(i).as_primitive::<Float64Type>().values().to_vec());
                    v["buckets"] = json!(u64_list(b, "hist_bucket_counts", i));
                }
            }
            if exemplars.is_valid(i) {
                let ex: serde_json::Value =
                    serde_json::from_str(exemplars.value(i)).expect("exemplars JSON");
                v["exemplar_trace"] = ex[0]["trace_id"].clone();
            }
            (row_key(b, i), v)
        })
        .collect()
}

fn event_rows(b: &RecordBatch) -> Vec<(RowKey, serde_json::Value)> {
    (0..b.num_rows())
        .map(|i| {
            let v = json!({
                "tenant": str_col(b, "tenant").value(i),
                "event_id": str_col(b, "event_id").value(i),
                "event_type": str_col(b, "event_type").value(i),
                "event_name": str_col(b, "event_name").value(i),
                "event_timestamp": ts(b, "event_timestamp", i),
                "app_version": str_col(b, "app_version").value(i),
                "event_data": serde_json::from_str::<serde_json::Value>(str_col(b, "event_data").value(i)).expect("event_data JSON"),
                "ingest_time": ts(b, "ingest_time", i),
            });
            (row_key(b, i), v)
        })
        .collect()
}

/// Asserts the table holds exactly `expected`: nothing lost, nothing stored twice,
/// every item equal.
pub fn assert_exactly(
    rows: &[(RowKey, serde_json::Value)],
    expected: &BTreeMap<RowKey, serde_json::Value>,
) {
    let mut stored: BTreeMap<RowKey, serde_json::Value> = BTreeMap::new();
    let mut dups = Vec::new();
    for (k, v) in rows {
        if stored.insert(k.clone(), v.clone()).is_some() {
            dups.push(k.clone());
        }
    }
    assert!(
        dups.is_empty(),
        "{} rows stored twice, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let lost: Vec<&RowKey> = expected
        .keys()
        .filter(|k| !stored.contains_key(*k))
        .collect();
    assert!(
        lost.is_empty(),
        "{} rows lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let phantoms: Vec<&RowKey> = stored
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        phantoms.is_empty(),
        "{} phantom rows, e.g. {:?}",
        phantoms.len(),
        phantoms.first()
    );
    for (k, v) in expected {
        assert_eq!(&stored[k], v, "row {k:?} differs");
    }
}

// ---- envelopes ----

pub fn label(n: &str, v: &str) -> Label {
    Label {
        name: n.into(),
        value: v.into(),
    }
}

fn gauge(name: &str, region: &str, ts: i64, v: f64) -> Sample {
    Sample {
        labels: vec![label("__name__", name), label("region", region)],
        timestamp_ms: ts,
        metric_type: MetricType::Gauge as i32,
        value: Some(Value::Number(v)),
        exemplars: vec![],
    }
}

/// A metrics envelope with `n` gauges, a classic and an exponential histogram.
pub fn metrics_envelope(tenant: &str, ingest: i64, n: usize, tag: u32) -> Envelope {
    let mut samples: Vec<Sample> = (0..n)
        .map(|i| {
            gauge(
                "players_online",
                &format!("r{}", i % 3),
                ingest + i as i64,
                (tag * 1000 + i as u32) as f64,
            )
        })
        .collect();
    samples.push(Sample {
        labels: vec![
            label("__name__", "tick_seconds"),
            label("shard_id", &tag.to_string()),
        ],
        timestamp_ms: ingest,
        metric_type: MetricType::Histogram as i32,
        value: Some(Value::Histogram(Histogram {
            count: 7,
            sum: Some(1.25),
            explicit_bounds: vec![0.01, 0.1, 1.0],
            bucket_counts: vec![1, 2, 3, 1],
            cumulative: true,
            ..Default::default()
        })),
        exemplars: vec![Exemplar {
            labels: vec![label("trace", "x")],
            value: 0.05,
            timestamp_ms: ingest,
            trace_id: vec![0xab, 0xcd, tag as u8],
            span_id: vec![1, 2],
        }],
    });
    samples.push(Sample {
        labels: vec![
            label("__name__", "frame_seconds"),
            label("shard_id", &tag.to_string()),
        ],
        timestamp_ms: ingest,
        metric_type: MetricType::ExponentialHistogram as i32,
        value: Some(Value::Histogram(Histogram {
            count: 12,
            sum: Some(3.5),
            scale: 3,
            zero_count: 2,
            zero_threshold: 1e-9,
            positive: Some(Buckets {
                offset: -2,
                bucket_counts: vec![1, 0, 4],
            }),
            negative: Some(Buckets {
                offset: 1,
                bucket_counts: vec![5],
            }),
            cumulative: false,
            ..Default::default()
        })),
        exemplars: vec![],
    });
    Envelope {
        tenant: tenant.into(),
        kind: Kind::Metrics as i32,
        ingest_time_ms: ingest,
        producer: "gateway-test".into(),
        samples,
        events: vec![],
    }
}

pub fn events_envelope(tenant: &str, ingest: i64, n: usize, tag: u32) -> Envelope {
    Envelope {
        tenant: tenant.into(),
        kind: Kind::Events as i32,
        ingest_time_ms: ingest,
        producer: "gateway-test".into(),
        samples: vec![],
        events: (0..n)
            .map(|i| Event {
                event_id: format!("run-{tag}-{i}"),
                event_type: "match".into(),
                event_name: "match_end".into(),
                event_timestamp_ms: ingest - 5,
                app_version: "1.2.3".into(),
                event_data_json: format!(r#"{{"score":{i},"tag":{tag}}}"#),
            })
            .collect(),
    }
}

/// Puts a mixed batch on every shard: two tenants, both kinds, two hours.
pub async fn put_mixed(env: &Env, round: u32) -> BTreeMap<RowKey, serde_json::Value> {
    let mut expected = BTreeMap::new();
    for shard in 0..SHARDS {
        let tag = round * 100 + shard as u32;
        for (tenant, ingest) in [("studio-a", HOUR_10 + 1_000), ("studio-b", HOUR_11 + 2_000)] {
            expected.extend(
                env.put(shard, &metrics_envelope(tenant, ingest, 5, tag))
                    .await,
            );
            expected.extend(
                env.put(shard, &events_envelope(tenant, ingest, 3, tag))
                    .await,
            );
        }
    }
    expected
}
