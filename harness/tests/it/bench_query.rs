//! `gameday bench query` end to end through the binary at a tiny size: it commits data,
//! runs every panel query, prints the figures table and writes the figures file; a second
//! run compares with the first. Speed is not asserted (figures are for the benchmark).

use std::process::Command;

fn bench_query(baseline: &std::path::Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args([
            "bench",
            "query",
            "--rows",
            "200000",
            "--iterations",
            "3",
            "--baseline",
        ])
        .arg(baseline)
        .output()
        .expect("running gameday bench query");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bench_query_prints_figures_and_saves_them() {
    let _heavy = crate::HEAVY.blocking_lock();
    let dir = std::env::temp_dir().join(format!("gameday-it-{}-bench-query", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let baseline = dir.join("q.json");

    let (code, stdout, stderr) = bench_query(&baseline);
    let log = format!("exit {code}\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert_eq!(code, 0, "{log}");
    for want in [
        "figure",
        "1h.players_by_region.p95",
        "12h.samples_per_min.p99",
        "12h.objects_pruned",
        "12h.all.cpu",
        "12h.cache_hits",
        "dashboard_le_12h.p95",
        "dashboard_le_12h.first_view.p95",
        "12h.top_metrics.first",
        "errors",
    ] {
        assert!(stdout.contains(want), "{want:?} missing\n{log}");
    }
    assert!(stderr.contains("phase 1 took"), "{log}");
    // Warming is on by default: every committed object's panel states were computed.
    assert!(
        stderr.contains("warming: the panels' partial states of all"),
        "{log}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).unwrap()).unwrap();
    let figures = saved["figures"].as_array().unwrap();
    let errors = figures.iter().find(|f| f["name"] == "errors").unwrap();
    assert_eq!(errors["value"], 0.0, "{log}");
    // The object cache is on by default: measured runs read the objects from memory.
    let hits = figures
        .iter()
        .find(|f| f["name"] == "12h.cache_hits")
        .unwrap();
    assert!(hits["value"].as_f64().unwrap() > 0.0, "{log}");
    // Refreshes take the states of objects the moving range covers whole from the
    // partials cache and aggregate the objects it cuts again.
    let value = |name: &str| {
        figures
            .iter()
            .find(|f| f["name"] == name)
            .and_then(|f| f["value"].as_f64())
            .unwrap_or_else(|| panic!("{name} missing\n{log}"))
    };
    assert!(value("12h.partials_cached") > 0.0, "{log}");
    assert!(value("12h.partials_computed") > 0.0, "{log}");

    // The same seed commits the same data: the second run compares with the first.
    let (code, stdout, stderr) = bench_query(&baseline);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let line = stdout
        .lines()
        .find(|l| l.starts_with("data.samples"))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("+0.0%"), "{line}");
}
