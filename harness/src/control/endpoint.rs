//! Where a running GameDay's control API is: `control.json` in its run directory (the
//! address, the bearer token, the pid), and `.gameday/control.json` pointing at the
//! newest one, so that `gameday fault` and `gameday status` find it with no flags.

use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// The default place clients look.
pub const CURRENT: &str = ".gameday/control.json";

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ControlFile {
    pub addr: SocketAddr,
    pub token: String,
    /// The serving process (a file whose process is gone is stale).
    pub pid: u32,
    pub scenario: String,
    pub run_dir: PathBuf,
}

impl ControlFile {
    /// Writes `<run_dir>/control.json` and the `.gameday/control.json` pointer, readable
    /// by this user only (they hold the token).
    pub fn publish(&self) -> anyhow::Result<()> {
        let text = serde_json::to_string_pretty(self)?;
        for path in [self.run_dir.join("control.json"), PathBuf::from(CURRENT)] {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            write_private(&path, &text)
                .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
        }
        Ok(())
    }

    /// Removes the pointer if it still points at this run (a newer run may own it).
    pub fn withdraw(&self) {
        if let Ok(cur) = read(Path::new(CURRENT))
            && cur.pid == self.pid
            && cur.addr == self.addr
        {
            let _ = std::fs::remove_file(CURRENT);
        }
    }
}

fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("json.{}.tmp", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    std::fs::rename(&tmp, path)
}

fn read(path: &Path) -> Result<ControlFile, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    serde_json::from_str(&text).map_err(|e| format!("not a control file: {e}"))
}

fn alive(pid: u32) -> bool {
    // Signal 0 checks that the process exists (and is ours to signal).
    unsafe { libc::kill(pid as libc::pid_t, 0) == 0 }
}

/// The control file to use: `--control-file` (or a run directory holding one), else
/// `.gameday/control.json`. The errors say how to get a running stack.
pub fn find(explicit: Option<&Path>) -> Result<ControlFile, String> {
    let path = match explicit {
        Some(p) if p.is_dir() => p.join("control.json"),
        Some(p) => p.to_path_buf(),
        None => PathBuf::from(CURRENT),
    };
    let f = read(&path).map_err(|e| {
        if !path.exists() {
            format!(
                "no running stack found ({} does not exist): start one with `gameday up`, \
                 or pass --control ADDR with --control-token",
                path.display()
            )
        } else {
            format!("{}: {e}", path.display())
        }
    })?;
    if !alive(f.pid) {
        return Err(format!(
            "no running stack: {} names process {} ({}), which has ended; start one with \
             `gameday up`",
            path.display(),
            f.pid,
            f.scenario
        ));
    }
    Ok(f)
}
