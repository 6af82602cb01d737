//! Tests of the row order of a `metrics` object: grouped by metric name, arrival order
//! inside each metric, provenance kept — the same rows, in the same order, as the
//! arrival-order batch permuted by a lexicographic sort on (metric, row index), which is
//! how objects were ordered before the rows were built grouped.

use super::*;
use crate::envelope::{Buckets, Histogram, Kind, Label, Sample, Value};
use arrow::array::{Array, AsArray, UInt32Array};
use arrow::compute::{SortColumn, lexsort_to_indices, take_record_batch};
use arrow::datatypes::{TimestampMillisecondType, UInt32Type};

fn sample(name: Option<&str>, extra: &[(&str, &str)], ts: i64, value: Option<Value>) -> Sample {
    let mut labels: Vec<Label> = name
        .map(|n| Label {
            name: "__name__".into(),
            value: n.into(),
        })
        .into_iter()
        .collect();
    labels.extend(extra.iter().map(|(n, v)| Label {
        name: (*n).into(),
        value: (*v).into(),
    }));
    labels.sort_by(|a, b| a.name.cmp(&b.name));
    Sample {
        labels,
        timestamp_ms: ts,
        metric_type: MetricType::Gauge as i32,
        value,
        exemplars: vec![],
    }
}

/// Three records whose samples interleave metrics whose names differ in case, length
/// and punctuation (byte order matters), one sample without a name, a histogram and
/// promoted labels. Every sample's timestamp is unique: it names the sample.
fn records() -> Vec<BufferedRecord> {
    let names = [
        Some("up"),
        Some("Up"),
        Some("a_b"),
        Some("ab"),
        None,
        Some("up"),
        Some("a"),
        Some("up"),
    ];
    (0..3)
        .map(|r| {
            let samples = (0..8)
                .map(|i| {
                    let ts = 1000 * r + i as i64;
                    let name = names[(i + r as usize) % names.len()];
                    let value = if i == 3 {
                        Value::Histogram(Histogram {
                            count: 2,
                            positive: Some(Buckets {
                                offset: 1,
                                bucket_counts: vec![1, 1],
                            }),
                            ..Default::default()
                        })
                    } else {
                        Value::Number(ts as f64)
                    };
                    let region = format!("r{}", i % 3);
                    let extra = [("region", region.as_str()), ("pod", "p")];
                    sample(name, &extra, ts, Some(value))
                })
                .collect();
            let env = Envelope {
                tenant: "t".into(),
                kind: Kind::Metrics as i32,
                ingest_time_ms: 5,
                producer: "gw".into(),
                samples,
                ..Default::default()
            };
            BufferedRecord::from_envelope(SeqNo::new(format!("{:03}", 10 + r)), &env)
        })
        .collect()
}

/// The rows of every sample in arrival order (record by record, position by position).
fn arrival_batch(shard: &str, records: &[BufferedRecord]) -> RecordBatch {
    let mut series = SeriesCache::new(row_count(records) as usize);
    let read = samples::read(records, &mut series).unwrap();
    build_metrics(shard, records, series, &read.slots).unwrap()
}

/// The order objects had before: arrival rows sorted by (metric, row index).
fn sorted_after(batch: &RecordBatch) -> RecordBatch {
    let rows = batch.num_rows() as u32;
    let keys = [
        SortColumn {
            values: batch.column_by_name("metric").unwrap().clone(),
            options: None,
        },
        SortColumn {
            values: Arc::new(UInt32Array::from_iter_values(0..rows)),
            options: None,
        },
    ];
    take_record_batch(batch, &lexsort_to_indices(&keys, None).unwrap()).unwrap()
}

#[test]
fn grouped_rows_equal_the_arrival_rows_sorted_by_metric() {
    let recs = records();
    let grouped = metrics_batch("shard-1", &recs).unwrap();
    let reference = sorted_after(&arrival_batch("shard-1", &recs));
    assert_eq!(grouped.num_rows(), 24);
    assert_eq!(grouped, reference);
}

