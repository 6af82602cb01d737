//! A delivery worker frozen with a real SIGSTOP (a GC pause, a VM stall) while it holds
//! leases and buffered rows: the other workers take its shards once the leases expire,
//! every event is committed exactly once, and when the zombie wakes up (SIGCONT) its
//! writes are refused by the conditional lease writes (fenced) and add nothing to the
//! table. Rows are counted by the harness's own table reader (lease heads → commit
//! chains → Parquet objects, `stack-up`'s `events` command), never by the query service.

use crate::stack::StackUp;
use ingest::table::Lease;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The stack's delivery lease (10 s) plus the gate's takeover slack (5 s).
const TAKEOVER_WITHIN: Duration = Duration::from_secs(15);
/// Delivery's buffer interval in this test: long enough that the worker can be stopped
/// while it provably holds rows not yet flushed.
const BUFFER_MS: u64 = 5_000;
const API_KEY: &str = "studio-a-api-key-0123456789abcdef";

/// shard → lease as stored.
async fn leases(s3: &aws_sdk_s3::Client, bucket: &str) -> BTreeMap<String, Lease> {
    let list = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("_leases/")
        .send()
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for o in list.contents() {
        let key = o.key().unwrap();
        let body = s3
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap();
        let bytes = body.body.collect().await.unwrap().into_bytes();
        let lease = Lease::from_json(&bytes).unwrap();
        out.insert(lease.shard_id.clone(), lease);
    }
    out
}

fn owned_by<'a>(l: &'a BTreeMap<String, Lease>, az: &str) -> Vec<&'a String> {
    let prefix = format!("delivery-{az}-");
    l.iter()
        .filter(|(_, l)| l.owner.starts_with(&prefix))
        .map(|(s, _)| s)
        .collect()
}

async fn post_events(s: &StackUp, run: &str, from: usize, n: usize) {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    // Chunks spread over the three gateways (each meters a third of the tenant's quota).
    for (k, chunk) in (from..from + n).collect::<Vec<_>>().chunks(50).enumerate() {
        let gateway = ["gateway-a", "gateway-b", "gateway-c"][k % 3];
        let events: Vec<Value> = chunk
            .iter()
            .map(|i| {
                json!({
                    "event_id": format!("{run}-{i}"), "event_type": "match", "event_name": "end",
                    "event_timestamp": now_ms, "app_version": "1.0", "event_data": {"score": i},
                })
            })
            .collect();
        let r = loop {
            let r = s
                .client
                .post(format!("{}/v1/events", s.url(gateway)))
                .header("x-api-key", API_KEY)
                .json(&json!({ "events": events }))
                .send()
                .await
                .unwrap();
            if r.status() != reqwest::StatusCode::TOO_MANY_REQUESTS {
                break r;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        };
        assert!(r.status().is_success(), "{}", r.status());
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["FailedRecordCount"], 0, "{body}");
    }
}

/// This run's committed events as the harness's table reader sees them: (rows, distinct
/// event ids, rows per shard). A row stored twice counts twice.
async fn stored(s: &mut StackUp, run: &str) -> (u64, u64, BTreeMap<String, u64>) {
    let v = s.cmd(&format!("events {run}-")).await.unwrap();
    let ids = v["ids"].as_object().unwrap();
    let shards = v["shards"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), n.as_u64().unwrap()))
        .collect();
    (v["rows"].as_u64().unwrap(), ids.len() as u64, shards)
}

