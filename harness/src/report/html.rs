//! `report.html`: one self-contained page per report (no network: styles, charts and the
//! page's own check are inline) — per run the verdict, the gate table, the SLI charts
//! with the fault timeline drawn as bands, the faults and the events.
//!
//! The page checks itself once loaded: it counts the charts the browser laid out with
//! lines in them and the script errors it saw, and writes both on `<body>`
//! (`data-charts`, `data-drawn`, `data-errors`) — what the headless-browser test reads.

use super::charts::{self, Chart};
// XML's escaping is HTML's too (element content and attribute values).
use super::junit::esc;
use super::{Report, RunReport, Verdict};
use std::fmt::Write;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1040px}\
h1{font-size:22px}h2{font-size:18px;margin-top:36px;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:8px 0 16px}td,th{border:1px solid #ddd;padding:4px 8px;\
font-size:13px;text-align:left;vertical-align:top}th{background:#f4f4f4}\
.passed,.ok{color:#1a7f37;font-weight:600}.failed,.fail{color:#c62828;font-weight:600}\
.invalid,.aborted,.notrun{color:#8a6d00;font-weight:600}figure{margin:12px 0}\
figcaption{font-size:14px;font-weight:600;margin-bottom:4px}svg{max-width:100%;height:auto}\
.muted{color:#666;font-size:13px}";

/// The checks `<body>` gets once the page has loaded (see the module's doc).
const SELF_CHECK: &str = "window.__errors=0;\
window.addEventListener('error',function(){window.__errors++;});\
window.addEventListener('load',function(){\
var c=document.querySelectorAll('figure.chart svg');var d=0;\
c.forEach(function(s){var r=s.getBoundingClientRect();\
if(r.width>100&&r.height>50&&s.querySelector('polyline,path,line'))d++;});\
document.body.dataset.charts=c.length;document.body.dataset.drawn=d;\
document.body.dataset.errors=window.__errors;});";

pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>gameday report: {}</title><style>{STYLE}</style><script>{SELF_CHECK}</script>\
         </head><body>\n<h1>gameday report — <span class=\"{}\">{}</span> (exit code {})</h1>\n",
        esc(&names(report)),
        class(report.verdict),
        report.verdict.label(),
        report.exit_code
    );
    for run in &report.runs {
        run_section(&mut out, run);
    }
    out.push_str("</body></html>\n");
    out
}

fn names(report: &Report) -> String {
    report
        .runs
        .iter()
        .map(|r| r.scenario.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn class(v: Verdict) -> &'static str {
    match v {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
        Verdict::Invalid => "invalid",
        Verdict::Aborted => "aborted",
    }
}

fn run_section(out: &mut String, run: &RunReport) {
    let _ = write!(
        out,
        "<section><h2>scenario {} — <span class=\"{}\">{}</span></h2>\n\
         <p class=\"muted\">seed {} · {:.0} s · {} · thresholds {}</p>\n",
        esc(&run.scenario),
        class(run.verdict),
        run.verdict.label(),
        run.seed,
        run.duration_secs,
        esc(&run.scenario_file),
        esc(&run.thresholds_file)
    );
    for p in &run.plan {
        let _ = writeln!(out, "<p class=\"muted\">capacity plan: {}</p>", esc(p));
    }
    if let Some(why) = &run.aborted {
        let _ = writeln!(
            out,
            "<p class=\"aborted\">run stopped early: {}</p>",
            esc(why)
        );
    }
    if run.verdict == Verdict::Invalid {
        out.push_str("<p class=\"invalid\">INVALID run: the rig itself saturated; the gates are not a verdict.</p><ul>");
        for r in &run.validity.reasons {
            let _ = write!(out, "<li>{}</li>", esc(r));
        }
        out.push_str("</ul>\n");
    }
    gate_table(out, run);
    let f = &run.evidence.faults;
    let charts = charts::charts(&f.timeline, &f.records);
    if charts.is_empty() {
        out.push_str("<p class=\"muted\">no SLI timeline was sampled (the stack did not boot or no load ran)</p>\n");
    }
    for Chart { title, svg } in charts {
        let _ = writeln!(
            out,
            "<figure class=\"chart\"><figcaption>{}</figcaption>{svg}</figure>",
            esc(&title)
        );
    }
    fault_table(out, run);
    out.push_str("</section>\n");
}

fn gate_table(out: &mut String, run: &RunReport) {
    out.push_str(
        "<table><tr><th>gate</th><th>check</th><th>measured</th><th>threshold</th><th>result</th></tr>\n",
    );
    for g in &run.gates {
        let head = |verdict: &str, css: &str| {
            format!(
                "{} {}<br><span class=\"{css}\">{verdict}</span>",
                g.id,
                esc(&g.name)
            )
        };
        if let Some(why) = &g.not_run {
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>—</td><td>not run</td><td>—</td><td>{}</td></tr>",
                head("NOT RUN", "notrun"),
                esc(why)
            );
            continue;
        }
        for (i, c) in g.checks.iter().enumerate() {
            let gate = if i == 0 {
                if g.passed {
                    head("PASS", "passed")
                } else {
                    head("FAIL", "failed")
                }
            } else {
                String::new()
            };
            let (verdict, css) = if c.passed {
                ("ok", "ok")
            } else {
                ("FAIL", "fail")
            };
            let _ = writeln!(
                out,
                "<tr><td>{gate}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"{css}\">{verdict}</td></tr>",
                esc(&c.what),
                esc(&c.measured),
                esc(&c.threshold)
            );
        }
    }
    out.push_str("</table>\n");
}

fn fault_table(out: &mut String, run: &RunReport) {
    let f = &run.evidence.faults;
    if f.records.is_empty() && f.events.is_empty() {
        return;
    }
    let secs = |ms: Option<u64>| ms.map_or("—".into(), |m| format!("{:.1}", m as f64 / 1000.0));
    out.push_str(
        "<h3>faults</h3><table><tr><th>#</th><th>verb</th><th>target</th><th>source</th>\
                  <th>state</th><th>start s</th><th>end s</th><th>why it ended</th></tr>\n",
    );
    for r in &f.records {
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.id,
            r.verb,
            esc(&r.target),
            format!("{:?}", r.source).to_lowercase(),
            format!("{:?}", r.state).to_lowercase(),
            secs(r.started_ms),
            secs(r.ended_ms),
            esc(r.error.as_deref().or(r.end_reason.as_deref()).unwrap_or(""))
        );
    }
    out.push_str("</table><h3>events</h3><table><tr><th>s</th><th>event</th></tr>\n");
    for e in &f.events {
        let _ = writeln!(
            out,
            "<tr><td>{:.1}</td><td>{}</td></tr>",
            e.at_ms as f64 / 1000.0,
            esc(&e.detail)
        );
    }
    out.push_str("</table>\n");
}
