//! Arrow schemas of the two tables as stored in Parquet (Snappy). Every row carries its
//! Kinesis shard, sequence number and position inside the envelope (`sub_seq`, like the
//! KPL's sub-sequence number), so delivery duplicates (same shard + seq + sub_seq twice)
//! can be told apart from records a producer sent twice (same identity, other seq).
//!
//! `metrics`: one row per sample. Identity: (tenant, series_id/labels, timestamp).
//! Numbers fill `value`; classic histograms fill `hist_*` (bounds + one count per bucket);
//! exponential histograms fill `exp_*` (scale, zero bucket, offsets, counts) — nothing of
//! a histogram's structure is lost. Exemplars are kept as JSON text.
//!
//! `events`: one row per event. Identity: (tenant, event_id). `event_data` is JSON text.

use arrow::datatypes::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use std::sync::{Arc, LazyLock};

/// Columns every row of both tables has (provenance).
pub const KINESIS_SHARD: &str = "kinesis_shard";
pub const KINESIS_SEQ: &str = "kinesis_seq";
pub const SUB_SEQ: &str = "sub_seq";

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new("item", item, false)))
}

/// `labels` as a map (keys sorted, `__name__` excluded — it is the `metric` column).
pub fn labels_type() -> DataType {
    let entries = Field::new(
        "entries",
        DataType::Struct(Fields::from(vec![
            Field::new("keys", DataType::Utf8, false),
            Field::new("values", DataType::Utf8, false),
        ])),
        false,
    );
    DataType::Map(Arc::new(entries), false)
}

fn provenance() -> Vec<Field> {
    vec![
        Field::new("ingest_time", ts(), false),
        Field::new("producer", DataType::Utf8, false),
        Field::new(KINESIS_SHARD, DataType::Utf8, false),
        Field::new(KINESIS_SEQ, DataType::Utf8, false),
        Field::new(SUB_SEQ, DataType::UInt32, false),
    ]
}

static METRICS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![
        Field::new("tenant", DataType::Utf8, false),
        Field::new("metric", DataType::Utf8, false),
        Field::new("labels", labels_type(), false),
        // xxh3 fingerprint of all labels incl. __name__ (ingest::keys::series_fingerprint).
        Field::new("series_id", DataType::UInt64, false),
        Field::new("timestamp", ts(), false),
        // counter | gauge | histogram | exponential_histogram | summary | unknown
        Field::new("metric_type", DataType::Utf8, false),
        Field::new("value", DataType::Float64, true),
        Field::new("hist_count", DataType::UInt64, true),
        Field::new("hist_sum", DataType::Float64, true),
        Field::new("hist_min", DataType::Float64, true),
        Field::new("hist_max", DataType::Float64, true),
        Field::new("hist_cumulative", DataType::Boolean, true),
        Field::new("hist_bounds", list_of(DataType::Float64), true),
        Field::new("hist_bucket_counts", list_of(DataType::UInt64), true),
        Field::new("exp_scale", DataType::Int32, true),
        Field::new("exp_zero_count", DataType::UInt64, true),
        Field::new("exp_zero_threshold", DataType::Float64, true),
        Field::new("exp_positive_offset", DataType::Int32, true),
        Field::new("exp_positive_counts", list_of(DataType::UInt64), true),
        Field::new("exp_negative_offset", DataType::Int32, true),
        Field::new("exp_negative_counts", list_of(DataType::UInt64), true),
        // [{labels:{..}, value, timestamp_ms, trace_id(hex), span_id(hex)}], null if none.
        Field::new("exemplars", DataType::Utf8, true),
    ];
    fields.extend(provenance());
    Arc::new(Schema::new(fields))
});

static EVENTS: LazyLock<SchemaRef> = LazyLock::new(|| {
    let mut fields = vec![
        Field::new("tenant", DataType::Utf8, false),
        Field::new("event_id", DataType::Utf8, false),
        Field::new("event_type", DataType::Utf8, false),
        Field::new("event_name", DataType::Utf8, false),
        Field::new("event_timestamp", ts(), false),
        Field::new("app_version", DataType::Utf8, false),
        Field::new("event_data", DataType::Utf8, false),
    ];
    fields.extend(provenance());
    Arc::new(Schema::new(fields))
});

pub fn metrics_schema() -> SchemaRef {
    METRICS.clone()
}

pub fn events_schema() -> SchemaRef {
    EVENTS.clone()
}

/// Name of a metric type as stored in `metric_type`.
pub fn metric_type_name(t: crate::envelope::MetricType) -> &'static str {
    use crate::envelope::MetricType::*;
    match t {
        Counter => "counter",
        Gauge => "gauge",
        Histogram => "histogram",
        ExponentialHistogram => "exponential_histogram",
        Summary => "summary",
        Unknown => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_tables_carry_provenance() {
        for s in [metrics_schema(), events_schema()] {
            for col in ["tenant", "ingest_time", KINESIS_SHARD, KINESIS_SEQ, SUB_SEQ] {
                assert!(s.field_with_name(col).is_ok(), "{col} missing");
            }
        }
    }
}
