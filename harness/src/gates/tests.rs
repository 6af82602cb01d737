//! Each gate over hand-built evidence: passes on a good run, and each way it can fail turns
//! it red with the failing figure named.

use super::fixtures::{passing, step, thresholds};
use super::*;

fn judge(id: GateId, ev: &RunEvidence) -> GateResult {
    evaluate(id, ev, &thresholds())
}

/// The gate is red and its failure message names `what` and contains `figure`.
fn assert_red(r: &GateResult, what: &str, figure: &str) {
    assert!(!r.passed, "{} should be red: {:#?}", r.id, r.details);
    let msg = r.failure_message().unwrap();
    assert!(
        msg.contains(what),
        "{} failure should name {what:?}: {msg}",
        r.id
    );
    assert!(
        msg.contains(figure),
        "{} failure should carry {figure:?}: {msg}",
        r.id
    );
    assert!(r.measured.contains(figure), "measured: {}", r.measured);
}

/// The check of `r` whose label starts with `what`.
fn check<'a>(r: &'a GateResult, what: &str) -> &'a Check {
    r.checks
        .iter()
        .find(|c| c.what.starts_with(what))
        .unwrap_or_else(|| panic!("{} has no check {what:?}: {:#?}", r.id, r.details))
}

#[test]
fn a_good_run_passes_every_gate_it_carries_evidence_for() {
    // T0–T3 from the load and the audit; the fault gates have their own fixtures
    // (fault_tests.rs); T4 and T8 are not built yet.
    let ev = passing();
    for id in [GateId::T0, GateId::T1, GateId::T2, GateId::T3] {
        let r = judge(id, &ev);
        assert!(r.passed, "{id}: {:#?}", r.details);
        assert!(r.failure_message().is_none());
    }
    assert!(validity(&ev, &thresholds()).valid);
}

#[test]
fn t0_red_when_the_stack_did_not_boot() {
    let mut ev = passing();
    ev.stack_booted = false;
    assert_red(&judge(GateId::T0, &ev), "stack booted", "did not boot");
}

#[test]
fn t0_red_when_a_canary_never_becomes_visible() {
    let mut ev = passing();
    *ev.probes
        .per_shard_ms
        .get_mut("studio-b/shardId-000000000002")
        .unwrap() = None;
    let r = judge(GateId::T0, &ev);
    assert_red(&r, "canaries visible", "11 of 12");
    assert!(r.measured.contains("studio-b/shardId-000000000002"));
    let c = check(&r, "tenant/shard canaries visible");
    assert_eq!((c.value, c.of), (Some(11.0), Some(12.0)));
}

#[test]
fn t0_red_when_no_canary_was_probed() {
    let mut ev = passing();
    ev.probes = Default::default();
    let r = judge(GateId::T0, &ev);
    assert_red(&r, "canaries visible", "no data");
    assert_eq!(
        check(&r, "canaries visible").value,
        None,
        "nothing measured"
    );
}

#[test]
fn t1_red_on_a_single_429_at_1x() {
    let mut ev = passing();
    ev.steps[0].status_counts.insert(429, 1);
    assert_red(&judge(GateId::T1, &ev), "429 at 1×", "1");
}

#[test]
fn t1_red_when_2xx_below_99_9_percent() {
    let mut ev = passing();
    // 800 requests at 1×: 2 answered 500 → 99.75 %.
    ev.steps[0].status_counts.insert(200, 798);
    ev.steps[0].status_counts.insert(500, 2);
    assert_red(
        &judge(GateId::T1, &ev),
        "2xx at 1×",
        "99.875 % (1598 of 1600)",
    );
}

#[test]
fn t1_red_on_slow_ttfb_or_stale_data() {
    let mut ev = passing();
    ev.steps[3].ttfb_all.p99_ms = 31.0;
    assert_red(&judge(GateId::T1, &ev), "gateway TTFB p99 at 1×", "31 ms");
    let mut ev = passing();
    ev.probes.freshness.p99_ms = 4_200.0;
    assert_red(&judge(GateId::T1, &ev), "freshness p99", "4200 ms");
    let mut ev = passing();
    ev.probes.freshness.count = 0;
    assert_red(
        &judge(GateId::T1, &ev),
        "freshness p99",
        "no canary became visible",
    );
}

