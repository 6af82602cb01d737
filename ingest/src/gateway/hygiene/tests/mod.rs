//! Behaviour of the public hygiene API as the gateway sees it: label rules and their
//! reason codes, cached verdicts, the active-series budget, resource attributes, event
//! data, and details that never echo a PII value. Generated data: `generated`.

mod generated;

use super::*;
use crate::gateway::config::{HygieneConfig, TenantConfig};

pub(super) fn tenant(id: &str, job_instance: bool, budget: usize) -> TenantConfig {
    TenantConfig {
        id: id.into(),
        client_id: None,
        client_secret_sha256: None,
        api_key_sha256: Vec::new(),
        allow_job_instance: job_instance,
        promoted_resource_attributes: vec!["deployment.environment".into(), "cloud.region".into()],
        active_series_budget: budget,
        quota: Default::default(),
    }
}

pub(super) fn hygiene() -> Hygiene {
    let cfg = HygieneConfig {
        deny_patterns: vec![testgen::pii::DENY_PATTERN.into()],
        ..HygieneConfig::default()
    };
    Hygiene::new(
        &cfg,
        &[tenant("studio-a", false, 1000), tenant("studio-b", true, 3)],
    )
    .unwrap()
}

fn series(pairs: &[(&str, &str)]) -> Vec<Label> {
    let mut v: Vec<Label> = pairs
        .iter()
        .map(|(n, v)| Label {
            name: n.to_string(),
            value: v.to_string(),
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

fn reason(r: Result<(), Rejection>) -> &'static str {
    r.err().map(|e| e.reason()).unwrap_or("ok")
}

#[test]
fn clean_series_passes_structural_labels_always_allowed() {
    let h = hygiene();
    let s = series(&[
        ("__name__", "match_duration_seconds_bucket"),
        ("le", "+Inf"),
        ("region", "eu-west-1"),
        ("az", "euw1-az2"),
        ("build_id", "2026.11.3-b1847"),
        ("instance_type", "c6i.2xlarge"),
    ]);
    assert_eq!(h.check_series("studio-a", &s), Ok(()));
    let q = series(&[("__name__", "rtt"), ("quantile", "0.99")]);
    assert_eq!(h.check_series("studio-a", &q), Ok(()));
}

#[test]
fn label_rules_have_their_reason_codes() {
    let h = hygiene();
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[("__name__", "up"), ("player", "x")], "label_not_allowed"),
        (&[("__name__", "up"), ("job", "gs")], "label_not_allowed"),
        (&[("__name__", "up"), ("1region", "x")], "bad_label_name"),
        (&[("__name__", "up"), ("re-gion", "x")], "bad_label_name"),
        (&[("__name__", "up"), ("", "x")], "bad_label_name"),
        (
            &[("__name__", "up"), ("region", "a"), ("region", "b")],
            "duplicate_label",
        ),
        (&[("region", "eu-west-1")], "missing_metric_name"),
        (&[("__name__", "")], "missing_metric_name"),
        (&[("__name__", "9lives")], "bad_metric_name"),
        (&[("__name__", "a-b")], "bad_metric_name"),
        (
            &[("__name__", "up"), ("cluster", "jane@example.com")],
            "pii_email",
        ),
        (
            &[("__name__", "up"), ("queue", "+14155552671")],
            "pii_phone",
        ),
        (
            &[("__name__", "up"), ("shard_id", "client=10.1.2.3:443")],
            "pii_ipv4",
        ),
        (
            &[("__name__", "up"), ("shard_id", "2001:db8::1")],
            "pii_ipv6",
        ),
        (
            &[("__name__", "up"), ("build_id", "4111 1111 1111 1111")],
            "pii_card",
        ),
        (
            &[("__name__", "up"), ("queue", "gamertag: NoScope")],
            "pii_deny_pattern",
        ),
        (&[("__name__", "jane@example.com")], "bad_metric_name"),
    ];
    for (pairs, want) in cases {
        assert_eq!(
            reason(h.check_series("studio-a", &series(pairs))),
            *want,
            "{pairs:?}"
        );
    }
    let long = "x".repeat(257);
    assert_eq!(
        reason(h.check_series(
            "studio-a",
            &series(&[("__name__", "up"), ("region", &long)])
        )),
        "label_value_too_long"
    );
    let many: Vec<Label> = (0..33)
        .map(|i| Label {
            name: format!("l{i:02}"),
            value: "v".into(),
        })
        .collect();
    assert_eq!(reason(h.check_series("studio-a", &many)), "too_many_labels");
}

#[test]
fn unsorted_duplicates_are_still_found() {
    let h = hygiene();
    let s = vec![
        Label {
            name: "region".into(),
            value: "a".into(),
        },
        Label {
            name: "__name__".into(),
            value: "up".into(),
        },
        Label {
            name: "region".into(),
            value: "b".into(),
        },
    ];
    assert_eq!(reason(h.check_series("studio-a", &s)), "duplicate_label");
}

#[test]
fn job_and_instance_only_where_the_tenant_allows() {
    let h = hygiene();
    let s = series(&[
        ("__name__", "up"),
        ("job", "gameserver"),
        ("instance", "ip-10-1-2-3.eu-west-1.compute.internal:9100"),
    ]);
    assert_eq!(reason(h.check_series("studio-a", &s)), "label_not_allowed");
    assert_eq!(reason(h.check_series("studio-b", &s)), "ok");
    // A raw IP instance is an IP address: the agent must relabel it.
    let ip = series(&[("__name__", "up"), ("instance", "10.1.2.3:9100")]);
    assert_eq!(reason(h.check_series("studio-b", &ip)), "pii_ipv4");
}

