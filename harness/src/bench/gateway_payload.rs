//! Request bodies for the gateway bench: Prometheus remote_write (snappy protobuf) and
//! OTLP/HTTP protobuf, over realistic series whose labels stay inside the gateway's
//! allowlist. Bodies are encoded once before a measurement so that the load generator
//! spends its CPU on sending, not encoding.

use bytes::Bytes;
use ingest::envelope::Label;
use ingest::gateway::inputs::remote_write::{RwSample, TimeSeries, WriteRequest};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

/// The two metric formats the bench drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    RemoteWrite,
    Otlp,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::RemoteWrite => "remote_write",
            Format::Otlp => "otlp",
        }
    }

    pub fn path(self) -> &'static str {
        match self {
            Format::RemoteWrite => "/api/v1/write",
            Format::Otlp => "/v1/metrics",
        }
    }

    /// Headers a real sender sets (besides auth).
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Format::RemoteWrite => &[
                ("content-type", "application/x-protobuf"),
                ("content-encoding", "snappy"),
                ("x-prometheus-remote-write-version", "0.1.0"),
            ],
            Format::Otlp => &[("content-type", "application/x-protobuf")],
        }
    }
}

const METRICS: [&str; 10] = [
    "game_server_tick_duration_seconds",
    "game_server_players_online",
    "game_server_matches_active",
    "game_server_cpu_seconds_total",
    "game_server_memory_bytes",
    "matchmaker_queue_depth",
    "matchmaker_wait_seconds",
    "net_packets_received_total",
    "net_packets_lost_total",
    "net_rtt_seconds",
];
const REGIONS: [&str; 4] = ["eu-west-1", "us-east-1", "ap-northeast-1", "sa-east-1"];
const AZ: [&str; 3] = ["a", "b", "c"];
const INSTANCE_TYPES: [&str; 3] = ["c6i.2xlarge", "c7g.4xlarge", "m6i.xlarge"];
const QUEUES: [&str; 3] = ["ranked", "casual", "tournament"];
const BUILDS: [&str; 2] = ["1.42.0-rc.3+g7f3a9c1", "1.41.7+g0be11d4"];

/// Labels (without `__name__`) of game server `i`: 4 regions × 3 zones × 5 clusters ×
/// 10 shards = 600 servers, × 10 metrics = 6,000 series.
fn server_labels(i: usize) -> Vec<(&'static str, String)> {
    let region = REGIONS[i % 4];
    vec![
        ("asn_bucket", format!("asn-{}", i % 16)),
        ("az", format!("{region}{}", AZ[(i / 4) % 3])),
        ("build_id", BUILDS[i % 2].to_string()),
        ("cluster", format!("gs-prod-{}", (i / 12) % 5)),
        ("instance_type", INSTANCE_TYPES[i % 3].to_string()),
        ("queue", QUEUES[(i / 7) % 3].to_string()),
        ("region", region.to_string()),
        ("shard_id", format!("shard-{:03}", (i / 60) % 10)),
    ]
}

pub const SERIES: usize = 6_000;

pub(super) fn series_labels(s: usize) -> (&'static str, Vec<(&'static str, String)>) {
    (METRICS[s % METRICS.len()], server_labels(s / METRICS.len()))
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `count` distinct bodies of `samples` samples each (one per series, consecutive series
/// like a Prometheus shard sends them).
pub fn bodies(format: Format, samples: usize, count: usize) -> anyhow::Result<Vec<Bytes>> {
    let ts = now_ms();
    (0..count)
        .map(|b| {
            let first = b * samples;
            match format {
                Format::RemoteWrite => remote_write(first, samples, ts + b as i64),
                Format::Otlp => otlp(first, samples, ts + b as i64),
            }
        })
        .collect()
}

fn remote_write(first: usize, n: usize, ts: i64) -> anyhow::Result<Bytes> {
    let timeseries = (first..first + n)
        .map(|s| {
            let (name, labels) = series_labels(s % SERIES);
            let mut l = vec![Label {
                name: "__name__".into(),
                value: name.into(),
            }];
            l.extend(labels.into_iter().map(|(k, v)| Label {
                name: k.into(),
                value: v,
            }));
            TimeSeries {
                labels: l,
                samples: vec![RwSample {
                    value: (s % 997) as f64 * 1.5,
                    timestamp: ts,
                }],
                ..Default::default()
            }
        })
        .collect();
    let req = WriteRequest {
        timeseries,
        metadata: Vec::new(),
    };
    let raw = prost::Message::encode_to_vec(&req);
    let compressed = snap::raw::Encoder::new().compress_vec(&raw)?;
    Ok(Bytes::from(compressed))
}

fn kv(k: &str, v: String) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v)),
        }),
        ..Default::default()
    }
}

fn otlp(first: usize, n: usize, ts_ms: i64) -> anyhow::Result<Bytes> {
    let nanos = (ts_ms as u64) * 1_000_000;
    // One metric per name, its data points grouped under it, as an SDK exports them.
    let mut metrics: Vec<Metric> = METRICS
        .iter()
        .map(|name| Metric {
            name: name.replace('_', "."),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: Vec::new(),
            })),
            ..Default::default()
        })
        .collect();
    for s in first..first + n {
        let (_, labels) = series_labels(s % SERIES);
        let point = NumberDataPoint {
            attributes: labels.into_iter().map(|(k, v)| kv(k, v)).collect(),
            time_unix_nano: nanos,
            value: Some(number_data_point::Value::AsDouble((s % 997) as f64 * 1.5)),
            ..Default::default()
        };
        if let Some(Metric {
            data: Some(metric::Data::Gauge(g)),
            ..
        }) = metrics.get_mut(s % METRICS.len())
        {
            g.data_points.push(point);
        }
    }
    metrics
        .retain(|m| matches!(&m.data, Some(metric::Data::Gauge(g)) if !g.data_points.is_empty()));
    let req = ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "game-server".into()),
                    kv("telemetry.sdk.language", "rust".into()),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "gameday-bench".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    };
    Ok(Bytes::from(prost::Message::encode_to_vec(&req)))
}
