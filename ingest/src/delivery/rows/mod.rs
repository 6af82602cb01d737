//! Buffered records → Arrow record batches, exactly per `table::schema`: one `metrics` row
//! per sample (the allowlisted labels in their own columns, the other labels in a map
//! without `__name__`, `series_id` fingerprint of all labels, the
//! full histogram structure, exemplars as JSON) and one `events` row per event; every row
//! carries its Kinesis shard, sequence number and position inside the envelope. Items are
//! read from the record's checked protobuf body as slices (`view`) straight into the
//! builders: no owned sample tree per record.

use super::view::{Body, EventView, Item, SampleView, ValueView, ViewError};
use crate::envelope::{Envelope, Exemplar, Histogram, MetricType};
use crate::table::SeqNo;
use crate::table::schema::{events_schema, metric_type_name, metrics_schema};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, ListBuilder, MapBuilder, MapFieldNames,
    StringBuilder, TimestampMillisecondBuilder, UInt32Builder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use series::SeriesCache;
use std::collections::HashMap;
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

fn list_f64(rows: usize) -> ListBuilder<Float64Builder> {
    ListBuilder::with_capacity(Float64Builder::new(), rows).with_field(Field::new(
        "item",
        DataType::Float64,
        false,
    ))
}

fn list_u64(rows: usize) -> ListBuilder<UInt64Builder> {
    ListBuilder::with_capacity(UInt64Builder::new(), rows).with_field(Field::new(
        "item",
        DataType::UInt64,
        false,
    ))
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

/// Whether a histogram value is exponential (scale, zero bucket, offsets) rather than
/// classic (explicit bounds).
fn is_exponential(metric_type: i32, h: &Histogram) -> bool {
    metric_type == MetricType::ExponentialHistogram as i32
        || (h.explicit_bounds.is_empty()
            && h.bucket_counts.is_empty()
            && (h.positive.is_some() || h.negative.is_some()))
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

/// One sample of a flush in the order its row is appended: its record (index into the
/// flushed records), its position in that envelope, and its bytes.
#[derive(Debug, Clone, Copy)]
struct Slot<'a> {
    /// The metric's id in the flush (first-seen order), ranked by name before sorting.
    metric: u32,
    rec: u32,
    sub_seq: u32,
    item: Item<'a>,
}

/// Ids of the metric names of one flush, in first-seen order. A flush holds few distinct
/// metrics (tens): up to [`Names::SCAN`] of them a scan that compares lengths first finds
/// a name for less than hashing it would cost; past that a map takes over.
#[derive(Default)]
struct Names<'a> {
    names: Vec<&'a str>,
    map: HashMap<&'a str, u32>,
    last: Option<(&'a str, u32)>,
}

impl<'a> Names<'a> {
    const SCAN: usize = 32;

    fn id(&mut self, name: &'a str) -> u32 {
        // A run of one metric's samples (as a Prometheus shard sends them) is one compare.
        if let Some((last, id)) = self.last
            && last == name
        {
            return id;
        }
        let found = if self.names.len() <= Self::SCAN {
            self.names.iter().position(|n| *n == name).map(|i| i as u32)
        } else {
            self.map.get(name).copied()
        };
        let id = found.unwrap_or_else(|| {
            let id = self.names.len() as u32;
            self.names.push(name);
            if self.names.len() > Self::SCAN {
                if self.map.is_empty() {
                    self.map
                        .extend(self.names.iter().enumerate().map(|(i, n)| (*n, i as u32)));
                } else {
                    self.map.insert(name, id);
                }
            }
            id
        });
        self.last = Some((name, id));
        id
    }
}

/// The samples of `records` grouped by metric name (byte order, as a sort of the
/// `metric` column orders it) and in arrival order inside each metric — the row order of
/// a `metrics` object (`table::schema::METRICS_SORT`). Built as an index: each distinct
/// name gets its rank once, then a stable sort by rank, so no column is permuted later.
fn grouped_by_metric(records: &[BufferedRecord]) -> Vec<Slot<'_>> {
    let mut slots = Vec::with_capacity(row_count(records) as usize);
    let mut names = Names::default();
    for (r, rec) in records.iter().enumerate() {
        let rec_i = u32::try_from(r).unwrap_or(u32::MAX);
        for (sub_seq, (name, item)) in rec.body.named_samples().enumerate() {
            slots.push(Slot {
                metric: names.id(name),
                rec: rec_i,
                sub_seq: u32::try_from(sub_seq).unwrap_or(u32::MAX),
                item,
            });
        }
    }
    let names = names.names;
    // Rank of each name in byte order.
    let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
    by_name.sort_unstable_by_key(|&i| names[i as usize]);
    let mut rank = vec![0u32; names.len()];
    for (r, &i) in by_name.iter().enumerate() {
        rank[i as usize] = r as u32;
    }
    // Stable: arrival order inside each metric.
    slots.sort_by_key(|s| rank[s.metric as usize]);
    slots
}

/// The `metrics` rows of buffered metric envelopes, grouped by metric (arrival order
/// inside each metric).
pub fn metrics_batch(shard: &str, records: &[BufferedRecord]) -> Result<RecordBatch, RowsError> {
    let order = grouped_by_metric(records);
    build_metrics(shard, records, &order)
}

