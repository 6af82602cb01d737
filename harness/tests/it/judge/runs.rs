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

/// `gameday status --watch --json` against a running scenario: the gates' live board
/// while it runs (T0 pending until the drain), then the stream's last snapshot carries
/// the verdicts the report has.
#[tokio::test]
async fn the_status_stream_shows_the_gates_live_and_ends_with_their_verdicts() {
    let _one = crate::HEAVY.lock().await;
    let dir = super::temp_dir("status-verdicts");
    let mut run = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["scenario", "baseline", "--duration-scale", "0.1"])
        .args([
            "--base-rate",
            "4000",
            "--seed",
            "7",
            "--report-dir",
            "report",
        ])
        .env("GAMEDAY_SCENARIOS", super::scenarios_dir())
        .current_dir(&dir)
        .stdout(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pointer = dir.join(".gameday/control.json");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while !pointer.exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "no control.json in 90 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["status", "--watch", "--json"])
        .current_dir(&dir)
        .output();
    let watch = tokio::time::timeout(std::time::Duration::from_secs(180), watch)
        .await
        .expect("the stream ends with the run")
        .unwrap();
    let code = run.wait().await.unwrap().code();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&watch.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let state = |s: &serde_json::Value, id: &str| {
        s["gates"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["id"] == id)
            .map(|g| g["state"].as_str().unwrap().to_string())
            .unwrap()
    };
    let first = lines.first().expect("at least one snapshot");
    assert_eq!(state(first, "T0"), "pending", "{first}");
    assert!(
        ["watching", "at risk"].contains(&state(first, "T1").as_str()),
        "{first}"
    );
    let last = lines.last().unwrap();
    assert_eq!(last["running"], false, "{last}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report/report.json")).unwrap())
            .unwrap();
    for g in report["runs"][0]["gates"].as_array().unwrap() {
        let id = g["id"].as_str().unwrap();
        let verdict = if g["passed"] == true {
            "passed"
        } else {
            "failed"
        };
        assert_eq!(state(last, id), verdict, "{id}: {last}");
    }
    assert!(code.is_some(), "the scenario ended by itself");
}
