//! Checkpoints in a shard's commit chain, and the one walk every reader of the chain
//! shares (delivery's sweeper and checkpoint writer, the query service's catalog).
//!
//! Every `checkpoint.every_commits` commits, delivery writes a commit that also carries a
//! [`Checkpoint`]: the shard's whole table as of that commit — as the keys of its
//! *segments* — and which epoch wrote which commit numbers. A segment is an immutable
//! object written (`If-None-Match: *`) just before the commit that first names it,
//! listing the objects added by the commits since the previous checkpoint; each
//! checkpoint names the previous one's segments plus its own. So a checkpoint commit stays
//! small however large the table grows (a segment key per checkpoint, not an entry per
//! object), and every segment is bounded by `every_commits` commits' objects. A reader
//! walks back from the lease head only down to the newest checkpoint (or the first
//! commit, or a commit it already knows) and then reads that checkpoint's segments
//! ([`Walked::read_segments`]), so a rebuild costs at most `every_commits` commit reads
//! plus one read per segment, however long the shard has lived.

use super::commit::{Commit, CommittedObject};
use super::layout::segment_key;
use serde::{Deserialize, Serialize};

/// The complete table of one shard as of the commit that carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Checkpoints written before segments existed list every data object of commits
    /// `1..=number` here, inline; newer ones leave it empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<CommittedObject>,
    /// The segments holding every data object of commits `1..=number`, oldest first
    /// (their objects in commit order).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub segments: Vec<String>,
    /// Which epoch wrote which commits `1..=number`: the chain has exactly one commit per
    /// number, so a commit key `<number>-e<epoch>` is on the chain iff its epoch is the
    /// one these spans give for its number (orphans of the same number are not).
    pub epochs: Vec<EpochSpan>,
}

/// Most objects one segment lists (~250 bytes each: ~5 MB, well under the 16 MiB
/// documents readers take); a checkpoint adding more writes several parts.
pub const SEGMENT_MAX_OBJECTS: usize = 20_000;

/// One segment (part) of a checkpointed table: data objects the commits after the
/// previous checkpoint, up to and including the one carrying the checkpoint, added.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    pub shard_id: String,
    /// The commit whose checkpoint first names this segment.
    pub number: u64,
    /// Which part of that checkpoint's new objects (0, 1, …).
    pub part: usize,
    pub objects: Vec<CommittedObject>,
}

impl Segment {
    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("segment serializes")
    }

    pub fn from_json(bytes: &[u8]) -> Result<Segment, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

/// The segments a new checkpoint adds, each with its key, in the checkpoint's order.
pub type NewSegments = Vec<(String, Segment)>;

/// Commits numbered `from` up to the next span's `from` were written under `epoch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochSpan {
    pub from: u64,
    pub epoch: u64,
}

/// Everything a chain references, as of its commit `number`: built from a checkpoint or
/// the first commit, then extended commit by commit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Manifest {
    /// Number of the newest commit applied (0: empty chain).
    pub number: u64,
    /// Number of the newest checkpoint applied (0: none).
    pub checkpoint_number: u64,
    pub objects: Vec<CommittedObject>,
    pub epochs: Vec<EpochSpan>,
    /// The newest checkpoint's segments.
    pub segments: Vec<String>,
    /// `objects[..in_segments]` are in `segments`; the rest go into the next segment.
    pub in_segments: usize,
}