/// The `metrics` rows of the samples in `order`, appended in that order.
fn build_metrics(
    shard: &str,
    records: &[BufferedRecord],
    order: &[Slot<'_>],
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
    let mut hist_count = UInt64Builder::with_capacity(n);
    let mut hist_sum = Float64Builder::with_capacity(n);
    let mut hist_min = Float64Builder::with_capacity(n);
    let mut hist_max = Float64Builder::with_capacity(n);
    let mut hist_cumulative = BooleanBuilder::with_capacity(n);
    let mut hist_bounds = list_f64(n);
    let mut hist_bucket_counts = list_u64(n);
    let mut exp_scale = Int32Builder::with_capacity(n);
    let mut exp_zero_count = UInt64Builder::with_capacity(n);
    let mut exp_zero_threshold = Float64Builder::with_capacity(n);
    let mut exp_pos_offset = Int32Builder::with_capacity(n);
    let mut exp_pos_counts = list_u64(n);
    let mut exp_neg_offset = Int32Builder::with_capacity(n);
    let mut exp_neg_counts = list_u64(n);
    let mut exemplars = StringBuilder::with_capacity(n, 0);
    let mut prov = Provenance::new(n);
    let mut series = SeriesCache::new(n);

    let mut s = SampleView::default();
    for slot in order {
        let rec = &records[slot.rec as usize];
        let sub_seq = slot.sub_seq;
        let (label_bytes, rest) = slot.item.split_labels();
        s.read(rest)?;
        let sid = if s.labels.is_empty() {
            series.get(label_bytes)?
        } else {
            // Labels interleaved with other fields: read the whole sample.
            s.read(slot.item)?;
            series.add(&s.labels)?
        };
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
        timestamp.append_value(s.timestamp_ms);
        let mt = MetricType::try_from(s.metric_type).unwrap_or(MetricType::Unknown);
        metric_type.append_value(metric_type_name(mt));
        let decoded = s.histogram()?;
        let hist = decoded.as_ref();
        let exponential = hist.is_some_and(|h| is_exponential(s.metric_type, h));
        match s.value {
            ValueView::Number(v) => value.append_value(v),
            ValueView::Histogram(_) | ValueView::None => value.append_null(),
        }
        match hist {
            Some(h) => {
                hist_count.append_value(h.count);
                hist_sum.append_option(h.sum);
                hist_min.append_option(h.min);
                hist_max.append_option(h.max);
                hist_cumulative.append_value(h.cumulative);
            }
            None => {
                hist_count.append_null();
                hist_sum.append_null();
                hist_min.append_null();
                hist_max.append_null();
                hist_cumulative.append_null();
            }
        }
        match hist {
            Some(h) if !exponential => {
                hist_bounds.values().append_slice(&h.explicit_bounds);
                hist_bounds.append(true);
                hist_bucket_counts.values().append_slice(&h.bucket_counts);
                hist_bucket_counts.append(true);
            }
            _ => {
                hist_bounds.append_null();
                hist_bucket_counts.append_null();
            }
        }
        match hist {
            Some(h) if exponential => {
                exp_scale.append_value(h.scale);
                exp_zero_count.append_value(h.zero_count);
                exp_zero_threshold.append_value(h.zero_threshold);
                let pos = h.positive.as_ref();
                exp_pos_offset.append_value(pos.map_or(0, |b| b.offset));
                exp_pos_counts
                    .values()
                    .append_slice(pos.map_or(&[][..], |b| &b.bucket_counts));
                exp_pos_counts.append(true);
                let neg = h.negative.as_ref();
                exp_neg_offset.append_value(neg.map_or(0, |b| b.offset));
                exp_neg_counts
                    .values()
                    .append_slice(neg.map_or(&[][..], |b| &b.bucket_counts));
                exp_neg_counts.append(true);
            }
            _ => {
                exp_scale.append_null();
                exp_zero_count.append_null();
                exp_zero_threshold.append_null();
                exp_pos_offset.append_null();
                exp_pos_counts.append_null();
                exp_neg_offset.append_null();
                exp_neg_counts.append_null();
            }
        }
        if s.exemplars.is_empty() {
            exemplars.append_null();
        } else {
            exemplars.append_option(exemplars_json(&s.exemplars()?));
        }
        prov.append(shard, rec, sub_seq);
    }

    let mut cols: Vec<ArrayRef> = vec![
        Arc::new(tenant.finish()),
        Arc::new(metric.finish()),
        Arc::new(labels.finish()),
        Arc::new(series_id.finish()),
        Arc::new(timestamp.finish()),
        Arc::new(metric_type.finish()),
        Arc::new(value.finish()),
        Arc::new(hist_count.finish()),
        Arc::new(hist_sum.finish()),
        Arc::new(hist_min.finish()),
        Arc::new(hist_max.finish()),
        Arc::new(hist_cumulative.finish()),
        Arc::new(hist_bounds.finish()),
        Arc::new(hist_bucket_counts.finish()),
        Arc::new(exp_scale.finish()),
        Arc::new(exp_zero_count.finish()),
        Arc::new(exp_zero_threshold.finish()),
        Arc::new(exp_pos_offset.finish()),
        Arc::new(exp_pos_counts.finish()),
        Arc::new(exp_neg_offset.finish()),
        Arc::new(exp_neg_counts.finish()),
        Arc::new(exemplars.finish()),
    ];
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

mod series;
#[cfg(test)]
mod tests;
