//! Reads the table the way the storage contract defines it, with the harness's own code
//! (never the query service's): every shard's lease head (`_leases/<shard>.json`), its
//! commit chain walked back through `parent`, and every data object the chain lists, read
//! with the parquet crate's arrow reader and handed row by row to the [`Auditor`].
//! Also the cheap drain check: committed rows counted from the chains alone, and the
//! committed events as plain rows (the stack's integration tests count them with it).

use super::Target;
use super::audit::{Auditor, Provenance, SampleRow};
use anyhow::Context;
use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{DataType, TimestampMillisecondType, UInt32Type};
use bytes::Bytes;
use ingest::Kind;
use ingest::table::layout::{lease_key, table_name};
use ingest::table::{Commit, Lease, Partition};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Longest chain walked (a bound on every loop; a real run has far fewer commits).
const MAX_CHAIN: usize = 1_000_000;

pub struct Store {
    s3: aws_sdk_s3::Client,
    bucket: String,
    shards: Vec<String>,
    /// Commit key → rows it added (commits are immutable: read each once).
    commit_rows: std::sync::Mutex<HashMap<String, (u64, Option<String>)>>,
}

/// One event row of the table: who sent it, its id, and where it came from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StoredEvent {
    pub tenant: String,
    pub event_id: String,
    pub shard: String,
    pub seq: String,
    pub sub_seq: u32,
}

impl Store {
    pub async fn new(target: &Target) -> Store {
        let shards = target.shards.iter().map(|s| s.0.clone()).collect();
        Store::open(target.aws.s3().await, &target.bucket, shards)
    }

    /// The table of `bucket` over the stream's `shards`.
    pub fn open(s3: aws_sdk_s3::Client, bucket: &str, shards: Vec<String>) -> Store {
        Store {
            s3,
            bucket: bucket.to_string(),
            shards,
            commit_rows: Default::default(),
        }
    }

