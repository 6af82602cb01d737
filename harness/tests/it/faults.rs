//! Every fault verb through the engine's run-time API (`gameday stack-up`'s `fault`,
//! `faults`, `clear`, `repair`), its effect observed from outside the harness: Kinesis
//! reads of a paused shard come back empty while writes still succeed; a killed gateway's
//! port refuses and a restarted one answers; a stalled worker is in state T; a lost AZ's
//! inbound and outbound traffic times out (blackholed, not refused); a partitioned
//! component alone loses the backend; S3 answers the injected errors. One stack for all.

use crate::stack::StackUp;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Process state letter from /proc/<pid>/stat (R, S, T, Z, …).
fn state(pid: u64) -> char {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().chars().next())
        })
        .flatten()
        .unwrap_or('?')
}

/// Whether an HTTP request to `addr` gets any answer within `wait` (a blackhole: no).
async fn answers(addr: &str, wait: Duration) -> Result<bool, String> {
    let mut s = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = [0u8; 1];
    match tokio::time::timeout(wait, s.read(&mut buf)).await {
        Err(_) => Ok(false),
        Ok(Ok(n)) => Ok(n > 0),
        Ok(Err(e)) => Err(e.to_string()),
    }
}

fn route(info: &Value, az: &str, name: &str) -> String {
    info["routes"][az][name]
        .as_str()
        .unwrap_or_else(|| panic!("no route {name} in AZ {az}: {}", info["routes"]))
        .to_string()
}

async fn inject(s: &mut StackUp, entry: Value) -> Value {
    s.cmd(&format!("fault {entry}"))
        .await
        .unwrap_or_else(|e| panic!("fault {entry}: {e}"))
}

