//! What a user gets back: JSON rows and an Arrow IPC stream of committed rows; dedupe of
//! records a producer sent twice; freshness per shard from the newest commit; objects
//! outside an `ingest_time` range skipped before reading.

use super::fixture::*;
use arrow::ipc::reader::StreamReader;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn committed_rows_come_back_as_json_and_as_arrow() {
    let mut fx = Fixture::start().await;
    let obj = metrics(A, "shardId-000000000000", 1, &samples(4, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    let s = fx.service().await;
    let sql = "SELECT metric, series_id, value, region, labels['game_mode'] AS mode, dt, hour \
               FROM metrics ORDER BY value";
    let (status, v) = fx.query(&s, KEY_A, sql).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        v["columns"],
        serde_json::json!([
            "metric",
            "series_id",
            "value",
            "region",
            "mode",
            "dt",
            "hour"
        ])
    );
    assert_eq!(v["row_count"], 4);
    assert_eq!(v["truncated"], false);
    assert_eq!(
        v["rows"][1],
        serde_json::json!([
            "players_online",
            2,
            1.0,
            "eu-west-1",
            "ranked",
            "2026-11-26",
            "10"
        ])
    );

    let r = fx
        .http
        .post(s.url("/v1/query"))
        .header("x-api-key", KEY_A)
        .header("accept", "application/vnd.apache.arrow.stream")
        .json(&serde_json::json!({"sql": "SELECT series_id, value FROM metrics ORDER BY value"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.apache.arrow.stream"
    );
    let bytes = r.bytes().await.expect("body");
    let reader = StreamReader::try_new(std::io::Cursor::new(bytes), None).expect("IPC stream");
    let batches: Vec<_> = reader.collect::<Result<_, _>>().expect("batches");
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 4);
    assert_eq!(batches[0].schema().field(1).name(), "value");

    // A bad query is a 400 with a reason, not a 500.
    let (status, v) = fx.query(&s, KEY_A, "SELECT nope FROM metrics").await;
    assert_eq!(
        (status, v["error"].as_str()),
        (400, Some("invalid_query")),
        "{v}"
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dedupe_removes_records_a_producer_sent_twice() {
    let mut fx = Fixture::start().await;
    let e = |id: &str, ingest| E {
        event_id: id.into(),
        name: "match_end",
        ts_ms: T0,
        ingest_ms: ingest,
    };
    // e1 sent twice (a retry after a lost ack: same identity, other sequence number).
    let first = events(A, "shardId-000000000000", 1, &[e("e1", T0), e("e2", T0)]);
    fx.committer
        .commit("shardId-000000000000", vec![first])
        .await;
    let again = events(A, "shardId-000000000001", 2, &[e("e1", T0 + 500)]);
    // The same sample twice too.
    let m = samples(2, T0);
    let m1 = metrics(A, "shardId-000000000001", 3, &m);
    let m2 = metrics(A, "shardId-000000000001", 4, &m[..1]);
    fx.committer
        .commit("shardId-000000000001", vec![again, m1, m2])
        .await;
    let s = fx.service().await;
    let count = |table: &str, dedupe: bool| serde_json::json!({"sql": format!("SELECT count(*) FROM {table}"), "dedupe": dedupe});
    let (_, v) = fx.query_opts(&s, KEY_A, count("events", false)).await;
    assert_eq!(v["rows"][0][0], 3);
    let (_, v) = fx.query_opts(&s, KEY_A, count("events", true)).await;
    assert_eq!(v["rows"][0][0], 2, "{v}");
    let (_, v) = fx.query_opts(&s, KEY_A, count("metrics", false)).await;
    assert_eq!(v["rows"][0][0], 3);
    let (_, v) = fx.query_opts(&s, KEY_A, count("metrics", true)).await;
    assert_eq!(v["rows"][0][0], 2, "{v}");
    // The first stored copy wins; the view has the table's columns.
    let (_, v) = fx
        .query_opts(
            &s,
            KEY_A,
            serde_json::json!({"sql": "SELECT kinesis_shard FROM events WHERE event_id = 'e1'", "dedupe": true}),
        )
        .await;
    assert_eq!(
        v["rows"],
        serde_json::json!([["shardId-000000000000"]]),
        "{v}"
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn freshness_per_shard_reflects_the_newest_commit() {
    let mut fx = Fixture::start().await;
    let now = now_ms();
    let (old, new) = (now - 60_000, now - 5_000);
    let o = metrics(A, "shardId-000000000000", 1, &samples(2, old));
    fx.committer.commit("shardId-000000000000", vec![o]).await;
    let n = metrics(A, "shardId-000000000001", 2, &samples(2, new));
    fx.committer.commit("shardId-000000000001", vec![n]).await;
    // B's newer data on shard 0 does not make A fresher.
    let b = metrics(B, "shardId-000000000000", 3, &samples(1, now));
    fx.committer.commit("shardId-000000000000", vec![b]).await;
    let s = fx.service().await;
    let v: serde_json::Value = fx
        .http
        .get(s.url("/v1/freshness"))
        .header("x-api-key", KEY_A)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("json");
    assert_eq!(v["tenant"], A);
    let shards = v["shards"].as_object().expect("shards");
    assert_eq!(shards.len(), 2, "{v}");
    assert_eq!(shards["shardId-000000000000"]["newest_ingest_ms"], old);
    assert_eq!(shards["shardId-000000000001"]["newest_ingest_ms"], new);
    let now_ms = v["now_ms"].as_i64().expect("now");
    assert_eq!(v["worst_ms"].as_i64(), Some(now_ms - old));
    assert_eq!(
        shards["shardId-000000000001"]["freshness_ms"].as_i64(),
        Some(now_ms - new)
    );

    // A newer commit on shard 0 moves its freshness.
    let newer = metrics(A, "shardId-000000000000", 4, &samples(1, now));
    fx.committer
        .commit("shardId-000000000000", vec![newer])
        .await;
    let mut newest = 0;
    for _ in 0..200 {
        let v: serde_json::Value = fx
            .http
            .get(s.url("/v1/freshness"))
            .header("x-api-key", KEY_A)
            .send()
            .await
            .expect("answered")
            .json()
            .await
            .expect("json");
        newest = v["shards"]["shardId-000000000000"]["newest_ingest_ms"]
            .as_i64()
            .unwrap_or(0);
        if newest == now {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(newest, now);
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_outside_an_ingest_time_range_are_not_read() {
    let mut fx = Fixture::start().await;
    let hour = 3_600_000;
    for h in 0..3 {
        let o = metrics(
            A,
            "shardId-000000000000",
            h,
            &samples(2, T0 + h as i64 * hour),
        );
        fx.committer.commit("shardId-000000000000", vec![o]).await;
    }
    let s = fx.service().await;
    let sql = format!(
        "SELECT count(*) FROM metrics WHERE ingest_time >= to_timestamp_millis({})",
        T0 + 2 * hour
    );
    assert_eq!(fx.scalar(&s, KEY_A, &sql).await, 2);
    assert_eq!(
        fx.scalar(&s, KEY_A, "SELECT count(*) FROM metrics WHERE hour = '11'")
            .await,
        2
    );
    let text = fx.metrics_text(&s).await;
    assert!(text.contains("query_objects_pruned_total 4"), "{text}");
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_speaks_tls_unless_plain_http_is_set() {
    let mut fx = Fixture::start().await;
    let obj = metrics(A, "shardId-000000000000", 1, &samples(2, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    let certs = ingest::certs::generate(&["localhost", "127.0.0.1"]).expect("certs");
    let dir = std::env::temp_dir().join(format!("querytest-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (cert_file, key_file) = certs.write_to(&dir).expect("write certs");

    // Neither TLS files nor plain_http: refused at start.
    let mut cfg = config(&fx.emu.endpoint());
    cfg.plain_http = false;
    let svc = ingest::query::QueryService::start(cfg)
        .await
        .expect("service");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let e = ingest::query::run(listener, svc, async {})
        .await
        .expect_err("TLS required");
    assert!(e.to_string().contains("TLS is required"), "{e}");

    let mut cfg = config(&fx.emu.endpoint());
    cfg.plain_http = false;
    cfg.tls = Some(ingest::gateway::config::TlsConfig {
        cert_file,
        key_file,
    });
    let svc = ingest::query::QueryService::start(cfg)
        .await
        .expect("service");
    assert!(svc.wait_ready(std::time::Duration::from_secs(15)).await);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(ingest::query::run(listener, svc, async move {
        let _ = rx.await;
    }));
    let https = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(certs.ca_pem.as_bytes()).expect("CA"))
        .build()
        .expect("client");
    let v: serde_json::Value = https
        .post(format!("https://127.0.0.1:{port}/v1/query"))
        .header("x-api-key", KEY_A)
        .json(&serde_json::json!({"sql": "SELECT count(*), max(ingest_time) FROM metrics"}))
        .send()
        .await
        .expect("answered over TLS")
        .json()
        .await
        .expect("json");
    assert_eq!(v["rows"][0][0], 2);
    // Zoned timestamps keep their offset (RFC 3339).
    let t = v["rows"][0][1].as_str().expect("timestamp text");
    assert!(
        t.starts_with("2026-11-26T10:00:00") && t.ends_with("+00:00"),
        "{t}"
    );
    let _ = tx.send(());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_analyze_answers_with_the_plan() {
    let mut fx = Fixture::start().await;
    let obj = metrics(A, "shardId-000000000000", 1, &samples(4, T0));
    fx.committer.commit("shardId-000000000000", vec![obj]).await;
    let s = fx.service().await;
    let sql = "EXPLAIN ANALYZE SELECT region, count(*) FROM metrics GROUP BY 1";
    let (status, v) = fx.query(&s, KEY_A, sql).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["rows"].to_string().contains("DataSourceExec"), "{v}");
}
