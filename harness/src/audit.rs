//! The run's audit log: one JSON line per call to the control API (and, later, per
//! security decision), each line carrying the SHA-256 of the line before it, so that an
//! edited, removed or reordered line breaks the chain where it happened (`verify`).
//! Written to `<run dir>/audit.jsonl`, flushed per entry.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// The hash the first entry chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    pub seq: u64,
    pub unix_ms: i64,
    /// Who asked: the peer address of the call.
    pub actor: String,
    /// What was asked (`InjectFault`, `Stop`, …).
    pub action: String,
    /// `ok`, `refused: <why>` or `failed: <why>`.
    pub outcome: String,
    /// The request's content, as the log's reader needs it.
    pub detail: String,
    /// `hash` of the entry before (GENESIS for the first).
    pub prev: String,
    /// SHA-256 over `prev` and this entry's other fields.
    pub hash: String,
}

impl Entry {
    fn digest(&self) -> String {
        let mut h = Sha256::new();
        for part in [
            self.prev.as_str(),
            &self.seq.to_string(),
            &self.unix_ms.to_string(),
            &self.actor,
            &self.action,
            &self.outcome,
            &self.detail,
        ] {
            // Length-prefixed, so that moving text between fields changes the hash.
            h.update((part.len() as u64).to_le_bytes());
            h.update(part.as_bytes());
        }
        hex::encode(h.finalize())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit log {path}, line {line}: {why}")]
    Broken {
        path: PathBuf,
        line: usize,
        why: String,
    },
}

struct State {
    file: std::fs::File,
    seq: u64,
    prev: String,
}

pub struct AuditLog {
    path: PathBuf,
    state: parking_lot::Mutex<State>,
}

impl AuditLog {
    /// Opens (or creates) the log; an existing log is verified and appended to.
    pub fn open(path: &Path) -> Result<AuditLog, AuditError> {
        let io = |source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        };
        let (seq, prev) = match verify(path) {
            Ok(Some(last)) => (last.seq + 1, last.hash),
            Ok(None) => (0, GENESIS.to_string()),
            Err(AuditError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
                (0, GENESIS.to_string())
            }
            Err(e) => return Err(e),
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(io)?;
        Ok(AuditLog {
            path: path.to_path_buf(),
            state: parking_lot::Mutex::new(State { file, seq, prev }),
        })
    }

    /// Appends one entry. A failed write is returned: the caller refuses the action it
    /// could not record.
    pub fn record(
        &self,
        actor: &str,
        action: &str,
        outcome: &str,
        detail: &str,
    ) -> Result<Entry, AuditError> {
        let mut st = self.state.lock();
        let mut e = Entry {
            seq: st.seq,
            unix_ms: ingest::gateway::pipeline::now_ms(),
            actor: actor.to_string(),
            action: action.to_string(),
            outcome: outcome.to_string(),
            detail: detail.to_string(),
            prev: st.prev.clone(),
            hash: String::new(),
        };
        e.hash = e.digest();
        let mut line = serde_json::to_string(&e).expect("an entry serializes");
        line.push('\n');
        st.file
            .write_all(line.as_bytes())
            .and_then(|_| st.file.flush())
            .map_err(|source| AuditError::Io {
                path: self.path.clone(),
                source,
            })?;
        st.seq += 1;
        st.prev = e.hash.clone();
        Ok(e)
    }
}

/// Reads the whole log and checks every link; returns the last entry (None if empty).
pub fn verify(path: &Path) -> Result<Option<Entry>, AuditError> {
    let file = std::fs::File::open(path).map_err(|source| AuditError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let broken = |line: usize, why: String| AuditError::Broken {
        path: path.to_path_buf(),
        line,
        why,
    };
    let mut prev = GENESIS.to_string();
    let mut last = None;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|source| AuditError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let e: Entry =
            serde_json::from_str(&line).map_err(|e| broken(n, format!("not an entry: {e}")))?;
        if e.seq != i as u64 {
            return Err(broken(n, format!("sequence {} where {i} was due", e.seq)));
        }
        if e.prev != prev {
            return Err(broken(n, "does not chain to the entry before".into()));
        }
        if e.digest() != e.hash {
            return Err(broken(n, "its hash does not match its content".into()));
        }
        prev = e.hash.clone();
        last = Some(e);
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_with(dir: &Path, n: usize) -> PathBuf {
        let path = dir.join("audit.jsonl");
        let log = AuditLog::open(&path).unwrap();
        for i in 0..n {
            log.record("127.0.0.1:1", "InjectFault", "ok", &format!("fault {i}"))
                .unwrap();
        }
        path
    }

    fn tempdir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gameday-audit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_written_log_verifies_and_reopening_continues_the_chain() {
        let dir = tempdir("chain");
        let path = log_with(&dir, 3);
        assert_eq!(verify(&path).unwrap().unwrap().seq, 2);
        let log = AuditLog::open(&path).unwrap();
        let e = log.record("me", "Stop", "ok", "").unwrap();
        assert_eq!(e.seq, 3);
        assert_eq!(verify(&path).unwrap().unwrap(), e);
    }

    #[test]
    fn an_edited_removed_or_reordered_line_is_found_at_its_line() {
        let dir = tempdir("tamper");
        let path = log_with(&dir, 4);
        let lines: Vec<String> = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(String::from)
            .collect();
        let write = |ls: &[String]| std::fs::write(&path, ls.join("\n") + "\n").unwrap();
        let line_of = |e: AuditError| match e {
            AuditError::Broken { line, .. } => line,
            other => panic!("{other}"),
        };

        let mut edited = lines.clone();
        edited[1] = edited[1].replace("fault 1", "fault 9");
        write(&edited);
        assert_eq!(line_of(verify(&path).unwrap_err()), 2);

        let mut removed = lines.clone();
        removed.remove(2);
        write(&removed);
        assert_eq!(line_of(verify(&path).unwrap_err()), 3);

        let mut swapped = lines.clone();
        swapped.swap(0, 1);
        write(&swapped);
        assert_eq!(line_of(verify(&path).unwrap_err()), 1);

        write(&lines);
        assert!(verify(&path).is_ok());
        assert!(
            AuditLog::open(&path).is_ok(),
            "the intact log opens for appending"
        );
        write(&edited);
        assert!(
            AuditLog::open(&path).is_err(),
            "a broken log is not appended to"
        );
    }
}
