//! Buffered records → Arrow record batches, exactly per `table::schema`: one `metrics` row
//! per sample (the allowlisted labels in their own columns, the other labels in a map
//! without `__name__`, `series_id` fingerprint of all labels, the
//! full histogram structure, exemplars as JSON) and one `events` row per event; every row
//! carries its Kinesis shard, sequence number and position inside the envelope. Items are
//! read from the record's checked protobuf body as slices (`view`) straight into the
//! builders: no owned sample tree per record.

use super::view::{Body, EventView, SampleView, ViewError};
use crate::envelope::{Envelope, Exemplar, MetricType};
use crate::table::SeqNo;
use crate::table::schema::{events_schema, metric_type_name, metrics_schema};
use arrow::array::{
    ArrayRef, Float64Builder, MapBuilder, MapFieldNames, StringBuilder,
    TimestampMillisecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use hist::HistColumns;
use samples::Slot;
use series::SeriesCache;
use std::sync::Arc;

/// One buffered Kinesis record: its sequence number and its checked envelope body.
#[derive(Debug, Clone)]
pub struct BufferedRecord {
    pub seq: SeqNo,
    pub body: Body,
}

impl BufferedRecord {
    /// A record of an owned envelope (benches and tests that fill buffers directly).
    pub fn from_envelope(seq: SeqNo, envelope: &Envelope) -> Self {
        Self {
            seq,
            body: Body::from_envelope(envelope),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RowsError {
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    /// A checked body that no longer reads (an invariant broken, never expected).
    #[error("reading a buffered record: {0}")]
    Decode(#[from] ViewError),
}

/// Provenance columns shared by both tables.
struct Provenance {
    ingest_time: TimestampMillisecondBuilder,
    producer: StringBuilder,
    shard: StringBuilder,
    seq: StringBuilder,
    sub_seq: UInt32Builder,
}

impl Provenance {
    /// Builders sized for `rows` rows up front (no doubling and copying while appending).
    fn new(rows: usize) -> Self {
        Self {
            ingest_time: TimestampMillisecondBuilder::with_capacity(rows).with_timezone("UTC"),
            producer: StringBuilder::with_capacity(rows, rows * 16),
            shard: StringBuilder::with_capacity(rows, rows * 24),
            seq: StringBuilder::with_capacity(rows, rows * 64),
            sub_seq: UInt32Builder::with_capacity(rows),
        }
    }

    fn append(&mut self, shard: &str, rec: &BufferedRecord, sub_seq: u32) {
        self.ingest_time.append_value(rec.body.ingest_time_ms);
        self.producer.append_value(&rec.body.producer);
        self.shard.append_value(shard);
        self.seq.append_value(rec.seq.as_str());
        self.sub_seq.append_value(sub_seq);
    }

    fn finish(mut self, cols: &mut Vec<ArrayRef>) {
        cols.push(Arc::new(self.ingest_time.finish()));
        cols.push(Arc::new(self.producer.finish()));
        cols.push(Arc::new(self.shard.finish()));
        cols.push(Arc::new(self.seq.finish()));
        cols.push(Arc::new(self.sub_seq.finish()));
    }
}

/// The labels map, sized from the records' protobuf bytes (label names and values are
/// most of a metrics envelope's bytes).
fn labels_builder(rows: usize, body_bytes: usize) -> MapBuilder<StringBuilder, StringBuilder> {
    MapBuilder::with_capacity(
        Some(MapFieldNames {
            entry: "entries".into(),
            key: "keys".into(),
            value: "values".into(),
        }),
        StringBuilder::with_capacity(rows * 8, body_bytes / 2),
        StringBuilder::with_capacity(rows * 8, body_bytes / 2),
        rows,
    )
    .with_values_field(Field::new("values", DataType::Utf8, false))
}

/// Exemplars as JSON text (`null` when there are none).
pub fn exemplars_json(ex: &[Exemplar]) -> Option<String> {
    if ex.is_empty() {
        return None;
    }
    let items: Vec<serde_json::Value> = ex
        .iter()
        .map(|e| {
            let labels: serde_json::Map<String, serde_json::Value> = e
                .labels
                .iter()
                .map(|l| (l.name.clone(), serde_json::Value::from(l.value.clone())))
                .collect();
            serde_json::json!({
                "labels": labels,
                "value": e.value,
                "timestamp_ms": e.timestamp_ms,
                "trace_id": hex::encode(&e.trace_id),
                "span_id": hex::encode(&e.span_id),
            })
        })
        .collect();
    Some(serde_json::Value::Array(items).to_string())
}

/// The `metrics` rows of buffered metric envelopes, grouped by metric (arrival order
/// inside each metric).
pub fn metrics_batch(shard: &str, records: &[BufferedRecord]) -> Result<RecordBatch, RowsError> {
    let mut series = SeriesCache::new(row_count(records) as usize);
    let mut read = samples::read(records, &mut series)?;
    read.group_by_metric();
    build_metrics(shard, records, series, &read.slots)
}

/// The `metrics` rows of the samples in `order`, appended in that order.
fn build_metrics<'a>(
    shard: &str,
    records: &'a [BufferedRecord],
    mut series: SeriesCache<'a>,
    order: &[Slot<'a>],
) -> Result<RecordBatch, RowsError> {
    let n = order.len();
    let body_bytes: usize = records.iter().map(|r| r.body.raw_len()).sum();
    let mut tenant = StringBuilder::with_capacity(n, n * 16);
    let mut metric = StringBuilder::with_capacity(n, n * 32);
    let mut labels = labels_builder(n, body_bytes);
    let mut series_id = UInt64Builder::with_capacity(n);
    let mut timestamp = TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC");
    let mut metric_type = StringBuilder::with_capacity(n, n * 8);
    let mut value = Float64Builder::with_capacity(n);
    let mut hist = HistColumns::new(n);
    let mut exemplars = StringBuilder::with_capacity(n, 0);
    let mut prov = Provenance::new(n);

    let mut s = SampleView::default();
    for slot in order {
        let rec = &records[slot.rec as usize];
        let sid = slot.series as usize;
        tenant.append_value(&rec.body.tenant);
        for &(k, v) in series.extras(sid) {
            labels.keys().append_value(k);
            labels.values().append_value(v);
        }
        labels.append(true)?;
        let one = series.series(sid);
        metric.append_value(one.name);
        series_id.append_value(one.id);
        series.append_promoted(sid);
        timestamp.append_value(slot.timestamp_ms);
        let mt = MetricType::try_from(slot.metric_type).unwrap_or(MetricType::Unknown);
        metric_type.append_value(metric_type_name(mt));
        value.append_option(slot.value);
        match slot.more {
            None => {
                hist.append(slot.metric_type, None);
                exemplars.append_null();
            }
            // A histogram or exemplars: the sample is read again for them.
            Some(item) => {
                s.read(item)?;
                hist.append(s.metric_type, s.histogram()?.as_ref());
                if s.exemplars.is_empty() {
                    exemplars.append_null();
                } else {
                    exemplars.append_option(exemplars_json(&s.exemplars()?));
                }
            }
        }
        prov.append(shard, rec, slot.sub_seq);
    }

    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(tenant.finish()),
        Arc::new(metric.finish()),
        Arc::new(labels.finish()),
        Arc::new(series_id.finish()),
        Arc::new(timestamp.finish()),
        Arc::new(metric_type.finish()),
        Arc::new(value.finish()),
    ];
    hist.finish(&mut cols);
    cols.push(Arc::new(exemplars.finish()));
    prov.finish(&mut cols);
    series.finish(&mut cols)?;
    Ok(RecordBatch::try_new(metrics_schema(), cols)?)
}

/// The `events` rows of buffered event envelopes.
pub fn events_batch(shard: &str, records: &[BufferedRecord]) -> Result<RecordBatch, RowsError> {
    let mut tenant = StringBuilder::new();
    let mut event_id = StringBuilder::new();
    let mut event_type = StringBuilder::new();
    let mut event_name = StringBuilder::new();
    let mut event_ts = TimestampMillisecondBuilder::new().with_timezone("UTC");
    let mut app_version = StringBuilder::new();
    let mut event_data = StringBuilder::new();
    let mut prov = Provenance::new(row_count(records) as usize);
    for rec in records {
        rec.body
            .each_event(|sub_seq, bytes| -> Result<(), RowsError> {
                let e = EventView::read(bytes)?;
                tenant.append_value(&rec.body.tenant);
                event_id.append_value(e.event_id);
                event_type.append_value(e.event_type);
                event_name.append_value(e.event_name);
                event_ts.append_value(e.event_timestamp_ms);
                app_version.append_value(e.app_version);
                event_data.append_value(if e.event_data_json.is_empty() {
                    "{}"
                } else {
                    e.event_data_json
                });
                prov.append(shard, rec, u32::try_from(sub_seq).unwrap_or(u32::MAX));
                Ok(())
            })?;
    }
    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(tenant.finish()),
        Arc::new(event_id.finish()),
        Arc::new(event_type.finish()),
        Arc::new(event_name.finish()),
        Arc::new(event_ts.finish()),
        Arc::new(app_version.finish()),
        Arc::new(event_data.finish()),
    ];
    prov.finish(&mut cols);
    Ok(RecordBatch::try_new(events_schema(), cols)?)
}

/// Rows (items) of a set of buffered records.
pub fn row_count(records: &[BufferedRecord]) -> u64 {
    records.iter().map(|r| r.body.len() as u64).sum()
}

mod hist;
mod samples;
mod series;
#[cfg(test)]
mod tests;
