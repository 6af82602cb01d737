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
        if let Some(t) = &run.evidence.faults.stopped_by {
            let _ = writeln!(
                out,
                "\n**Aborted:** stop condition {} tripped at {:.1} s (measured {:.1})\n",
                cell(&t.condition),
                t.at_ms as f64 / 1000.0,
                t.figure
            );
        }
        out.push_str("\n| gate | check | measured | threshold | result |\n|---|---|---|---|---|\n");
        for g in &run.gates {
            if let Some(why) = &g.not_run {
                let _ = writeln!(
                    out,
                    "| **{}** {} | — | not run | — | {} |",
                    g.id,
                    g.name,
                    cell(why)
                );
                continue;
            }
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
        fault_timeline(&mut out, run);
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
/// Every fault with its start, end and what was measured during and after it.
fn fault_timeline(out: &mut String, run: &super::RunReport) {
    let f = &run.evidence.faults;
    if f.records.is_empty() {
        return;
    }
    out.push_str(
        "\n### Fault timeline\n\n| # | fault | target | start | end | during: 429 / 5xx / worst TTFB p99 / worst freshness / max iterator age | after (as long) |\n|---|---|---|---|---|---|---|\n",
    );
    let s = |ms: u64| format!("{:.1} s", ms as f64 / 1000.0);
    let fig = |w: &crate::evidence::WindowFigures| {
        if w.seconds == 0.0 {
            return "—".to_string();
        }
        format!(
            "{} / {} / {:.1} ms / {} / {:.1} s",
            w.throttled_429,
            w.server_5xx,
            w.worst_ttfb_p99_ms,
            w.worst_freshness_p99_ms
                .map(|ms| format!("{:.1} s", ms / 1000.0))
                .unwrap_or_else(|| "—".into()),
            w.max_iterator_age_ms / 1000.0
        )
    };
    for r in &f.records {
        let w = f.windows.iter().find(|w| w.id == r.id);
        let end = match (r.ended_ms, &r.error) {
            (_, Some(e)) => format!("failed: {}", cell(e)),
            (Some(e), None) => s(e),
            (None, None) => "—".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            r.id,
            r.verb,
            cell(&r.target),
            r.started_ms.map(s).unwrap_or_else(|| "not started".into()),
            end,
            w.map(|w| fig(&w.during)).unwrap_or_else(|| "—".into()),
            w.map(|w| fig(&w.after)).unwrap_or_else(|| "—".into()),
        );
    }
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}
