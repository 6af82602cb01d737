//! Envelopes the tests put into Kinesis: several tenants, both kinds, two hours, gauges,
//! classic and exponential histograms with exemplars, events.

#![allow(dead_code)]

use super::common::{Env, HOUR_10, HOUR_11, RowKey, SHARDS};
use ingest::envelope::{
    Buckets, Envelope, Event, Exemplar, Histogram, Kind, Label, MetricType, Sample, Value,
};
use std::collections::BTreeMap;

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
