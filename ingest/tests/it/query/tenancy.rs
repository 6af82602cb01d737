//! Tenancy and authentication: a tenant sees only its own rows; `CREATE EXTERNAL TABLE`
//! pointing at another tenant's prefix is refused by the SQL options, and — were it let
//! through — by the tenant-scoped object store; the store refuses another tenant's path
//! directly. Missing or bad credentials get the gateway's bare 401.

use super::fixture::*;
use object_store::ObjectStoreExt;
use object_store::path::Path;

async fn two_tenants(fx: &mut Fixture) {
    let a = metrics(A, "shardId-000000000000", 1, &samples(3, T0));
    let b = metrics(B, "shardId-000000000000", 1, &samples(5, T0));
    let eb = events(
        B,
        "shardId-000000000000",
        1,
        &[E {
            event_id: "b-secret".into(),
            name: "purchase",
            ts_ms: T0,
            ingest_ms: T0,
        }],
    );
    fx.committer
        .commit("shardId-000000000000", vec![a, b, eb])
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_never_reads_another_tenants_rows() {
    let mut fx = Fixture::start().await;
    two_tenants(&mut fx).await;
    let s = fx.service().await;
    assert_eq!(
        fx.scalar(&s, KEY_A, "SELECT count(*) FROM metrics").await,
        3
    );
    assert_eq!(
        fx.scalar(&s, KEY_B, "SELECT count(*) FROM metrics").await,
        5
    );
    assert_eq!(fx.scalar(&s, KEY_A, "SELECT count(*) FROM events").await, 0);
    let (_, v) = fx
        .query(&s, KEY_A, "SELECT DISTINCT tenant FROM metrics")
        .await;
    assert_eq!(v["rows"], serde_json::json!([[A]]));

    // Layer 1: DDL, DML and statements are refused before anything runs.
    let location = format!("s3://{BUCKET}/metrics/tenant={B}/");
    for sql in [
        format!("CREATE EXTERNAL TABLE stolen STORED AS PARQUET LOCATION '{location}'"),
        "CREATE EXTERNAL TABLE local STORED AS CSV LOCATION '/etc/passwd'".to_string(),
        "CREATE TABLE t AS SELECT * FROM metrics".to_string(),
        format!("COPY (SELECT * FROM metrics) TO 's3://{BUCKET}/metrics/tenant={B}/x.parquet'"),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "DROP TABLE metrics".to_string(),
    ] {
        let (status, v) = fx.query(&s, KEY_A, &sql).await;
        assert!(
            status == 403 || status == 400,
            "{sql} answered {status} {v}"
        );
        assert_ne!(status, 200);
    }
    let (status, v) = fx
        .query(
            &s,
            KEY_A,
            &format!("CREATE EXTERNAL TABLE stolen STORED AS PARQUET LOCATION '{location}'"),
        )
        .await;
    assert_eq!((status, v["error"].as_str()), (403, Some("refused")), "{v}");

    // Layer 2: a session that allowed DDL still cannot read B's prefix or local files.
    let ctx = s.svc.sessions.session(A, false).expect("session");
    let created = ctx
        .sql(&format!(
            "CREATE EXTERNAL TABLE stolen STORED AS PARQUET LOCATION '{location}'"
        ))
        .await;
    match created {
        Err(e) => assert!(e.to_string().contains("not allowed"), "{e}"),
        Ok(_) => {
            let read = ctx.sql("SELECT count(*) FROM stolen").await;
            let collected = match read {
                Ok(df) => df.collect().await.map(|_| ()),
                Err(e) => Err(e),
            };
            let e = collected.expect_err("B's rows must not be readable");
            assert!(e.to_string().contains("not allowed"), "{e}");
        }
    }
    let local = ctx
        .sql("CREATE EXTERNAL TABLE local STORED AS CSV LOCATION '/etc/passwd'")
        .await;
    assert!(local.is_err(), "no local file system in a tenant session");

    // The scoped store itself: B's objects are refused, A's are readable, writes refused.
    let store = s.svc.sessions.tenant_store(A);
    let b_key = fx
        .s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(format!("metrics/tenant={B}/"))
        .send()
        .await
        .expect("list")
        .contents()[0]
        .key()
        .expect("key")
        .to_string();
    let e = store
        .get(&Path::from(b_key.as_str()))
        .await
        .expect_err("B's object refused");
    assert!(
        matches!(e, object_store::Error::PermissionDenied { .. }),
        "{e}"
    );
    let e = store
        .get(&Path::from(
            format!("metrics/tenant={A}x/y.parquet").as_str(),
        ))
        .await
        .expect_err("a prefix sharing A's name is not A's");
    assert!(
        matches!(e, object_store::Error::PermissionDenied { .. }),
        "{e}"
    );
    let a_listed: Vec<_> = futures::StreamExt::collect::<Vec<_>>(
        store.list(Some(&Path::from(format!("metrics/tenant={A}").as_str()))),
    )
    .await;
    assert_eq!(a_listed.len(), 1);
    let a_obj = a_listed[0]
        .as_ref()
        .expect("A's object listed")
        .location
        .clone();
    assert!(
        store.get(&a_obj).await.is_ok(),
        "A's own object is readable"
    );
    assert!(
        store
            .put(&a_obj, bytes::Bytes::from_static(b"x").into())
            .await
            .is_err()
    );
    let mut everything = store.list(None);
    let first = futures::StreamExt::next(&mut everything)
        .await
        .expect("one item");
    assert!(first.is_err(), "listing the whole bucket is refused");
    let text = fx.metrics_text(&s).await;
    assert!(
        text.contains(r#"query_store_refused_total{tenant="studio-a"}"#),
        "{text}"
    );
    s.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_or_missing_credentials_get_a_bare_401() {
    let mut fx = Fixture::start().await;
    two_tenants(&mut fx).await;
    let s = fx.service().await;
    let body = serde_json::json!({"sql": "SELECT count(*) FROM metrics"});
    let cases: Vec<(&str, Vec<(&str, String)>)> = vec![
        ("missing", vec![]),
        (
            "bad api key",
            vec![("x-api-key", "key-z-0123456789abcdef0123456789".into())],
        ),
        (
            "wrong signature",
            vec![(
                "authorization",
                format!(
                    "Bearer {}",
                    token(A, "another-secret-that-is-long-enough-32b", 600)
                ),
            )],
        ),
        (
            "expired",
            vec![(
                "authorization",
                format!("Bearer {}", token(A, SECRET, -120)),
            )],
        ),
        (
            "unknown tenant",
            vec![(
                "authorization",
                format!("Bearer {}", token("studio-z", SECRET, 600)),
            )],
        ),
        (
            "garbage",
            vec![("authorization", "Bearer not.a.jwt".into())],
        ),
    ];
    for (name, headers) in cases {
        for (method, path) in [("POST", "/v1/query"), ("GET", "/v1/freshness")] {
            let mut req = match method {
                "POST" => fx.http.post(s.url(path)).json(&body),
                _ => fx.http.get(s.url(path)),
            };
            for (h, v) in &headers {
                req = req.header(*h, v);
            }
            let r = req.send().await.expect("answered");
            assert_eq!(r.status().as_u16(), 401, "{name} {path}");
            assert_eq!(r.text().await.expect("body"), "", "{name}: no hint");
        }
    }
    // A valid token resolves to its tenant.
    let r = fx
        .http
        .post(s.url("/v1/query"))
        .bearer_auth(token(B, SECRET, 600))
        .json(&body)
        .send()
        .await
        .expect("answered");
    assert_eq!(r.status().as_u16(), 200);
    let v: serde_json::Value = r.json().await.expect("json");
    assert_eq!(v["rows"][0][0], 5);
    let text = fx.metrics_text(&s).await;
    assert!(
        text.contains(r#"query_unauthorized_total{reason="missing"} 2"#),
        "{text}"
    );
    s.stop();
}
