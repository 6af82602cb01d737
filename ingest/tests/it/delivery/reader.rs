//! The INDEPENDENT reader of the table (test code, not delivery's): lease heads → commit
//! chain → Parquet objects read with the parquet crate → rows as comparable items; and
//! what each put envelope must become, mapped by the test itself.

#![allow(dead_code)]

use super::common::Env;
use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Float64Type, Int32Type, TimestampMillisecondType, UInt32Type, UInt64Type};
use ingest::envelope::{Envelope, Event, Label, MetricType, Sample, Value};
use ingest::table::{Commit, Lease};
use serde_json::json;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

impl Env {
    /// Every data object reachable from the lease heads, walking each commit chain.
    pub async fn reachable(&self) -> Vec<String> {
        let mut out = Vec::new();
        for key in self.keys("_leases/").await {
            let lease = Lease::from_json(&self.get(&key).await.expect("lease")).expect("lease");
            let mut next = lease.head.clone();
            let mut expect_number = lease.commits;
            while let Some(k) = next {
                let c = Commit::from_json(&self.get(&k).await.expect("commit on chain"))
                    .expect("commit parses");
                assert_eq!(c.number, expect_number, "chain numbers are contiguous");
                expect_number -= 1;
                out.push(k.clone());
                out.extend(c.objects.iter().map(|o| o.key.clone()));
                next = c.parent;
            }
            assert_eq!(expect_number, 0, "chain of {key} reaches the first commit");
        }
        out
    }

    /// The table as an independent reader sees it: every row of every committed object,
    /// as (key, item) pairs (duplicates kept, so callers can count them).
    pub async fn table(&self) -> Vec<(RowKey, serde_json::Value)> {
        let mut rows = Vec::new();
        for key in self.reachable().await {
            if !key.ends_with(".parquet") {
                continue;
            }
            let body = self.get(&key).await.expect("committed object exists");
            let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
                bytes::Bytes::from(body),
            )
            .expect("parquet")
            .build()
            .expect("reader");
            for batch in reader {
                let batch = batch.expect("batch");
                if key.starts_with("events/") {
                    rows.extend(event_rows(&batch));
                } else {
                    rows.extend(metric_rows(&batch));
                }
            }
        }
        rows
    }

    /// Waits (bounded) until the table holds at least `n` rows; returns them.
    pub async fn wait_rows(&self, n: usize, within: Duration) -> Vec<(RowKey, serde_json::Value)> {
        let deadline = Instant::now() + within;
        loop {
            let rows = self.table().await;
            if rows.len() >= n || Instant::now() >= deadline {
                return rows;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

pub type RowKey = (String, String, u32);

fn labels_json(labels: &[Label]) -> serde_json::Value {
    let m: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .filter(|l| l.name != "__name__")
        .map(|l| (l.name.clone(), json!(l.value)))
        .collect();
    serde_json::Value::Object(m)
}

fn metric_type(t: i32) -> &'static str {
    match MetricType::try_from(t).unwrap_or(MetricType::Unknown) {
        MetricType::Counter => "counter",
        MetricType::Gauge => "gauge",
        MetricType::Histogram => "histogram",
        MetricType::ExponentialHistogram => "exponential_histogram",
        MetricType::Summary => "summary",
        MetricType::Unknown => "unknown",
    }
}

/// What a sample must look like once stored (test's own mapping, not delivery's code).
fn sample_item(tenant: &str, ingest: i64, s: &Sample) -> serde_json::Value {
    let name = s
        .labels
        .iter()
        .find(|l| l.name == "__name__")
        .map(|l| l.value.clone())
        .unwrap_or_default();
    let mut v = json!({
        "tenant": tenant,
        "metric": name,
        "labels": labels_json(&s.labels),
        "series_id": ingest::keys::series_fingerprint(&s.labels),
        "timestamp": s.timestamp_ms,
        "ingest_time": ingest,
        "metric_type": metric_type(s.metric_type),
    });
    match &s.value {
        Some(Value::Number(x)) => v["value"] = json!(x),
        Some(Value::Histogram(h)) => {
            v["hist_count"] = json!(h.count);
            v["hist_sum"] = json!(h.sum);
            v["hist_cumulative"] = json!(h.cumulative);
            if s.metric_type == MetricType::ExponentialHistogram as i32 {
                let p = h.positive.clone().unwrap_or_default();
                let n = h.negative.clone().unwrap_or_default();
                v["exp"] = json!([
                    h.scale,
                    h.zero_count,
                    h.zero_threshold,
                    p.offset,
                    p.bucket_counts,
                    n.offset,
                    n.bucket_counts
                ]);
            } else {
                v["bounds"] = json!(h.explicit_bounds);
                v["buckets"] = json!(h.bucket_counts);
            }
        }
        None => {}
    }
    if let Some(e) = s.exemplars.first() {
        v["exemplar_trace"] = json!(hex::encode(&e.trace_id));
    }
    v
}

fn event_item(tenant: &str, ingest: i64, e: &Event) -> serde_json::Value {
    json!({
        "tenant": tenant,
        "event_id": e.event_id,
        "event_type": e.event_type,
        "event_name": e.event_name,
        "event_timestamp": e.event_timestamp_ms,
        "app_version": e.app_version,
        "event_data": serde_json::from_str::<serde_json::Value>(&e.event_data_json).unwrap_or(json!({})),
        "ingest_time": ingest,
    })
}

pub fn expected_items(
    shard: &str,
    seq: &str,
    env: &Envelope,
) -> BTreeMap<RowKey, serde_json::Value> {
    let key = |i: usize| (shard.to_string(), seq.to_string(), i as u32);
    let mut out = BTreeMap::new();
    for (i, s) in env.samples.iter().enumerate() {
        out.insert(key(i), sample_item(&env.tenant, env.ingest_time_ms, s));
    }
    for (i, e) in env.events.iter().enumerate() {
        out.insert(key(i), event_item(&env.tenant, env.ingest_time_ms, e));
    }
    out
}

fn str_col<'a>(b: &'a RecordBatch, name: &str) -> &'a arrow::array::StringArray {
    b.column_by_name(name).expect(name).as_string::<i32>()
}

