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
    let (c, visible, of) = out.assert_red("T0", "tenant/shard canaries visible");
    let probed = out.report()["runs"][0]["evidence"]["probes"]["per_shard_ms"]
        .as_object()
        .unwrap()
        .len() as f64;
    assert!(probed > 0.0, "canaries were probed: {c}");
    assert_eq!(
        (visible, of),
        (0.0, Some(probed)),
        "no canary visible, of every one probed: {c}"
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
    let (c, throttled, _) = out.assert_red("T1", "429 at 1×");
    assert!(throttled > 0.0, "429s counted at 1×: {c}");
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
    let audit = out.audit();
    let (c, lost, of) = out.assert_red("T2", "acked records lost");
    assert!(lost > 0.0, "a measured loss: {c}");
    assert_eq!(lost, audit["lost"].as_f64().unwrap(), "{c} vs {audit}");
    assert_eq!(
        of,
        audit["acked"].as_f64(),
        "lost of the acked records: {c}"
    );
    assert!(lost < of.unwrap(), "10 % dropped, not all: {c}");
}

#[test]
fn t3_red_when_pii_detectors_are_off() {
    let out = short_run(
        "break-t3",
        "hygiene",
        "0.15",
        &["--set", "gateway_pii_detectors=false"],
    );
    let (c, rejected, sent) = out.assert_red("T3", "pii rejected");
    let sent = sent.unwrap_or(0.0);
    assert!(sent > 0.0 && rejected < sent, "PII let through: {c}");
    // The audit ran and found planted strings verbatim in storage.
    let audit = out.audit();
    let found = out.check("T3", "planted PII found in storage");
    assert_eq!(found["passed"], false, "{found}");
    let n = found["value"].as_f64().unwrap_or(0.0);
    assert!(n > 0.0, "planted PII found: {found}");
    assert_eq!(n, audit["pii_found"].as_array().unwrap().len() as f64);
    let planted = out.report()["runs"][0]["evidence"]["hygiene"]["planted_pii"].as_f64();
    assert_eq!(
        found["of"].as_f64(),
        planted,
        "of the planted strings: {found}"
    );
}
