//! remote_write round trip: counters, gauges, a classic histogram and a native histogram
//! (with exemplars) go in over HTTPS and come out of Kinesis item by item.

use crate::gateway::common::{KEY_A, Stack, labels, now_ms, sort_samples};
use crate::gateway::rw::{encode, series};
use ingest::envelope::{Buckets, Exemplar, Histogram, MetricType, Sample, Value};
use ingest::gateway::inputs::remote_write::{
    self as rw, BucketSpan, HistCount, HistZeroCount, MetricMetadata, RwHistogram, WriteRequest,
};

fn number(l: &[(&str, &str)], t: i64, v: f64, ty: MetricType) -> Sample {
    Sample {
        labels: labels(l),
        timestamp_ms: t,
        metric_type: ty as i32,
        value: Some(Value::Number(v)),
        exemplars: Vec::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_round_trips_every_kind() {
    let stack = Stack::start().await;
    let t = now_ms() - 10_000;

    let counter = [
        ("__name__", "players_joined_total"),
        ("region", "eu"),
        ("cluster", "c1"),
    ];
    let mut counter_ts = series(&counter, &[(t, 1.0), (t + 1000, 5.0)]);
    counter_ts.exemplars = vec![rw::Exemplar {
        labels: vec![ingest::envelope::Label {
            name: "trace_id".into(),
            value: "4bf92f3577b34da6".into(),
        }],
        value: 5.0,
        timestamp: t + 1000,
    }];
    let gauge = [
        ("__name__", "queue_depth"),
        ("queue", "matchmaking"),
        ("region", "eu"),
    ];
    let b05 = [
        ("__name__", "match_duration_seconds_bucket"),
        ("le", "0.5"),
        ("region", "eu"),
    ];
    let binf = [
        ("__name__", "match_duration_seconds_bucket"),
        ("le", "+Inf"),
        ("region", "eu"),
    ];
    let hsum = [("__name__", "match_duration_seconds_sum"), ("region", "eu")];
    let hcount = [
        ("__name__", "match_duration_seconds_count"),
        ("region", "eu"),
    ];
    let native = [("__name__", "rtt_seconds"), ("region", "eu")];
    let native_ts = rw::TimeSeries {
        histograms: vec![RwHistogram {
            count: Some(HistCount::CountInt(13)),
            sum: 3.5,
            schema: 3,
            zero_threshold: 0.001,
            zero_count: Some(HistZeroCount::ZeroCountInt(1)),
            negative_spans: vec![BucketSpan {
                offset: -1,
                length: 1,
            }],
            negative_deltas: vec![2],
            positive_spans: vec![
                BucketSpan {
                    offset: 1,
                    length: 2,
                },
                BucketSpan {
                    offset: 2,
                    length: 1,
                },
            ],
            positive_deltas: vec![3, 2, -3],
            timestamp: t,
            ..Default::default()
        }],
        ..series(&native, &[])
    };
    let req = WriteRequest {
        timeseries: vec![
            counter_ts,
            series(&gauge, &[(t, 7.5)]),
            series(&b05, &[(t, 3.0)]),
            series(&binf, &[(t, 4.0)]),
            series(&hsum, &[(t, 1.25)]),
            series(&hcount, &[(t, 4.0)]),
            native_ts,
        ],
        metadata: vec![
            MetricMetadata {
                r#type: 2,
                metric_family_name: "queue_depth".into(),
                ..Default::default()
            },
            MetricMetadata {
                r#type: 3,
                metric_family_name: "match_duration_seconds".into(),
                ..Default::default()
            },
        ],
    };
    let resp = stack.post("/api/v1/write", KEY_A, encode(&req)).await;
    assert_eq!(resp.status(), 204, "{:?}", resp.text().await);

    let mut c1 = number(&counter, t + 1000, 5.0, MetricType::Counter);
    c1.exemplars = vec![Exemplar {
        labels: labels(&[("trace_id", "4bf92f3577b34da6")]),
        value: 5.0,
        timestamp_ms: t + 1000,
        ..Default::default()
    }];
    let mut want = vec![
        number(&counter, t, 1.0, MetricType::Counter),
        c1,
        number(&gauge, t, 7.5, MetricType::Gauge),
        number(&b05, t, 3.0, MetricType::Histogram),
        number(&binf, t, 4.0, MetricType::Histogram),
        number(&hsum, t, 1.25, MetricType::Histogram),
        number(&hcount, t, 4.0, MetricType::Histogram),
        Sample {
            labels: labels(&native),
            timestamp_ms: t,
            metric_type: MetricType::ExponentialHistogram as i32,
            value: Some(Value::Histogram(Histogram {
                count: 13,
                sum: Some(3.5),
                scale: 3,
                zero_count: 1,
                zero_threshold: 0.001,
                // Prometheus index i is OTLP index i-1: spans at 1..=2 and 5 → offset 0.
                positive: Some(Buckets {
                    offset: 0,
                    bucket_counts: vec![3, 5, 0, 0, 2],
                }),
                negative: Some(Buckets {
                    offset: -2,
                    bucket_counts: vec![2],
                }),
                cumulative: true,
                ..Default::default()
            })),
            exemplars: Vec::new(),
        },
    ];
    sort_samples(&mut want);
    let got = stack.samples("studio-a").await;
    assert_eq!(got.len(), want.len(), "{got:#?}");
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g, w);
    }
    let envs = stack.envelopes().await;
    assert!(envs.iter().all(|e| e.producer == "gateway-test"
        && e.kind == ingest::Kind::Metrics as i32
        && e.ingest_time_ms >= t));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_bad_compression_is_400_and_nothing_stored() {
    let stack = Stack::start().await;
    let resp = stack
        .post("/api/v1/write", KEY_A, b"\xff\xff not snappy".to_vec())
        .await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "bad_compression");
    assert!(stack.envelopes().await.is_empty());
}
