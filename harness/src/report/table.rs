//! The summary table printed at the end of a run: one row per check of each gate, the
//! verdict, and why a run is invalid.

use super::{RunReport, Verdict};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

/// The summary as printed: fitted to the terminal's width (cells wrap inside their
/// column) when stdout is one, at full width when piped.
pub fn summary_table(run: &RunReport) -> String {
    summary_table_at(run, terminal_width())
}

/// Columns of the terminal stdout is, `COLUMNS` first; `None` when stdout is no
/// terminal (piped: full width). `GAMEDAY_COLUMNS` sets the width whatever stdout is
/// (the console runs its scenario into a log it shows on the terminal afterwards).
fn terminal_width() -> Option<u16> {
    use std::io::IsTerminal;
    if let Some(c) = std::env::var("GAMEDAY_COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
    {
        return Some(c);
    }
    if !std::io::stdout().is_terminal() {
        return None;
    }
    if let Some(c) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return Some(c);
    }
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we own, on a valid fd.
    let r = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) };
    Some(if r == 0 && ws.ws_col > 0 {
        ws.ws_col
    } else {
        80
    })
}

/// The summary laid out for `width` columns, or unwrapped (`None`).
pub fn summary_table_at(run: &RunReport, width: Option<u16>) -> String {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_header([
        "gate",
        "check",
        "measured",
        "threshold",
        "result",
    ]);
    match width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    for g in &run.gates {
        if let Some(why) = &g.not_run {
            table.add_row([
                format!("{} {}\nNOT RUN", g.id, g.name),
                "—".into(),
                "not run".into(),
                "—".into(),
                why.clone(),
            ]);
            continue;
        }
        for (i, c) in g.checks.iter().enumerate() {
            let gate = if i == 0 {
                format!(
                    "{} {}\n{}",
                    g.id,
                    g.name,
                    if g.passed { "PASS" } else { "FAIL" }
                )
            } else {
                String::new()
            };
            table.add_row([
                gate,
                c.what.clone(),
                c.measured.clone(),
                c.threshold.clone(),
                if c.passed { "ok" } else { "FAIL" }.to_string(),
            ]);
        }
    }
    let mut out = format!(
        "\nscenario {} (seed {}): {}\n{table}\n",
        run.scenario,
        run.seed,
        run.verdict.label()
    );
    let f = &run.evidence.faults;
    if !f.events.is_empty() {
        out.push_str("fault timeline:\n");
        for e in &f.events {
            out.push_str(&format!(
                "  {:>7.1} s  {}\n",
                e.at_ms as f64 / 1000.0,
                e.detail
            ));
        }
    }
    if let Some(why) = &run.aborted {
        out.push_str(&format!("run stopped early: {why}\n"));
    }
    if run.verdict == Verdict::Invalid {
        out.push_str("INVALID run: the rig itself saturated; the gates above are not a verdict.\n");
        for r in &run.validity.reasons {
            out.push_str(&format!("  - {r}\n"));
        }
    }
    out
}
