//! Arrow schemas of the two tables as stored in Parquet (Snappy). Every row carries its
//! Kinesis shard, sequence number and position inside the envelope (`sub_seq`, like the
//! KPL's sub-sequence number), so delivery duplicates (same shard + seq + sub_seq twice)
//! can be told apart from records a producer sent twice (same identity, other seq).
//!
//! `metrics`: one row per sample. Identity: (tenant, series_id/labels, timestamp).
//! Numbers fill `value`; classic histograms fill `hist_*` (bounds + one count per bucket);
//! exponential histograms fill `exp_*` (scale, zero bucket, offsets, counts) — nothing of
//! a histogram's structure is lost. Exemplars are kept as JSON text. The gateway's label
//! allowlist ([`PROMOTED_LABELS`]) is stored as its own dictionary-encoded columns (null when
//! a sample lacks the label), after the provenance columns; every other label stays in the
//! `labels` map ([`super::labels`] splits and rejoins them). Delivery groups each object's
//! rows by [`METRICS_SORT`] so `metric = …` prunes pages by their statistics.
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

/// Labels stored as their own columns (the gateway's allowlist, fixed), in column order.
pub const PROMOTED_LABELS: [&str; 8] = [
    "region",
    "az",
    "cluster",
    "shard_id",
    "instance_type",
    "build_id",
    "queue",
    "asn_bucket",
];

/// How rows are grouped inside a `metrics` object (delivery sorts by it before encoding,
/// ties keeping their arrival order).
pub const METRICS_SORT: [&str; 1] = ["metric"];

/// Type of a promoted label column: few distinct values, so dictionary-encoded in Arrow
/// as in Parquet (group-bys hash the keys' values once per dictionary, not per row).
pub fn promoted_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

/// `labels` as a map (keys sorted, `__name__` excluded — it is the `metric` column — and
/// so are the [`PROMOTED_LABELS`], which have their own columns).
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
    fields.extend(
        PROMOTED_LABELS
            .iter()
            .map(|l| Field::new(*l, promoted_type(), true)),
    );
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

    #[test]
    fn promoted_labels_are_nullable_dictionary_columns_and_sort_keys_exist() {
        let s = metrics_schema();
        for l in PROMOTED_LABELS {
            let f = s.field_with_name(l).expect("promoted column");
            assert!(f.is_nullable());
            assert_eq!(f.data_type(), &promoted_type());
        }
        for k in METRICS_SORT {
            assert!(s.field_with_name(k).is_ok(), "{k} missing");
        }
    }
}
