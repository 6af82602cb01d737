//! The fault gates through the binary. One short `gameday` run (every fault gate on one
//! timeline, one stack) passes T2, T5, T6 and T7 and puts every fault's start and end in
//! all three reports; then each gate broken on purpose turns red with the figure that
//! made it red: a worker that resumes at the stream's tip instead of its commit (T5 lost
//! count), producers without failover (T6 error window), a lease period beyond
//! `takeover_secs_max` (T7 takeover figure). Shorter load and leases, the same thresholds.

use super::short_run;
use serde_json::Value;

/// The check of gate `id` whose `what` contains `what`.
fn check(gate: &Value, what: &str) -> Value {
    gate["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["what"].as_str().unwrap().contains(what))
        .cloned()
        .unwrap_or_else(|| panic!("no check {what:?} in {gate}"))
}

/// The leading number of a measured figure ("12 of 300" → 12, "7.5 s …" → 7.5).
fn leading_number(s: &str) -> f64 {
    let n: String = s
        .trim_start_matches(|c: char| !c.is_ascii_digit())
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    n.parse().unwrap_or_else(|_| panic!("no number in {s:?}"))
}

#[test]
fn a_short_gameday_passes_every_fault_gate_and_reports_the_timeline() {
    let out = short_run(
        "gameday",
        "gameday",
        "0.4",
        &["--set", "delivery_lease_ms=3000"],
    );
    out.assert_passed();
    let run = &out.report()["runs"][0];
    let ids: Vec<&str> = run["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T0", "T2", "T5", "T6", "T7"]);
    // Every fault started and ended, in the JSON events …
    let events = run["evidence"]["faults"]["events"].as_array().unwrap();
    for verb in ["gateway-kill", "shard-pause", "worker-kill", "az-loss"] {
        for kind in ["fault_started", "fault_ended"] {
            assert!(
                events
                    .iter()
                    .any(|e| e["verb"] == verb && e["kind"] == kind),
                "{verb} {kind} in {events:?}"
            );
        }
    }
    // … in JUnit (the suite's system-out) and in the Markdown summary.
    let junit = out.junit();
    assert!(junit.contains("fault timeline:"), "{junit}");
    assert!(junit.contains("gateway-kill gateway-b"), "{junit}");
    let md = std::fs::read_to_string(out.dir.join("summary.md")).unwrap();
    assert!(md.contains("### Fault timeline"), "{md}");
    assert!(md.contains("| az-loss | az c |"), "{md}");
    // … and drawn as bands across report.html's charts, in the report directory and in
    // the run's own directory.
    let html = std::fs::read_to_string(out.dir.join("report.html")).unwrap();
    assert_eq!(html.matches("<figure class=\"chart\">").count(), 5);
    assert_eq!(html.matches("gateway-kill gateway-b\n</text>").count(), 5);
    let runs = std::fs::read_dir(out.dir.join("runs")).unwrap();
    let run_dir = runs.map(|d| d.unwrap().path()).next().unwrap();
    assert!(
        run_dir.join("report.html").is_file(),
        "{}",
        run_dir.display()
    );
    // T5 proved its fault took effect: the backlog built and the shard was replayed.
    let t5 = out.gate("T5");
    let peak = check(&t5, "peak iterator age");
    assert!(
        leading_number(peak["measured"].as_str().unwrap()) > 5.0,
        "{peak}"
    );
}

#[test]
fn t5_turns_red_with_the_lost_count_when_a_worker_resumes_past_its_commit() {
    let out = short_run(
        "t5-red",
        "shard-pause",
        "0.4",
        &[
            "--set",
            "delivery_lease_ms=3000",
            "--set",
            "delivery_resume_at_latest=true",
        ],
    );
    let t5 = out.gate("T5");
    assert_eq!(t5["passed"], false, "{}", out.log());
    let lost = check(&t5, "acked records lost");
    assert_eq!(lost["passed"], false, "{lost}");
    let n = leading_number(lost["measured"].as_str().unwrap());
    assert!(n > 0.0, "lost count is the figure: {lost}");
    assert!(
        out.report()["runs"][0]["evidence"]["audit"]["acked"]
            .as_u64()
            .unwrap()
            > 0
    );
    out.assert_red("T5", "acked records lost");
}

#[test]
fn t6_turns_red_on_the_error_window_when_producers_do_not_fail_over() {
    let out = short_run(
        "t6-red",
        "gateway-kill",
        "0.4",
        &["--set", "producers_failover=false"],
    );
    let t6 = out.gate("T6");
    let window = check(&t6, "error window");
    assert_eq!(window["passed"], false, "{window}\n{}", out.log());
    // The window spans the whole kill (6 s at this scale), beyond the 5 s threshold.
    let secs = leading_number(window["measured"].as_str().unwrap());
    assert!(secs > 5.0, "{window}");
    out.assert_red("T6", "error window");
}

#[test]
fn t7_turns_red_on_the_takeover_figure_with_a_lease_beyond_the_bound() {
    let out = short_run(
        "t7-red",
        "az-loss",
        "0.6",
        &["--set", "delivery_lease_ms=20000"],
    );
    let t7 = out.gate("T7");
    let takeover = check(&t7, "leases moved off the lost AZ");
    assert_eq!(takeover["passed"], false, "{takeover}\n{}", out.log());
    let m = takeover["measured"].as_str().unwrap();
    assert!(
        m.contains("never taken over")
            || leading_number(m.split("after").nth(1).unwrap_or("0")) > 15.0,
        "{takeover}"
    );
    out.assert_red("T7", "leases moved off the lost AZ");
}
