//! The summary table printed at the end of a run: one row per check of each gate, the
//! verdict, and why a run is invalid.

use super::{RunReport, Verdict};
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};

pub fn summary_table(run: &RunReport) -> String {
    let mut table = Table::new();
    table
        .load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(120)
        .set_header(["gate", "check", "measured", "threshold", "result"]);
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
