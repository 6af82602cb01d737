//! A delivery worker frozen with a real SIGSTOP (a GC pause, a VM stall) while it holds
//! leases: the other workers take its shards once the leases expire, every event stays
//! visible exactly once, and when the zombie wakes up (SIGCONT) its writes are refused by
//! the conditional lease writes (fenced) and add nothing to what the query service reads.

use crate::stack::StackUp;
use ingest::table::Lease;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// The stack's delivery lease (10 s) plus the gate's takeover slack (5 s).
const TAKEOVER_WITHIN: Duration = Duration::from_secs(15);
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

/// (rows, distinct event ids) of this run's events, as the query service reads them
/// (no dedupe: a duplicate would show).
async fn stored(s: &StackUp, run: &str) -> (u64, u64) {
    let sql = format!(
        "SELECT count(*) AS n, count(DISTINCT event_id) AS d FROM events \
         WHERE event_id LIKE '{run}-%'"
    );
    let r = s
        .client
        .post(format!("{}/v1/query", s.url("query")))
        .header("x-api-key", API_KEY)
        .json(&json!({ "sql": sql, "dedupe": false }))
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    let row = &v["rows"][0];
    let cell = |i: usize, k: &str| row.get(i).or_else(|| row.get(k)).and_then(Value::as_u64);
    (cell(0, "n").unwrap_or(0), cell(1, "d").unwrap_or(0))
}

async fn fenced_writes(s: &StackUp, name: &str) -> f64 {
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
        .filter(|l| l.starts_with("delivery_fenced_writes"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_sigstopped_delivery_worker_is_fenced_and_its_shards_move_without_loss_or_duplicates() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("fencing").await;
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

    // Events in flight, then freeze delivery-a with whatever it has buffered.
    post_events(&s, &run, 0, 300).await;
    s.cmd("kill delivery-a STOP").await.unwrap();
    let stopped = Instant::now();
    post_events(&s, &run, 300, 300).await;

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
        let (rows, distinct) = stored(&s, &run).await;
        if distinct == 600 {
            assert_eq!(rows, 600, "duplicates while delivery-a is frozen");
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(30),
            "{distinct} of 600 visible after 30 s"
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
    post_events(&s, &run, 600, 100).await;
    let t3 = Instant::now();
    loop {
        let (rows, distinct) = stored(&s, &run).await;
        if distinct == 700 {
            assert_eq!(rows, 700, "the woken zombie added duplicates");
            break;
        }
        assert!(
            t3.elapsed() < Duration::from_secs(30),
            "{distinct} of 700 visible after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // A few seconds more: whatever the zombie was flushing when it woke stays invisible.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(stored(&s, &run).await, (700, 700));
    s.quit().await;
}