impl Manifest {
    /// Applies the next commit of the chain; refuses one that does not follow `number`.
    /// A checkpoint's own list is not read here: the manifest already holds every object
    /// up to it (a reader that starts *at* a checkpoint builds its base with
    /// [`Walked::manifest`] from the segments it read).
    pub fn apply(&mut self, c: &Commit) -> Result<(), WalkError> {
        if c.number != self.number + 1 {
            return Err(WalkError::Broken(format!(
                "commit {} does not follow {}",
                c.number, self.number
            )));
        }
        self.objects.extend(c.objects.iter().cloned());
        match &c.checkpoint {
            Some(cp) => {
                if !cp.objects.is_empty() {
                    // An inline checkpoint: its list is the table, and none of it is in
                    // a segment yet (the next checkpoint writes all of it into one).
                    self.objects = cp.objects.clone();
                    self.in_segments = 0;
                } else {
                    self.in_segments = self.objects.len();
                }
                self.segments = cp.segments.clone();
                self.epochs = cp.epochs.clone();
                self.checkpoint_number = c.number;
            }
            None => {
                if self.epochs.last().is_none_or(|s| s.epoch != c.epoch) {
                    self.epochs.push(EpochSpan {
                        from: c.number,
                        epoch: c.epoch,
                    });
                }
            }
        }
        self.number = c.number;
        Ok(())
    }

    /// The checkpoint the next commit `next` would carry and the segments to write before
    /// it, each with its key: the objects since the last checkpoint, `next`'s own
    /// included, in parts of at most [`SEGMENT_MAX_OBJECTS`].
    pub fn checkpoint_with(&self, next: &Commit) -> Result<(Checkpoint, NewSegments), WalkError> {
        self.checkpoint_in_parts(next, SEGMENT_MAX_OBJECTS)
    }

    /// [`Self::checkpoint_with`] with parts of at most `max_objects`.
    pub fn checkpoint_in_parts(
        &self,
        next: &Commit,
        max_objects: usize,
    ) -> Result<(Checkpoint, NewSegments), WalkError> {
        let mut m = self.clone();
        m.apply(next)?;
        let new = &m.objects[self.in_segments.min(m.objects.len())..];
        let parts: NewSegments = new
            .chunks(max_objects.max(1))
            .enumerate()
            .map(|(part, objects)| {
                let key = segment_key(&next.shard_id, next.number, part, next.epoch);
                let segment = Segment {
                    shard_id: next.shard_id.clone(),
                    number: next.number,
                    part,
                    objects: objects.to_vec(),
                };
                (key, segment)
            })
            .collect();
        let mut segments = self.segments.clone();
        segments.extend(parts.iter().map(|(key, _)| key.clone()));
        let checkpoint = Checkpoint {
            objects: Vec::new(),
            segments,
            epochs: m.epochs,
        };
        Ok((checkpoint, parts))
    }

    /// The epoch that wrote the chain's commit `number` (`None` beyond the chain).
    pub fn epoch_of(&self, number: u64) -> Option<u64> {
        if number == 0 || number > self.number {
            return None;
        }
        self.epochs
            .iter()
            .rev()
            .find(|s| s.from <= number)
            .map(|s| s.epoch)
    }

    /// Whether the commit `number` written under `epoch` is on the chain.
    pub fn has_commit(&self, number: u64, epoch: u64) -> bool {
        self.epoch_of(number) == Some(epoch)
    }
}

/// Why a walk stopped without reaching a checkpoint, the first commit or a known commit.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("reading {key}: {detail}")]
    Read { key: String, detail: String },
    #[error("parsing {key}: {detail}")]
    Parse { key: String, detail: String },
    #[error("{0} is named by the chain but missing")]
    Missing(String),
    #[error("segment {0} is named by a checkpoint but missing")]
    MissingSegment(String),
    #[error("chain longer than {0} commits past the last checkpoint")]
    TooLong(usize),
    #[error("broken chain: {0}")]
    Broken(String),
}

impl WalkError {
    /// A commit or segment read from `key`, parsed; a body that does not parse is named
    /// by its key (every reader of the chain shares this).
    pub fn parsed<T>(
        key: String,
        body: &[u8],
        parse: fn(&[u8]) -> Result<T, serde_json::Error>,
    ) -> Result<T, WalkError> {
        parse(body).map_err(|e| WalkError::Parse {
            key,
            detail: e.to_string(),
        })
    }

