//! The envelope's messages (protobuf via prost derive, so the wire format is versionable
//! and readable from any language). Field numbers are the compatibility contract: add
//! fields, never renumber.

/// Which table the items of an envelope belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum Kind {
    Unspecified = 0,
    Metrics = 1,
    Events = 2,
}

/// Many samples or events of one tenant, aggregated into one Kinesis record (like the
/// KPL's aggregation). Each item keeps its identity; its position inside the envelope is
/// the sub-sequence number delivery stores beside the Kinesis sequence number.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Envelope {
    #[prost(string, tag = "1")]
    pub tenant: String,
    #[prost(enumeration = "Kind", tag = "2")]
    pub kind: i32,
    /// When the gateway accepted the items (ms since epoch): delivery partitions by this,
    /// never by its own clock, so a replay lands where the first delivery did.
    #[prost(int64, tag = "3")]
    pub ingest_time_ms: i64,
    /// Which gateway wrote it (e.g. `gateway-b`), for tracing.
    #[prost(string, tag = "4")]
    pub producer: String,
    #[prost(message, repeated, tag = "5")]
    pub samples: Vec<Sample>,
    #[prost(message, repeated, tag = "6")]
    pub events: Vec<Event>,
}

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Label {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub value: String,
}

/// Metric type as the producer declared it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum MetricType {
    Unknown = 0,
    Counter = 1,
    Gauge = 2,
    Histogram = 3,
    ExponentialHistogram = 4,
    Summary = 5,
}

/// One sample of one series. Identity: (tenant, labels, timestamp_ms).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Sorted by name; includes `__name__`.
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(int64, tag = "2")]
    pub timestamp_ms: i64,
    #[prost(enumeration = "MetricType", tag = "3")]
    pub metric_type: i32,
    #[prost(oneof = "Value", tags = "4, 5")]
    pub value: Option<Value>,
    #[prost(message, repeated, tag = "6")]
    pub exemplars: Vec<Exemplar>,
}

/// An exemplar as the producer attached it (dropped only when config says so).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Exemplar {
    #[prost(message, repeated, tag = "1")]
    pub labels: Vec<Label>,
    #[prost(double, tag = "2")]
    pub value: f64,
    #[prost(int64, tag = "3")]
    pub timestamp_ms: i64,
    #[prost(bytes = "vec", tag = "4")]
    pub trace_id: Vec<u8>,
    #[prost(bytes = "vec", tag = "5")]
    pub span_id: Vec<u8>,
}

#[derive(Clone, PartialEq, prost::Oneof)]
pub enum Value {
    #[prost(double, tag = "4")]
    Number(f64),
    #[prost(message, tag = "5")]
    Histogram(Histogram),
}

/// A histogram data point with its full structure: explicit buckets (classic) or
/// exponential buckets (scale, zero bucket, offsets), as OTLP and remote_write carry them.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Histogram {
    #[prost(uint64, tag = "1")]
    pub count: u64,
    #[prost(double, optional, tag = "2")]
    pub sum: Option<f64>,
    #[prost(double, optional, tag = "3")]
    pub min: Option<f64>,
    #[prost(double, optional, tag = "4")]
    pub max: Option<f64>,
    /// Explicit histograms: upper bounds and one count per bucket (bounds.len() + 1).
    #[prost(double, repeated, tag = "5")]
    pub explicit_bounds: Vec<f64>,
    #[prost(uint64, repeated, tag = "6")]
    pub bucket_counts: Vec<u64>,
    /// Exponential histograms.
    #[prost(sint32, tag = "7")]
    pub scale: i32,
    #[prost(uint64, tag = "8")]
    pub zero_count: u64,
    #[prost(double, tag = "9")]
    pub zero_threshold: f64,
    #[prost(message, optional, tag = "10")]
    pub positive: Option<Buckets>,
    #[prost(message, optional, tag = "11")]
    pub negative: Option<Buckets>,
    /// Cumulative (true) or delta temporality.
    #[prost(bool, tag = "12")]
    pub cumulative: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Buckets {
    #[prost(sint32, tag = "1")]
    pub offset: i32,
    #[prost(uint64, repeated, tag = "2")]
    pub bucket_counts: Vec<u64>,
}

/// One player or game event. Identity: (tenant, event_id).
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    #[prost(string, tag = "1")]
    pub event_id: String,
    #[prost(string, tag = "2")]
    pub event_type: String,
    #[prost(string, tag = "3")]
    pub event_name: String,
    /// As the producer sent it (RFC 3339 or epoch ms), parsed to ms.
    #[prost(int64, tag = "4")]
    pub event_timestamp_ms: i64,
    #[prost(string, tag = "5")]
    pub app_version: String,
    /// The `event_data` object as JSON text.
    #[prost(string, tag = "6")]
    pub event_data_json: String,
}
