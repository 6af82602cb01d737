//! Graceful shutdown: a request in flight when shutdown starts still completes (and is
//! stored); the server then stops.

use crate::gateway::common::{KEY_A, Stack, now_ms};
use crate::gateway::rw::gauge_body;
use mocks::{Fault, Service};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_in_flight_completes_during_shutdown() {
    let mut stack = Stack::start().await;
    stack
        .emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Latency {
            service: Service::Kinesis,
            operation: Some("PutRecords".into()),
            delay_ms: mocks::Delay::Constant(800),
        })
        .expect("inject");
    let t = now_ms();
    let (http, url) = (stack.http.clone(), stack.url("/api/v1/write"));
    let inflight = tokio::spawn(async move {
        http.post(url)
            .header("x-api-key", KEY_A)
            .body(gauge_body("drain", t, 3))
            .send()
            .await
            .map(|r| r.status().as_u16())
    });
    tokio::time::sleep(Duration::from_millis(250)).await;
    stack.shutdown();
    let status = tokio::time::timeout(Duration::from_secs(5), inflight)
        .await
        .expect("in-flight request finishes")
        .expect("task")
        .expect("answered, not cut off");
    assert_eq!(status, 204);
    let server = stack.server.take().expect("server task");
    tokio::time::timeout(Duration::from_secs(5), server)
        .await
        .expect("server stops after draining")
        .expect("task")
        .expect("clean stop");
    stack.emu.emulator.ctx.faults.clear_all();
    assert_eq!(stack.samples("studio-a").await.len(), 3);
}
