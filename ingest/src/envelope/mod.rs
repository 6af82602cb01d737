//! The record envelope: what one Kinesis record carries from the gateway to delivery.
//!
//! Wire format: the magic `GDE`, one version byte, then the snappy-compressed (raw
//! block format) protobuf [`Envelope`]. Decoding refuses an unknown magic or version
//! with a reason, so delivery can send such records to `errors/` instead of guessing.

mod model;

pub use model::{
    Buckets, Envelope, Event, Exemplar, Histogram, Kind, Label, MetricType, Sample, Value,
};

use prost::Message;

pub const MAGIC: &[u8; 3] = b"GDE";
pub const VERSION: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("not an envelope: the record does not start with GDE")]
    Magic,
    #[error("envelope version {0} is not one this build reads (reads {VERSION})")]
    Version(u8),
    #[error("snappy: {0}")]
    Compression(String),
    #[error("protobuf: {0}")]
    Protobuf(String),
}

impl DecodeError {
    /// The reason code under which an undecodable record is counted and stored.
    pub fn reason(&self) -> &'static str {
        match self {
            DecodeError::Magic => "bad_magic",
            DecodeError::Version(_) => "unknown_version",
            DecodeError::Compression(_) => "bad_compression",
            DecodeError::Protobuf(_) => "bad_protobuf",
        }
    }
}

/// A record's protobuf bytes: its header (magic, version) checked, the payload
/// decompressed (Snappy).
pub fn record_payload(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    if data.len() < 4 || &data[..3] != MAGIC {
        return Err(DecodeError::Magic);
    }
    if data[3] != VERSION {
        return Err(DecodeError::Version(data[3]));
    }
    snap::raw::Decoder::new()
        .decompress_vec(&data[4..])
        .map_err(|e| DecodeError::Compression(e.to_string()))
}

impl Envelope {
    /// Number of items (samples or events) inside.
    pub fn len(&self) -> usize {
        self.samples.len() + self.events.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of one Kinesis record.
    pub fn encode_record(&self) -> Vec<u8> {
        let raw = self.encode_to_vec();
        let mut out = Vec::with_capacity(4 + snap::raw::max_compress_len(raw.len()));
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        let start = out.len();
        out.resize(start + snap::raw::max_compress_len(raw.len()), 0);
        // Compressing into a buffer of max_compress_len cannot fail.
        let n = snap::raw::Encoder::new()
            .compress(&raw, &mut out[start..])
            .unwrap_or(0);
        out.truncate(start + n);
        out
    }

    pub fn decode_record(data: &[u8]) -> Result<Envelope, DecodeError> {
        let raw = record_payload(data)?;
        Envelope::decode(raw.as_slice()).map_err(|e| DecodeError::Protobuf(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str, ts: i64, v: f64) -> Sample {
        Sample {
            labels: vec![
                Label {
                    name: "__name__".into(),
                    value: name.into(),
                },
                Label {
                    name: "region".into(),
                    value: "eu-west-1".into(),
                },
            ],
            timestamp_ms: ts,
            metric_type: MetricType::Gauge as i32,
            value: Some(Value::Number(v)),
            exemplars: vec![],
        }
    }

    #[test]
    fn round_trips_samples_histograms_and_events() {
        let hist = Histogram {
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
            cumulative: true,
            ..Default::default()
        };
        let env = Envelope {
            tenant: "studio-a".into(),
            kind: Kind::Metrics as i32,
            ingest_time_ms: 1_795_680_000_000,
            producer: "gateway-b".into(),
            samples: vec![
                sample("players_online", 1, 42.0),
                Sample {
                    value: Some(Value::Histogram(hist)),
                    metric_type: MetricType::ExponentialHistogram as i32,
                    ..sample("tick_seconds", 2, 0.0)
                },
            ],
            events: vec![Event {
                event_id: "run1-p3-17".into(),
                event_data_json: r#"{"score":3}"#.into(),
                ..Default::default()
            }],
        };
        let rec = env.encode_record();
        assert_eq!(&rec[..4], b"GDE\x01");
        assert_eq!(Envelope::decode_record(&rec), Ok(env.clone()));
        assert_eq!(env.kind(), Kind::Metrics);
        assert_eq!(env.len(), 3);
    }

    #[test]
    fn refuses_foreign_records_with_a_reason() {
        assert_eq!(
            Envelope::decode_record(b"{\"json\":1}"),
            Err(DecodeError::Magic)
        );
        assert_eq!(
            Envelope::decode_record(b"GDE\x09xxxx"),
            Err(DecodeError::Version(9))
        );
        let e = Envelope::decode_record(b"GDE\x01\xff\xff\xff").unwrap_err();
        assert_eq!(e.reason(), "bad_compression");
    }

    #[test]
    fn aggregation_compresses_repetitive_samples() {
        let env = Envelope {
            tenant: "t".into(),
            kind: Kind::Metrics as i32,
            samples: (0..1000)
                .map(|i| sample("cpu_seconds_total", i, i as f64))
                .collect(),
            ..Default::default()
        };
        let rec = env.encode_record();
        assert!(
            rec.len() < env.encoded_len() / 2,
            "{} vs {}",
            rec.len(),
            env.encoded_len()
        );
    }
}
