//! Record batch → Parquet bytes (Snappy), one row group per flushed buffer, with page
//! statistics and the page index. The rows arrive in their stored order: `metrics`
//! grouped by `table::schema::METRICS_SORT` (the metric name), arrival order inside each
//! metric, as `rows::metrics_batch` appends them, so a `metric = …` filter skips the
//! pages of other metrics while ingest time, shard and sequence numbers stay in long runs
//! (sorting by series and timestamp as well made objects 37 % larger and every full scan
//! slower; see the README's query bench); `events` in arrival order. Encoding is
//! deterministic for the same rows, so a retried flush writes identical bytes.
//!
//! Per column: dictionary encoding stays on where values repeat (tenant, metric, labels,
//! types, timestamps, provenance strings) and is off where values are (nearly) unique per
//! row or record — `kinesis_seq`, `value` — where building it only costs hashing before
//! the writer falls back to plain anyway. Statistics (min/max per page and row group,
//! which cost a comparison per value) are kept for every column a query can filter or
//! prune on (tenant, metric, series, timestamps, types, event fields, and any column not
//! listed here) and dropped for those no reader prunes with: the labels map (a reader
//! cannot prune on map entries), the promoted label columns (`schema::PROMOTED_LABELS`:
//! an object holds one tenant's whole fleet grouped by metric, so every page and every
//! object spans nearly all of a label's values and min/max prunes nothing; computing
//! them was 16 % of a `metrics` encode), the value and histogram payloads, exemplars,
//! event data, and the provenance columns other than `ingest_time`.

use crate::table::schema::PROMOTED_LABELS;
use arrow::record_batch::RecordBatch;
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

/// Columns written without a dictionary.
const NO_DICTIONARY: [&str; 2] = ["kinesis_seq", "value"];

/// Leaf columns (dotted paths) written without statistics.
const NO_STATISTICS: [&str; 24] = [
    "labels.entries.keys",
    "labels.entries.values",
    "value",
    "hist_count",
    "hist_sum",
    "hist_min",
    "hist_max",
    "hist_cumulative",
    "hist_bounds.list.item",
    "hist_bucket_counts.list.item",
    "exp_scale",
    "exp_zero_count",
    "exp_zero_threshold",
    "exp_positive_offset",
    "exp_positive_counts.list.item",
    "exp_negative_offset",
    "exp_negative_counts.list.item",
    "exemplars",
    "event_data",
    "event_id",
    "producer",
    "kinesis_shard",
    "kinesis_seq",
    "sub_seq",
];

pub fn properties() -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by("gameday-delivery".into())
        .set_max_row_group_row_count(None)
        .set_statistics_enabled(EnabledStatistics::Page);
    for c in NO_DICTIONARY {
        let path = ColumnPath::new(c.split('.').map(str::to_string).collect());
        b = b.set_column_dictionary_enabled(path, false);
    }
    for c in NO_STATISTICS.into_iter().chain(PROMOTED_LABELS) {
        let path = ColumnPath::new(c.split('.').map(str::to_string).collect());
        b = b.set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    b.build()
}

pub fn encode(batch: &RecordBatch) -> Result<Vec<u8>, ParquetError> {
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, batch.schema(), Some(properties()))?;
    w.write(batch)?;
    w.close()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::rows::{BufferedRecord, events_batch, metrics_batch};
    use crate::envelope::{Envelope, Event, Kind, Label, MetricType, Sample, Value};
    use crate::table::SeqNo;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::collections::BTreeMap;

    /// Statistics present per leaf column path of an encoded batch.
    fn stats_of(batch: &RecordBatch) -> BTreeMap<String, bool> {
        let body = encode(batch).unwrap();
        let r = SerializedFileReader::new(bytes::Bytes::from(body)).unwrap();
        let rg = r.metadata().row_group(0);
        rg.columns()
            .iter()
            .map(|c| (c.column_path().string(), c.statistics().is_some()))
            .collect()
    }

    #[test]
    fn statistics_only_where_listed_and_every_listed_path_exists() {
        let env = Envelope {
            tenant: "t".into(),
            kind: Kind::Metrics as i32,
            samples: vec![Sample {
                labels: vec![
                    Label {
                        name: "__name__".into(),
                        value: "up".into(),
                    },
                    // A promoted label with a value: its column is not all null.
                    Label {
                        name: "region".into(),
                        value: "eu".into(),
                    },
                ],
                timestamp_ms: 1,
                metric_type: MetricType::Gauge as i32,
                value: Some(Value::Number(1.0)),
                exemplars: vec![],
            }],
            ..Default::default()
        };
        let rec = BufferedRecord::from_envelope(SeqNo::new("1"), &env);
        let mut stats = stats_of(&metrics_batch("s", std::slice::from_ref(&rec)).unwrap());
        let events = Envelope {
            kind: Kind::Events as i32,
            events: vec![Event::default()],
            ..env
        };
        let rec = BufferedRecord::from_envelope(SeqNo::new("2"), &events);
        stats.extend(stats_of(&events_batch("s", &[rec]).unwrap()));
        for c in NO_STATISTICS.into_iter().chain(PROMOTED_LABELS) {
            assert_eq!(stats.get(c), Some(&false), "{c} in {stats:?}");
        }
        for c in [
            "tenant",
            "metric",
            "series_id",
            "timestamp",
            "ingest_time",
            "event_type",
        ] {
            assert_eq!(stats.get(c), Some(&true), "{c} in {stats:?}");
        }
    }
}