/// The samples of a metric family (one per label set) in a component's `/metrics` text.
async fn samples(s: &StackUp, name: &str, family: &str) -> Vec<f64> {
    let text = s
        .client
        .get(format!("{}/metrics", s.url(name)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| {
            l.strip_prefix(family)
                .is_some_and(|rest| rest.starts_with(['{', ' ']))
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .collect()
}

async fn fenced_writes(s: &StackUp, name: &str) -> f64 {
    samples(s, name, "delivery_fenced_writes_total")
        .await
        .iter()
        .sum()
}

#[tokio::test]
async fn a_sigstopped_delivery_worker_is_fenced_and_its_shards_move_without_loss_or_duplicates() {
    let _heavy = crate::HEAVY.lock().await;
    let buffer_ms = BUFFER_MS.to_string();
    let mut s = StackUp::boot_with("fencing", &["--delivery-buffer-ms", &buffer_ms]).await;
    let aws = ingest::aws::AwsConfig::local(s.info["backend"].as_str().unwrap());
    let s3 = aws.s3().await;
    let bucket = s.info["bucket"].as_str().unwrap().to_string();
    let run = format!("fence{}", std::process::id());

    // The three workers balance; delivery-a holds some shards.
    let t0 = Instant::now();
    let before = loop {
        let l = leases(&s3, &bucket).await;
        let counts: Vec<usize> = ["a", "b", "c"]
            .iter()
            .map(|az| owned_by(&l, az).len())
            .collect();
        if counts.iter().all(|n| *n > 0) {
            break l;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no balance after 30 s: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let a_shards: Vec<String> = owned_by(&before, "a").into_iter().cloned().collect();

    // Events in flight, then freeze delivery-a while it provably holds buffered rows: its
    // own gauges show bytes buffered, the oldest younger than half the buffer interval, so
    // no flush is due before the SIGSTOP lands.
    post_events(&s, &run, 0, 300).await;
    let mut sent = 300;
    let t_buf = Instant::now();
    let mut last_post = t_buf;
    let (buffered, age) = loop {
        let bytes: f64 = samples(&s, "delivery-a", "delivery_buffer_bytes")
            .await
            .iter()
            .sum();
        let age = samples(&s, "delivery-a", "delivery_buffer_age_ms")
            .await
            .into_iter()
            .fold(0.0, f64::max);
        if bytes > 0.0 && age <= BUFFER_MS as f64 / 2.0 {
            break (bytes, age);
        }
        assert!(
            t_buf.elapsed() < Duration::from_secs(20),
            "delivery-a never held young buffered rows (bytes {bytes}, oldest {age} ms)"
        );
        if last_post.elapsed() > Duration::from_secs(1) {
            // Nothing buffered yet, or only rows about to flush: more rows on its shards.
            post_events(&s, &run, sent, 50).await;
            sent += 50;
            last_post = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    s.cmd("kill delivery-a STOP").await.unwrap();
    let stopped = Instant::now();
    eprintln!("delivery-a stopped holding {buffered} buffered bytes, oldest {age} ms");
    post_events(&s, &run, sent, 300).await;
    sent += 300;

    // Its shards move to the live workers, each at a higher epoch, within lease + slack.
    let moved = loop {
        let l = leases(&s3, &bucket).await;
        let all_moved = a_shards.iter().all(|sh| {
            l.get(sh)
                .is_some_and(|x| !x.owner.starts_with("delivery-a-") && x.epoch > before[sh].epoch)
        });
        if all_moved {
            break stopped.elapsed();
        }
        assert!(
            stopped.elapsed() < TAKEOVER_WITHIN,
            "delivery-a's shards {a_shards:?} not taken over {TAKEOVER_WITHIN:?} after SIGSTOP"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    eprintln!(
        "{} shards of the stopped worker taken over in {moved:?}",
        a_shards.len()
    );

    // Every event is stored exactly once, the frozen worker's buffers included.
    let t1 = Instant::now();
    loop {
        let (rows, distinct, _) = stored(&mut s, &run).await;
        if distinct == sent as u64 {
            assert_eq!(rows, distinct, "duplicates while delivery-a is frozen");
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(30),
            "{distinct} of {sent} committed after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // The zombie wakes up: its renewals and any flush are refused, nothing it writes shows.
    s.cmd("kill delivery-a CONT").await.unwrap();
    let t2 = Instant::now();
    while fenced_writes(&s, "delivery-a").await < 1.0 {
        assert!(
            t2.elapsed() < Duration::from_secs(15),
            "delivery-a was never fenced after SIGCONT"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    post_events(&s, &run, sent, 100).await;
    sent += 100;
    let t3 = Instant::now();
    loop {
        let (rows, distinct, _) = stored(&mut s, &run).await;
        if distinct == sent as u64 {
            assert_eq!(rows, distinct, "the woken zombie added duplicates");
            break;
        }
        assert!(
            t3.elapsed() < Duration::from_secs(30),
            "{distinct} of {sent} committed after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A few seconds more: whatever the zombie was flushing when it woke stays out of the
    // table.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (rows, distinct, per_shard) = stored(&mut s, &run).await;
    assert_eq!((rows, distinct), (sent as u64, sent as u64));
    let on_a: u64 = a_shards
        .iter()
        .map(|sh| per_shard.get(sh).copied().unwrap_or(0))
        .sum();
    assert!(
        on_a > 0,
        "rows of the stopped worker's shards {a_shards:?} committed: {per_shard:?}"
    );
    s.quit().await;
}
