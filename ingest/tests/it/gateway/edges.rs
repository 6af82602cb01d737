//! The edges the other files leave: signing-key rotation seen through HTTPS, the
//! `ApiKey` scheme over gRPC, the events/s quota, a full request queue shedding with 503,
//! bodies that only grow past the limit once decompressed, and PII hidden in a promoted
//! OTLP resource attribute.

use crate::gateway::auth::token;
use crate::gateway::common::{KEY_A, KEY_B, KEY_C, KID, SECRET, Stack, now_ms};
use crate::gateway::rw::{encode, gauge_body, series};
use ingest::config::Secret;
use ingest::gateway::config::{QuotaConfig, SigningKey};
use ingest::gateway::inputs::remote_write::WriteRequest;
use mocks::{Fault, Service};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{
    Gauge, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, metric::Data, number_data_point,
};
use opentelemetry_proto::tonic::resource::v1::Resource;

const NEXT_KID: &str = "k2";
const NEXT_SECRET: &str = "fedcba9876543210fedcba9876543210-next";

async fn write_with_token(stack: &Stack, tok: &str, t: i64) -> u16 {
    stack
        .http
        .post(stack.url("/api/v1/write"))
        .bearer_auth(tok)
        .body(gauge_body("rotation_probe", t, 1))
        .send()
        .await
        .expect("answer")
        .status()
        .as_u16()
}

