//! Prometheus remote_write 1.0: snappy-compressed (block format) protobuf
//! `prometheus.WriteRequest`. The messages are declared here with prost derives (the
//! wire format is the contract; no protoc needed). Native histograms (spans + deltas)
//! become exponential histograms in OTLP's bucket-index convention.

use crate::envelope::{Buckets, Histogram, Label, MetricType, Sample, Value};

#[derive(Clone, PartialEq, prost::Message)]
pub struct WriteRequest {
    #[prost(message, repeated, tag = "1")]
    pub timeseries: Vec<TimeSeries>,
    #[prost(message, repeated, tag = "3")]
    pub metadata: Vec<MetricMetadata>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct TimeSeries {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(message, repeated, tag = "2")]
    pub samples: Vec<RwSample>,
    #[prost(message, repeated, tag = "3")]
    pub exemplars: Vec<Exemplar>,
    #[prost(message, repeated, tag = "4")]
    pub histograms: Vec<RwHistogram>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RwSample {
    #[prost(double, tag = "1")]
    pub value: f64,
    #[prost(int64, tag = "2")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct BucketSpan {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint32, tag = "2")]
    pub length: u32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct RwHistogram {
    #[prost(oneof = "HistCount", tags = "1, 2")]
    pub count: Option<HistCount>,
    #[prost(double, tag = "3")]
    pub sum: f64,
    #[prost(sint32, tag = "4")]
    pub schema: i32,
    #[prost(double, tag = "5")]
    pub zero_threshold: f64,
    #[prost(oneof = "HistZeroCount", tags = "6, 7")]
    pub zero_count: Option<HistZeroCount>,
    #[prost(message, repeated, tag = "8")]
    pub negative_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "9")]
    pub negative_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "10")]
    pub negative_counts: Vec<f64>,
    #[prost(message, repeated, tag = "11")]
    pub positive_spans: Vec<BucketSpan>,
    #[prost(sint64, repeated, tag = "12")]
    pub positive_deltas: Vec<i64>,
    #[prost(double, repeated, tag = "13")]
    pub positive_counts: Vec<f64>,
    #[prost(int32, tag = "14")]
    pub reset_hint: i32,
    #[prost(int64, tag = "15")]
    pub timestamp: i64,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HistCount {
    #[prost(uint64, tag = "1")]
    CountInt(u64),
    #[prost(double, tag = "2")]
    CountFloat(f64),
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum HistZeroCount {
    #[prost(uint64, tag = "6")]
    ZeroCountInt(u64),
    #[prost(double, tag = "7")]
    ZeroCountFloat(f64),
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct MetricMetadata {
    #[prost(int32, tag = "1")]
    pub r#type: i32,
    #[prost(string, tag = "2")]
    pub metric_family_name: String,
    #[prost(string, tag = "4")]
    pub help: String,
    #[prost(string, tag = "5")]
    pub unit: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("body is not snappy (block format): {0}")]
    Snappy(String),
    #[error("decompressed body exceeds {0} bytes")]
    TooLarge(usize),
    #[error("body is not a prometheus.WriteRequest: {0}")]
    Protobuf(String),
    #[error("float histograms are not supported (series {0})")]
    FloatHistogram(String),
    #[error("histogram spans and deltas disagree (series {0})")]
    BadSpans(String),
}

impl DecodeError {
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Snappy(_) => "bad_compression",
            DecodeError::TooLarge(_) => "body_too_large",
            DecodeError::Protobuf(_) => "bad_protobuf",
            DecodeError::FloatHistogram(_) => "float_histogram",
            DecodeError::BadSpans(_) => "bad_histogram",
        }
    }
}

/// Prometheus metadata type values (remote.proto MetricMetadata.MetricType).
fn metric_type(meta: Option<i32>, name: &str, hist: bool) -> MetricType {
    if hist {
        return MetricType::ExponentialHistogram;
    }
    match meta {
        Some(1) => MetricType::Counter,
        Some(2) => MetricType::Gauge,
        Some(3) | Some(4) => MetricType::Histogram,
        Some(5) => MetricType::Summary,
        _ if name.ends_with("_total") => MetricType::Counter,
        _ if name.ends_with("_bucket") => MetricType::Histogram,
        _ => MetricType::Unknown,
    }
}

pub fn decode(body: &[u8], max_decompressed: usize) -> Result<WriteRequest, DecodeError> {
    let len = snap::raw::decompress_len(body).map_err(|e| DecodeError::Snappy(e.to_string()))?;
    if len > max_decompressed {
        return Err(DecodeError::TooLarge(max_decompressed));
    }
    let raw = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| DecodeError::Snappy(e.to_string()))?;
    <WriteRequest as prost::Message>::decode(raw.as_slice())
        .map_err(|e| DecodeError::Protobuf(e.to_string()))
}

