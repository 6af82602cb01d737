//! `summary.md`: a job summary a person reads — verdict, one table row per check of each
//! gate, the capacity plan, the seed to replay with, and the rig's self-check.

use super::{Report, Verdict};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let mut out = format!(
        "# gameday: {} (exit code {})\n\n",
        report.verdict.label(),
        report.exit_code
    );
    for run in &report.runs {
        let _ = writeln!(
            out,
            "## scenario `{}`: {}\n\nseed `{}` · {:.0} s · thresholds `{}`\n",
            run.scenario,
            run.verdict.label(),
            run.seed,
            run.duration_secs,
            run.thresholds_file
        );
        if let Some(why) = &run.aborted {
            let _ = writeln!(out, "**Run stopped early:** {}\n", cell(why));
        }
        if run.verdict == Verdict::Invalid {
            let _ = writeln!(
                out,
                "**Invalid run** — the rig itself saturated, the gates below are not a verdict:\n"
            );
            for r in &run.validity.reasons {
                let _ = writeln!(out, "- {}", cell(r));
            }
            out.push('\n');
        }
        for g in &run.gates {
            let _ = writeln!(out, "- **{}** proves: {}", g.id, g.id.proves());
        }
        out.push_str("\n| gate | check | measured | threshold | result |\n|---|---|---|---|---|\n");
        for g in &run.gates {
            for (i, c) in g.checks.iter().enumerate() {
                let gate = if i == 0 {
                    format!("**{}** {}", g.id, g.name)
                } else {
                    String::new()
                };
                let _ = writeln!(
                    out,
                    "| {gate} | {} | {} | {} | {} |",
                    cell(&c.what),
                    cell(&c.measured),
                    cell(&c.threshold),
                    if c.passed { "pass" } else { "**FAIL**" }
                );
            }
        }
        if !run.plan.is_empty() {
            out.push_str("\n<details><summary>capacity plan</summary>\n\n");
            for line in &run.plan {
                let _ = writeln!(out, "- {}", cell(line));
            }
            out.push_str("\n</details>\n");
        }
        if !run.validity.checks.is_empty() {
            out.push_str("\n<details><summary>self-check</summary>\n\n");
            for c in &run.validity.checks {
                let _ = writeln!(out, "- {}", cell(&c.to_string()));
            }
            out.push_str("\n</details>\n");
        }
        out.push('\n');
    }
    out
}

/// Text safe inside a Markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
