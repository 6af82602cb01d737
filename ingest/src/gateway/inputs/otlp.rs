//! OTLP metrics (`ExportMetricsServiceRequest`, over gRPC or HTTP protobuf/JSON) into
//! series of samples. Data-point attributes become labels; resource attributes become
//! labels only when the tenant promotes them, the rest are dropped and counted. Gauges,
//! sums, explicit and exponential histograms keep their full structure; a summary
//! becomes its `quantile` series plus `_sum` and `_count`, as Prometheus stores it.

use crate::envelope::{self, Buckets, Exemplar, Histogram, Label, MetricType, Sample, Value};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{self as otlp, metric::Data};

/// The converted request.
#[derive(Debug, Default)]
pub struct Converted {
    pub series: Vec<super::Series>,
    /// Resource attributes not promoted: dropped, counted by the caller.
    pub dropped_resource_attributes: u64,
    /// Data points refused here (no value, malformed histogram), with reasons.
    pub rejected: Vec<&'static str>,
}

pub fn decode_protobuf(body: &[u8]) -> Result<ExportMetricsServiceRequest, String> {
    <ExportMetricsServiceRequest as prost::Message>::decode(body).map_err(|e| e.to_string())
}

pub fn decode_json(body: &[u8]) -> Result<ExportMetricsServiceRequest, String> {
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

fn name_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
        c
    } else {
        '_'
    }
}

/// Prometheus-style name: OTLP's `.` and `-` become `_`.
pub fn sanitize(name: &str) -> String {
    sanitize_owned(name.to_owned())
}

/// [`sanitize`] reusing the key's allocation when it is already clean (nearly always).
fn sanitize_owned(name: String) -> String {
    if name.chars().all(|c| name_char(c) == c) {
        return name;
    }
    name.chars().map(name_char).collect()
}

/// An attribute's value as label text; the string is moved, not copied.
fn value_text(v: Option<AnyValue>) -> String {
    match v.and_then(|v| v.value) {
        Some(any_value::Value::StringValue(s)) => s,
        Some(any_value::Value::BoolValue(b)) => b.to_string(),
        Some(any_value::Value::IntValue(i)) => i.to_string(),
        Some(any_value::Value::DoubleValue(d)) => d.to_string(),
        Some(any_value::Value::BytesValue(b)) => hex::encode(b),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    }
}

fn label_of(kv: KeyValue) -> Label {
    Label {
        name: sanitize_owned(kv.key),
        value: value_text(kv.value),
    }
}

fn ms(nanos: u64) -> i64 {
    (nanos / 1_000_000) as i64
}

fn exemplars(es: Vec<otlp::Exemplar>, keep: bool) -> Vec<Exemplar> {
    if !keep {
        return Vec::new();
    }
    es.into_iter()
        .map(|e| Exemplar {
            labels: e.filtered_attributes.into_iter().map(label_of).collect(),
            value: match e.value {
                Some(otlp::exemplar::Value::AsDouble(d)) => d,
                Some(otlp::exemplar::Value::AsInt(i)) => i as f64,
                None => 0.0,
            },
            timestamp_ms: ms(e.time_unix_nano),
            trace_id: e.trace_id,
            span_id: e.span_id,
        })
        .collect()
}

/// `promote(key)` says whether a resource attribute is kept as a label. Takes the request
/// by value: its strings move into the labels instead of being copied.
pub fn convert(
    req: ExportMetricsServiceRequest,
    promote: impl Fn(&str) -> bool,
    keep_exemplars: bool,
) -> Converted {
    let mut out = Converted::default();
    for rm in req.resource_metrics {
        let mut resource_labels = Vec::new();
        for kv in rm.resource.map(|r| r.attributes).unwrap_or_default() {
            if promote(&kv.key) {
                resource_labels.push(label_of(kv));
            } else {
                out.dropped_resource_attributes += 1;
            }
        }
        for sm in rm.scope_metrics {
            for m in sm.metrics {
                convert_metric(m, &resource_labels, keep_exemplars, &mut out);
            }
        }
    }
    out
}

fn series_labels(
    name: &str,
    resource: &[Label],
    attrs: Vec<KeyValue>,
    extra: Option<Label>,
) -> Vec<Label> {
    let mut labels = Vec::with_capacity(resource.len() + attrs.len() + 2);
    labels.push(Label {
        name: "__name__".into(),
        value: name.to_string(),
    });
    labels.extend(resource.iter().cloned());
    labels.extend(attrs.into_iter().map(label_of));
    labels.extend(extra);
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    labels
}

fn push(out: &mut Converted, labels: Vec<Label>, sample: Sample) {
    out.series.push((labels, vec![sample]));
}

