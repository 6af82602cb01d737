//! Each gate watched turning red: break exactly its property and run the short scenario.

use super::{scenarios_dir, short_run, temp_dir};

#[test]
fn t0_red_when_the_query_service_never_sees_data() {
    let out = short_run(
        "break-t0",
        "baseline",
        "0.15",
        &["--set", "query_sees_data=false"],
    );
    out.assert_red("T0", "tenant/shard canaries");
    assert!(
        out.gate("T0")["measured"]
            .as_str()
            .unwrap()
            .contains("0 of ")
    );
}

#[test]
fn t1_red_when_quotas_shed_at_1x() {
    // The baseline with quotas at half of each tenant's share of 1×, and requests small
    // enough to fit a gateway's token bucket (a request larger than the bucket is a 413,
    // not a 429).
    let dir = temp_dir("break-t1-scenario");
    let text = std::fs::read_to_string(scenarios_dir().join("baseline.toml"))
        .unwrap()
        .replace("name = \"baseline\"", "name = \"baseline-tight-quotas\"")
        .replace(
            "[load]\n",
            "[load]\nsamples_per_request = 50\nevents_per_request = 2\n",
        );
    let thresholds = scenarios_dir().join("thresholds.toml");
    let text = format!(
        "thresholds = {:?}\n{text}\n[tenants]\nquota_multiplier = 0.5\n",
        thresholds.display().to_string()
    );
    let path = dir.join("tight.toml");
    std::fs::write(&path, text).unwrap();
    let out = short_run("break-t1", path.to_str().unwrap(), "0.15", &[]);
    out.assert_red("T1", "429 at 1×");
}

#[cfg(feature = "failpoints")]
#[test]
fn t2_red_when_gateways_ack_then_drop() {
    let out = short_run(
        "break-t2",
        "burst",
        "0.15",
        &["--set", "gateway_ack_then_drop=10%return"],
    );
    out.assert_red("T2", "acked records lost");
}

#[test]
fn t3_red_when_pii_detectors_are_off() {
    let out = short_run(
        "break-t3",
        "hygiene",
        "0.15",
        &["--set", "gateway_pii_detectors=false"],
    );
    out.assert_red("T3", "pii rejected");
    assert!(
        out.gate("T3")["measured"]
            .as_str()
            .unwrap()
            .contains("planted PII found in storage"),
        "the audit finds the planted strings: {}",
        out.gate("T3")["measured"]
    );
}
