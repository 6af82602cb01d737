//! Reports from hand-built evidence: verdicts and exit codes, and the three files CI reads.

use super::*;
use crate::gates::fixtures::{passing, thresholds};
use crate::gates::{GateId, evaluate_all, validity};

fn run_of(ev: RunEvidence) -> RunReport {
    let th = thresholds();
    let gates = evaluate_all(&[GateId::T0, GateId::T1, GateId::T2, GateId::T3], &ev, &th);
    let validity = validity(&ev, &th);
    RunReport {
        scenario: ev.scenario.clone(),
        scenario_file: "scenarios/burst.toml".into(),
        thresholds_file: "scenarios/thresholds.toml".into(),
        seed: ev.seed,
        verdict: RunReport::verdict_of(&validity, &gates, false),
        duration_secs: 123.4,
        plan: vec!["4 shards carry 4,000 records/s; quotas admit 80,000 samples/s".into()],
        validity,
        gates,
        aborted: None,
        run_dir: None,
        evidence: ev,
    }
}

fn temp(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("gameday-report-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn verdicts_and_exit_codes() {
    let pass = run_of(passing());
    assert_eq!(pass.verdict, Verdict::Passed);
    let mut ev = passing();
    ev.audit.as_mut().unwrap().lost = 3;
    let red = run_of(ev);
    assert_eq!(red.verdict, Verdict::Failed);
    let mut ev = passing();
    ev.self_check.scheduling_lag.p99_ms = 500.0;
    ev.audit.as_mut().unwrap().lost = 3;
    let invalid = run_of(ev);
    assert_eq!(
        invalid.verdict,
        Verdict::Invalid,
        "invalid wins over red in one run"
    );

    assert_eq!(Report::new(vec![pass.clone()]).exit_code, 0);
    assert_eq!(Report::new(vec![pass.clone(), red.clone()]).exit_code, 1);
    assert_eq!(
        Report::new(vec![pass.clone(), invalid.clone()]).exit_code,
        3
    );
    assert_eq!(
        Report::new(vec![invalid, red]).exit_code,
        1,
        "a proven red beats an unknown"
    );
}

#[test]
fn files_carry_the_failing_figure_and_its_threshold() {
    let mut ev = passing();
    ev.steps[2].items_acked = 2_000_000;
    ev.audit.as_mut().unwrap().pii_found = vec!["<script>&\"x\"@example.com".into()];
    let report = Report::new(vec![run_of(ev)]);
    let dir = temp("files");
    report.write(&dir).unwrap();

    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["exit_code"], 1);
    assert_eq!(json["verdict"], "failed");
    let run = &json["runs"][0];
    assert_eq!(run["seed"], 42);
    assert_eq!(run["evidence"]["steps"][2]["name"], "5x");
    let t2 = run["gates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == "T2")
        .unwrap();
    assert_eq!(t2["passed"], false);
    assert!(t2["measured"].as_str().unwrap().contains("83.3333 %"));
    assert!(t2["threshold"].as_str().unwrap().contains("≥ 95 %"));

    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        4,
        "one testcase per gate"
    );
    assert!(
        xml.contains("tests=\"4\" failures=\"2\" errors=\"0\""),
        "{xml}"
    );
    assert!(xml.contains("name=\"T2 burst 3x/5x\""));
    let failure = xml
        .lines()
        .find(|l| l.contains("<failure") && l.contains("goodput"))
        .unwrap();
    assert!(failure.contains("measured 83.3333 %"), "{failure}");
    assert!(
        failure.contains("threshold ≥ 95 % of min(offered, quota)"),
        "{failure}"
    );
    assert!(
        xml.contains("&lt;script&gt;&amp;&quot;x&quot;@example.com"),
        "escaped: {xml}"
    );
    assert!(!xml.contains("<script>"));

    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.starts_with("# gameday: FAILED (exit code 1)"), "{md}");
    assert!(md.contains("| **T2** burst 3x/5x |"), "{md}");
    assert!(md.contains("**FAIL**"));
    assert!(md.contains("seed `42`"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_invalid_run_is_an_error_in_junit_not_a_failure() {
    let mut ev = passing();
    ev.self_check.invalid = true;
    ev.self_check.invalid_reason = Some("harness CPU 1.9 cores".into());
    let report = Report::new(vec![run_of(ev)]);
    assert_eq!(report.exit_code, 3);
    let dir = temp("invalid");
    report.write(&dir).unwrap();
    let xml = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
    assert!(xml.contains("failures=\"0\" errors=\"4\""), "{xml}");
    assert!(
        xml.contains("invalid run: rig self-check: measured harness CPU 1.9 cores"),
        "{xml}"
    );
    let md = std::fs::read_to_string(dir.join("summary.md")).unwrap();
    assert!(md.contains("Invalid run"));
    let table = summary_table(&report.runs[0]);
    assert!(table.contains("INVALID run"), "{table}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn xml_escaping_keeps_the_file_well_formed() {
    assert_eq!(junit::esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
    assert_eq!(junit::esc("x\u{1}y\nz"), "x\u{FFFD}y&#10;z");
}

#[test]
fn gates_not_run_are_skipped_not_passed_and_an_aborted_run_exits_4() {
    let mut run = run_of(passing());
    run.gates.push(crate::gates::GateResult::not_run(
        GateId::T4,
        "dashboard replay is not built yet",
    ));
    run.verdict = RunReport::verdict_of(&run.validity, &run.gates, false);
    assert_eq!(run.verdict, Verdict::Passed, "a gate not run fails nothing");
    let junit = junit::render(&Report::new(vec![run.clone()]));
    assert!(junit.contains("skipped=\"1\""), "{junit}");
    assert!(
        junit.contains("<skipped message=\"not run: dashboard replay is not built yet\"/>"),
        "{junit}"
    );
    let md = markdown::render(&Report::new(vec![run.clone()]));
    assert!(
        md.contains("| **T4** dashboard replay | — | not run |"),
        "{md}"
    );
    assert!(summary_table(&run).contains("NOT RUN"));

    let aborted = RunReport {
        verdict: RunReport::verdict_of(&run.validity, &run.gates, true),
        ..run
    };
    assert_eq!(aborted.verdict, Verdict::Aborted);
    assert_eq!(Report::new(vec![aborted]).exit_code, 4);
}

/// Issue 19: at a fixed 120 columns the table wrapped every row in a 100-column
/// terminal. Laid out for the terminal's width, no line is wider than it; piped, no cell
/// wraps (the longest check stays on one line).
#[test]
fn the_summary_fits_80_100_and_120_columns_and_is_full_width_when_piped() {
    let run = run_of(passing());
    for width in [80u16, 100, 120] {
        let text = summary_table_at(&run, Some(width));
        let widest = text.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width as usize, "{widest} > {width}:\n{text}");
        assert!(text.contains("T2"), "{text}");
    }
    let piped = summary_table_at(&run, None);
    let longest = run
        .gates
        .iter()
        .flat_map(|g| &g.checks)
        .map(|c| c.what.as_str())
        .max_by_key(|w| w.len())
        .unwrap();
    assert!(
        piped.lines().any(|l| l.contains(longest)),
        "{longest:?} unwrapped in:\n{piped}"
    );
}
