//! JSON game events: answered per record; only the good records reach Kinesis.

use crate::gateway::common::{KEY_A, Stack};

fn event(id: &str, data: serde_json::Value) -> serde_json::Value {
    serde_json::json!({
        "event_id": id,
        "event_type": "match",
        "event_name": "match_end",
        "event_timestamp": "2026-11-26T08:00:00Z",
        "app_version": "1.4.2",
        "event_data": data,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_judged_per_record_and_only_good_ones_stored() {
    let stack = Stack::start().await;
    let mut unknown = event("ev-3", serde_json::json!({"score": 1}));
    unknown["surprise"] = serde_json::json!(true);
    let batch = serde_json::json!({"events": [
        event("ev-1", serde_json::json!({"score": 3, "map": "dust"})),
        event("ev-2", serde_json::json!({"score": 5})),
        unknown,
        event("ev-4", serde_json::json!({"winner": {"contact": "alice@example.com"}})),
    ]});
    let resp = stack
        .post(
            "/v1/events",
            KEY_A,
            serde_json::to_vec(&batch).expect("json"),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let body: serde_json::Value = resp.json().await.expect("json answer");
    assert_eq!(body["Total"], 4);
    assert_eq!(body["FailedRecordCount"], 2);
    let ev = body["Events"].as_array().expect("Events");
    assert_eq!(ev[0], serde_json::json!({"Result": "Ok"}));
    assert_eq!(ev[1], serde_json::json!({"Result": "Ok"}));
    assert_eq!(ev[2]["Result"], "Error");
    assert_eq!(ev[2]["ErrorCode"], "bad_schema");
    assert_eq!(ev[3]["Result"], "Error");
    assert_eq!(ev[3]["ErrorCode"], "pii_email");

    let stored = stack.events("studio-a").await;
    let ids: Vec<&str> = stored.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(ids, ["ev-1", "ev-2"]);
    let e1 = &stored[0];
    assert_eq!(e1.event_type, "match");
    assert_eq!(e1.event_name, "match_end");
    assert_eq!(e1.app_version, "1.4.2");
    assert_eq!(e1.event_timestamp_ms, 1_795_680_000_000);
    let data: serde_json::Value = serde_json::from_str(&e1.event_data_json).expect("data json");
    assert_eq!(data, serde_json::json!({"score": 3, "map": "dust"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_batch_that_is_not_a_batch_is_400() {
    let stack = Stack::start().await;
    let resp = stack
        .post("/v1/events", KEY_A, br#"{"evnts": []}"#.to_vec())
        .await;
    assert_eq!(resp.status(), 400);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"], "bad_schema");
    assert!(stack.envelopes().await.is_empty());
}
