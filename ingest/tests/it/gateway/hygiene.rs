//! Edge hygiene through HTTPS: a label outside the allowlist or PII in a label value
//! refuses the whole remote_write request (400 with a reason) and nothing is stored;
//! `job`/`instance` pass only for the tenant that allows them.

use crate::gateway::common::{KEY_A, KEY_B, Stack, now_ms};
use crate::gateway::rw::{encode, series};
use ingest::gateway::inputs::remote_write::WriteRequest;

fn body(extra: (&str, &str), t: i64) -> Vec<u8> {
    encode(&WriteRequest {
        timeseries: vec![
            series(&[("__name__", "ok_gauge"), ("region", "eu")], &[(t, 1.0)]),
            series(&[("__name__", "bad_gauge"), extra], &[(t, 2.0)]),
        ],
        metadata: vec![],
    })
}

async fn refused(stack: &Stack, key: &str, extra: (&str, &str)) -> String {
    let resp = stack
        .post("/api/v1/write", key, body(extra, now_ms()))
        .await;
    assert_eq!(resp.status(), 400, "{extra:?}");
    let v: serde_json::Value = resp.json().await.expect("json");
    v["error"].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_labels_and_pii_refuse_the_whole_request() {
    let stack = Stack::start().await;
    assert_eq!(
        refused(&stack, KEY_A, ("user_id", "u-1")).await,
        "label_not_allowed"
    );
    assert_eq!(
        refused(&stack, KEY_A, ("cluster", "bob@example.com")).await,
        "pii_email"
    );
    assert_eq!(
        refused(&stack, KEY_A, ("cluster", "10.1.2.3")).await,
        "pii_ipv4"
    );
    // studio-a does not allow job/instance.
    assert_eq!(
        refused(&stack, KEY_A, ("job", "matchmaker")).await,
        "label_not_allowed"
    );
    assert!(
        stack.envelopes().await.is_empty(),
        "nothing of a refused request"
    );

    // studio-b does.
    let t = now_ms();
    let resp = stack
        .post("/api/v1/write", KEY_B, body(("job", "matchmaker"), t))
        .await;
    assert_eq!(resp.status(), 204);
    let got = stack.samples("studio-b").await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().any(|s| {
        s.labels
            .iter()
            .any(|l| l.name == "job" && l.value == "matchmaker")
    }));

    let text = stack.metrics_text().await;
    for reason in ["label_not_allowed", "pii_email", "pii_ipv4"] {
        assert!(
            text.lines()
                .any(|l| l.starts_with("gateway_rejected_items_total")
                    && l.contains("studio-a")
                    && l.contains(&format!("reason=\"{reason}\""))),
            "{reason}: {text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_in_an_exemplar_label_is_refused() {
    let stack = Stack::start().await;
    let t = now_ms();
    let mut ts = series(
        &[("__name__", "logins_total"), ("region", "eu")],
        &[(t, 1.0)],
    );
    ts.exemplars = vec![ingest::gateway::inputs::remote_write::Exemplar {
        labels: vec![ingest::envelope::Label {
            name: "user".into(),
            value: "bob@example.com".into(),
        }],
        value: 1.0,
        timestamp: t,
    }];
    let resp = stack
        .post(
            "/api/v1/write",
            KEY_A,
            encode(&WriteRequest {
                timeseries: vec![ts],
                metadata: vec![],
            }),
        )
        .await;
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"], "pii_email");
    assert!(stack.envelopes().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cardinality_budget_refuses_new_series_and_refused_requests_cost_nothing() {
    // studio-a may have 2 active series.
    let stack = Stack::start_with(|c| c.tenants[0].active_series_budget = 2).await;
    let t = now_ms();
    // A request refused for a bad label must not use up the budget with its good series.
    assert_eq!(
        refused(&stack, KEY_A, ("user_id", "u-1")).await,
        "label_not_allowed"
    );
    let two = encode(&WriteRequest {
        timeseries: vec![
            series(&[("__name__", "a"), ("region", "eu")], &[(t, 1.0)]),
            series(&[("__name__", "b"), ("region", "eu")], &[(t, 2.0)]),
        ],
        metadata: vec![],
    });
    assert_eq!(stack.post("/api/v1/write", KEY_A, two).await.status(), 204);
    // A third series is over budget: 400 (retrying cannot help), nothing stored.
    let third = encode(&WriteRequest {
        timeseries: vec![series(&[("__name__", "c"), ("region", "eu")], &[(t, 3.0)])],
        metadata: vec![],
    });
    let resp = stack.post("/api/v1/write", KEY_A, third).await;
    assert_eq!(resp.status(), 400);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"], "cardinality");
    // Known series keep flowing.
    let again = encode(&WriteRequest {
        timeseries: vec![series(
            &[("__name__", "a"), ("region", "eu")],
            &[(t + 1, 4.0)],
        )],
        metadata: vec![],
    });
    assert_eq!(
        stack.post("/api/v1/write", KEY_A, again).await.status(),
        204
    );
    assert_eq!(stack.samples("studio-a").await.len(), 3);
}
