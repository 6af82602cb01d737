//! OTLP/HTTP protobuf bodies (`ExportMetricsServiceRequest`) for a batch of catalog
//! units, as an SDK exports them: one metric per family (dotted names), its data points
//! grouped under it — monotonic cumulative sums, gauges, explicit-bucket and exponential
//! histograms. Resource attributes `service.*` / `telemetry.sdk.*` ride along (the
//! gateway drops and counts them; they are never stored).

use super::payload::{Emission, value_of};
use super::shapes::{Catalog, FAMILIES, Family, otlp_name};
use bytes::Bytes;
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, InstrumentationScope, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    AggregationTemporality, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge, Histogram,
    HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    exponential_histogram_data_point::Buckets, metric, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

pub fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.to_string())),
        }),
        ..Default::default()
    }
}

fn attrs(server: &[(String, String)]) -> Vec<KeyValue> {
    server.iter().map(|(k, v)| kv(k, v)).collect()
}

fn empty_metric(name: &str, family: Family) -> Metric {
    let cumulative = AggregationTemporality::Cumulative as i32;
    let data = match family {
        Family::Counter => metric::Data::Sum(Sum {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
            is_monotonic: true,
        }),
        Family::Gauge => metric::Data::Gauge(Gauge {
            data_points: Vec::new(),
        }),
        Family::Classic(_) => metric::Data::Histogram(Histogram {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
        }),
        Family::Exponential => metric::Data::ExponentialHistogram(ExponentialHistogram {
            data_points: Vec::new(),
            aggregation_temporality: cumulative,
        }),
    };
    Metric {
        name: otlp_name(name),
        data: Some(data),
        ..Default::default()
    }
}

fn add_point(m: &mut Metric, family: Family, attributes: Vec<KeyValue>, e: &Emission) {
    let nanos = (e.ts as u64).saturating_mul(1_000_000);
    let v = value_of(e);
    match (&mut m.data, family) {
        (Some(metric::Data::Sum(s)), _) => s.data_points.push(number(attributes, nanos, v)),
        (Some(metric::Data::Gauge(g)), _) => g.data_points.push(number(attributes, nanos, v)),
        (Some(metric::Data::Histogram(h)), Family::Classic(bounds)) => {
            let per = 8 + (e.ts % 5) as u64;
            let counts = vec![per; bounds.len() + 1];
            h.data_points.push(HistogramDataPoint {
                attributes,
                time_unix_nano: nanos,
                count: per * (bounds.len() as u64 + 1),
                sum: Some(v),
                bucket_counts: counts,
                explicit_bounds: bounds.to_vec(),
                min: Some(0.001),
                max: Some(0.2),
                ..Default::default()
            })
        }
        (Some(metric::Data::ExponentialHistogram(h)), _) => {
            let counts = vec![2 + (e.ts % 3) as u64, 5, 1];
            h.data_points.push(ExponentialHistogramDataPoint {
                attributes,
                time_unix_nano: nanos,
                count: counts.iter().sum(),
                sum: Some(v),
                scale: 3,
                zero_count: 0,
                positive: Some(Buckets {
                    offset: -21,
                    bucket_counts: counts,
                }),
                ..Default::default()
            })
        }
        _ => {}
    }
}

fn number(attributes: Vec<KeyValue>, nanos: u64, v: f64) -> NumberDataPoint {
    NumberDataPoint {
        attributes,
        time_unix_nano: nanos,
        value: Some(number_data_point::Value::AsDouble(v)),
        ..Default::default()
    }
}

/// The request of a batch of emissions.
pub fn request(catalog: &Catalog, batch: &[Emission]) -> ExportMetricsServiceRequest {
    let mut metrics: Vec<Metric> = FAMILIES.iter().map(|(n, f)| empty_metric(n, *f)).collect();
    for e in batch {
        let unit = &catalog.units[e.unit as usize];
        let family = FAMILIES[unit.family].1;
        let a = attrs(&catalog.servers[unit.server as usize]);
        if let Some(m) = metrics.get_mut(unit.family) {
            add_point(m, family, a, e);
        }
    }
    metrics.retain(|m| match &m.data {
        Some(metric::Data::Sum(s)) => !s.data_points.is_empty(),
        Some(metric::Data::Gauge(g)) => !g.data_points.is_empty(),
        Some(metric::Data::Histogram(h)) => !h.data_points.is_empty(),
        Some(metric::Data::ExponentialHistogram(h)) => !h.data_points.is_empty(),
        _ => false,
    });
    wrap(metrics)
}

/// One resource with the usual SDK attributes around these metrics.
pub fn wrap(metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: vec![
                    kv("service.name", "game-server"),
                    kv("telemetry.sdk.language", "rust"),
                ],
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                scope: Some(InstrumentationScope {
                    name: "gameday-load".into(),
                    ..Default::default()
                }),
                metrics,
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

/// A gauge with one data point carrying these attributes (hygiene traffic).
pub fn one_gauge(name: &str, attributes: &[(String, String)], ts: i64) -> Bytes {
    let mut m = empty_metric(name, Family::Gauge);
    let a = attributes.iter().map(|(k, v)| kv(k, v)).collect();
    add_point(&mut m, Family::Gauge, a, &Emission { unit: 0, ts });
    Bytes::from(prost::Message::encode_to_vec(&wrap(vec![m])))
}

pub fn body(catalog: &Catalog, batch: &[Emission]) -> Bytes {
    Bytes::from(prost::Message::encode_to_vec(&request(catalog, batch)))
}