fn row_key(b: &RecordBatch, i: usize) -> RowKey {
    (
        str_col(b, "kinesis_shard").value(i).to_string(),
        str_col(b, "kinesis_seq").value(i).to_string(),
        b.column_by_name("sub_seq")
            .expect("sub_seq")
            .as_primitive::<UInt32Type>()
            .value(i),
    )
}

fn ts(b: &RecordBatch, name: &str, i: usize) -> i64 {
    b.column_by_name(name)
        .expect(name)
        .as_primitive::<TimestampMillisecondType>()
        .value(i)
}

fn u64_list(b: &RecordBatch, name: &str, i: usize) -> Vec<u64> {
    let l = b.column_by_name(name).expect(name).as_list::<i32>();
    l.value(i).as_primitive::<UInt64Type>().values().to_vec()
}

fn metric_rows(b: &RecordBatch) -> Vec<(RowKey, serde_json::Value)> {
    let labels = b.column_by_name("labels").expect("labels").as_map();
    let f64c = |n: &str| {
        b.column_by_name(n)
            .expect("col")
            .as_primitive::<Float64Type>()
            .clone()
    };
    let value = f64c("value");
    let hist_sum = f64c("hist_sum");
    let zero_thr = f64c("exp_zero_threshold");
    let hist_count = b
        .column_by_name("hist_count")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let exp_zero = b
        .column_by_name("exp_zero_count")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let i32c = |n: &str| {
        b.column_by_name(n)
            .expect("col")
            .as_primitive::<Int32Type>()
            .clone()
    };
    let (scale, poff, noff) = (
        i32c("exp_scale"),
        i32c("exp_positive_offset"),
        i32c("exp_negative_offset"),
    );
    let cumulative = b
        .column_by_name("hist_cumulative")
        .expect("c")
        .as_boolean()
        .clone();
    let series = b
        .column_by_name("series_id")
        .expect("c")
        .as_primitive::<UInt64Type>()
        .clone();
    let exemplars = str_col(b, "exemplars");
    let promoted = ingest::table::labels::PromotedColumns::from_batch(b).expect("promoted labels");
    (0..b.num_rows())
        .map(|i| {
            let entries = labels.value(i);
            let keys = entries.column(0).as_string::<i32>();
            let vals = entries.column(1).as_string::<i32>();
            let mut pairs: Vec<(&str, &str)> = (0..keys.len())
                .map(|j| (keys.value(j), vals.value(j)))
                .collect();
            promoted.push(i, &mut pairs);
            let lm: serde_json::Map<String, serde_json::Value> = pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let mut v = json!({
                "tenant": str_col(b, "tenant").value(i),
                "metric": str_col(b, "metric").value(i),
                "labels": lm,
                "series_id": series.value(i),
                "timestamp": ts(b, "timestamp", i),
                "ingest_time": ts(b, "ingest_time", i),
                "metric_type": str_col(b, "metric_type").value(i),
            });
            if value.is_valid(i) {
                v["value"] = json!(value.value(i));
            }
            if hist_count.is_valid(i) {
                v["hist_count"] = json!(hist_count.value(i));
                v["hist_sum"] = if hist_sum.is_valid(i) {
                    json!(hist_sum.value(i))
                } else {
                    json!(null)
                };
                v["hist_cumulative"] = json!(cumulative.value(i));
                if scale.is_valid(i) {
                    v["exp"] = json!([
                        scale.value(i),
                        exp_zero.value(i),
                        zero_thr.value(i),
                        poff.value(i),
                        u64_list(b, "exp_positive_counts", i),
                        noff.value(i),
                        u64_list(b, "exp_negative_counts", i)
                    ]);
                } else {
                    let bl = b.column_by_name("hist_bounds").expect("c").as_list::<i32>();
                    v["bounds"] =
                        json!(bl.value(i).as_primitive::<Float64Type>().values().to_vec());
                    v["buckets"] = json!(u64_list(b, "hist_bucket_counts", i));
                }
            }
            if exemplars.is_valid(i) {
                let ex: serde_json::Value =
                    serde_json::from_str(exemplars.value(i)).expect("exemplars JSON");
                v["exemplar_trace"] = ex[0]["trace_id"].clone();
            }
            (row_key(b, i), v)
        })
        .collect()
}