#[test]
fn t1_red_without_a_1x_step() {
    let mut ev = passing();
    ev.steps.retain(|s| s.multiplier != 1.0);
    assert_red(&judge(GateId::T1, &ev), "1× load", "no step at 1×");
}

#[test]
fn t2_red_on_a_429_at_3x() {
    let mut ev = passing();
    ev.steps[1].status_counts.insert(429, 3);
    ev.steps[1].throttled_with_retry_after = 3;
    assert_red(&judge(GateId::T2, &ev), "429 at [3x] (absorbed)", "3");
}

#[test]
fn t2_red_when_goodput_at_5x_is_short() {
    let mut ev = passing();
    // quota admits 2,400,000 items; acked 2,000,000 → 83.3333 %.
    ev.steps[2].items_acked = 2_000_000;
    assert_red(&judge(GateId::T2, &ev), "goodput at [5x]", "83.3333 %");
}

#[test]
fn t2_red_when_the_excess_is_shed_without_retry_after() {
    let mut ev = passing();
    ev.steps[2].throttled_with_retry_after = 1_000; // of 1,200 429s
    let r = judge(GateId::T2, &ev);
    assert_red(&r, "429 without Retry-After", "200 (of 1200 429s)");
}

#[test]
fn t2_red_on_any_5xx_even_503_with_retry_after() {
    let mut ev = passing();
    ev.steps[2].status_counts.insert(503, 4);
    ev.steps[2].server_errors_with_retry_after = 4;
    assert_red(&judge(GateId::T2, &ev), "5xx of any kind", "4 (503: 4");
}

#[test]
fn t2_red_on_transport_errors() {
    let mut ev = passing();
    ev.steps[1].status_counts.insert(0, 2);
    assert_red(&judge(GateId::T2, &ev), "transport errors", "2");
}

#[test]
fn t2_red_on_acked_loss_duplicates_or_phantoms() {
    for (field, what) in [
        (0, "acked records lost"),
        (1, "delivery duplicates"),
        (2, "phantoms"),
    ] {
        let mut ev = passing();
        let a = ev.audit.as_mut().unwrap();
        match field {
            0 => a.lost = 7,
            1 => a.delivery_duplicates = 7,
            _ => a.phantoms = 7,
        }
        let r = judge(GateId::T2, &ev);
        assert_red(&r, what, "7");
        assert_eq!(check(&r, what).value, Some(7.0));
    }
    let r = judge(GateId::T2, &passing());
    let acked = passing().audit.unwrap().acked as f64;
    let lost = check(&r, "acked records lost");
    assert_eq!((lost.value, lost.of), (Some(0.0), Some(acked)));
    // No audit: the same label, red, but no figure — a test can tell it from a measured loss.
    let mut ev = passing();
    ev.audit = None;
    let r = judge(GateId::T2, &ev);
    assert_red(&r, "acked records lost", "no storage audit");
    assert_eq!(check(&r, "acked records lost").value, None);
}

#[test]
fn t2_red_when_slis_do_not_recover_after_the_burst() {
    let mut ev = passing();
    ev.steps[3].ttfb_all.p99_ms = 80.0;
    assert_red(&judge(GateId::T2, &ev), "TTFB p99 after the burst", "80 ms");
    let mut ev = passing();
    ev.steps[3].freshness.as_mut().unwrap().p99_ms = 9_000.0;
    assert_red(
        &judge(GateId::T2, &ev),
        "freshness p99 after the burst",
        "9000 ms",
    );
    let mut ev = passing();
    ev.steps.pop();
    assert_red(&judge(GateId::T2, &ev), "after the burst", "no step");
}

#[test]
fn t2_skips_a_settling_step_but_still_judges_the_step_after_it() {
    let mut ev = passing();
    let mut settle = ev.steps[3].clone();
    settle.name = "settle".into();
    settle.settle = true;
    settle.status_counts.insert(429, 9);
    settle.throttled_with_retry_after = 9;
    ev.steps.insert(3, settle);
    let r = judge(GateId::T2, &ev);
    assert!(r.passed, "{r:?}");
    ev.steps[4].status_counts.insert(429, 1);
    ev.steps[4].throttled_with_retry_after = 1;
    assert_red(&judge(GateId::T2, &ev), "429 after the burst [after]", "1");
}

