//! Scenario files: the shipped ones parse, and a bad file gets an error naming the file,
//! line:column and field.

use super::*;
use std::path::Path;

fn shipped(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../scenarios/{name}.toml"))
}

/// Writes `text` as a scenario beside a copy of the shipped thresholds; returns the error.
fn error_of(text: &str) -> String {
    let dir = tempdir();
    std::fs::copy(shipped("thresholds"), dir.join("thresholds.toml")).unwrap();
    let path = dir.join("bad.toml");
    std::fs::write(&path, text).unwrap();
    let e = Scenario::load(&path, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.starts_with(&path.display().to_string()),
        "error names the file: {e}"
    );
    e
}

fn tempdir() -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "gameday-scenario-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn shipped_scenarios_parse_with_design_md_defaults() {
    for name in ["baseline", "burst", "hygiene"] {
        let s = Scenario::load(&shipped(name), &Overrides::default()).unwrap();
        assert_eq!(s.name, name);
        assert_eq!(s.file.tenants.ids.len(), 3);
        assert_eq!(s.file.tenants.quota_multiplier.0, 4.0);
        assert_eq!(s.file.stack.azs, ["a", "b", "c"]);
        assert_eq!(s.file.stack.delivery_buffer_interval_ms.0, 1_000);
        assert_eq!(s.file.load.base_samples_per_sec.0, 20_000.0);
        assert_eq!(s.file.load.base_events_per_sec.0, 1_000.0);
        assert!(s.file.faults.is_empty());
        assert_eq!(s.thresholds.ingest.success_ratio_min, 0.999);
    }
    // The fault scenarios parse and carry the gates their timelines were built for.
    for (name, gates) in [
        ("shard-pause", vec![GateId::T0, GateId::T5]),
        ("gateway-kill", vec![GateId::T0, GateId::T6]),
        ("az-loss", vec![GateId::T0, GateId::T7]),
        ("faults", vec![GateId::T0, GateId::T5]),
        (
            "gameday",
            vec![GateId::T0, GateId::T2, GateId::T5, GateId::T6, GateId::T7],
        ),
    ] {
        let s = Scenario::load(&shipped(name), &Overrides::default()).unwrap();
        assert_eq!(s.gates(), gates.as_slice(), "{name}");
        assert!(!s.file.faults.is_empty(), "{name}");
    }
    let gd = Scenario::load(&shipped("gameday"), &Overrides::default()).unwrap();
    assert!(
        gd.load_secs() <= 270.0,
        "gameday fits 6 minutes with boot and drain"
    );
    let burst = Scenario::load(&shipped("burst"), &Overrides::default()).unwrap();
    let m: Vec<f64> = burst.steps().iter().map(|s| s.multiplier.0).collect();
    assert_eq!(m, [1.0, 3.0, 5.0, 1.0, 1.0]);
    let settle: Vec<bool> = burst.steps().iter().map(|s| s.settle).collect();
    assert_eq!(settle, [false, false, false, true, false]);
    assert!(
        burst.load_secs() <= 120.0,
        "burst must fit 3 min with boot and drain"
    );
    assert_eq!(burst.gates(), [GateId::T0, GateId::T2]);
}

#[test]
fn a_bad_fault_entry_names_its_line_and_field_before_anything_boots() {
    let base = "gates = [\"T0\"]\n[[load.steps]]\nname = \"1x\"\nmultiplier = 1.0\nsecs = 30.0\n";
    let e = error_of(&format!(
        "{base}\n[[faults]]\nverb = \"gateway-kill\"\ntarget = \"gateway-q\"\nat_secs = 5.0\n"
    ));
    assert!(e.contains(":7:"), "the entry's line: {e}");
    assert!(e.contains("faults[0].target"), "{e}");
    assert!(
        e.contains("gateway-a, gateway-b, gateway-c"),
        "the valid targets: {e}"
    );
    let e = error_of(&format!(
        "{base}\n[[faults]]\nverb = \"shard-pause\"\nat_secs = 45.0\n"
    ));
    assert!(
        e.contains("faults[0].at_secs") && e.contains("after the load ends"),
        "{e}"
    );
    let e = error_of(&format!(
        "{base}\n[[faults]]\nverb = \"shard-pause\"\nprobability = 0.3\n"
    ));
    assert!(e.contains("faults[0].probability"), "{e}");
    let e = error_of(&format!(
        "{base}\n[[stop_conditions]]\nmetric = \"ttfb_p99_ms\"\nabove = 1.0\nbelow = 2.0\nfor_secs = 1.0\n"
    ));
    assert!(e.contains("stop_conditions[0]"), "{e}");
}

#[test]
fn a_fault_gate_without_its_fault_is_refused() {
    let e = error_of(
        "gates = [\"T5\"]\n[[load.steps]]\nname = \"1x\"\nmultiplier = 1.0\nsecs = 30.0\n\
         [[faults]]\nverb = \"shard-pause\"\nshards = [0]\nat_secs = 5.0\nduration_secs = 10.0\n",
    );
    assert!(e.contains("gate T5 needs a worker-kill"), "{e}");
    let e = error_of(
        "gates = [\"T7\"]\n[[load.steps]]\nname = \"1x\"\nmultiplier = 1.0\nsecs = 30.0\n",
    );
    assert!(e.contains("gate T7 needs an az-loss"), "{e}");
}

#[test]
fn duration_scale_shrinks_the_fault_timeline_with_the_load() {
    let o = Overrides {
        duration_scale: Some(0.5),
        ..Overrides::default()
    };
    let s = Scenario::load(&shipped("shard-pause"), &o).unwrap();
    let f = s.file.faults[0].get_ref();
    assert_eq!((f.at_secs, f.duration_secs), (5.0, Some(20.0)));
    assert_eq!(s.load_secs(), 37.5);
}

