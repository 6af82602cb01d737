//! A flush's samples read once, in arrival order — each record's bytes front to back,
//! while the prefetcher can follow — into compact [`Slot`]s (label set, timestamp, type,
//! number), then put in row order: grouped by metric name (byte order, as a sort of the
//! `metric` column orders it), arrival order inside each metric
//! (`table::schema::METRICS_SORT`). Building the rows then reads the slots in order and
//! goes back to a record's bytes only for a sample that carries more than a number
//! (histogram, exemplars): rows grouped by metric visit the records out of order, and
//! a flush's records are far larger than the caches.

use super::series::SeriesCache;
use super::{BufferedRecord, RowsError, row_count};
use crate::delivery::view::{Item, SampleView, ValueView};
use std::collections::HashMap;

/// One sample of a flush: where it is (record index, position in that envelope), its
/// label set (`SeriesCache` id) and its scalar fields.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot<'a> {
    /// The metric's id in the flush (first-seen order), ranked by name before sorting.
    metric: u32,
    pub rec: u32,
    pub sub_seq: u32,
    pub series: u32,
    pub timestamp_ms: i64,
    pub metric_type: i32,
    /// The number, if the value is one.
    pub value: Option<f64>,
    /// The sample's bytes when its row needs more of them (a histogram, exemplars).
    pub more: Option<Item<'a>>,
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

/// The slots of a flush and its metric names.
pub(super) struct Samples<'a> {
    pub slots: Vec<Slot<'a>>,
    names: Vec<&'a str>,
}

/// Reads every sample of `records`, in arrival order; label sets go into `series`.
pub(super) fn read<'a>(
    records: &'a [BufferedRecord],
    series: &mut SeriesCache<'a>,
) -> Result<Samples<'a>, RowsError> {
    let mut slots = Vec::with_capacity(row_count(records) as usize);
    let mut names = Names::default();
    let mut s = SampleView::default();
    for (r, rec) in records.iter().enumerate() {
        let rec_i = u32::try_from(r).unwrap_or(u32::MAX);
        for (sub_seq, (name, item)) in rec.body.named_samples().enumerate() {
            let (label_bytes, rest) = item.split_labels();
            s.read(rest)?;
            let sid = if s.labels.is_empty() {
                series.get(label_bytes)?
            } else {
                // Labels interleaved with other fields: read the whole sample.
                s.read(item)?;
                series.add(&s.labels)?
            };
            let value = match s.value {
                ValueView::Number(v) => Some(v),
                ValueView::Histogram(_) | ValueView::None => None,
            };
            let more = matches!(s.value, ValueView::Histogram(_)) || !s.exemplars.is_empty();
            slots.push(Slot {
                metric: names.id(name),
                rec: rec_i,
                sub_seq: u32::try_from(sub_seq).unwrap_or(u32::MAX),
                series: u32::try_from(sid).unwrap_or(u32::MAX),
                timestamp_ms: s.timestamp_ms,
                metric_type: s.metric_type,
                value,
                more: more.then_some(item),
            });
        }
    }
    Ok(Samples {
        slots,
        names: names.names,
    })
}

impl Samples<'_> {
    /// Puts the slots in row order: each distinct name gets its rank once, then a stable
    /// sort by rank, so no column is permuted later.
    pub fn group_by_metric(&mut self) {
        let names = &self.names;
        // Rank of each name in byte order.
        let mut by_name: Vec<u32> = (0..names.len() as u32).collect();
        by_name.sort_unstable_by_key(|&i| names[i as usize]);
        let mut rank = vec![0u32; names.len()];
        for (r, &i) in by_name.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        // Stable: arrival order inside each metric.
        self.slots.sort_by_key(|s| rank[s.metric as usize]);
    }
}
