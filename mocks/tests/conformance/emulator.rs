//! The server as a whole: health endpoints, request-level faults on any service.

use crate::common::{self, code};
use mocks::{Fault, Service};
use std::time::{Duration, Instant};

#[tokio::test]
async fn health_reports_state_counters_and_localstack_shape() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    k.create_stream()
        .stream_name("s")
        .shard_count(2)
        .send()
        .await
        .unwrap();
    let id = emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Latency {
            service: Service::S3,
            operation: None,
            delay_ms: mocks::Delay::Constant(5),
        })
        .unwrap();
    let (status, _, body) =
        common::raw_request(emu.addr, "GET", "/_gameday/health", &[], b"").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["services"]["kinesis"], "running");
    assert_eq!(v["kinesis"]["streams"], 1);
    assert_eq!(v["kinesis"]["shards"], 2);
    assert_eq!(v["faults"][0]["id"], id.0);
    assert_eq!(v["faults"][0]["fault"]["kind"], "latency");
    assert_eq!(v["counters"]["fault.injected.latency"], 1);
    assert_eq!(v["limits"]["shard_write_records_per_sec"], 1000);

    let (status, _, body) =
        common::raw_request(emu.addr, "GET", "/_localstack/health", &[], b"").await;
    assert_eq!(status, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    for s in ["kinesis", "s3", "sqs"] {
        assert_eq!(v["services"][s], "running");
    }
}

#[tokio::test]
async fn injected_failures_latency_and_blackhole() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    let faults = &emu.emulator.ctx.faults;

    let id = faults
        .inject(Fault::Fail {
            service: Service::Kinesis,
            operation: None,
            status: 503,
            code: None,
            probability: 1.0,
        })
        .unwrap();
    let e = k.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "ServiceUnavailable");
    assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
    faults.clear(id);

    let id = faults
        .inject(Fault::Fail {
            service: Service::Kinesis,
            operation: Some("ListStreams".into()),
            status: 500,
            code: None,
            probability: 1.0,
        })
        .unwrap();
    let e = k.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "InternalFailure");
    k.create_stream()
        .stream_name("s")
        .shard_count(1)
        .send()
        .await
        .unwrap();
    faults.clear(id);
    assert_eq!(emu.emulator.ctx.counters.get("fault.fail.kinesis"), 2);

    let id = faults
        .inject(Fault::Latency {
            service: Service::Kinesis,
            operation: None,
            delay_ms: mocks::Delay::Constant(300),
        })
        .unwrap();
    let t = Instant::now();
    k.list_streams().send().await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));
    faults.clear(id);

    faults
        .inject(Fault::Blackhole {
            service: Service::Kinesis,
            operation: None,
        })
        .unwrap();
    let r = tokio::time::timeout(Duration::from_millis(500), k.list_streams().send()).await;
    assert!(r.is_err(), "a blackholed request is never answered");
    assert_eq!(emu.emulator.ctx.counters.get("fault.blackhole.kinesis"), 1);
    // Stopping the emulator releases blackholed requests instead of hanging.
    tokio::time::timeout(Duration::from_secs(5), emu.stop())
        .await
        .expect("stops")
        .unwrap();
}
