//! `gameday bench delivery` end to end at a tiny size through the binary: it exits 0,
//! prints the figures table (rows/s with its target) and writes the figures file. Speed
//! is not asserted here; the bench itself fails when committed rows != rows put.

use std::process::Command;

#[test]
fn bench_delivery_prints_figures_and_saves_them() {
    let _heavy = crate::HEAVY.blocking_lock();
    let dir = crate::judge::temp_dir("bench-delivery");
    let baseline = dir.join("d.json");
    let out = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["bench", "delivery", "--rows", "20000", "--baseline"])
        .arg(&baseline)
        .output()
        .expect("running gameday");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let log = format!("--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}");
    assert_eq!(out.status.code(), Some(0), "{log}");
    for figure in [
        "delivery.rows_per_sec",
        "delivery.rows_per_sec_committing",
        "delivery.parquet_bytes_per_row",
        "delivery.worker_cpu",
        "delivery.committed_objects",
        "delivery.machine_busy",
    ] {
        assert!(stdout.contains(figure), "table lacks {figure}\n{log}");
    }
    assert!(stdout.contains("1,000,000"), "target printed\n{log}");
    assert!(stderr.contains("verified from the commit chains"), "{log}");
    // Where the bound is: the machine's busy cores and what paced reading alone allows.
    assert!(stderr.contains("cores busy"), "{log}");
    assert!(
        stderr.contains("read ceiling at this shape: 4 shards x 5 GetRecords/s"),
        "{log}"
    );
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&baseline).expect("figures file"))
            .expect("figures JSON");
    let names: Vec<&str> = saved["figures"]
        .as_array()
        .expect("figures array")
        .iter()
        .filter_map(|f| f["name"].as_str())
        .collect();
    assert!(names.contains(&"delivery.rows_per_sec"), "{saved}");
    let _ = std::fs::remove_dir_all(&dir);
}