#[tokio::test]
async fn every_verb_takes_effect_as_seen_from_outside_and_clears() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("verbs").await;
    let aws = ingest::aws::AwsConfig::local(s.info["backend"].as_str().unwrap());
    let kinesis = aws.kinesis().await;
    let stream = s.info["stream"].as_str().unwrap().to_string();
    let shard0 = s.info["shards"][0]["id"].as_str().unwrap().to_string();

    // shard-pause (reads): GetRecords returns nothing while PutRecord still lands there.
    let pause = inject(
        &mut s,
        json!({"verb": "shard-pause", "shards": [0], "mode": "reads"}),
    )
    .await;
    assert_eq!(pause["state"], "active", "{pause}");
    let hash = s.info["shards"][0]["start"].as_str().unwrap().to_string();
    let put = kinesis
        .put_record()
        .stream_name(&stream)
        .partition_key("k")
        .explicit_hash_key(&hash)
        .data(aws_sdk_kinesis::primitives::Blob::new(
            b"while paused".to_vec(),
        ))
        .send()
        .await
        .expect("writes go on while reads are paused");
    assert_eq!(put.shard_id(), shard0);
    let it = kinesis
        .get_shard_iterator()
        .stream_name(&stream)
        .shard_id(&shard0)
        .shard_iterator_type(aws_sdk_kinesis::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let got = kinesis
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap();
    assert!(got.records().is_empty(), "a paused shard serves no reads");
    s.cmd(&format!("clear {}", pause["id"])).await.unwrap();
    let got = kinesis
        .get_records()
        .shard_iterator(&it)
        .send()
        .await
        .unwrap();
    assert!(
        !got.records().is_empty(),
        "reads come back when the pause is cleared"
    );

    // gateway-kill: the port refuses (through its proxy: the dial fails, the client is
    // reset); with a duration the engine restarts it.
    let gw = s.url("gateway-b");
    let kill = inject(
        &mut s,
        json!({"verb": "gateway-kill", "target": "gateway-b"}),
    )
    .await;
    let pid = s.cmd("pids").await.unwrap()["gateway-b"].as_u64().unwrap();
    assert_eq!(
        s.cmd("running gateway-b").await.unwrap(),
        false,
        "pid {pid} killed"
    );
    let r = s.client.get(format!("{gw}/healthz")).send().await;
    assert!(r.is_err(), "a killed gateway does not answer: {r:?}");
    s.cmd("fault {\"verb\": \"gateway-restart\", \"target\": \"gateway-b\"}")
        .await
        .unwrap();
    let faults = s.cmd("faults").await.unwrap();
    let k = faults
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == kill["id"])
        .unwrap();
    assert_eq!(k["state"], "ended", "the restart ended the kill: {k}");
    let r = s.client.get(format!("{gw}/healthz")).send().await.unwrap();
    assert!(
        r.status().is_success(),
        "restarted gateway answers at the same address"
    );

    // worker-stall: SIGSTOP, then SIGCONT when cleared.
    let stall = inject(
        &mut s,
        json!({"verb": "worker-stall", "target": "delivery-c"}),
    )
    .await;
    let pid = s.cmd("pids").await.unwrap()["delivery-c"].as_u64().unwrap();
    assert_eq!(state(pid), 'T', "stalled worker is stopped");
    s.cmd(&format!("clear {}", stall["id"])).await.unwrap();
    assert_ne!(state(pid), 'T', "continued");

    // az-loss: inbound and outbound of AZ a are blackholed (no answer, no refusal) and
    // its processes frozen; AZ b still answers; az-restore brings it back.
    let gw_a = route(&s.info, "a", "gateway-a");
    let egress_a = route(&s.info, "a", "egress-delivery-a");
    let egress_b = route(&s.info, "b", "egress-delivery-b");
    inject(&mut s, json!({"verb": "az-loss", "target": "a"})).await;
    assert_eq!(
        answers(&gw_a, Duration::from_millis(500)).await,
        Ok(false),
        "inbound blackholed"
    );
    assert_eq!(
        answers(&egress_a, Duration::from_millis(500)).await,
        Ok(false),
        "outbound blackholed"
    );
    assert_eq!(
        answers(&egress_b, Duration::from_secs(5)).await,
        Ok(true),
        "other AZs untouched"
    );
    let pid_a = s.cmd("pids").await.unwrap()["delivery-a"].as_u64().unwrap();
    assert_eq!(state(pid_a), 'T');
    s.cmd("fault {\"verb\": \"az-restore\", \"target\": \"a\"}")
        .await
        .unwrap();
    assert_eq!(
        answers(&gw_a, Duration::from_secs(5)).await,
        Ok(true),
        "AZ a is back"
    );
    assert_ne!(state(pid_a), 'T');

    // network-partition: delivery-b alone loses the backend.
    let np = inject(
        &mut s,
        json!({"verb": "network-partition", "target": "delivery-b", "peer": "backend"}),
    )
    .await;
    assert_eq!(
        answers(&egress_b, Duration::from_millis(500)).await,
        Ok(false)
    );
    let gw_b_egress = route(&s.info, "b", "egress-gateway-b");
    assert_eq!(
        answers(&gw_b_egress, Duration::from_secs(5)).await,
        Ok(true)
    );
    s.cmd(&format!("clear {}", np["id"])).await.unwrap();
    assert_eq!(answers(&egress_b, Duration::from_secs(5)).await, Ok(true));

    // s3-errors on one operation: every GetObject fails with 503, PutObject still works.
    let s3 = aws.s3().await;
    let bucket = s.info["bucket"].as_str().unwrap().to_string();
    let errs = inject(
        &mut s,
        json!({"verb": "s3-errors", "operation": "GetObject", "error": "503", "probability": 1.0}),
    )
    .await;
    s3.put_object()
        .bucket(&bucket)
        .key("probe/x")
        .body(b"x".to_vec().into())
        .send()
        .await
        .expect("PutObject is not affected");
    let err = s3
        .get_object()
        .bucket(&bucket)
        .key("probe/x")
        .send()
        .await
        .unwrap_err();
    let status = err.raw_response().map(|r| r.status().as_u16());
    assert_eq!(status, Some(503), "{err:?}");
    s.cmd(&format!("clear {}", errs["id"])).await.unwrap();
    s3.get_object()
        .bucket(&bucket)
        .key("probe/x")
        .send()
        .await
        .unwrap();

    // Bad input is refused with the reason; repair ends whatever is still active.
    let e = s
        .cmd("fault {\"verb\": \"gateway-kill\", \"target\": \"gateway-z\"}")
        .await
        .unwrap_err();
    assert!(e.contains("target"), "{e}");
    inject(
        &mut s,
        json!({"verb": "latency", "service": "s3", "p50_ms": 5.0, "p99_ms": 50.0}),
    )
    .await;
    assert_eq!(s.cmd("repair").await.unwrap(), 1);
    let events = s.cmd("fault-events").await.unwrap();
    assert!(events.as_array().unwrap().len() >= 12, "{events}");
    s.quit().await;
}
