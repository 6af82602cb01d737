//! What `gameday bench delivery` counts as committed: from each shard's lease head, the
//! commit chain walked back to its first commit, and the rows and bytes of every data
//! object the chain lists (`CommittedObject.rows` / `.bytes`). This is the table by the
//! storage contract (ingest::table), read from S3, not from the worker's own counters.

use anyhow::{Context, bail};
use ingest::table::{Commit, Lease};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Default)]
pub struct Committed {
    /// Rows per table (`metrics`, `events`).
    pub rows: BTreeMap<String, u64>,
    pub bytes: u64,
    pub objects: u64,
    pub commits: u64,
}

impl Committed {
    pub fn total_rows(&self) -> u64 {
        self.rows.values().sum()
    }

    pub fn rows_of(&self, table: &str) -> u64 {
        self.rows.get(table).copied().unwrap_or(0)
    }
}

async fn get(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> anyhow::Result<Vec<u8>> {
    let o = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .with_context(|| format!("GetObject {key}"))?;
    Ok(o.body
        .collect()
        .await
        .with_context(|| format!("reading {key}"))?
        .into_bytes()
        .to_vec())
}

/// Walks every shard's chain. Fails if a chain is broken (a number skipped, a parent
/// missing) or an object is listed twice.
pub async fn read(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    shards: &[String],
) -> anyhow::Result<Committed> {
    let mut out = Committed::default();
    let mut seen = BTreeSet::new();
    for shard in shards {
        let key = ingest::table::layout::lease_key(shard);
        let lease = Lease::from_json(&get(s3, bucket, &key).await?)
            .with_context(|| format!("parsing {key}"))?;
        let mut next = lease.head.clone();
        let mut number = lease.commits;
        // Bounded by the head's number: each step goes one commit back.
        while let Some(k) = next {
            if number == 0 {
                bail!("chain of {shard} goes past commit 1 at {k}");
            }
            let c = Commit::from_json(&get(s3, bucket, &k).await?)
                .with_context(|| format!("parsing {k}"))?;
            if c.number != number {
                bail!(
                    "chain of {shard}: {k} is number {}, {number} expected",
                    c.number
                );
            }
            for o in &c.objects {
                if !seen.insert(o.key.clone()) {
                    bail!("{} is listed by two commits", o.key);
                }
                let table = o.key.split('/').next().unwrap_or_default().to_string();
                *out.rows.entry(table).or_default() += o.rows;
                out.bytes += o.bytes;
                out.objects += 1;
            }
            out.commits += 1;
            number -= 1;
            next = c.parent;
        }
        if number != 0 {
            bail!("chain of {shard} stops {number} commits before its first");
        }
    }
    Ok(out)
}
