//! Streams, shards, retention, credentials and malformed requests.

use super::{create, entry};
use crate::common::{self, code};
use mocks::EmulatorConfig;

#[tokio::test]
async fn stream_lifecycle_and_errors() {
    let emu = common::start().await;
    let k = common::kinesis(&emu).await;
    create(&k, "telemetry", 3).await;
    let e = k
        .create_stream()
        .stream_name("telemetry")
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceInUseException");
    let e = k
        .create_stream()
        .stream_name("bad name!")
        .shard_count(1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");
    let e = k
        .create_stream()
        .stream_name("zero")
        .shard_count(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ValidationException");

    let d = k
        .describe_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    let d = d.stream_description().unwrap();
    assert_eq!(d.stream_status().as_str(), "ACTIVE");
    assert_eq!(d.shards().len(), 3);
    assert_eq!(d.retention_period_hours(), 24);
    let s = k
        .describe_stream_summary()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    assert_eq!(
        s.stream_description_summary().unwrap().open_shard_count(),
        3
    );
    // StreamARN works wherever StreamName does.
    let arn = d.stream_arn().to_string();
    let shards = k.list_shards().stream_arn(&arn).send().await.unwrap();
    assert_eq!(shards.shards().len(), 3);

    let paged = k
        .list_shards()
        .stream_name("telemetry")
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.shards().len(), 2);
    let rest = k
        .list_shards()
        .next_token(paged.next_token().expect("more shards"))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.shards().len(), 1);
    assert_eq!(rest.shards()[0].shard_id(), "shardId-000000000002");

    create(&k, "other", 1).await;
    let l = k.list_streams().send().await.unwrap();
    assert_eq!(l.stream_names(), ["other", "telemetry"]);
    let l = k.list_streams().limit(1).send().await.unwrap();
    assert!(l.has_more_streams());

    k.increase_stream_retention_period()
        .stream_name("telemetry")
        .retention_period_hours(48)
        .send()
        .await
        .unwrap();
    let e = k
        .increase_stream_retention_period()
        .stream_name("telemetry")
        .retention_period_hours(30)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "InvalidArgumentException");

    k.delete_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap();
    let e = k
        .describe_stream()
        .stream_name("telemetry")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
    let e = k
        .put_records()
        .stream_name("telemetry")
        .records(entry(b"x", "k"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), "ResourceNotFoundException");
}

#[tokio::test]
async fn credentials_are_checked() {
    let emu = common::start().await;
    let bad_key = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "nobody", "x").await,
    );
    let e = bad_key.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "UnrecognizedClientException");
    let bad_secret = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "test", "wrong").await,
    );
    let e = bad_secret.list_streams().send().await.unwrap_err();
    assert_eq!(code(&e), "InvalidSignatureException");
    assert_eq!(emu.emulator.ctx.counters.get("auth.rejected.signature"), 1);

    let mut config = EmulatorConfig::default();
    config
        .credentials
        .push(mocks::Credentials::new("AKIDGAMEDAY", "s3cret"));
    let emu = common::start_with(config).await;
    let other = aws_sdk_kinesis::Client::new(
        &common::sdk_config_with(&emu.endpoint(), "AKIDGAMEDAY", "s3cret").await,
    );
    other.list_streams().send().await.unwrap();
}

#[tokio::test]
async fn malformed_requests_get_aws_errors() {
    let emu = common::start_with(EmulatorConfig {
        verify_signatures: false,
        ..Default::default()
    })
    .await;
    let k = common::kinesis(&emu).await;
    create(&k, "s", 1).await;
    let auth = common::unsigned_auth();
    let call = |target: &'static str, body: &'static str| {
        let addr = emu.addr;
        async move {
            common::raw_request(
                addr,
                "POST",
                "/",
                &[
                    ("x-amz-target", target),
                    ("content-type", "application/x-amz-json-1.1"),
                    ("authorization", auth),
                ],
                body.as_bytes(),
            )
            .await
        }
    };
    let (status, _, body) = call("Kinesis_20131202.PutRecords", "{not json").await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = call(
        "Kinesis_20131202.CreateStream",
        r#"{"StreamName":"x","ShardCount":"two"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = call("Kinesis_20131202.CreateStream", r#"{"ShardCount":1}"#).await;
    assert_eq!(status, 400);
    assert!(body.contains("ValidationException"), "{body}");
    let (status, headers, body) = call("Kinesis_20131202.FlyToTheMoon", "{}").await;
    assert_eq!(status, 400);
    assert!(body.contains("UnknownOperationException"), "{body}");
    assert!(
        headers
            .iter()
            .any(|(k, v)| k == "x-amzn-errortype" && v == "UnknownOperationException")
    );
    let (status, _, body) = call(
        "Kinesis_20131202.PutRecords",
        r#"{"StreamName":"s","Records":[{"Data":"!!!","PartitionKey":"k"}]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("SerializationException"), "{body}");
    let (status, _, body) = common::raw_request(
        emu.addr,
        "POST",
        "/",
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("authorization", auth),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        body.contains("UnknownOperationException"),
        "missing target: {body}"
    );
    let (status, _, body) = common::raw_request(
        emu.addr,
        "POST",
        "/",
        &[
            ("x-amz-target", "Kinesis_20131202.ListStreams"),
            ("content-type", "application/x-amz-json-1.1"),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("MissingAuthenticationToken"), "{body}");
}