    /// Reason code for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Read { .. } => "s3_read",
            Self::Parse { .. } => "unparseable_object",
            Self::Missing(_) => "commit_missing",
            Self::MissingSegment(_) => "segment_missing",
            Self::TooLong(_) => "chain_too_long",
            Self::Broken(_) => "broken_chain",
        }
    }
}

/// Where a walk ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// At a commit carrying a checkpoint (the oldest commit walked).
    Checkpoint,
    /// At commit 1.
    First,
    /// At the commit the reader already knew (not included).
    Known,
    /// At a commit numbered at or below the known one under another key: the known
    /// commit is not an ancestor of the head. An add-only reader (the catalog) may go
    /// on; a manifest cannot be built on the known one.
    Diverged,
    /// No head: the chain is empty.
    Empty,
}

/// The commits read by one walk, newest first, and where it ended.
#[derive(Debug)]
pub struct Walked {
    pub commits: Vec<(String, Commit)>,
    pub end: End,
    /// The table as of the checkpoint the walk ended at, once its segments are read.
    pub base: Option<Vec<CommittedObject>>,
}

impl Walked {
    /// The checkpoint the walk ended at, if it ended at one.
    fn checkpoint(&self) -> Option<&Checkpoint> {
        match self.end {
            End::Checkpoint => self.commits.last()?.1.checkpoint.as_ref(),
            _ => None,
        }
    }

    /// Reads the segments of the checkpoint the walk ended at (`read`: `Ok(None)` when
    /// absent — a segment named by a checkpoint and missing is an error, never a smaller
    /// table). Nothing to read after any other end.
    pub async fn read_segments<F, Fut>(&mut self, mut read: F) -> Result<(), WalkError>
    where
        F: FnMut(String) -> Fut,
        Fut: std::future::Future<Output = Result<Option<Segment>, WalkError>>,
    {
        let (Some(cp), Some((_, c))) = (self.checkpoint(), self.commits.last()) else {
            return Ok(());
        };
        let (shard, number) = (c.shard_id.clone(), c.number);
        let mut objects = cp.objects.clone();
        for key in cp.segments.clone() {
            let Some(seg) = read(key.clone()).await? else {
                return Err(WalkError::MissingSegment(key));
            };
            if seg.shard_id != shard || seg.number > number {
                return Err(WalkError::Broken(format!(
                    "segment {key} is of {} commit {}, not of {shard} at or below {number}",
                    seg.shard_id, seg.number
                )));
            }
            objects.extend(seg.objects);
        }
        self.base = Some(objects);
        Ok(())
    }

    /// The table of the checkpoint the walk ended at: its segments as read, or its
    /// inline list.
    fn base(&self, cp: &Checkpoint) -> Result<Vec<CommittedObject>, WalkError> {
        match (&self.base, cp.segments.is_empty()) {
            (Some(b), _) => Ok(b.clone()),
            (None, true) => Ok(cp.objects.clone()),
            (None, false) => Err(WalkError::Broken(
                "the checkpoint's segments were not read".into(),
            )),
        }
    }

    /// The manifest as of the head: from the checkpoint (its segments read) or commit 1,
    /// or from `known` (the manifest of the commit the walk stopped at) when it ended
    /// there.
    pub fn manifest(&self, known: Option<&Manifest>) -> Result<Manifest, WalkError> {
        let mut m = match self.end {
            End::Known => known
                .cloned()
                .ok_or_else(|| WalkError::Broken("walk ended at an unknown commit".into()))?,
            End::Diverged => {
                return Err(WalkError::Broken(
                    "the known commit is not an ancestor of the head".into(),
                ));
            }
            End::Checkpoint | End::First | End::Empty => Manifest::default(),
        };
        let mut commits = self.commits.iter().rev();
        if let (Some(cp), Some((_, c))) = (self.checkpoint(), self.commits.last()) {
            // The walk ended at a checkpoint: it is the base.
            commits.next();
            let objects = self.base(cp)?;
            m = Manifest {
                number: c.number,
                checkpoint_number: c.number,
                in_segments: if cp.segments.is_empty() {
                    0
                } else {
                    objects.len()
                },
                objects,
                epochs: cp.epochs.clone(),
                segments: cp.segments.clone(),
            };
        }
        for (_, c) in commits {
            if self.end == End::Known && c.number <= m.number {
                continue;
            }
            m.apply(c)?;
        }
        Ok(m)
    }