#[test]
fn rows_are_grouped_by_metric_in_arrival_order_with_their_provenance() {
    let recs = records();
    let batch = metrics_batch("shard-1", &recs).unwrap();
    let metric = batch.column_by_name("metric").unwrap().as_string::<i32>();
    let seq = batch
        .column_by_name("kinesis_seq")
        .unwrap()
        .as_string::<i32>();
    let sub = batch.column_by_name("sub_seq").unwrap();
    let sub = sub.as_primitive::<UInt32Type>();
    let ts = batch.column_by_name("timestamp").unwrap();
    let ts = ts.as_primitive::<TimestampMillisecondType>();
    let names: Vec<&str> = (0..batch.num_rows()).map(|i| metric.value(i)).collect();
    // Groups in byte order, each one contiguous.
    let mut groups = names.clone();
    groups.dedup();
    let mut in_order = groups.clone();
    in_order.sort();
    assert_eq!(groups, in_order, "one run per metric, in byte order");
    assert_eq!(groups, ["", "Up", "a", "a_b", "ab", "up"]);
    let mut last: Option<(&str, &str, u32)> = None;
    for (i, &name) in names.iter().enumerate() {
        let (r, pos) = (seq.value(i), sub.value(i));
        // Provenance: the row is the sample at (record, position), named by its timestamp.
        let rec: usize = r.parse::<usize>().unwrap() - 10;
        assert_eq!(ts.value(i), 1000 * rec as i64 + pos as i64, "row {i}");
        if let Some((m, lr, lp)) = last
            && m == name
        {
            assert!((lr, lp) < (r, pos), "arrival order inside {m} at row {i}");
        }
        last = Some((name, r, pos));
    }
    assert_eq!(sub.null_count(), 0);
}

#[test]
fn many_metrics_group_as_few_do() {
    // More distinct names than the scan holds: the map takes over mid-flush.
    let recs: Vec<BufferedRecord> = (0..6)
        .map(|r| {
            let samples = (0..20)
                .map(|i| {
                    let name = format!("m{}", (i * 7 + r * 3) % 45);
                    let ts = 1000 * r as i64 + i as i64;
                    sample(Some(&name), &[("pod", "p")], ts, Some(Value::Number(1.0)))
                })
                .collect();
            let env = Envelope {
                tenant: "t".into(),
                kind: Kind::Metrics as i32,
                samples,
                ..Default::default()
            };
            BufferedRecord::from_envelope(SeqNo::new(format!("{:03}", 10 + r)), &env)
        })
        .collect();
    let grouped = metrics_batch("s", &recs).unwrap();
    let reference = sorted_after(&arrival_batch("s", &recs));
    assert_eq!(grouped.num_rows(), 120);
    assert_eq!(grouped, reference);
}

