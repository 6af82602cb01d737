//! Results of one or more scenario runs: the verdict and exit code, the terminal summary
//! table, and with `--report-dir` the files CI reads: `report.json` (the evidence and gate
//! results, for machines), `junit.xml` (one testcase per gate) and `summary.md` (a job
//! summary); and `report.html` (gates and the SLI charts with the fault timeline, for
//! people) in every run's directory and in the report directory.

mod charts;
mod html;
mod junit;
mod markdown;
mod table;

pub use table::summary_table;
#[cfg(test)]
pub use table::summary_table_at;

use crate::evidence::RunEvidence;
use crate::gates::{GateResult, Validity};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;
use std::process::ExitCode;

/// What a run amounts to. An invalid run (the rig saturated) is neither pass nor fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
    Invalid,
    /// A stop condition tripped: faults and load were stopped, nothing was judged.
    Aborted,
}

impl Verdict {
    /// 0 every gate passed; 1 a gate failed; 3 the run is invalid (2 is bad usage/config,
    /// decided before any run).
    pub fn exit_code(self) -> u8 {
        match self {
            Verdict::Passed => 0,
            Verdict::Failed => 1,
            Verdict::Invalid => 3,
            Verdict::Aborted => 4,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passed => "PASSED",
            Verdict::Failed => "FAILED",
            Verdict::Invalid => "INVALID",
            Verdict::Aborted => "ABORTED",
        }
    }
}

/// One scenario run, judged.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    pub scenario: String,
    pub scenario_file: String,
    pub thresholds_file: String,
    pub seed: u64,
    pub verdict: Verdict,
    /// Wall time of the whole run, boot to shutdown.
    pub duration_secs: f64,
    /// The capacity plan as shown to the user.
    pub plan: Vec<String>,
    pub validity: Validity,
    pub gates: Vec<GateResult>,
    /// Whatever stopped the run early (boot failure, load error), if anything.
    pub aborted: Option<String>,
    /// Where the run's logs, configs, audit log and report.html are.
    pub run_dir: Option<std::path::PathBuf>,
    pub evidence: RunEvidence,
}

impl RunReport {
    /// The verdict of gates + validity: an invalid run is INVALID whatever its gates say.
    /// Gates that were not run (not built yet, unsupported by the backend) neither pass
    /// nor fail the run; they are listed as not run.
    pub fn verdict_of(validity: &Validity, gates: &[GateResult], aborted: bool) -> Verdict {
        if aborted {
            Verdict::Aborted
        } else if !validity.valid {
            Verdict::Invalid
        } else if gates
            .iter()
            .filter(|g| g.not_run.is_none())
            .all(|g| g.passed)
        {
            Verdict::Passed
        } else {
            Verdict::Failed
        }
    }
}

/// Several runs (`gameday gates`): red in a valid run wins over an invalid run, which wins
/// over a pass.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub verdict: Verdict,
    pub exit_code: u8,
    pub runs: Vec<RunReport>,
}

impl Report {
    pub fn new(runs: Vec<RunReport>) -> Report {
        let verdict = if runs.iter().any(|r| r.verdict == Verdict::Failed) {
            Verdict::Failed
        } else if runs.iter().any(|r| r.verdict == Verdict::Aborted) {
            Verdict::Aborted
        } else if runs.iter().any(|r| r.verdict == Verdict::Invalid) {
            Verdict::Invalid
        } else {
            Verdict::Passed
        };
        Report {
            verdict,
            exit_code: verdict.exit_code(),
            runs,
        }
    }

    pub fn exit(&self) -> ExitCode {
        ExitCode::from(self.exit_code)
    }

    /// Writes report.json, junit.xml, summary.md and report.html into `dir` (created if
    /// needed).
    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let json = serde_json::to_string_pretty(self).context("serializing the report")?;
        write(dir, "report.json", &json)?;
        write(dir, "junit.xml", &junit::render(self))?;
        write(dir, "summary.md", &markdown::render(self))?;
        self.write_html(dir)?;
        Ok(())
    }

    /// Writes `dir/report.html` (the directory must exist); returns its path.
    pub fn write_html(&self, dir: &Path) -> anyhow::Result<std::path::PathBuf> {
        write(dir, "report.html", &html::render(self))?;
        Ok(dir.join("report.html"))
    }
}

fn write(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

#[cfg(test)]
mod html_tests;

/// The browser report.html is checked in (its test, `gameday doctor`): `GAMEDAY_CHROMIUM`,
/// else the first Chromium or Chrome installed where Debian and Google put them.
pub fn chromium() -> Option<std::path::PathBuf> {
    if let Some(p) = std::env::var_os("GAMEDAY_CHROMIUM") {
        return Some(p.into());
    }
    [
        "/usr/bin/chromium",
        "/usr/bin/chromium-browser",
        "/usr/bin/google-chrome",
    ]
    .iter()
    .map(std::path::PathBuf::from)
    .find(|p| p.exists())
}
#[cfg(test)]
mod tests;
