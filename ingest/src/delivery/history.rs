//! What a shard's owner knows of its chain in order to write checkpoints: the manifest
//! (every data object and which epoch wrote which commit) as of the head commit. On
//! take-over it is read back from the newest checkpoint by a background task, so the
//! shard starts reading at once; commits landing meanwhile are queued and applied when the
//! read ends. Until then (a failed read is retried, counted by reason), commits carry no
//! checkpoint. Every `checkpoint.every_commits` commits past the last checkpoint, the next
//! commit carries one.

use super::store::Store;
use super::worker::Inner;
use crate::table::checkpoint::{self, NewSegments, WalkError};
use crate::table::{Checkpoint, Commit, Lease, Manifest, Segment};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Longest chain read back on take-over (chains written before checkpoints existed).
const MAX_WALK: usize = 1_000_000;
/// Failed read-backs in a row before the owner is counted as writing no checkpoints.
const LOAD_ATTEMPTS: u32 = 5;
const MAX_LOAD_PAUSE: Duration = Duration::from_secs(30);

enum Known {
    /// Checkpoints disabled (`every_commits = 0`).
    Off,
    /// The chain is being read back; these commits landed meanwhile.
    Loading(Vec<Commit>),
    Ready(Manifest),
    /// The history went out of step with the chain: no checkpoints from this owner.
    Failed(&'static str),
}

pub struct History {
    every: u64,
    known: Mutex<Known>,
    loader: Mutex<Option<tokio::task::AbortHandle>>,
}

/// Reads one commit (`None`: absent) for a chain walk.
pub async fn read_commit(store: &Store, key: String) -> Result<Option<Commit>, WalkError> {
    read_doc(store, key, Commit::from_json).await
}

/// Reads a checkpoint's segment (`Ok(None)`: absent).
pub async fn read_segment(store: &Store, key: String) -> Result<Option<Segment>, WalkError> {
    read_doc(store, key, Segment::from_json).await
}

async fn read_doc<T>(
    store: &Store,
    key: String,
    parse: fn(&[u8]) -> Result<T, serde_json::Error>,
) -> Result<Option<T>, WalkError> {
    match store.get(&key).await {
        Ok(None) => Ok(None),
        Ok(Some((body, _))) => WalkError::parsed(key, &body, parse).map(Some),
        Err(e) => Err(WalkError::Read {
            key,
            detail: e.to_string(),
        }),
    }
}

impl History {
    /// A history that never checkpoints (tests of other parts, `every_commits = 0`).
    pub fn off() -> Arc<History> {
        Arc::new(History {
            every: 0,
            known: Mutex::new(Known::Off),
            loader: Mutex::new(None),
        })
    }

    /// The history of a chain with no commit yet (tools writing a fresh chain).
    pub fn fresh(every_commits: u64) -> Arc<History> {
        Arc::new(History {
            every: every_commits,
            known: Mutex::new(if every_commits == 0 {
                Known::Off
            } else {
                Known::Ready(Manifest::default())
            }),
            loader: Mutex::new(None),
        })
    }

    /// Starts reading the chain of `lease` back to its newest checkpoint.
    pub fn start(w: &Arc<Inner>, lease: &Lease) -> Arc<History> {
        let every = w.config.checkpoint.every_commits;
        if every == 0 {
            return Self::off();
        }
        let Some(head) = lease.head.clone() else {
            return Arc::new(History {
                every,
                known: Mutex::new(Known::Ready(Manifest::default())),
                loader: Mutex::new(None),
            });
        };
        let h = Arc::new(History {
            every,
            known: Mutex::new(Known::Loading(Vec::new())),
            loader: Mutex::new(None),
        });
        let task = tokio::spawn(load(w.clone(), Arc::downgrade(&h), head));
        *h.loader.lock() = Some(task.abort_handle());
        h
    }

