//! The e2e bench's judgement of a step, on hand-built evidence: a step is sustained only
//! when every `[e2e]` check passes, and its failures carry the figure that failed it.

use super::*;
use crate::evidence::{LoadCpu, RunEvidence};
use crate::gates::{self, fixtures};
use crate::report::Verdict;
use crate::scenario::Thresholds;

/// A one-step run at `rate` samples/s for 20 s that acked everything.
fn evidence(rate: f64) -> RunEvidence {
    let mut ev = fixtures::passing();
    let mut step = fixtures::step("steady", 1.0, 20.0, 2.0);
    step.items_offered = (rate * 20.0) as u64;
    step.items_acked = step.items_offered;
    ev.steps = vec![step];
    let audit = ev.audit.as_mut().unwrap();
    audit.acked = (rate * 20.0) as u64;
    audit.stored_rows = audit.acked;
    let cores = [
        ("gateway-a", 0.3),
        ("gateway-b", 0.3),
        ("delivery-a", 0.1),
        ("delivery-b", 0.1),
        ("query", 0.2),
        ("harness", 0.4),
    ];
    // CPU seconds over a window longer than the 20 s step (the canaries' tail): the
    // cores are per second of the step.
    ev.load_cpu = Some(LoadCpu {
        secs: 23.0,
        cpu_seconds: cores
            .iter()
            .map(|(n, c)| (n.to_string(), c * 20.0))
            .collect(),
        machine_busy_seconds: 30.0,
    });
    ev
}

fn report(ev: RunEvidence) -> RunReport {
    let th = fixtures::thresholds();
    RunReport {
        scenario: "e2e".into(),
        scenario_file: "scenarios/e2e.toml".into(),
        thresholds_file: "scenarios/thresholds.toml".into(),
        seed: 1,
        verdict: Verdict::Passed,
        duration_secs: 40.0,
        plan: vec![],
        validity: gates::validity(&ev, &th),
        gates: vec![],
        aborted: None,
        run_dir: None,
        evidence: ev,
    }
}

fn th() -> Thresholds {
    fixtures::thresholds()
}

fn failed(s: &Step) -> Vec<&Check> {
    s.checks.iter().filter(|c| !c.passed).collect()
}

#[test]
fn a_clean_step_is_sustained_at_its_acked_rate() {
    let s = Step::of(300_000.0, &report(evidence(300_000.0)), &th());
    assert!(s.sustained(), "{:?}", failed(&s));
    assert_eq!(s.acked_per_sec, 300_000.0);
    assert!((s.cores_of("gateway") - 0.6).abs() < 1e-9);
    assert!((s.cores_of("delivery") - 0.2).abs() < 1e-9);
    assert!((s.machine_cores - 1.5).abs() < 1e-9);
}

#[test]
fn a_lost_sample_fails_the_step_with_the_count() {
    let mut ev = evidence(300_000.0);
    ev.audit.as_mut().unwrap().lost = 3;
    let s = Step::of(300_000.0, &report(ev), &th());
    assert!(!s.sustained());
    let f = failed(&s);
    assert_eq!(f.len(), 1);
    assert!(f[0].what.contains("lost"), "{}", f[0]);
    assert_eq!(f[0].value, Some(3.0));
}

#[test]
fn quota_429s_or_a_short_ack_share_fail_the_step() {
    let mut ev = evidence(400_000.0);
    let st = &mut ev.steps[0];
    st.items_acked = st.items_offered * 97 / 100;
    st.items_rejected.insert("quota_exceeded".into(), 5_000);
    let s = Step::of(400_000.0, &report(ev), &th());
    let f = failed(&s);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(f[0].value, Some(7_760_000.0));
    assert_eq!(f[0].of, Some(8_000_000.0));
    assert_eq!(f[1].value, Some(5_000.0));
}

#[test]
fn stale_data_a_saturated_machine_or_no_audit_fail_the_step() {
    let mut ev = evidence(500_000.0);
    ev.probes.freshness.p99_ms = 7_250.0;
    ev.self_check.machine_cpu_utilisation = 0.995;
    ev.audit = None;
    let s = Step::of(500_000.0, &report(ev), &th());
    let f: Vec<String> = failed(&s).iter().map(|c| c.to_string()).collect();
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(f[0].contains("7250 ms"), "{f:?}");
    assert!(f[1].contains("no audit"), "{f:?}");
    assert!(
        f[2].contains("machine CPU utilisation: measured 99.5 %"),
        "{f:?}"
    );
}

#[test]
fn the_figure_is_the_best_sustained_step_never_a_failed_one() {
    let ok = Step::of(200_000.0, &report(evidence(200_000.0)), &th());
    let mut ev = evidence(300_000.0);
    ev.audit.as_mut().unwrap().lost = 1;
    let lost = Step::of(300_000.0, &report(ev), &th());
    let f = figures(&[ok, lost], &th().e2e);
    let get = |n: &str| f.figures.iter().find(|x| x.name == n).map(|x| x.value);
    assert_eq!(get("e2e.max_sustained"), Some(200_000.0));
    // 0.6 gateway cores and 1.5 machine cores at 200,000 samples/s.
    let close = |n: &str, v: f64| (get(n).unwrap() - v).abs() < 1e-9;
    assert!(close("e2e.cores_per_100k.gateway", 0.3), "{f:?}");
    assert!(close("e2e.cores_per_100k.machine", 0.75), "{f:?}");
    let target = f.figures[0].target;
    assert_eq!(target, Some(th().e2e.max_sustained_target));

    let mut ev = evidence(100_000.0);
    ev.audit.as_mut().unwrap().lost = 1;
    let none = figures(&[Step::of(100_000.0, &report(ev), &th())], &th().e2e);
    assert_eq!(none.figures.len(), 1);
    assert_eq!(none.figures[0].value, 0.0);
}

#[test]
fn a_rig_that_offered_less_than_the_rate_does_not_count_as_sustaining_it() {
    // The producers put 1,498 instead of 2,000 samples in each request: 75 % offered,
    // all of it acked.
    let mut ev = evidence(200_000.0);
    let st = &mut ev.steps[0];
    st.items_offered = 2_996_000;
    st.items_acked = 2_996_000;
    let s = Step::of(200_000.0, &report(ev), &th());
    let f = failed(&s);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].what.contains("offered"), "{}", f[0]);
    assert_eq!(f[0].value, Some(2_996_000.0));
    assert_eq!(f[0].of, Some(4_000_000.0));
}

#[test]
fn a_canary_that_never_became_visible_fails_the_step_though_freshness_is_fine() {
    let mut ev = evidence(200_000.0);
    ev.probes.canaries_visible = ev.probes.canaries_sent - 1;
    let s = Step::of(200_000.0, &report(ev), &th());
    let f = failed(&s);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].what.contains("canaries visible"), "{}", f[0]);
    assert_eq!(f[0].value, Some(119.0));
}

#[test]
fn a_run_stopped_by_a_stop_condition_is_not_sustained() {
    let mut ev = evidence(200_000.0);
    ev.faults.stopped_by = Some(crate::faults::stop::Tripped {
        condition: "freshness_p99_ms > 10000".into(),
        figure: 12_000.0,
        at_ms: 9_000,
        since_ms: 4_000,
    });
    let s = Step::of(200_000.0, &report(ev), &th());
    let f = failed(&s);
    assert!(f[0].measured.contains("stop condition"), "{f:?}");
}