#[test]
fn verdicts_are_cached_per_tenant_and_series() {
    let h = hygiene();
    let bad = series(&[("__name__", "up"), ("job", "gs")]);
    for _ in 0..3 {
        assert_eq!(
            reason(h.check_series("studio-a", &bad)),
            "label_not_allowed"
        );
        assert_eq!(reason(h.check_series("studio-b", &bad)), "ok");
    }
    assert_eq!(h.verdicts.len(), 2);
}

#[test]
fn unknown_tenants_are_refused() {
    let h = hygiene();
    let s = series(&[("__name__", "up")]);
    assert_eq!(reason(h.check_series("nobody", &s)), "unknown_tenant");
    assert_eq!(reason(h.admit_series("nobody", 1, 0)), "unknown_tenant");
    assert_eq!(
        h.check_resource_attribute("nobody", "cloud.region", ""),
        AttributeVerdict::Drop
    );
}

#[test]
fn active_series_budget_refuses_new_series_with_400_reason() {
    let h = hygiene();
    for fp in 0..3u64 {
        assert_eq!(h.admit_series("studio-b", fp, 1_000), Ok(()));
    }
    let r = h.admit_series("studio-b", 99, 1_001).unwrap_err();
    assert_eq!(r.reason(), "cardinality");
    assert!(r.detail().contains("budget"), "{}", r.detail());
    assert_eq!(
        h.admit_series("studio-b", 2, 1_002),
        Ok(()),
        "known series pass"
    );
    // Another tenant's budget is its own.
    assert_eq!(h.admit_series("studio-a", 99, 1_003), Ok(()));
    // After the window (600 s by default) old series expire and make room.
    assert_eq!(h.admit_series("studio-b", 99, 1_000 + 600_000), Ok(()));
}

#[test]
fn resource_attributes_promote_only_configured_keys() {
    let h = hygiene();
    assert_eq!(
        h.check_resource_attribute("studio-a", "deployment.environment", "prod"),
        AttributeVerdict::Promote
    );
    for k in ["telemetry.sdk.name", "service.name", "host.name", "cloud"] {
        assert_eq!(
            h.check_resource_attribute("studio-a", k, "x"),
            AttributeVerdict::Drop,
            "{k}"
        );
    }
}

#[test]
fn event_data_walks_strings_keys_nesting_and_numbers() {
    let h = hygiene();
    let ok = serde_json::json!({"match_id": "550e8400-e29b-41d4-a716-446655440000",
        "score": 1200, "ts": 1767225600123u64, "rounds": [{"winner": "team_a"}]});
    assert_eq!(h.check_event_data(&ok), Ok(()));
    let cases = [
        (
            serde_json::json!({"a": {"b": [1, {"c": "mail jane@example.com"}]}}),
            "pii_email",
            "$.a.b[1].c",
        ),
        (
            serde_json::json!({"players": {"jane@example.com": 1}}),
            "pii_email",
            "$.players.<key>",
        ),
        (
            serde_json::json!({"card": 4111111111111111u64}),
            "pii_card",
            "$.card",
        ),
        (
            serde_json::json!({"tel": 14155552671u64}),
            "pii_phone",
            "$.tel",
        ),
        (serde_json::json!([["10.1.2.3"]]), "pii_ipv4", "$[0][0]"),
    ];
    for (v, want, at) in cases {
        let r = h.check_event_data(&v).unwrap_err();
        assert_eq!(r.reason(), want, "{v}");
        assert!(r.detail().contains(at), "{} should name {at}", r.detail());
    }
}

#[test]
fn details_never_echo_the_pii() {
    let h = hygiene();
    let pii = "jane.doe@example.com";
    let bad_name = series(&[("__name__", "up"), (pii, "x")]);
    let in_value = series(&[("__name__", "up"), ("cluster", pii)]);
    for r in [
        h.check_series("studio-a", &bad_name),
        h.check_series("studio-a", &in_value),
    ] {
        let d = r.unwrap_err().detail();
        assert!(!d.contains("jane"), "{d}");
    }
    let d = h
        .check_event_data(&serde_json::json!({ pii: {"x": 1} }))
        .unwrap_err()
        .detail();
    assert!(!d.contains("jane"), "{d}");
}

#[test]
fn bad_config_is_refused_with_a_name() {
    let cfg = HygieneConfig {
        deny_patterns: vec!["[unclosed".into()],
        ..HygieneConfig::default()
    };
    let e = Hygiene::new(&cfg, &[]).err().unwrap();
    assert!(e.to_string().contains("[unclosed"), "{e}");
    let dup = Hygiene::new(
        &HygieneConfig::default(),
        &[tenant("a", false, 1), tenant("a", false, 1)],
    );
    assert!(dup.is_err());
    let bad_allow = HygieneConfig {
        allowlist: vec!["ok".into(), "not-ok".into()],
        ..HygieneConfig::default()
    };
    assert!(
        Hygiene::new(&bad_allow, &[])
            .err()
            .unwrap()
            .to_string()
            .contains("not-ok")
    );
}