#[test]
fn t2_red_on_slow_admitted_requests_at_the_peak() {
    let mut ev = passing();
    ev.steps[2].ttfb_admitted.p99_ms = 140.0;
    assert_red(
        &judge(GateId::T2, &ev),
        "TTFB p99 of admitted requests at [5x]",
        "140 ms",
    );
}

#[test]
fn t2_without_a_3x_step_is_red_not_vacuous() {
    let mut ev = passing();
    ev.steps = vec![step("1x", 1.0, 10.0, 4.0), step("after", 1.0, 10.0, 4.0)];
    let r = judge(GateId::T2, &ev);
    assert!(!r.passed);
    assert!(r.failure_message().unwrap().contains("absorbed step"));
}

#[test]
fn t3_red_when_a_bad_class_gets_through() {
    for class in ["pii", "unknown_label", "high_cardinality", "bad_schema"] {
        let mut ev = passing();
        ev.hygiene.bad_rejected.insert(class.into(), 49);
        assert_red(
            &judge(GateId::T3, &ev),
            &format!("{class} rejected"),
            "98 % (49 of 50)",
        );
    }
    let mut ev = passing();
    ev.hygiene.bad_sent.remove("bad_schema");
    assert_red(&judge(GateId::T3, &ev), "bad_schema rejected", "no data");
}

#[test]
fn t3_red_on_false_rejects_above_0_01_percent() {
    let mut ev = passing();
    ev.hygiene.clean_rejected = 101; // of 1,000,000
    assert_red(
        &judge(GateId::T3, &ev),
        "clean items falsely rejected",
        "0.0101 %",
    );
    let mut ev = passing();
    ev.hygiene.clean_rejected = 100;
    assert!(judge(GateId::T3, &ev).passed);
}

#[test]
fn t3_red_when_planted_pii_is_found_in_storage() {
    let mut ev = passing();
    ev.audit.as_mut().unwrap().pii_found =
        vec!["jane.doe@example.com in metrics/tenant=studio-a".into()];
    let r = judge(GateId::T3, &ev);
    assert_red(&r, "planted PII found in storage", "1 (of 50 planted");
    assert!(r.measured.contains("jane.doe@example.com"));
    let c = check(&r, "planted PII found in storage");
    assert_eq!((c.value, c.of), (Some(1.0), Some(50.0)));
    let mut ev = passing();
    ev.audit = None;
    let r = judge(GateId::T3, &ev);
    assert_eq!(check(&r, "planted PII found in storage").value, None);
    let mut ev = passing();
    ev.hygiene.planted_pii = 0;
    assert_red(
        &judge(GateId::T3, &ev),
        "planted PII",
        "nothing to search for",
    );
}

#[test]
fn t3_red_on_labels_outside_the_allowlist() {
    let mut ev = passing();
    ev.audit.as_mut().unwrap().labels_outside_allowlist = vec!["player_name".into()];
    assert_red(
        &judge(GateId::T3, &ev),
        "labels outside the allowlist",
        "player_name",
    );
}

#[test]
fn a_saturated_rig_makes_the_run_invalid_not_red() {
    let th = thresholds();
    let mut ev = passing();
    ev.self_check.scheduling_lag.p99_ms = 400.0;
    let v = validity(&ev, &th);
    assert!(!v.valid);
    assert!(v.reasons[0].contains("400 ms"), "{:?}", v.reasons);
    let mut ev = passing();
    ev.steps[2].requests_dropped = 100;
    let v = validity(&ev, &th);
    assert!(!v.valid);
    assert!(v.reasons[0].contains("send queue"), "{:?}", v.reasons);
    let mut ev = passing();
    ev.self_check.invalid = true;
    ev.self_check.invalid_reason = Some("harness CPU 100 %".into());
    assert!(validity(&ev, &th).reasons[0].contains("harness CPU 100 %"));
    // The gates themselves are judged as usual.
    assert!(judge(GateId::T1, &ev).passed);
}

#[test]
fn gate_ids_parse_case_insensitively_and_unknown_ones_list_the_known() {
    assert_eq!("t2".parse::<GateId>().unwrap(), GateId::T2);
    assert_eq!("t7".parse::<GateId>().unwrap(), GateId::T7);
    let e = "T9".parse::<GateId>().unwrap_err();
    assert!(e.contains("T0, T1, T2, T3, T4, T5, T6, T7, T8"), "{e}");
}