fn convert_metric(m: otlp::Metric, resource: &[Label], keep_ex: bool, out: &mut Converted) {
    let name = sanitize_owned(m.name);
    match m.data {
        Some(Data::Gauge(g)) => number_points(
            &name,
            g.data_points,
            MetricType::Gauge,
            resource,
            keep_ex,
            out,
        ),
        Some(Data::Sum(s)) => {
            let ty = if s.is_monotonic {
                MetricType::Counter
            } else {
                MetricType::Gauge
            };
            number_points(&name, s.data_points, ty, resource, keep_ex, out)
        }
        Some(Data::Histogram(h)) => {
            let cumulative =
                h.aggregation_temporality == otlp::AggregationTemporality::Cumulative as i32;
            for p in h.data_points {
                if !p.explicit_bounds.is_empty()
                    && p.bucket_counts.len() != p.explicit_bounds.len() + 1
                {
                    out.rejected.push("bad_histogram");
                    continue;
                }
                let hist = Histogram {
                    count: p.count,
                    sum: p.sum,
                    min: p.min,
                    max: p.max,
                    explicit_bounds: p.explicit_bounds,
                    bucket_counts: p.bucket_counts,
                    cumulative,
                    ..Default::default()
                };
                push(
                    out,
                    series_labels(&name, resource, p.attributes, None),
                    Sample {
                        labels: Vec::new(),
                        timestamp_ms: ms(p.time_unix_nano),
                        metric_type: MetricType::Histogram as i32,
                        value: Some(Value::Histogram(hist)),
                        exemplars: exemplars(p.exemplars, keep_ex),
                    },
                );
            }
        }
        Some(Data::ExponentialHistogram(h)) => {
            let cumulative =
                h.aggregation_temporality == otlp::AggregationTemporality::Cumulative as i32;
            let buckets = |b: Option<otlp::exponential_histogram_data_point::Buckets>| {
                b.map(|b| Buckets {
                    offset: b.offset,
                    bucket_counts: b.bucket_counts,
                })
            };
            for p in h.data_points {
                let hist = Histogram {
                    count: p.count,
                    sum: p.sum,
                    min: p.min,
                    max: p.max,
                    scale: p.scale,
                    zero_count: p.zero_count,
                    zero_threshold: p.zero_threshold,
                    positive: buckets(p.positive),
                    negative: buckets(p.negative),
                    cumulative,
                    ..Default::default()
                };
                push(
                    out,
                    series_labels(&name, resource, p.attributes, None),
                    Sample {
                        labels: Vec::new(),
                        timestamp_ms: ms(p.time_unix_nano),
                        metric_type: MetricType::ExponentialHistogram as i32,
                        value: Some(Value::Histogram(hist)),
                        exemplars: exemplars(p.exemplars, keep_ex),
                    },
                );
            }
        }
        Some(Data::Summary(s)) => {
            for p in s.data_points {
                let ts = ms(p.time_unix_nano);
                let number = |v: f64| Sample {
                    labels: Vec::new(),
                    timestamp_ms: ts,
                    metric_type: MetricType::Summary as i32,
                    value: Some(Value::Number(v)),
                    exemplars: Vec::new(),
                };
                for q in &p.quantile_values {
                    let ql = Label {
                        name: "quantile".into(),
                        value: q.quantile.to_string(),
                    };
                    push(
                        out,
                        series_labels(&name, resource, p.attributes.clone(), Some(ql)),
                        number(q.value),
                    );
                }
                push(
                    out,
                    series_labels(&format!("{name}_sum"), resource, p.attributes.clone(), None),
                    number(p.sum),
                );
                push(
                    out,
                    series_labels(&format!("{name}_count"), resource, p.attributes, None),
                    number(p.count as f64),
                );
            }
        }
        None => out.rejected.push("no_data"),
    }
}

fn number_points(
    name: &str,
    points: Vec<otlp::NumberDataPoint>,
    ty: MetricType,
    resource: &[Label],
    keep_ex: bool,
    out: &mut Converted,
) {
    for p in points {
        let v = match p.value {
            Some(otlp::number_data_point::Value::AsDouble(d)) => d,
            Some(otlp::number_data_point::Value::AsInt(i)) => i as f64,
            None => {
                out.rejected.push("no_value");
                continue;
            }
        };
        push(
            out,
            series_labels(name, resource, p.attributes, None),
            envelope::Sample {
                labels: Vec::new(),
                timestamp_ms: ms(p.time_unix_nano),
                metric_type: ty as i32,
                value: Some(Value::Number(v)),
                exemplars: exemplars(p.exemplars, keep_ex),
            },
        );
    }
}
