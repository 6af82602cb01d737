//! `junit.xml` for CI: one testsuite per scenario run, one testcase per gate. A red gate
//! is a `<failure>` whose message carries each failing figure and its threshold; every gate
//! of an invalid run is an `<error>` (the rig, not the pipeline, failed).

use super::{Report, RunReport, Verdict};
use std::fmt::Write;

pub fn render(report: &Report) -> String {
    let tests: usize = report.runs.iter().map(|r| r.gates.len()).sum();
    let failures = count(report, |r, g| {
        r.verdict != Verdict::Invalid && !g.passed && g.not_run.is_none()
    });
    let skipped = count(report, |_, g| g.not_run.is_some());
    let errors = count(report, |r, _| r.verdict == Verdict::Invalid);
    let time: f64 = report.runs.iter().map(|r| r.duration_secs).sum();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"gameday\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{time:.3}\">"
    );
    for run in &report.runs {
        suite(&mut out, run);
    }
    out.push_str("</testsuites>\n");
    out
}

fn count(report: &Report, f: impl Fn(&RunReport, &crate::gates::GateResult) -> bool) -> usize {
    report
        .runs
        .iter()
        .flat_map(|r| r.gates.iter().map(move |g| (r, g)))
        .filter(|(r, g)| f(r, g))
        .count()
}

fn suite(out: &mut String, run: &RunReport) {
    let invalid = run.verdict == Verdict::Invalid;
    let failures = run
        .gates
        .iter()
        .filter(|g| !invalid && !g.passed && g.not_run.is_none())
        .count();
    let skipped = run.gates.iter().filter(|g| g.not_run.is_some()).count();
    let errors = if invalid {
        run.gates.len() - skipped
    } else {
        0
    };
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" time=\"{:.3}\">",
        esc(&format!("scenario {}", run.scenario)),
        run.gates.len(),
        run.duration_secs
    );
    let _ = writeln!(out, "    <properties>");
    for (k, v) in [
        ("seed", run.seed.to_string()),
        ("scenario_file", run.scenario_file.clone()),
        ("thresholds_file", run.thresholds_file.clone()),
        ("verdict", run.verdict.label().to_string()),
    ] {
        let _ = writeln!(out, "      <property name=\"{k}\" value=\"{}\"/>", esc(&v));
    }
    let _ = writeln!(out, "    </properties>");
    for g in &run.gates {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\"",
            esc(&format!("gameday.{}", run.scenario)),
            esc(&format!("{} {}", g.id, g.name))
        );
        let body = g.details.join("\n");
        if let Some(why) = &g.not_run {
            let _ = writeln!(
                out,
                ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                esc(&format!("not run: {why}"))
            );
        } else if invalid {
            let _ = writeln!(
                out,
                ">\n      <error type=\"invalid-run\" message=\"{}\">{}</error>\n    </testcase>",
                esc(&format!("invalid run: {}", run.validity.reasons.join("; "))),
                esc(&body)
            );
        } else if let Some(msg) = g.failure_message() {
            let _ = writeln!(
                out,
                ">\n      <failure type=\"gate\" message=\"{}\">{}</failure>\n    </testcase>",
                esc(&msg),
                esc(&body)
            );
        } else {
            let _ = writeln!(
                out,
                ">\n      <system-out>{}</system-out>\n    </testcase>",
                esc(&body)
            );
        }
    }
    // The fault timeline, for CI logs: every start and end with its time.
    let f = &run.evidence.faults;
    let mut events: Vec<String> = f
        .events
        .iter()
        .map(|e| {
            format!(
                "{:>8.1} s  {:?}  {}",
                e.at_ms as f64 / 1000.0,
                e.kind,
                e.detail
            )
        })
        .collect();
    for w in &f.windows {
        events.push(format!(
            "fault {} {} {}: during {} 429 / {} 5xx / worst TTFB p99 {:.1} ms / max iterator age {:.1} s; after {} 429 / {} 5xx / worst TTFB p99 {:.1} ms",
            w.id,
            w.verb,
            w.target,
            w.during.throttled_429,
            w.during.server_5xx,
            w.during.worst_ttfb_p99_ms,
            w.during.max_iterator_age_ms / 1000.0,
            w.after.throttled_429,
            w.after.server_5xx,
            w.after.worst_ttfb_p99_ms
        ));
    }
    if !events.is_empty() {
        let _ = writeln!(
            out,
            "    <system-out>fault timeline:&#10;{}</system-out>",
            esc(&events.join("\n"))
        );
    }
    out.push_str("  </testsuite>\n");
}

/// Escapes text for an XML attribute or element. Characters XML 1.0 cannot carry at all
/// (most C0 controls) become U+FFFD rather than making the file unreadable.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}