    async fn get(&self, key: &str) -> anyhow::Result<Option<Bytes>> {
        match self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => Ok(Some(
                o.body
                    .collect()
                    .await
                    .context("reading the body")?
                    .into_bytes(),
            )),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => Ok(None),
            Err(e) => Err(anyhow::Error::new(e).context(format!("GetObject {key}"))),
        }
    }

    /// The lease of every shard (`None` before its first lease).
    pub async fn leases(&self) -> anyhow::Result<Vec<(String, Option<Lease>)>> {
        let mut out = Vec::new();
        for s in &self.shards {
            let lease = match self.get(&lease_key(s)).await? {
                Some(b) => Some(Lease::from_json(&b).with_context(|| format!("lease of {s}"))?),
                None => None,
            };
            out.push((s.clone(), lease));
        }
        Ok(out)
    }

    /// The commit chain from `head` back to the first commit, newest first.
    pub async fn chain(&self, head: &str) -> anyhow::Result<Vec<Commit>> {
        let mut out = Vec::new();
        let mut key = Some(head.to_string());
        while let Some(k) = key.take() {
            anyhow::ensure!(
                out.len() < MAX_CHAIN,
                "commit chain longer than {MAX_CHAIN}"
            );
            let b = self
                .get(&k)
                .await?
                .with_context(|| format!("commit {k} is listed but missing"))?;
            let c = Commit::from_json(&b).with_context(|| format!("commit {k}"))?;
            key = c.parent.clone();
            out.push(c);
        }
        Ok(out)
    }

    /// Rows committed so far over all shards (reads only commits not seen before).
    pub async fn committed_rows(&self) -> anyhow::Result<(u64, Vec<Option<String>>)> {
        let mut total = 0u64;
        let mut heads = Vec::new();
        for (_, lease) in self.leases().await? {
            let head = lease.and_then(|l| l.head);
            heads.push(head.clone());
            let mut key = head;
            let mut steps = 0usize;
            while let Some(k) = key.take() {
                steps += 1;
                if steps > MAX_CHAIN {
                    break;
                }
                let known = super::open_model::lock(&self.commit_rows).get(&k).cloned();
                let (rows, parent) = match known {
                    Some(v) => v,
                    None => {
                        let Some(b) = self.get(&k).await? else { break };
                        let c = Commit::from_json(&b).with_context(|| format!("commit {k}"))?;
                        let v = (c.objects.iter().map(|o| o.rows).sum(), c.parent.clone());
                        super::open_model::lock(&self.commit_rows).insert(k.clone(), v.clone());
                        v
                    }
                };
                total += rows;
                key = parent;
            }
        }
        Ok((total, heads))
    }

    /// Waits until the committed rows reach `acked` and the heads stop moving for one
    /// poll, or `timeout` passes. Returns whether storage caught up.
    pub async fn wait_drained(&self, acked: u64, timeout: Duration) -> bool {
        let until = Instant::now() + timeout;
        let mut last_heads = None;
        loop {
            if let Ok((rows, heads)) = self.committed_rows().await {
                if rows >= acked && last_heads.as_ref() == Some(&heads) {
                    return true;
                }
                last_heads = Some(heads);
            }
            if Instant::now() >= until {
                tracing::warn!("audit: drain timeout after {timeout:?}");
                return false;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    /// Every data object listed by the chains reachable from the lease heads, with its
    /// kind and bytes, handed to `each` (shard, key, kind, bytes); returns how many.
    async fn each_object(
        &self,
        mut each: impl FnMut(&str, &str, Kind, Bytes) -> anyhow::Result<()>,
    ) -> anyhow::Result<u64> {
        let mut objects = 0u64;
        for (shard, lease) in self.leases().await? {
            let Some(head) = lease.and_then(|l| l.head) else {
                continue;
            };
            for commit in self.chain(&head).await? {
                for o in &commit.objects {
                    let kind = Partition::of_data_key(&o.key)
                        .map(|p| p.kind)
                        .with_context(|| {
                            format!("{shard}: commit lists a non-data key {}", o.key)
                        })?;
                    let bytes = self.get(&o.key).await?.with_context(|| {
                        format!("{shard}: committed object {} is missing", o.key)
                    })?;
                    each(&shard, &o.key, kind, bytes)?;
                    objects += 1;
                }
            }
        }
        Ok(objects)
    }

    /// Reads every object listed by the chains reachable from the lease heads.
    pub async fn read_all(&self, auditor: &mut Auditor<'_>) -> anyhow::Result<u64> {
        self.each_object(|_, key, kind, bytes| {
            read_object(bytes, kind, auditor).with_context(|| format!("reading {key}"))
        })
        .await
    }

    /// Every event row of the table (a row stored twice is listed twice).
    pub async fn events(&self) -> anyhow::Result<Vec<StoredEvent>> {
        let mut out = Vec::new();
        self.each_object(|_, key, kind, bytes| {
            if table_name(kind) == "events" {
                read_events(bytes, &mut out).with_context(|| format!("reading {key}"))?;
            }
            Ok(())
        })
        .await?;
        Ok(out)
    }
}

/// Appends the rows of one events object.
fn read_events(bytes: Bytes, out: &mut Vec<StoredEvent>) -> anyhow::Result<()> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
    for batch in reader {
        let batch = batch?;
        let tenant = strings(&batch, "tenant")?;
        let id = strings(&batch, "event_id")?;
        let shard = strings(&batch, ingest::table::schema::KINESIS_SHARD)?;
        let seq = strings(&batch, ingest::table::schema::KINESIS_SEQ)?;
        let sub = batch
            .column_by_name(ingest::table::schema::SUB_SEQ)
            .and_then(|c| c.as_primitive_opt::<UInt32Type>())
            .context("sub_seq missing or not u32")?;
        for i in 0..batch.num_rows() {
            out.push(StoredEvent {
                tenant: tenant.value(i).to_string(),
                event_id: id.value(i).to_string(),
                shard: shard.value(i).to_string(),
                seq: seq.value(i).to_string(),
                sub_seq: sub.value(i),
            });
        }
    }
    Ok(())
}

fn strings(batch: &RecordBatch, name: &str) -> anyhow::Result<StringArray> {
    let col = batch
        .column_by_name(name)
        .with_context(|| format!("column {name} missing"))?;
    let c = arrow::compute::cast(col, &DataType::Utf8)?;
    Ok(c.as_string_opt::<i32>()
        .with_context(|| format!("column {name} is not text"))?
        .clone())
}

/// Feeds one Parquet data object to the auditor.
pub fn read_object(bytes: Bytes, kind: Kind, auditor: &mut Auditor<'_>) -> anyhow::Result<()> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes)?.build()?;
    for batch in reader {
        let batch = batch?;
        let tenant = strings(&batch, "tenant")?;
        let shard = strings(&batch, ingest::table::schema::KINESIS_SHARD)?;
        let seq = strings(&batch, ingest::table::schema::KINESIS_SEQ)?;
        let sub = batch
            .column_by_name(ingest::table::schema::SUB_SEQ)
            .and_then(|c| c.as_primitive_opt::<UInt32Type>())
            .context("sub_seq missing or not u32")?
            .clone();
        let prov = |i: usize| Provenance {
            shard: shard.value(i),
            seq: seq.value(i),
            sub_seq: sub.value(i),
        };
        if table_name(kind) == "events" {
            let id = strings(&batch, "event_id")?;
            let data = strings(&batch, "event_data")?;
            for i in 0..batch.num_rows() {
                auditor.event(tenant.value(i), id.value(i), data.value(i), &prov(i));
            }
        } else {
            let metric = strings(&batch, "metric")?;
            let exemplars = strings(&batch, "exemplars")?;
            let ts = batch
                .column_by_name("timestamp")
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .context("timestamp missing or not ms")?
                .clone();
            let labels = batch
                .column_by_name("labels")
                .and_then(|c| c.as_map_opt())
                .context("labels missing or not a map")?
                .clone();
            let keys = arrow::compute::cast(labels.keys(), &DataType::Utf8)?;
            let values = arrow::compute::cast(labels.values(), &DataType::Utf8)?;
            let (keys, values) = (
                keys.as_string_opt::<i32>().context("label keys")?,
                values.as_string_opt::<i32>().context("label values")?,
            );
            let offsets = labels.value_offsets();
            let promoted = ingest::table::labels::PromotedColumns::from_batch(&batch)?;
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            for i in 0..batch.num_rows() {
                pairs.clear();
                let (a, b) = (offsets[i] as usize, offsets[i + 1] as usize);
                for j in a..b {
                    pairs.push((keys.value(j), values.value(j)));
                }
                promoted.push(i, &mut pairs);
                pairs.sort_unstable();
                let row = SampleRow {
                    tenant: tenant.value(i),
                    metric: metric.value(i),
                    labels: &pairs,
                    ts_ms: ts.value(i),
                    exemplars: (!exemplars.is_null(i)).then(|| exemplars.value(i)),
                };
                auditor.sample(&row, &prov(i));
            }
        }
    }
    Ok(())
}