#[test]
fn unknown_field_names_file_line_and_field() {
    let e = error_of(
        "gates = [\"T1\"]\n\n[[load.steps]]\nname = \"1x\"\nmultiplyer = 1.0\nsecs = 5.0\n",
    );
    assert!(e.contains(":5:1:"), "line 5 col 1: {e}");
    assert!(e.contains("load.steps[0]"), "field path: {e}");
    assert!(e.contains("multiplyer"), "{e}");
    assert!(e.contains("multiplier"), "names the known fields: {e}");
}

#[test]
fn a_wrong_value_names_its_line_and_field() {
    let e = error_of(
        "gates = [\"T1\"]\n[[load.steps]]\nname = \"1x\"\nmultiplier = -2.0\nsecs = 5.0\n",
    );
    assert!(e.contains(":4:"), "{e}");
    assert!(e.contains("load.steps[0].multiplier"), "{e}");
    assert!(e.contains("greater than 0"), "{e}");
    let e = error_of("gates = [\"T1\"]\n[stack]\nshards = \"four\"\n");
    assert!(e.contains(":3:10:"), "{e}");
    assert!(e.contains("stack.shards"), "{e}");
}

#[test]
fn unknown_fault_verb_is_refused_with_the_known_ones() {
    let e = error_of("gates = [\"T0\"]\n[[faults]]\nverb = \"unplug-the-datacenter\"\n");
    assert!(e.contains(":3:"), "{e}");
    assert!(e.contains("faults[0].verb"), "{e}");
    assert!(e.contains("unplug-the-datacenter"), "{e}");
    for known in ["shard-pause", "gateway-kill", "az-loss", "sqs-errors"] {
        assert!(e.contains(known), "lists {known}: {e}");
    }
}

#[test]
fn unknown_gate_and_missing_gates_are_named() {
    let e = error_of("gates = [\"T1\", \"T9\"]\n");
    assert!(
        e.contains(":1:") && e.contains("gates[1]") && e.contains("T9"),
        "{e}"
    );
    let e = error_of("description = \"no gates\"\n");
    assert!(e.contains("gates"), "{e}");
}

#[test]
fn syntax_errors_name_the_line() {
    let e = error_of("gates = [\"T1\"]\n[load\n");
    assert!(e.contains(":2:"), "{e}");
}

#[test]
fn a_gate_without_the_load_it_judges_is_refused() {
    let e = error_of(
        "gates = [\"T2\"]\n[[load.steps]]\nname = \"1x\"\nmultiplier = 1.0\nsecs = 5.0\n\
         [[load.steps]]\nname = \"5x\"\nmultiplier = 5.0\nsecs = 5.0\n",
    );
    assert!(e.contains("load.steps") && e.contains("1× → 5×"), "{e}");
    assert!(e.contains(":2:"), "points at the steps: {e}");
    let e = error_of("gates = [\"T3\"]\n[load.bad]\npii = 0.1\n");
    assert!(e.contains("load.bad"), "{e}");
    assert!(
        e.contains("unknown_label, high_cardinality, bad_schema"),
        "{e}"
    );
    let e = error_of("gates = [\"T1\"]\n[load.bad]\npii = 1.5\n");
    assert!(
        e.contains("load.bad.pii") && e.contains("between 0 and 1"),
        "{e}"
    );
}

#[test]
fn a_missing_thresholds_file_is_named() {
    let dir = tempdir();
    let path = dir.join("s.toml");
    std::fs::write(&path, "gates = [\"T0\"]\nthresholds = \"nope.toml\"\n").unwrap();
    let e = Scenario::load(&path, &Overrides::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("nope.toml") && e.contains("cannot read"), "{e}");
}

#[test]
fn overrides_shorten_and_scale_but_keep_thresholds() {
    let o = Overrides {
        seed: Some(7),
        duration_scale: Some(0.1),
        base_rate: Some(2_000.0),
        gates: Some(vec![GateId::T2]),
    };
    let s = Scenario::load(&shipped("burst"), &o).unwrap();
    assert_eq!(s.file.seed, Some(7));
    assert!((s.load_secs() - 11.0).abs() < 1e-9, "{}", s.load_secs());
    assert_eq!(s.file.load.base_samples_per_sec.0, 2_000.0);
    assert!((s.file.load.base_events_per_sec.0 - 100.0).abs() < 1e-9);
    assert_eq!(s.gates(), [GateId::T2]);
    assert_eq!(s.thresholds.ingest.ttfb_p99_ms_max, 25.0);
}

#[test]
fn names_resolve_to_the_scenarios_folder_and_unknown_names_list_the_known() {
    let p = Scenario::find("burst").unwrap();
    assert!(p.ends_with("burst.toml"), "{}", p.display());
    let e = Scenario::find("brust").unwrap_err().to_string();
    assert!(
        e.contains("brust") && e.contains("baseline, burst, e2e, faults, gameday"),
        "{e}"
    );
    assert!(!e.contains("thresholds,"), "{e}");
}

#[test]
fn the_e2e_bench_step_is_samples_only_at_its_rate_and_length() {
    let o = Overrides {
        base_rate: Some(300_000.0),
        duration_scale: Some(0.5),
        ..Overrides::default()
    };
    let s = Scenario::load(&shipped("e2e"), &o).unwrap();
    assert_eq!(s.file.load.base_samples_per_sec.0, 300_000.0);
    assert_eq!(s.file.load.base_events_per_sec.0, 0.0);
    assert_eq!(s.file.load.samples_per_request.0, 2_000);
    assert_eq!(s.load_secs(), 10.0);
    assert_eq!(s.thresholds.e2e.freshness_p99_ms_max, 5_000.0);
}