    /// The checkpoint `next` must carry and the segments to write before it, if one is
    /// due and the history is known.
    pub fn checkpoint_for(&self, next: &Commit) -> Option<(Checkpoint, NewSegments)> {
        match &*self.known.lock() {
            Known::Ready(m)
                if m.number + 1 == next.number
                    && next.number - m.checkpoint_number >= self.every =>
            {
                m.checkpoint_with(next).ok()
            }
            _ => None,
        }
    }

    /// `c` took effect (the lease points at it).
    pub fn committed(&self, c: &Commit) {
        let mut known = self.known.lock();
        match &mut *known {
            Known::Loading(since) => since.push(c.clone()),
            Known::Ready(m) => {
                if let Err(e) = m.apply(c) {
                    tracing::warn!(shard = c.shard_id, %e, "checkpoint history out of step");
                    *known = Known::Failed("out_of_step");
                }
            }
            Known::Off | Known::Failed(_) => {}
        }
    }

    /// Why no checkpoint can be written (`None`: it can, or is being read back).
    pub fn failed(&self) -> Option<&'static str> {
        match &*self.known.lock() {
            Known::Failed(r) => Some(r),
            _ => None,
        }
    }

    /// The chain was read back as `m`: the commits that landed meanwhile are applied on
    /// top; one that does not follow puts the history out of step (its reason returned).
    fn loaded(&self, mut m: Manifest) -> Result<(), &'static str> {
        let mut known = self.known.lock();
        let Known::Loading(since) = &mut *known else {
            return Ok(());
        };
        let applied = since.iter().try_for_each(|c| {
            if c.number > m.number {
                m.apply(c).map_err(|e| e.reason())?;
            }
            Ok(())
        });
        match applied {
            Ok(()) => {
                *known = Known::Ready(m);
                Ok(())
            }
            Err(reason) => {
                *known = Known::Failed(reason);
                Err(reason)
            }
        }
    }
}

impl Drop for History {
    fn drop(&mut self) {
        if let Some(h) = self.loader.lock().take() {
            h.abort();
        }
    }
}

/// Reads the chain back until it succeeds or the history is dropped (the shard given
/// up): a failed read is retried with a doubling pause (capped at 30 s), never left for
/// the rest of the ownership — chains would grow past what readers walk. After
/// `LOAD_ATTEMPTS` failures in a row it is counted (`checkpoints_skipped{reason}`) once.
async fn load(w: Arc<Inner>, history: Weak<History>, head: String) {
    let shard = crate::table::layout::shard_of_commit_key(&head)
        .unwrap_or_default()
        .to_string();
    let skipped = |reason: &'static str| {
        w.metrics
            .checkpoints_skipped
            .get_or_create(&super::metrics::reason(&shard, reason))
            .inc();
    };
    let mut failures = 0u32;
    loop {
        let store = &w.store;
        let r = async {
            let mut walked = checkpoint::walk(Some(head.as_str()), None, MAX_WALK, |k| {
                read_commit(store, k)
            })
            .await?;
            walked.read_segments(|k| read_segment(store, k)).await?;
            walked.manifest(None)
        }
        .await;
        let Some(h) = history.upgrade() else {
            return;
        };
        match r {
            Ok(m) => {
                if let Err(reason) = h.loaded(m) {
                    skipped(reason);
                }
                return;
            }
            Err(e) => {
                tracing::warn!(head, %e, failures, "reading the chain back to its checkpoint");
                failures += 1;
                if failures == LOAD_ATTEMPTS {
                    skipped(e.reason());
                }
            }
        }
        drop(h);
        let pause = Duration::from_millis(200u64 << failures.min(8)).min(MAX_LOAD_PAUSE);
        tokio::time::sleep(pause).await;
    }
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &*self.known.lock() {
            Known::Off => "off".to_string(),
            Known::Loading(since) => format!("loading ({} commits since)", since.len()),
            Known::Ready(m) => format!("ready at commit {}", m.number),
            Known::Failed(r) => format!("failed: {r}"),
        };
        write!(f, "History({state})")
    }
}
