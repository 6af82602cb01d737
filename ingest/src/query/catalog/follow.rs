//! Following one shard's lease head: read the lease object, walk the commit chain from
//! `head` back to the commit already applied, the newest checkpoint or the chain's start
//! ([`crate::table::checkpoint::walk`], the walk delivery's sweeper shares), and apply the
//! commits oldest first. Also the start-up rebuild: list `_leases/` once and follow every shard.
//! Reads are plain S3 GETs (commit objects are immutable, the lease is read fresh), so a
//! stale or replayed notification just finds nothing new.

use super::{Applied, AppliedHead, Catalog, sdk_error};
use crate::table::checkpoint::{self, WalkError};
use crate::table::{Commit, Lease, Segment, layout};
use aws_sdk_s3::Client;

/// Largest lease or commit object read (they are small JSON documents).
const MAX_DOC_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("reading s3://{bucket}/{key}: {message}")]
    Read {
        bucket: String,
        key: String,
        message: String,
    },
    #[error("parsing {key}: {message}")]
    Parse { key: String, message: String },
    #[error("commit chain of {shard}: {source}")]
    Chain {
        shard: String,
        #[source]
        source: WalkError,
    },
    #[error("listing {prefix}: {message}")]
    List { prefix: String, message: String },
}

impl FollowError {
    /// Reason code for metrics.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Read { .. } => "s3_read",
            Self::Parse { .. } => "unparseable_object",
            Self::Chain { source, .. } => source.reason(),
            Self::List { .. } => "s3_list",
        }
    }
}

/// Reads bucket objects for the catalog.
#[derive(Clone, Debug)]
pub struct Follower {
    pub s3: Client,
    pub bucket: String,
    pub max_chain_walk: usize,
}

impl Follower {
    async fn read(&self, key: &str) -> Result<Vec<u8>, FollowError> {
        let err = |message: String| FollowError::Read {
            bucket: self.bucket.clone(),
            key: key.to_string(),
            message,
        };
        let out = self
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| err(sdk_error(&e)))?;
        if out.content_length().unwrap_or(0) > MAX_DOC_BYTES as i64 {
            return Err(err(format!("larger than {MAX_DOC_BYTES} bytes")));
        }
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| err(e.to_string()))?
            .into_bytes();
        Ok(bytes.to_vec())
    }

    /// Brings `shard` up to its lease head: walks back to the commit already applied, or
    /// the newest checkpoint (which lists the whole table up to it), or the first commit.
    /// On success the shard is no longer missing.
    pub async fn follow(&self, catalog: &Catalog, shard: &str) -> Result<Applied, FollowError> {
        let done = self.follow_head(catalog, shard).await?;
        catalog.mark_present(shard);
        Ok(done)
    }

    async fn follow_head(&self, catalog: &Catalog, shard: &str) -> Result<Applied, FollowError> {
        let key = layout::lease_key(shard);
        let lease = Lease::from_json(&self.read(&key).await?).map_err(|e| FollowError::Parse {
            key: key.clone(),
            message: e.to_string(),
        })?;
        let Some(head_key) = lease.head else {
            return Ok(Applied::default());
        };
        let applied = catalog.applied_head(shard);
        if applied.as_ref().is_some_and(|a| a.key == head_key) {
            return Ok(Applied::default());
        }
        let known = applied.as_ref().map(|a| (a.key.as_str(), a.number));
        let chain = async {
            let mut walked =
                checkpoint::walk(Some(head_key.as_str()), known, self.max_chain_walk, |k| {
                    self.read_commit(k)
                })
                .await?;
            walked
                .read_segments(|k| self.read_json(k, Segment::from_json))
                .await?;
            walked.oldest_first()
        }
        .await
        .map_err(|source| FollowError::Chain {
            shard: shard.to_string(),
            source,
        })?;
        let number = chain.last().map_or(lease.commits, |c| c.number);
        let head = AppliedHead {
            key: head_key,
            number,
        };
        Ok(catalog.apply(shard, head, &chain))
    }

    async fn read_commit(&self, key: String) -> Result<Option<Commit>, WalkError> {
        self.read_json(key, Commit::from_json).await
    }

    /// A commit or segment (each a document of at most `MAX_DOC_BYTES`).
    async fn read_json<T>(
        &self,
        key: String,
        parse: fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<Option<T>, WalkError> {
        let body = self.read(&key).await.map_err(|e| WalkError::Read {
            key: key.clone(),
            detail: e.to_string(),
        })?;
        WalkError::parsed(key, &body, parse).map(Some)
    }

    /// The shards that have a lease object (one listing of `_leases/`, at start).
    pub async fn shards(&self) -> Result<Vec<String>, FollowError> {
        let mut shards = Vec::new();
        let mut pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(layout::LEASES_PREFIX)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| FollowError::List {
                prefix: layout::LEASES_PREFIX.to_string(),
                message: sdk_error(&e),
            })?;
            for o in page.contents() {
                if let Some(shard) = o.key().and_then(layout::shard_of_lease_key) {
                    shards.push(shard.to_string());
                }
            }
        }
        Ok(shards)
    }
}