fn kid_of(tok: &str) -> String {
    jsonwebtoken::decode_header(tok)
        .expect("a JWT header")
        .kid
        .expect("tokens carry a kid")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_signing_keys_keep_old_tokens_until_the_old_key_is_removed() {
    // Before the rotation: tokens are signed with k1.
    let before = Stack::start().await;
    let old = token(&before).await;
    assert_eq!(kid_of(&old), KID);
    drop(before);

    // Rotated: k2 signs, k1 is still accepted.
    let rotated = Stack::start_with(|cfg| {
        cfg.auth.keys = vec![
            SigningKey {
                kid: NEXT_KID.into(),
                secret: Secret::new(NEXT_SECRET),
            },
            SigningKey {
                kid: KID.into(),
                secret: Secret::new(SECRET),
            },
        ];
    })
    .await;
    let t = now_ms();
    assert_eq!(write_with_token(&rotated, &old, t).await, 204);
    let new = token(&rotated).await;
    assert_eq!(kid_of(&new), NEXT_KID, "the current key signs");
    assert_eq!(write_with_token(&rotated, &new, t + 1).await, 204);
    drop(rotated);

    // k1 retired: its tokens are refused, k2's still work.
    let retired = Stack::start_with(|cfg| {
        cfg.auth.keys = vec![SigningKey {
            kid: NEXT_KID.into(),
            secret: Secret::new(NEXT_SECRET),
        }];
    })
    .await;
    assert_eq!(write_with_token(&retired, &old, t + 2).await, 401);
    assert_eq!(write_with_token(&retired, &new, t + 3).await, 204);
    assert_eq!(retired.samples("studio-a").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_scheme_works_over_grpc() {
    let stack = Stack::start().await;
    let mut client = stack.grpc().await;
    let mut req = tonic::Request::new(gauge_points("grpc.apikey", 3, vec![]));
    req.metadata_mut().insert(
        "authorization",
        format!("ApiKey {KEY_A}").parse().expect("ascii"),
    );
    client.export(req).await.expect("ApiKey scheme accepted");
    assert_eq!(stack.samples("studio-a").await.len(), 3);

    let mut req = tonic::Request::new(gauge_points("grpc.apikey", 3, vec![]));
    req.metadata_mut().insert(
        "authorization",
        "ApiKey key-z-not-a-key-of-anyone-0000"
            .parse()
            .expect("ascii"),
    );
    let err = client.export(req).await.expect_err("unknown key");
    assert_eq!(err.code(), tonic::Code::Unauthenticated);
}

fn event(id: &str) -> serde_json::Value {
    serde_json::json!({
        "event_id": id, "event_type": "match", "event_name": "match_end",
        "event_timestamp": "2026-11-26T08:00:00Z", "app_version": "1.4.2",
        "event_data": {"score": 1},
    })
}

fn events_body(ids: &[&str]) -> Vec<u8> {
    let events: Vec<_> = ids.iter().map(|id| event(id)).collect();
    serde_json::to_vec(&serde_json::json!({ "events": events })).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_quota_sheds_with_429_and_retry_after() {
    let stack = Stack::start_with(|cfg| {
        for t in &mut cfg.tenants {
            if t.id == "studio-c" {
                t.quota = QuotaConfig {
                    events_per_sec: 2.0,
                    burst_secs: 1.0,
                    ..QuotaConfig::default()
                };
            }
        }
    })
    .await;
    let resp = stack
        .post("/v1/events", KEY_C, events_body(&["q-1", "q-2"]))
        .await;
    assert_eq!(resp.status(), 200);
    let resp = stack.post("/v1/events", KEY_C, events_body(&["q-3"])).await;
    assert_eq!(resp.status(), 429);
    let secs: u64 = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .expect("Retry-After in whole seconds");
    assert!((1..=1).contains(&secs), "one event short at 2/s: {secs}");
    let resp = stack
        .post("/v1/events", KEY_C, events_body(&["q-4", "q-5", "q-6"]))
        .await;
    assert_eq!(resp.status(), 413, "more events than the bucket holds");
    let ids: Vec<String> = stack
        .events("studio-c")
        .await
        .into_iter()
        .map(|e| e.event_id)
        .collect();
    assert_eq!(ids, ["q-1", "q-2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_request_queue_sheds_with_503_and_retry_after() {
    // One PutRecords in flight and a queue of 8: slow Kinesis makes the ninth request wait
    // for a place that is not there.
    let stack = Stack::start_with(|cfg| {
        cfg.kinesis.max_in_flight = 1;
        cfg.kinesis.deadline_ms = 5_000;
    })
    .await;
    stack
        .emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Latency {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            delay_ms: mocks::Delay::Constant(300),
        })
        .expect("inject latency");
    let t = now_ms();
    let mut calls = Vec::new();
    for i in 0..24 {
        let body = gauge_body("queue_probe", t + i * 10, 2);
        let http = stack.http.clone();
        let url = stack.url("/api/v1/write");
        calls.push(tokio::spawn(async move {
            let resp = http
                .post(url)
                .header("x-api-key", KEY_A)
                .body(body)
                .send()
                .await
                .expect("answer");
            let retry = resp.headers().contains_key("retry-after");
            (resp.status().as_u16(), retry)
        }));
    }
    let mut ok = 0;
    let mut shed = 0;
    for c in calls {
        match c.await.expect("task") {
            (204, _) => ok += 1,
            (503, retry) => {
                assert!(retry, "a 503 carries Retry-After");
                shed += 1;
            }
            (s, _) => panic!("unexpected status {s}"),
        }
    }
    assert!(
        shed > 0,
        "24 concurrent requests against a queue of 8 shed some"
    );
    assert_eq!(ok + shed, 24);
    assert_eq!(
        stack.samples("studio-a").await.len(),
        ok * 2,
        "every acked request is stored"
    );
    let text = stack.metrics_text().await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("gateway_rejected_items_total") && l.contains("queue_full")),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_grows_past_the_limit_when_decompressed_is_413() {
    let stack = Stack::start_with(|cfg| {
        cfg.limits.max_decompressed_bytes = 4 << 10;
    })
    .await;
    // Highly compressible: a long label value repeated over many samples.
    let long = "x".repeat(200);
    let points: Vec<(i64, f64)> = (0..400).map(|i| (now_ms() + i, 1.0)).collect();
    let body = encode(&WriteRequest {
        timeseries: vec![series(
            &[("__name__", "zip_bomb"), ("cluster", long.as_str())],
            &points,
        )],
        metadata: vec![],
    });
    assert!(body.len() < 4 << 10, "small on the wire: {}", body.len());
    let resp = stack.post("/api/v1/write", KEY_A, body).await;
    assert_eq!(resp.status(), 413);
    let v: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(v["error"], "body_too_large");
    assert!(stack.envelopes().await.is_empty());
}

fn kv(k: &str, v: &str) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(AnyValue {
            value: Some(any_value::Value::StringValue(v.into())),
        }),
        ..Default::default()
    }
}

/// An OTLP request of `n` gauge points of one metric, with the given resource attributes.
pub fn gauge_points(name: &str, n: usize, resource: Vec<KeyValue>) -> ExportMetricsServiceRequest {
    let t = now_ms() as u64 * 1_000_000;
    ExportMetricsServiceRequest {
        resource_metrics: vec![ResourceMetrics {
            resource: Some(Resource {
                attributes: resource,
                ..Default::default()
            }),
            scope_metrics: vec![ScopeMetrics {
                metrics: vec![Metric {
                    name: name.into(),
                    data: Some(Data::Gauge(Gauge {
                        data_points: (0..n)
                            .map(|i| NumberDataPoint {
                                time_unix_nano: t + i as u64 * 1_000_000,
                                value: Some(number_data_point::Value::AsInt(i as i64)),
                                ..Default::default()
                            })
                            .collect(),
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        }],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pii_in_a_promoted_resource_attribute_is_rejected() {
    // studio-b promotes the `region` resource attribute to a label.
    let stack = Stack::start().await;
    let mut client = stack.grpc().await;
    let mut req = tonic::Request::new(gauge_points(
        "game.players",
        4,
        vec![
            kv("region", "bob.smith@example.com"),
            kv("service.name", "gs"),
        ],
    ));
    req.metadata_mut()
        .insert("x-api-key", KEY_B.parse().expect("ascii"));
    // OTLP's way: a success with partial_success naming the rejected points and the
    // reason, the value itself never echoed.
    let answer = client.export(req).await.expect("OTLP answers");
    let partial = answer
        .into_inner()
        .partial_success
        .expect("partial_success names what was rejected");
    assert_eq!(partial.rejected_data_points, 4);
    let msg = partial.error_message;
    assert!(msg.contains("email") && !msg.contains("bob"), "{msg}");
    let stored = stack.envelopes().await;
    assert!(
        stored.iter().all(|e| e
            .samples
            .iter()
            .all(|s| s.labels.iter().all(|l| !l.value.contains("example.com")))),
        "the address never reaches Kinesis"
    );
    let text = stack.metrics_text().await;
    assert!(
        text.lines()
            .any(|l| l.starts_with("gateway_rejected_items_total")
                && l.contains("studio-b")
                && l.contains("pii_email")),
        "{text}"
    );
}
