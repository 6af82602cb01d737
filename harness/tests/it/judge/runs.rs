//! Short baseline, burst and hygiene runs through the binary (shorter steps, lower base
//! rate, the shipped thresholds) pass and leave report.json, junit.xml and summary.md.

use super::short_run;

#[test]
fn short_baseline_passes_t0_t1_and_writes_the_reports() {
    let out = short_run("baseline", "baseline", "0.25", &[]);
    out.assert_passed();
    assert!(
        out.stdout.contains("seed 7"),
        "seed printed:\n{}",
        out.log()
    );
    assert!(out.stdout.contains("booted in"), "{}", out.log());
    assert!(out.stdout.contains("capacity plan:"), "{}", out.log());
    let r = out.report();
    let run = &r["runs"][0];
    assert_eq!(run["scenario"], "baseline");
    assert_eq!(run["seed"], 7);
    let ids: Vec<&str> = run["gates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["T0", "T1"]);
    assert!(run["evidence"]["steps"][0]["items_acked"].as_u64().unwrap() > 0);
    assert_eq!(run["evidence"]["audit"]["lost"], 0);
    let junit = out.junit();
    assert_eq!(junit.matches("<testcase ").count(), 2, "{junit}");
    // JUnit fails exactly the red gates (at most T1, on its TTFB figure: see assert_passed).
    let t1_red = out.gate("T1")["passed"] == false;
    assert_eq!(
        junit.matches("<failure").count(),
        usize::from(t1_red),
        "{junit}"
    );
    if t1_red {
        assert!(junit.contains("TTFB p99"), "{junit}");
    }
    let md = std::fs::read_to_string(out.dir.join("summary.md")).unwrap();
    assert!(md.contains("| **T1** 1x baseline |"), "{md}");
}

#[test]
fn short_burst_passes_t2() {
    let out = short_run("burst", "burst", "0.15", &[]);
    out.assert_passed();
    let run = &out.report()["runs"][0];
    let steps: Vec<&str> = run["evidence"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(steps, ["1x", "3x", "5x", "settle", "after"]);
    // At 5× the quotas (4×) shed the excess with 429 + Retry-After.
    let peak = &run["evidence"]["steps"][2];
    assert!(
        peak["status_counts"]["429"].as_u64().unwrap_or(0) > 0,
        "{peak}"
    );
}

#[test]
fn short_hygiene_passes_t3() {
    let out = short_run("hygiene", "hygiene", "0.25", &[]);
    out.assert_passed();
    let h = &out.report()["runs"][0]["evidence"]["hygiene"];
    for class in ["pii", "unknown_label", "high_cardinality", "bad_schema"] {
        assert!(
            h["bad_sent"][class].as_u64().unwrap_or(0) > 0,
            "{class}: {h}"
        );
    }
}
