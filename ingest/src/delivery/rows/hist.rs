//! The histogram columns of `metrics` rows (classic: count, sum, min, max, cumulative,
//! bounds, bucket counts; exponential: scale, zero bucket, positive and negative
//! offsets and counts). Most samples are plain numbers, null in all fourteen: those
//! nulls are counted and appended as one run before the next histogram row and at the
//! end, instead of fourteen appends per row.

use crate::envelope::{Buckets, Histogram, MetricType};
use arrow::array::{
    ArrayRef, BooleanBuilder, Float64Builder, Int32Builder, ListBuilder, UInt64Builder,
};
use arrow::datatypes::{DataType, Field};
use std::sync::Arc;

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

/// Whether a histogram value is exponential (scale, zero bucket, offsets) rather than
/// classic (explicit bounds).
fn is_exponential(metric_type: i32, h: &Histogram) -> bool {
    metric_type == MetricType::ExponentialHistogram as i32
        || (h.explicit_bounds.is_empty()
            && h.bucket_counts.is_empty()
            && (h.positive.is_some() || h.negative.is_some()))
}

/// One side (positive or negative) of an exponential histogram: its offset and counts,
/// 0 and an empty list when the side is absent.
fn append_buckets(
    offset: &mut Int32Builder,
    counts: &mut ListBuilder<UInt64Builder>,
    side: &Option<Buckets>,
) {
    let side = side.as_ref();
    offset.append_value(side.map_or(0, |b| b.offset));
    counts
        .values()
        .append_slice(side.map_or(&[][..], |b| &b.bucket_counts));
    counts.append(true);
}

pub struct HistColumns {
    count: UInt64Builder,
    sum: Float64Builder,
    min: Float64Builder,
    max: Float64Builder,
    cumulative: BooleanBuilder,
    bounds: ListBuilder<Float64Builder>,
    bucket_counts: ListBuilder<UInt64Builder>,
    scale: Int32Builder,
    zero_count: UInt64Builder,
    zero_threshold: Float64Builder,
    pos_offset: Int32Builder,
    pos_counts: ListBuilder<UInt64Builder>,
    neg_offset: Int32Builder,
    neg_counts: ListBuilder<UInt64Builder>,
    /// Rows without a histogram not appended yet.
    nulls: usize,
}

impl HistColumns {
    /// Scalar builders sized for `rows` (a histogram's lists grow as they come).
    pub fn new(rows: usize) -> Self {
        Self {
            count: UInt64Builder::with_capacity(rows),
            sum: Float64Builder::with_capacity(rows),
            min: Float64Builder::with_capacity(rows),
            max: Float64Builder::with_capacity(rows),
            cumulative: BooleanBuilder::with_capacity(rows),
            bounds: list_f64(rows),
            bucket_counts: list_u64(rows),
            scale: Int32Builder::with_capacity(rows),
            zero_count: UInt64Builder::with_capacity(rows),
            zero_threshold: Float64Builder::with_capacity(rows),
            pos_offset: Int32Builder::with_capacity(rows),
            pos_counts: list_u64(rows),
            neg_offset: Int32Builder::with_capacity(rows),
            neg_counts: list_u64(rows),
            nulls: 0,
        }
    }

    /// Appends one row: `hist` of a sample of type `metric_type`, or nulls.
    pub fn append(&mut self, metric_type: i32, hist: Option<&Histogram>) {
        let Some(h) = hist else {
            self.nulls += 1;
            return;
        };
        self.append_nulls();
        self.count.append_value(h.count);
        self.sum.append_option(h.sum);
        self.min.append_option(h.min);
        self.max.append_option(h.max);
        self.cumulative.append_value(h.cumulative);
        if is_exponential(metric_type, h) {
            self.bounds.append_null();
            self.bucket_counts.append_null();
            self.scale.append_value(h.scale);
            self.zero_count.append_value(h.zero_count);
            self.zero_threshold.append_value(h.zero_threshold);
            append_buckets(&mut self.pos_offset, &mut self.pos_counts, &h.positive);
            append_buckets(&mut self.neg_offset, &mut self.neg_counts, &h.negative);
        } else {
            self.bounds.values().append_slice(&h.explicit_bounds);
            self.bounds.append(true);
            self.bucket_counts.values().append_slice(&h.bucket_counts);
            self.bucket_counts.append(true);
            self.scale.append_null();
            self.zero_count.append_null();
            self.zero_threshold.append_null();
            self.pos_offset.append_null();
            self.pos_counts.append_null();
            self.neg_offset.append_null();
            self.neg_counts.append_null();
        }
    }

    fn append_nulls(&mut self) {
        let n = std::mem::take(&mut self.nulls);
        if n == 0 {
            return;
        }
        self.count.append_nulls(n);
        self.sum.append_nulls(n);
        self.min.append_nulls(n);
        self.max.append_nulls(n);
        self.cumulative.append_nulls(n);
        self.bounds.append_nulls(n);
        self.bucket_counts.append_nulls(n);
        self.scale.append_nulls(n);
        self.zero_count.append_nulls(n);
        self.zero_threshold.append_nulls(n);
        self.pos_offset.append_nulls(n);
        self.pos_counts.append_nulls(n);
        self.neg_offset.append_nulls(n);
        self.neg_counts.append_nulls(n);
    }

    /// The fourteen columns, in `table::schema` order.
    pub fn finish(mut self, cols: &mut Vec<ArrayRef>) {
        self.append_nulls();
        cols.push(Arc::new(self.count.finish()));
        cols.push(Arc::new(self.sum.finish()));
        cols.push(Arc::new(self.min.finish()));
        cols.push(Arc::new(self.max.finish()));
        cols.push(Arc::new(self.cumulative.finish()));
        cols.push(Arc::new(self.bounds.finish()));
        cols.push(Arc::new(self.bucket_counts.finish()));
        cols.push(Arc::new(self.scale.finish()));
        cols.push(Arc::new(self.zero_count.finish()));
        cols.push(Arc::new(self.zero_threshold.finish()));
        cols.push(Arc::new(self.pos_offset.finish()));
        cols.push(Arc::new(self.pos_counts.finish()));
        cols.push(Arc::new(self.neg_offset.finish()));
        cols.push(Arc::new(self.neg_counts.finish()));
    }
}
