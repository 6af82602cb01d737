//! The commit protocol of one flush: data objects (`If-None-Match: *`), then — when the
//! commit carries a checkpoint — its segment (`If-None-Match: *`), then the commit object
//! (`If-None-Match: *`) naming its parent, the objects, the cumulative durable marks and
//! the resume point, then the lease update (`If-Match`) that moves the head to it. Never
//! another order. A flush is prepared once (rows encoded, commit built) and a
//! failed attempt is retried with exactly the same bytes. While its writes are in flight
//! the lease is kept renewed ([`Keepalive`]), so a slow flush is not overtaken.

use super::buffer::PartitionBuffer;
use super::hooks::{self, Hook, HookAction, Point};
use super::keepalive::Keepalive;
use super::lease::{self, Held};
use super::metrics::{self, Metrics};
use super::rows;
use super::store::{Store, StoreError};
use crate::envelope::Kind;
use crate::table::layout::{commit_key, table_name};
use crate::table::{Commit, CommittedObject, Lease, Partition, Resume, SeqNo};
use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error)]
pub enum FlushError {
    /// A conditional write failed: another worker took the shard. Nothing more is written.
    #[error("fenced while writing the {0}")]
    Fenced(&'static str),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("encoding rows: {0}")]
    Encode(String),
    /// A crash hook fired: the worker stops dead.
    #[error("crash point {0:?}")]
    Crash(Point),
    /// The lease could not be renewed while the flush ran and has expired: the flush
    /// gives up (another worker may own the shard by now).
    #[error("lease expired during the flush")]
    LeaseExpired,
}

impl FlushError {
    pub fn reason(&self) -> &'static str {
        match self {
            FlushError::Fenced(_) => "fenced",
            FlushError::Store(e) => e.reason(),
            FlushError::Encode(_) => "encode",
            FlushError::Crash(_) => "crash",
            FlushError::LeaseExpired => "lease_expired",
        }
    }
}

/// What this worker knows of a shard it owns: the lease (with ETag) and the durable
/// marks of the head commit.
#[derive(Debug)]
pub struct ShardState {
    pub held: Held,
    pub durable: BTreeMap<String, SeqNo>,
    /// The chain as of the head, for checkpoints.
    pub history: std::sync::Arc<super::history::History>,
}

impl ShardState {
    pub fn shard_id(&self) -> &str {
        &self.held.lease.shard_id
    }

    /// Whether a record of `partition` at `seq` is already in a committed object.
    pub fn is_durable(&self, partition: &Partition, seq: &SeqNo) -> bool {
        // Most reads happen with no marks at all (pruned): skip building the prefix.
        !self.durable.is_empty()
            && self
                .durable
                .get(&partition.prefix())
                .is_some_and(|mark| seq <= mark)
    }
}

struct PreparedObject {
    table: &'static str,
    body: Vec<u8>,
    meta: CommittedObject,
    written: bool,
}

/// One flush, encoded and ready; retried as-is after a transient failure.
pub struct Prepared {
    objects: Vec<PreparedObject>,
    /// The checkpoint's new segments (key, body), written before the commit that names
    /// them; how many are written.
    segments: Vec<(String, Vec<u8>)>,
    segments_written: usize,
    commit: Commit,
    commit_key: String,
    commit_written: bool,
}

impl Prepared {
    pub fn rows(&self) -> u64 {
        self.commit.objects.iter().map(|o| o.rows).sum()
    }
}

/// Marks at or below the resume point can never skip a record again: drop them.
fn prune(durable: &mut BTreeMap<String, SeqNo>, resume: &Resume) {
    match resume {
        Resume::TrimHorizon => {}
        Resume::At(s) => durable.retain(|_, m| &*m >= s),
        Resume::After(s) => durable.retain(|_, m| &*m > s),
    }
}

/// Encodes the flushed buffers and builds the commit that will list them.
pub fn prepare(
    state: &ShardState,
    parts: Vec<(Partition, PartitionBuffer)>,
    resume: Resume,
    now_ms: i64,
) -> Result<Prepared, FlushError> {
    let shard = state.shard_id().to_string();
    let lease = &state.held.lease;
    let mut durable = state.durable.clone();
    let mut objects = Vec::with_capacity(parts.len());
    for (p, buf) in parts {
        let (Some(first), Some(last)) = (buf.first_seq().cloned(), buf.last_seq().cloned()) else {
            continue;
        };
        let batch = match p.kind {
            Kind::Events => rows::events_batch(&shard, &buf.records),
            _ => rows::metrics_batch(&shard, &buf.records),
        }
        .map_err(|e| FlushError::Encode(e.to_string()))?;
        let body = super::parquet::encode(&batch).map_err(|e| FlushError::Encode(e.to_string()))?;
        let ingest = buf.records.iter().map(|r| r.body.ingest_time_ms);
        let meta = CommittedObject {
            key: p.data_key(&shard, &first, lease.epoch),
            rows: batch.num_rows() as u64,
            bytes: body.len() as u64,
            first_seq: first,
            last_seq: last.clone(),
            min_ingest_ms: ingest.clone().min().unwrap_or(0),
            max_ingest_ms: ingest.max().unwrap_or(0),
        };
        let mark = durable.entry(p.prefix()).or_insert_with(|| last.clone());
        if *mark < last {
            *mark = last;
        }
        objects.push(PreparedObject {
            table: table_name(p.kind),
            body,
            meta,
            written: false,
        });
    }
    prune(&mut durable, &resume);
    let number = lease.commits + 1;
    let mut commit = Commit {
        shard_id: shard.clone(),
        epoch: lease.epoch,
        number,
        parent: lease.head.clone(),
        created_ms: now_ms,
        objects: objects.iter().map(|o| o.meta.clone()).collect(),
        durable,
        resume,
        checkpoint: None,
    };
    let mut segments = Vec::new();
    if let Some((cp, parts)) = state.history.checkpoint_for(&commit) {
        segments = parts.into_iter().map(|(k, p)| (k, p.to_json())).collect();
        commit.checkpoint = Some(cp);
    }
    Ok(Prepared {
        objects,
        segments,
        segments_written: 0,
        commit_key: commit_key(&shard, number, lease.epoch),
        commit,
        commit_written: false,
    })
}

