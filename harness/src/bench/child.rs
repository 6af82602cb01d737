//! The emulator under test as a child process (`gameday emulate --port 0 --no-limits`),
//! so client and server do not share a runtime; killed when dropped.

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Emulator {
    pub endpoint: String,
    child: Child,
}

impl Emulator {
    pub async fn spawn() -> anyhow::Result<Emulator> {
        let exe = std::env::current_exe().context("locating the gameday binary")?;
        let mut child = Command::new(exe)
            .args(["emulate", "--port", "0", "--no-limits", "--print-ready"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("spawning `gameday emulate`")?;
        let stdout = child.stdout.take().context("emulator stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
            .await
            .context("emulator did not get ready within 20 s")??
            .context("emulator exited before it was ready")?;
        let Some(endpoint) = line.strip_prefix("READY ") else {
            bail!("unexpected first line from the emulator: {line:?}");
        };
        Ok(Emulator {
            endpoint: endpoint.to_string(),
            child,
        })
    }

    /// Peak resident set size of the emulator process (VmHWM).
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        peak_rss_of(self.child.id().context("emulator already exited")?)
    }
}

impl Emulator {
    /// CPU seconds (user + system) the emulator has used so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds_of(self.child.id()?)
    }
}

/// Peak resident set size (VmHWM) of process `pid`.
pub fn peak_rss_of(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .context("reading /proc/<pid>/status (Linux only)")?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmHWM in /proc/<pid>/status")?;
    Ok(kb * 1024)
}

pub use crate::stack::selfcheck::cpu_seconds_of;
