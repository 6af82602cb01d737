//! Checkpoints in a shard's commit chain, and the one walk every reader of the chain
//! shares (delivery's sweeper and checkpoint writer, the query service's catalog).
//!
//! Every `checkpoint.every_commits` commits, delivery writes a commit that also carries a
//! [`Checkpoint`]: every data object of the shard's table as of that commit and which epoch
//! wrote which commit numbers. A reader walks back from the lease head only down to the
//! newest checkpoint (or the first commit, or a commit it already knows), so a rebuild
//! costs at most `every_commits` reads however long the shard has lived.

use super::commit::{Commit, CommittedObject};
use serde::{Deserialize, Serialize};

/// The complete table of one shard as of the commit that carries it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// Every data object listed by the chain's commits `1..=number` (this commit's own
    /// objects included), in commit order.
    pub objects: Vec<CommittedObject>,
    /// Which epoch wrote which commits `1..=number`: the chain has exactly one commit per
    /// number, so a commit key `<number>-e<epoch>` is on the chain iff its epoch is the
    /// one these spans give for its number (orphans of the same number are not).
    pub epochs: Vec<EpochSpan>,
}

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
}

impl Manifest {
    /// Applies the next commit of the chain; refuses one that does not follow `number`.
    pub fn apply(&mut self, c: &Commit) -> Result<(), WalkError> {
        if c.number != self.number + 1 {
            return Err(WalkError::Broken(format!(
                "commit {} does not follow {}",
                c.number, self.number
            )));
        }
        match &c.checkpoint {
            Some(cp) => {
                self.objects = cp.objects.clone();
                self.epochs = cp.epochs.clone();
                self.checkpoint_number = c.number;
            }
            None => {
                self.objects.extend(c.objects.iter().cloned());
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

    /// The checkpoint the next commit `next` would carry (its own objects included).
    pub fn checkpoint_with(&self, next: &Commit) -> Result<Checkpoint, WalkError> {
        let mut m = self.clone();
        m.apply(next)?;
        Ok(Checkpoint {
            objects: m.objects,
            epochs: m.epochs,
        })
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
    #[error("chain longer than {0} commits past the last checkpoint")]
    TooLong(usize),
    #[error("broken chain: {0}")]
    Broken(String),
}

impl WalkError {
    /// Reason code for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Read { .. } => "s3_read",
            Self::Parse { .. } => "unparseable_object",
            Self::Missing(_) => "commit_missing",
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
}

impl Walked {
    /// The manifest as of the head: from the checkpoint or commit 1, or from `known` (the
    /// manifest of the commit the walk stopped at) when it ended there.
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
        for (_, c) in self.commits.iter().rev() {
            if self.end == End::Known && c.number <= m.number {
                continue;
            }
            if m.number == 0 && c.checkpoint.is_some() {
                // The walk started at a checkpoint: it is the base.
                m.number = c.number.checked_sub(1).ok_or_else(|| {
                    WalkError::Broken("a checkpoint on a commit numbered 0".into())
                })?;
            }
            m.apply(c)?;
        }
        Ok(m)
    }

    /// The commits oldest first, as a catalog applies them: a checkpoint the walk ended at
    /// stands for the whole chain up to it (its `objects` become the checkpoint's list).
    pub fn oldest_first(self) -> Vec<Commit> {
        let end = self.end;
        let n = self.commits.len();
        let mut out: Vec<Commit> = self.commits.into_iter().rev().map(|(_, c)| c).collect();
        if end == End::Checkpoint
            && n > 0
            && let Some(cp) = out[0].checkpoint.take()
        {
            out[0].objects = cp.objects;
        }
        out
    }
}

/// Walks the chain back from `head` down to the newest checkpoint, commit 1, or `known`
/// (key and number of a commit already applied), reading each commit with `read`
/// (`Ok(None)`: absent). At most `max` commits are read.
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
    let Some(head) = head else {
        return Ok(Walked {
            commits,
            end: End::Empty,
        });
    };
    let mut next = head.to_string();
    loop {
        if known.is_some_and(|(k, _)| k == next) {
            return Ok(Walked {
                commits,
                end: End::Known,
            });
        }
        if commits.len() >= max {
            return Err(WalkError::TooLong(max));
        }
        let Some(c) = read(next.clone()).await? else {
            return Err(WalkError::Missing(next));
        };
        if known.is_some_and(|(_, n)| c.number <= n) {
            // Past what the reader applied (its known commit is not an ancestor).
            return Ok(Walked {
                commits,
                end: End::Diverged,
            });
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
            return Ok(Walked {
                commits,
                end: End::Checkpoint,
            });
        }
        match parent {
            Some(p) => next = p,
            None if number == 1 => {
                return Ok(Walked {
                    commits,
                    end: End::First,
                });
            }
            None => {
                return Err(WalkError::Broken(format!("commit {number} has no parent")));
            }
        }
    }
}

#[cfg(test)]
mod tests;