/// The series of a request with their labels sorted and their samples converted.
pub fn to_series(req: WriteRequest) -> Result<Vec<super::Series>, DecodeError> {
    let WriteRequest {
        timeseries,
        metadata,
    } = req;
    let types: std::collections::HashMap<&str, i32> = metadata
        .iter()
        .map(|m| (m.metric_family_name.as_str(), m.r#type))
        .collect();
    let mut out = Vec::with_capacity(timeseries.len());
    for mut ts in timeseries {
        // The request is ours: move the labels instead of copying them.
        let mut labels = std::mem::take(&mut ts.labels);
        labels.sort_by(|a, b| a.name.cmp(&b.name));
        let name = labels
            .iter()
            .find(|l| l.name == "__name__")
            .map(|l| l.value.as_str())
            .unwrap_or("");
        let family = name
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count")
            .trim_end_matches("_total");
        let meta = types.get(name).or_else(|| types.get(family)).copied();
        let mut samples = Vec::with_capacity(ts.samples.len() + ts.histograms.len());
        let mt = metric_type(meta, name, false) as i32;
        for s in &ts.samples {
            samples.push(Sample {
                labels: Vec::new(),
                timestamp_ms: s.timestamp,
                metric_type: mt,
                value: Some(Value::Number(s.value)),
                exemplars: Vec::new(),
            });
        }
        for h in &ts.histograms {
            samples.push(Sample {
                labels: Vec::new(),
                timestamp_ms: h.timestamp,
                metric_type: MetricType::ExponentialHistogram as i32,
                value: Some(Value::Histogram(native_histogram(h, name)?)),
                exemplars: Vec::new(),
            });
        }
        attach_exemplars(&ts.exemplars, &mut samples);
        out.push((labels, samples));
    }
    Ok(out)
}

/// remote_write sends a series' exemplars beside its samples; each is kept with the sample
/// of the same timestamp, or with the first sample when none matches, never dropped.
fn attach_exemplars(all: &[Exemplar], samples: &mut [Sample]) {
    for e in all {
        let i = samples
            .iter()
            .position(|s| s.timestamp_ms == e.timestamp)
            .unwrap_or(0);
        if let Some(s) = samples.get_mut(i) {
            s.exemplars.push(crate::envelope::Exemplar {
                labels: e.labels.clone(),
                value: e.value,
                timestamp_ms: e.timestamp,
                ..Default::default()
            });
        }
    }
}

fn native_histogram(h: &RwHistogram, series: &str) -> Result<Histogram, DecodeError> {
    let float = || DecodeError::FloatHistogram(series.to_string());
    let count = match h.count {
        Some(HistCount::CountInt(c)) => c,
        Some(HistCount::CountFloat(_)) => return Err(float()),
        None => 0,
    };
    let zero_count = match h.zero_count {
        Some(HistZeroCount::ZeroCountInt(c)) => c,
        Some(HistZeroCount::ZeroCountFloat(_)) => return Err(float()),
        None => 0,
    };
    if !h.positive_counts.is_empty() || !h.negative_counts.is_empty() {
        return Err(float());
    }
    Ok(Histogram {
        count,
        sum: Some(h.sum),
        scale: h.schema,
        zero_count,
        zero_threshold: h.zero_threshold,
        positive: spans_to_buckets(&h.positive_spans, &h.positive_deltas, series)?,
        negative: spans_to_buckets(&h.negative_spans, &h.negative_deltas, series)?,
        cumulative: true,
        ..Default::default()
    })
}

/// Spans + delta-encoded counts → one dense run of buckets. Prometheus bucket `i`
/// covers (base^(i-1), base^i], OTLP's covers (base^i, base^(i+1)]: offset shifts by one.
fn spans_to_buckets(
    spans: &[BucketSpan],
    deltas: &[i64],
    series: &str,
) -> Result<Option<Buckets>, DecodeError> {
    if spans.is_empty() {
        return Ok(None);
    }
    let bad = || DecodeError::BadSpans(series.to_string());
    let mut counts: Vec<u64> = Vec::new();
    let mut index: i64 = 0;
    let mut first: Option<i64> = None;
    let mut deltas = deltas.iter();
    let mut running: i64 = 0;
    for (n, span) in spans.iter().enumerate() {
        index += span.offset as i64;
        if n > 0 && span.offset < 0 {
            return Err(bad());
        }
        let start = *first.get_or_insert(index);
        // Gaps between spans are empty buckets.
        while start + (counts.len() as i64) < index {
            counts.push(0);
        }
        for _ in 0..span.length {
            running += deltas.next().ok_or_else(bad)?;
            counts.push(u64::try_from(running).map_err(|_| bad())?);
            index += 1;
        }
    }
    if deltas.next().is_some() {
        return Err(bad());
    }
    Ok(Some(Buckets {
        offset: (first.unwrap_or(0) - 1) as i32,
        bucket_counts: counts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_deltas_become_dense_buckets() {
        // Buckets at prometheus indexes 1,2 then a gap of 2, then 5: counts 3,5,_,_,2.
        let spans = [
            BucketSpan {
                offset: 1,
                length: 2,
            },
            BucketSpan {
                offset: 2,
                length: 1,
            },
        ];
        let deltas = [3, 2, -3];
        let b = spans_to_buckets(&spans, &deltas, "s").unwrap().unwrap();
        assert_eq!(b.offset, 0);
        assert_eq!(b.bucket_counts, vec![3, 5, 0, 0, 2]);
        assert!(spans_to_buckets(&spans, &[1], "s").is_err());
    }

    #[test]
    fn decodes_snappy_protobuf_and_sorts_labels() {
        let req = WriteRequest {
            timeseries: vec![TimeSeries {
                labels: vec![
                    Label {
                        name: "region".into(),
                        value: "eu".into(),
                    },
                    Label {
                        name: "__name__".into(),
                        value: "players_total".into(),
                    },
                ],
                samples: vec![RwSample {
                    value: 3.0,
                    timestamp: 10,
                }],
                ..Default::default()
            }],
            metadata: vec![],
        };
        let body = snap::raw::Encoder::new()
            .compress_vec(&prost::Message::encode_to_vec(&req))
            .unwrap();
        let series = to_series(decode(&body, 1 << 20).unwrap()).unwrap();
        assert_eq!(series[0].0[0].name, "__name__");
        assert_eq!(series[0].1[0].metric_type, MetricType::Counter as i32);
        assert_eq!(
            decode(b"\xff\xff", 1 << 20).unwrap_err().reason(),
            "bad_compression"
        );
        assert_eq!(decode(&body, 4).unwrap_err().reason(), "body_too_large");
    }
}
