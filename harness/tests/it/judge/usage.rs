//! Bad usage and bad scenarios exit 2 before anything boots, naming file, line and field.

use super::{gameday, temp_dir};

#[test]
fn a_bad_scenario_file_exits_2_naming_file_line_and_field() {
    let dir = temp_dir("bad-scenario");
    let path = dir.join("typo.toml");
    std::fs::write(
        &path,
        "gates = [\"T1\"]\n\n[load]\nbase_samples_per_sec = 1000.0\nstepz = []\n",
    )
    .unwrap();
    let out = gameday("bad-scenario-run", &["scenario", path.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.log());
    let want = format!("{}:5:1: field `load.stepz`", path.display());
    assert!(out.stderr.contains(&want), "{want:?} in {}", out.log());
    assert!(out.stderr.contains("stepz"), "{}", out.log());
}

#[test]
fn an_unknown_fault_verb_exits_2_with_the_known_verbs() {
    let dir = temp_dir("bad-fault");
    let path = dir.join("fault.toml");
    std::fs::write(
        &path,
        "gates = [\"T0\"]\n[[faults]]\nverb = \"meteor-strike\"\n",
    )
    .unwrap();
    let out = gameday("bad-fault-run", &["scenario", path.to_str().unwrap()]);
    assert_eq!(out.code, 2, "{}", out.log());
    assert!(out.stderr.contains(":3:"), "{}", out.log());
    assert!(out.stderr.contains("meteor-strike"), "{}", out.log());
    assert!(out.stderr.contains("gateway-kill"), "{}", out.log());
}

#[test]
fn unknown_scenario_name_gate_and_knob_exit_2() {
    let out = gameday("unknown-name", &["scenario", "brust"]);
    assert_eq!(out.code, 2, "{}", out.log());
    assert!(
        out.stderr.contains("baseline, burst, e2e, faults, gameday"),
        "{}",
        out.log()
    );
    let out = gameday("unknown-gate", &["gates", "--only", "T0,T9"]);
    assert_eq!(out.code, 2, "{}", out.log());
    assert!(
        out.stderr.contains("T9") && out.stderr.contains("T0, T1, T2, T3, T4"),
        "{}",
        out.log()
    );
    let out = gameday(
        "unknown-knob",
        &["scenario", "baseline", "--set", "chaos=true"],
    );
    assert_eq!(out.code, 2, "{}", out.log());
    assert!(out.stderr.contains("unknown knob"), "{}", out.log());
}