/// A write-once put. A failed condition — 412 (the key exists) or S3's 409
/// ConditionalRequestConflict (another conditional write to the key was in flight, whose
/// outcome the 409 does not tell) — is settled by reading the key back: our own bytes
/// there (an earlier attempt of ours landed) is success, other bytes mean another writer
/// got there first (fenced), and no object at all means nothing landed: a transient
/// error, retried with the flush.
async fn put_once(
    store: &Store,
    key: &str,
    body: &[u8],
    what: &'static str,
) -> Result<(), FlushError> {
    match store.put_new(key, body.to_vec()).await {
        Ok(_) => Ok(()),
        Err(StoreError::Precondition(_)) => match store.get(key).await? {
            Some((there, _)) if there == body => Ok(()),
            Some(_) => Err(FlushError::Fenced(what)),
            None => Err(StoreError::Transient {
                op: "PutObject",
                key: key.to_string(),
                detail: "conditional write refused and no object there: nothing landed".into(),
            }
            .into()),
        },
        Err(e) => Err(e.into()),
    }
}

async fn seam(hook: Option<&Hook>, point: Point, shard: &str) -> Result<(), FlushError> {
    match hooks::consult(hook, point, shard) {
        HookAction::Continue => Ok(()),
        HookAction::Crash => Err(FlushError::Crash(point)),
        HookAction::Stall(d) => {
            tracing::warn!(shard, ?point, ?d, "stall point");
            tokio::time::sleep(d).await;
            Ok(())
        }
    }
}

/// Runs (or resumes) the protocol, the lease kept renewed by `keep` while data and
/// commit objects are written (not during a stall seam: a stall stands for a paused
/// process). On success the lease points at the new commit and `state` holds the new
/// durable marks.
pub async fn execute(
    store: &Store,
    state: &mut ShardState,
    p: &mut Prepared,
    keep: &mut Keepalive<'_>,
    hook: Option<&Hook>,
    m: &Metrics,
) -> Result<(), FlushError> {
    let shard = state.shard_id().to_string();
    for o in p.objects.iter_mut().filter(|o| !o.written) {
        let put = put_once(store, &o.meta.key, &o.body, "data object");
        keep.around(&mut state.held, put).await??;
        o.written = true;
    }
    while let Some((key, body)) = p.segments.get(p.segments_written) {
        let put = put_once(store, key, body, "checkpoint segment");
        keep.around(&mut state.held, put).await??;
        p.segments_written += 1;
    }
    seam(hook, Point::AfterData, &shard).await?;
    if !p.commit_written {
        let body = p.commit.to_json();
        let put = put_once(store, &p.commit_key, &body, "commit");
        keep.around(&mut state.held, put).await??;
        p.commit_written = true;
    }
    seam(hook, Point::AfterCommit, &shard).await?;
    let next = Lease {
        head: Some(p.commit_key.clone()),
        commits: p.commit.number,
        resume: p.commit.resume.clone(),
        expires_at_ms: keep.expiry(),
        ..state.held.lease.clone()
    };
    match lease::write(store, &mut state.held, next).await {
        Ok(()) => {}
        Err(StoreError::Precondition(_)) => return Err(FlushError::Fenced("lease")),
        Err(e) => return Err(e.into()),
    }
    state.durable = p.commit.durable.clone();
    state.history.committed(&p.commit);
    m.commits.get_or_create(&metrics::shard(&shard)).inc();
    if p.commit.checkpoint.is_some() {
        m.checkpoints.get_or_create(&metrics::shard(&shard)).inc();
    }
    for o in &p.objects {
        let l = metrics::table(&shard, o.table);
        m.rows_written.get_or_create(&l).inc_by(o.meta.rows);
        m.objects_written.get_or_create(&l).inc();
        m.bytes_written.get_or_create(&l).inc_by(o.meta.bytes);
    }
    seam(hook, Point::AfterLease, &shard).await?;
    Ok(())
}