    /// The commits oldest first, as a catalog applies them: a checkpoint the walk ended at
    /// stands for the whole chain up to it (its table becomes that commit's objects).
    pub fn oldest_first(self) -> Result<Vec<Commit>, WalkError> {
        let base = match self.checkpoint() {
            Some(cp) => Some(self.base(cp)?),
            None => None,
        };
        let mut out: Vec<Commit> = self.commits.into_iter().rev().map(|(_, c)| c).collect();
        if let (Some(base), Some(first)) = (base, out.first_mut()) {
            first.checkpoint = None;
            first.objects = base;
        }
        Ok(out)
    }
}

/// Walks the chain back from `head` down to the newest checkpoint, commit 1, or `known`
/// (key and number of a commit already applied), reading each commit with `read`
/// (`Ok(None)`: absent). At most `max` commits are read. With `known`, checkpoints on
/// the way are walked past (the reader has everything below `known` and needs only the
/// commits above it, not a whole table from the checkpoint's segments); the walk ends at
/// the newest of them instead when `known` lies more than `max` commits back or is not
/// an ancestor.
pub async fn walk<F, Fut>(
    head: Option<&str>,
    known: Option<(&str, u64)>,
    max: usize,
    mut read: F,
) -> Result<Walked, WalkError>
where
    F: FnMut(String) -> Fut,
    Fut: std::future::Future<Output = Result<Option<Commit>, WalkError>>,
{
    let mut commits: Vec<(String, Commit)> = Vec::new();
    let done = |commits, end| {
        Ok(Walked {
            commits,
            base: None,
            end,
        })
    };
    let Some(head) = head else {
        return done(commits, End::Empty);
    };
    // The newest checkpoint walked past (index in `commits`).
    let mut passed: Option<usize> = None;
    let mut next = head.to_string();
    loop {
        if known.is_some_and(|(k, _)| k == next) {
            return done(commits, End::Known);
        }
        if commits.len() >= max {
            return match passed {
                Some(i) => done(truncated(commits, i), End::Checkpoint),
                None => Err(WalkError::TooLong(max)),
            };
        }
        let Some(c) = read(next.clone()).await? else {
            return Err(WalkError::Missing(next));
        };
        if known.is_some_and(|(_, n)| c.number <= n) {
            // Past what the reader applied (its known commit is not an ancestor).
            return match passed {
                Some(i) => done(truncated(commits, i), End::Checkpoint),
                None => done(commits, End::Diverged),
            };
        }
        if let Some((_, child)) = commits.last()
            && c.number.checked_add(1) != Some(child.number)
        {
            return Err(WalkError::Broken(format!(
                "{next} is number {}, {} expected",
                c.number,
                child.number.saturating_sub(1)
            )));
        }
        let parent = c.parent.clone();
        let (number, checkpoint) = (c.number, c.checkpoint.is_some());
        commits.push((next, c));
        if checkpoint {
            if known.is_none() {
                return done(commits, End::Checkpoint);
            }
            passed.get_or_insert(commits.len() - 1);
        }
        match parent {
            Some(p) => next = p,
            None if number == 1 => return done(commits, End::First),
            None => {
                return Err(WalkError::Broken(format!("commit {number} has no parent")));
            }
        }
    }
}

fn truncated(mut commits: Vec<(String, Commit)>, last: usize) -> Vec<(String, Commit)> {
    commits.truncate(last + 1);
    commits
}

#[cfg(test)]
mod tests;