fn event_rows(b: &RecordBatch) -> Vec<(RowKey, serde_json::Value)> {
    (0..b.num_rows())
        .map(|i| {
            let v = json!({
                "tenant": str_col(b, "tenant").value(i),
                "event_id": str_col(b, "event_id").value(i),
                "event_type": str_col(b, "event_type").value(i),
                "event_name": str_col(b, "event_name").value(i),
                "event_timestamp": ts(b, "event_timestamp", i),
                "app_version": str_col(b, "app_version").value(i),
                "event_data": serde_json::from_str::<serde_json::Value>(str_col(b, "event_data").value(i)).expect("event_data JSON"),
                "ingest_time": ts(b, "ingest_time", i),
            });
            (row_key(b, i), v)
        })
        .collect()
}

/// Asserts the table holds exactly `expected`: nothing lost, nothing stored twice,
/// every item equal.
pub fn assert_exactly(
    rows: &[(RowKey, serde_json::Value)],
    expected: &BTreeMap<RowKey, serde_json::Value>,
) {
    let mut stored: BTreeMap<RowKey, serde_json::Value> = BTreeMap::new();
    let mut dups = Vec::new();
    for (k, v) in rows {
        if stored.insert(k.clone(), v.clone()).is_some() {
            dups.push(k.clone());
        }
    }
    assert!(
        dups.is_empty(),
        "{} rows stored twice, e.g. {:?}",
        dups.len(),
        dups.first()
    );
    let lost: Vec<&RowKey> = expected
        .keys()
        .filter(|k| !stored.contains_key(*k))
        .collect();
    assert!(
        lost.is_empty(),
        "{} rows lost, e.g. {:?}",
        lost.len(),
        lost.first()
    );
    let phantoms: Vec<&RowKey> = stored
        .keys()
        .filter(|k| !expected.contains_key(*k))
        .collect();
    assert!(
        phantoms.is_empty(),
        "{} phantom rows, e.g. {:?}",
        phantoms.len(),
        phantoms.first()
    );
    for (k, v) in expected {
        assert_eq!(&stored[k], v, "row {k:?} differs");
    }
}