/// Label fields as any writer may order them — interleaved with the other fields, a name
/// or a promoted label repeated, none at all — each set seen several times in a flush:
/// every row carries what prost's own decode of its sample says (metric = last
/// `__name__`, `series_id` of all labels, each promoted column the label's first value,
/// the map the other labels in order), whether its label bytes were seen before or not.
#[test]
fn rows_carry_what_their_labels_say_in_any_field_order() {
    use crate::table::labels::PromotedColumns;
    use crate::table::schema::PROMOTED_LABELS;
    use prost::Message;
    let l = |n: &str, v: &str| Label {
        name: n.into(),
        value: v.into(),
    };
    let sets = [
        vec![
            l("__name__", "up"),
            l("az", "a"),
            l("pod", "p1"),
            l("region", "eu"),
        ],
        vec![
            l("__name__", "up"),
            l("__name__", "down"),
            l("region", "eu"),
            l("region", "us"),
            l("zone", "z"),
        ],
        vec![],
        vec![l("cluster", "c1"), l("pod", "p2")],
        // Moved last by round 1: a later name, a promoted label's second value.
        vec![l("__name__", "x"), l("pod", "p3"), l("__name__", "y")],
        vec![l("az", "a"), l("region", "eu"), l("region", "us")],
    ];
    let mut body = Envelope {
        tenant: "t".into(),
        kind: Kind::Metrics as i32,
        ..Default::default()
    }
    .encode_to_vec();
    let mut expected = Vec::new();
    // Rounds: 0 and 4 as prost writes (labels first; 4 finds 0's label sets again),
    // 1 the last label after the other fields, 2 every label after them, 3 an unknown
    // field after the first label.
    for round in 0..5 {
        for (i, set) in sets.iter().enumerate() {
            let s = Sample {
                labels: vec![],
                timestamp_ms: (round * 10 + i) as i64,
                metric_type: MetricType::Gauge as i32,
                value: Some(Value::Number(1.0)),
                exemplars: vec![],
            };
            let others = s.encode_to_vec();
            let enc = |ls: &[Label]| {
                let mut b = Vec::new();
                for label in ls {
                    prost::encoding::message::encode(1, label, &mut b);
                }
                b
            };
            let split = |n: usize| set.split_at(n.min(set.len()));
            let item: Vec<u8> = match round {
                1 => {
                    let (head, tail) = split(set.len().saturating_sub(1));
                    [enc(head), others, enc(tail)].concat()
                }
                2 => [others, enc(set)].concat(),
                3 => {
                    let (head, tail) = split(1);
                    [enc(head), vec![0x78, 0x07], enc(tail), others].concat()
                }
                _ => [enc(set), others].concat(),
            };
            prost::encoding::bytes::encode(5, &item, &mut body);
            expected.push(Sample {
                labels: set.clone(),
                ..s
            });
        }
    }
    assert_eq!(Envelope::decode(body.as_slice()).unwrap().samples, expected);
    let rec = BufferedRecord {
        seq: SeqNo::new("1"),
        body: Body::parse(body).unwrap(),
    };
    let batch = arrival_batch("s", std::slice::from_ref(&rec));
    assert_eq!(batch.num_rows(), expected.len());
    let metric = batch.column_by_name("metric").unwrap().as_string::<i32>();
    let series = batch.column_by_name("series_id").unwrap();
    let series = series.as_primitive::<arrow::datatypes::UInt64Type>();
    let map = batch.column_by_name("labels").unwrap().as_map();
    let promoted = PromotedColumns::from_batch(&batch).unwrap();
    for (i, s) in expected.iter().enumerate() {
        let name = s.labels.iter().rev().find(|x| x.name == "__name__");
        assert_eq!(
            metric.value(i),
            name.map_or("", |x| x.value.as_str()),
            "row {i}"
        );
        assert_eq!(series.value(i), crate::keys::series_fingerprint(&s.labels));
        let mut got = Vec::new();
        promoted.push(i, &mut got);
        let want: Vec<(&str, &str)> = PROMOTED_LABELS
            .iter()
            .filter_map(|p| s.labels.iter().find(|x| x.name == *p))
            .map(|x| (x.name.as_str(), x.value.as_str()))
            .collect();
        assert_eq!(got, want, "row {i}");
        let entries = map.value(i);
        let (keys, values) = (
            entries.column(0).as_string::<i32>(),
            entries.column(1).as_string::<i32>(),
        );
        let got: Vec<(&str, &str)> = (0..entries.len())
            .map(|j| (keys.value(j), values.value(j)))
            .collect();
        let want: Vec<(&str, &str)> = s
            .labels
            .iter()
            .filter(|x| x.name != "__name__" && !PROMOTED_LABELS.contains(&x.name.as_str()))
            .map(|x| (x.name.as_str(), x.value.as_str()))
            .collect();
        assert_eq!(got, want, "row {i}");
    }
}
