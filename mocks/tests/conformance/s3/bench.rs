//! PutObject throughput through aws-sdk-s3: a benchmark that prints figures, run on
//! demand, never a timed assertion.
//!
//! ```text
//! gameday emulate --port 4566 &
//! S3_BENCH_ENDPOINT=http://127.0.0.1:4566 cargo test -p mocks --test conformance \
//!     s3::bench -- --ignored --nocapture
//! ```
//! Without `S3_BENCH_ENDPOINT` the emulator runs in the test process (client and
//! server then share the cores). `S3_BENCH_UNSIGNED=1` skips payload signing.

use crate::common;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

const IN_FLIGHT: usize = 8;
const OBJECT_BYTES: usize = 64 << 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: prints figures, run with --ignored --nocapture"]
async fn put_object_throughput() {
    let local;
    let endpoint = match std::env::var("S3_BENCH_ENDPOINT") {
        Ok(e) => e,
        Err(_) => {
            local = common::start().await;
            local.endpoint()
        }
    };
    let secs: f64 = std::env::var("S3_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5.0);
    let unsigned = std::env::var("S3_BENCH_UNSIGNED").is_ok_and(|v| !v.is_empty());
    let conf = common::sdk_config(&endpoint).await;
    let s3 = Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    );
    let bucket = format!("bench-{}", std::process::id());
    s3.create_bucket().bucket(&bucket).send().await.unwrap();
    let body = bytes::Bytes::from(vec![0x5Au8; OBJECT_BYTES]);
    let done = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..IN_FLIGHT {
        let (s3, bucket, body) = (s3.clone(), bucket.clone(), body.clone());
        let (done, failed, stop) = (done.clone(), failed.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut i = 0u64;
            let mut latencies = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let req = s3
                    .put_object()
                    .bucket(&bucket)
                    .key(format!("w{w}/{i:08}"))
                    .body(ByteStream::from(body.clone()));
                let r = if unsigned {
                    req.customize().disable_payload_signing().send().await
                } else {
                    req.send().await
                };
                match r {
                    Ok(_) => done.fetch_add(1, Ordering::Relaxed),
                    Err(_) => failed.fetch_add(1, Ordering::Relaxed),
                };
                latencies.push(t.elapsed());
                i += 1;
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let n = done.load(Ordering::Relaxed);
    println!(
        "PutObject {} KiB x{IN_FLIGHT} in flight{}: {:.0}/s ({:.0} MiB/s), {} failed, p50 {:?} p99 {:?}",
        OBJECT_BYTES >> 10,
        if unsigned { " (unsigned payload)" } else { "" },
        n as f64 / elapsed,
        n as f64 * OBJECT_BYTES as f64 / elapsed / f64::from(1 << 20),
        failed.load(Ordering::Relaxed),
        pct(0.5),
        pct(0.99),
    );
}
