//! OTLP metrics over HTTP protobuf, HTTP JSON and gRPC: every metric kind round-trips
//! into Kinesis; unpromoted resource attributes are dropped and counted, a promoted one
//! becomes a label; a data point with a disallowed attribute is refused alone
//! (partial_success) and nothing of it is stored.

use crate::gateway::common::{KEY_B, Stack, labels, now_ms, sort_samples};
use ingest::envelope::{Buckets, Exemplar, Histogram, MetricType, Sample, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::{
    ExportMetricsServiceRequest, ExportMetricsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    self as m, AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram as OHistogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics,
    ScopeMetrics, Sum, Summary, SummaryDataPoint, exponential_histogram_data_point, metric::Data,
    number_data_point, summary_data_point::ValueAtQuantile,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

fn ns(ms: i64) -> u64 {
    ms as u64 * 1_000_000
}

fn metric(name: &str, data: Data) -> Metric {
    Metric {
        name: name.into(),
        data: Some(data),
        ..Default::default()
    }
}

const TRACE: [u8; 16] = [7; 16];
const SPAN: [u8; 8] = [9; 8];

/// One request with every kind at time `t`, plus one point with a disallowed attribute.
fn request(t: i64, cluster: &str) -> ExportMetricsServiceRequest {
    let attrs = vec![kv("cluster", cluster)];
    let cum = AggregationTemporality::Cumulative as i32;
    let metrics = vec![
        metric(
            "game.players",
            Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    attributes: attrs.clone(),
                    time_unix_nano: ns(t),
                    value: Some(number_data_point::Value::AsDouble(42.5)),
                    exemplars: vec![m::Exemplar {
                        filtered_attributes: vec![kv("build_id", "1.2.3")],
                        time_unix_nano: ns(t - 5),
                        value: Some(m::exemplar::Value::AsDouble(41.0)),
                        span_id: SPAN.to_vec(),
                        trace_id: TRACE.to_vec(),
                    }],
                    ..Default::default()
                }],
            }),
        ),
        metric(
            "matches.completed",
            Data::Sum(Sum {
                data_points: vec![NumberDataPoint {
                    attributes: attrs.clone(),
                    time_unix_nano: ns(t),
                    value: Some(number_data_point::Value::AsInt(17)),
                    ..Default::default()
                }],
                aggregation_temporality: cum,
                is_monotonic: true,
            }),
        ),
        metric(
            "match.duration",
            Data::Histogram(OHistogram {
                data_points: vec![HistogramDataPoint {
                    attributes: attrs.clone(),
                    time_unix_nano: ns(t),
                    count: 6,
                    sum: Some(9.0),
                    bucket_counts: vec![1, 2, 3],
                    explicit_bounds: vec![0.5, 2.0],
                    min: Some(0.1),
                    max: Some(4.0),
                    ..Default::default()
                }],
                aggregation_temporality: cum,
            }),
        ),
        metric(
            "net.rtt",
            Data::ExponentialHistogram(ExponentialHistogram {
                data_points: vec![ExponentialHistogramDataPoint {
                    attributes: attrs.clone(),
                    time_unix_nano: ns(t),
                    count: 12,
                    sum: Some(2.5),
                    scale: -2,
                    zero_count: 2,
                    zero_threshold: 0.0001,
                    positive: Some(exponential_histogram_data_point::Buckets {
                        offset: -3,
                        bucket_counts: vec![1, 0, 4],
                    }),
                    negative: Some(exponential_histogram_data_point::Buckets {
                        offset: 2,
                        bucket_counts: vec![5],
                    }),
                    ..Default::default()
                }],
                aggregation_temporality: AggregationTemporality::Delta as i32,
            }),
        ),
        metric(
            "tick.time",
            Data::Summary(Summary {
                data_points: vec![SummaryDataPoint {
                    attributes: attrs.clone(),
                    time_unix_nano: ns(t),
                    count: 100,
                    sum: 250.0,
                    quantile_values: vec![ValueAtQuantile {
                        quantile: 0.99,
                        value: 7.0,
                    }],
                    ..Default::default()
                }],
            }),
        ),
        metric(
            "login.attempts",
            Data::Gauge(Gauge {
                data_points: vec![NumberDataPoint {
                    attributes: vec![kv("user_id", "u-1")],
                    time_unix_nano: ns(t),
                    value: Some(number_data_point::Value::AsInt(1)),
                    ..Default::default()
                }],
            }),
        ),
    ];
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "matchmaker"),
                    kv("telemetry.sdk.language", "rust"),
                    kv("region", "eu"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// What `request(t, cluster)` must leave in Kinesis.
fn expected(t: i64, cluster: &str) -> Vec<Sample> {
    let l = |name: &str| labels(&[("__name__", name), ("cluster", cluster), ("region", "eu")]);
    let num = |name: &str, v: f64, ty: MetricType| Sample {
        labels: l(name),
        timestamp_ms: t,
        metric_type: ty as i32,
        value: Some(Value::Number(v)),
        exemplars: Vec::new(),
    };
    let hist = |name: &str, ty: MetricType, h: Histogram| Sample {
        labels: l(name),
        timestamp_ms: t,
        metric_type: ty as i32,
        value: Some(Value::Histogram(h)),
        exemplars: Vec::new(),
    };
    let mut gauge = num("game_players", 42.5, MetricType::Gauge);
    gauge.exemplars = vec![Exemplar {
        labels: labels(&[("build_id", "1.2.3")]),
        value: 41.0,
        timestamp_ms: t - 5,
        trace_id: TRACE.to_vec(),
        span_id: SPAN.to_vec(),
    }];
    let mut quantile = num("tick_time", 7.0, MetricType::Summary);
    quantile.labels = labels(&[
        ("__name__", "tick_time"),
        ("cluster", cluster),
        ("quantile", "0.99"),
        ("region", "eu"),
    ]);
    let mut v = vec![
        gauge,
        num("matches_completed", 17.0, MetricType::Counter),
        hist(
            "match_duration",
            MetricType::Histogram,
            Histogram {
                count: 6,
                sum: Some(9.0),
                min: Some(0.1),
                max: Some(4.0),
                explicit_bounds: vec![0.5, 2.0],
                bucket_counts: vec![1, 2, 3],
                cumulative: true,
                ..Default::default()
            },
        ),
        hist(
            "net_rtt",
            MetricType::ExponentialHistogram,
            Histogram {
                count: 12,
                sum: Some(2.5),
                scale: -2,
                zero_count: 2,
                zero_threshold: 0.0001,
                positive: Some(Buckets {
                    offset: -3,
                    bucket_counts: vec![1, 0, 4],
                }),
                negative: Some(Buckets {
                    offset: 2,
                    bucket_counts: vec![5],
                }),
                cumulative: false,
                ..Default::default()
            },
        ),
        quantile,
        num("tick_time_sum", 250.0, MetricType::Summary),
        num("tick_time_count", 100.0, MetricType::Summary),
    ];
    sort_samples(&mut v);
    v
}

fn samples_of(all: &[Sample], cluster: &str) -> Vec<Sample> {
    all.iter()
        .filter(|s| {
            s.labels
                .iter()
                .any(|l| l.name == "cluster" && l.value == cluster)
        })
        .cloned()
        .collect()
}

fn metric_value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_round_trips_over_http_protobuf_json_and_grpc() {
    let stack = Stack::start().await;
    let t = now_ms() - 60_000;

    // HTTP protobuf.
    let body = prost::Message::encode_to_vec(&request(t, "proto"));
    let resp = stack
        .http
        .post(stack.url("/v1/metrics"))
        .header("x-api-key", KEY_B)
        .header("content-type", "application/x-protobuf")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    let r: ExportMetricsServiceResponse =
        prost::Message::decode(resp.bytes().await.expect("body")).expect("protobuf answer");
    let ps = r.partial_success.expect("partial_success");
    assert_eq!(ps.rejected_data_points, 1);
    assert!(!ps.error_message.is_empty());

    // HTTP JSON.
    let body = serde_json::to_vec(&request(t, "json")).expect("json");
    let resp = stack
        .http
        .post(stack.url("/v1/metrics"))
        .header("x-api-key", KEY_B)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    let r: serde_json::Value = resp.json().await.expect("json answer");
    let rejected = &r["partialSuccess"]["rejectedDataPoints"];
    assert!(rejected == 1 || rejected == "1", "{r}");

    // gRPC over TLS.
    let mut client = stack.grpc().await;
    let mut req = tonic::Request::new(request(t, "grpc"));
    req.metadata_mut()
        .insert("x-api-key", KEY_B.parse().expect("ascii"));
    let r = client.export(req).await.expect("gRPC export").into_inner();
    assert_eq!(r.partial_success.expect("partial").rejected_data_points, 1);

    let all = stack.samples("studio-b").await;
    for cluster in ["proto", "json", "grpc"] {
        let got = samples_of(&all, cluster);
        let want = expected(t, cluster);
        assert_eq!(got.len(), want.len(), "{cluster}: {got:#?}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{cluster}");
        }
    }
    // Nothing of the refused point, and no unpromoted resource attribute, anywhere.
    assert!(
        all.iter()
            .all(|s| s.labels.iter().all(|l| l.name != "user_id"
                && l.name != "service_name"
                && !l.name.starts_with("telemetry")))
    );
    assert_eq!(all.len(), 3 * 7);

    let text = stack.metrics_text().await;
    assert_eq!(
        metric_value(
            &text,
            "gateway_dropped_resource_attributes_total{tenant=\"studio-b\"}"
        ),
        Some(6.0),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn otlp_gzip_over_http_and_grpc_as_exporters_send_it() {
    use std::io::Write;
    let stack = Stack::start().await;
    let t = now_ms() - 60_000;
    let raw = prost::Message::encode_to_vec(&request(t, "gzhttp"));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&raw).expect("gzip");
    let resp = stack
        .http
        .post(stack.url("/v1/metrics"))
        .header("x-api-key", KEY_B)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(gz.finish().expect("gzip"))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);

    // Not gzip although it says so: 400, nothing stored from it.
    let resp = stack
        .http
        .post(stack.url("/v1/metrics"))
        .header("x-api-key", KEY_B)
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "gzip")
        .body(raw.clone())
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"], "bad_compression");

    let mut client = stack
        .grpc()
        .await
        .send_compressed(tonic::codec::CompressionEncoding::Gzip);
    let mut req = tonic::Request::new(request(t, "gzgrpc"));
    req.metadata_mut()
        .insert("x-api-key", KEY_B.parse().expect("ascii"));
    client.export(req).await.expect("gzip gRPC export");

    let all = stack.samples("studio-b").await;
    for cluster in ["gzhttp", "gzgrpc"] {
        assert_eq!(samples_of(&all, cluster), expected(t, cluster), "{cluster}");
    }
    assert_eq!(all.len(), 2 * 7);
}
