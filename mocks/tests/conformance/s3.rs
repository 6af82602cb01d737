//! S3 through aws-sdk-s3 (path-style unless a test says otherwise): buckets and
//! single objects here; conditional requests, integrity, listing, multipart, access
//! and notifications in `s3/`.

mod access;
mod conditional;
mod faults;
mod integrity;
mod list;
mod multipart;
mod notify;

use crate::common::{self, code};
use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::ByteStream;
use mocks::RunningEmulator;

/// The HTTP status of an SDK error's response (0 if there was none).
pub fn status<E>(err: &SdkError<E, aws_sdk_s3::config::http::HttpResponse>) -> u16 {
    err.raw_response().map_or(0, |r| r.status().as_u16())
}

/// An emulator, a path-style client and a fresh bucket.
pub async fn setup(bucket: &str) -> (RunningEmulator, Client) {
    let emu = common::start().await;
    let s3 = common::s3(&emu).await;
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    (emu, s3)
}

pub async fn put(s3: &Client, bucket: &str, key: &str, body: &[u8]) -> String {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .expect("put object")
        .e_tag
        .expect("etag")
}

pub async fn get(s3: &Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = s3
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .expect("get object");
    out.body
        .collect()
        .await
        .expect("body")
        .into_bytes()
        .to_vec()
}

pub fn md5_hex(data: &[u8]) -> String {
    use md5::Digest as _;
    hex::encode(md5::Md5::digest(data))
}

/// S3 API reference, CreateBucket, Errors: BucketAlreadyOwnedByYou — "Amazon S3 returns
/// this error in all AWS Regions except in the North Virginia Region".
#[tokio::test]
async fn re_creating_a_bucket_you_own_is_409_outside_us_east_1() {
    let emu = common::start_with(mocks::EmulatorConfig {
        region: "eu-west-1".into(),
        ..mocks::EmulatorConfig::default()
    })
    .await;
    let conf = common::sdk_config(&emu.endpoint()).await;
    let s3 = Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .region(aws_sdk_s3::config::Region::new("eu-west-1"))
            .force_path_style(true)
            .build(),
    );
    let create = || {
        s3.create_bucket()
            .bucket("mine")
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
    };
    create().await.expect("created");
    let err = create().await.unwrap_err();
    assert_eq!(code(&err), "BucketAlreadyOwnedByYou");
    assert_eq!(status(&err), 409);
}

#[tokio::test]
async fn bucket_lifecycle() {
    let (emu, s3) = setup("alpha").await;
    // Re-creating a bucket you own: 200 in us-east-1, "for legacy compatibility" (S3 API
    // reference, CreateBucket, Errors: BucketAlreadyOwnedByYou).
    s3.create_bucket()
        .bucket("alpha")
        .send()
        .await
        .expect("us-east-1: 200 OK");
    let err = s3
        .create_bucket()
        .bucket("Bad_Name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidBucketName");
    assert_eq!(status(&err), 400);

    s3.create_bucket().bucket("beta").send().await.unwrap();
    let head = s3.head_bucket().bucket("alpha").send().await.unwrap();
    assert_eq!(head.bucket_region(), Some("us-east-1"));
    let err = s3.head_bucket().bucket("nope").send().await.unwrap_err();
    assert_eq!(status(&err), 404);

    let list = s3.list_buckets().send().await.unwrap();
    let names: Vec<_> = list.buckets().iter().filter_map(|b| b.name()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert!(list.buckets()[0].creation_date().is_some());

    put(&s3, "alpha", "k", b"v").await;
    let err = s3.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code(&err), "BucketNotEmpty");
    assert_eq!(status(&err), 409);
    s3.delete_object()
        .bucket("alpha")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.delete_bucket().bucket("alpha").send().await.unwrap();
    let err = s3.head_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(status(&err), 404);
    let err = s3.delete_bucket().bucket("alpha").send().await.unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    assert_eq!(status(&err), 404);

    let health = emu.emulator.s3.health();
    assert_eq!(health["buckets"], 1);
    assert_eq!(health["objects"], 0);
    assert!(emu.emulator.ctx.counters.get("s3.rejected.BucketNotEmpty") >= 1);
}

#[tokio::test]
async fn put_get_head_round_trip() {
    let (emu, s3) = setup("data").await;
    let body = b"{\"hello\":\"world\"}".to_vec();
    let first = s3
        .put_object()
        .bucket("data")
        .key("dir/a b+c.json")
        .content_type("application/json")
        .metadata("tenant", "acme")
        .metadata("shard", "0007")
        .body(ByteStream::from(body.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(
        first.e_tag(),
        Some(format!("\"{}\"", md5_hex(&body)).as_str())
    );

    let got = s3
        .get_object()
        .bucket("data")
        .key("dir/a b+c.json")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), first.e_tag());
    assert_eq!(got.content_type(), Some("application/json"));
    assert_eq!(got.content_length(), Some(body.len() as i64));
    let meta = got.metadata().unwrap();
    assert_eq!(meta.get("tenant").map(String::as_str), Some("acme"));
    assert_eq!(meta.get("shard").map(String::as_str), Some("0007"));
    assert!(got.last_modified().is_some());
    let data = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(&data[..], &body[..]);

    let head = s3
        .head_object()
        .bucket("data")
        .key("dir/a b+c.json")
        .send()
        .await
        .unwrap();
    assert_eq!(head.e_tag(), first.e_tag());
    assert_eq!(head.content_length(), Some(body.len() as i64));
    assert_eq!(head.content_type(), Some("application/json"));
    assert_eq!(head.metadata().unwrap().len(), 2);

    // Overwrite replaces body, ETag and metadata.
    let etag2 = self::put(&s3, "data", "dir/a b+c.json", b"").await;
    assert_eq!(etag2, format!("\"{}\"", md5_hex(b"")));
    let got = s3
        .get_object()
        .bucket("data")
        .key("dir/a b+c.json")
        .send()
        .await
        .unwrap();
    assert!(got.metadata().is_none_or(|m| m.is_empty()));
    assert!(got.body.collect().await.unwrap().into_bytes().is_empty());

    let err = s3
        .get_object()
        .bucket("data")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    assert_eq!(status(&err), 404);
    let err = s3
        .head_object()
        .bucket("data")
        .key("missing")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
    let err = s3
        .get_object()
        .bucket("nope")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    let err = s3
        .put_object()
        .bucket("nope")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");

    let health = emu.emulator.s3.health();
    assert_eq!(health["objects"], 1);
    assert_eq!(health["bytes"], 0);
}

#[tokio::test]
async fn ranged_reads() {
    let (_emu, s3) = setup("ranges").await;
    let body: Vec<u8> = (0u8..100).collect();
    put(&s3, "ranges", "k", &body).await;
    let cases = [
        ("bytes=2-5", 2..6, "bytes 2-5/100"),
        ("bytes=90-", 90..100, "bytes 90-99/100"),
        ("bytes=-10", 90..100, "bytes 90-99/100"),
        ("bytes=95-200", 95..100, "bytes 95-99/100"),
    ];
    for (range, want, content_range) in cases {
        let got = s3
            .get_object()
            .bucket("ranges")
            .key("k")
            .range(range)
            .send()
            .await
            .unwrap();
        assert_eq!(got.content_range(), Some(content_range), "{range}");
        assert_eq!(got.content_length(), Some(want.len() as i64), "{range}");
        assert_eq!(got.accept_ranges(), Some("bytes"));
        let data = got.body.collect().await.unwrap().into_bytes();
        assert_eq!(&data[..], &body[want], "{range}");
    }
    let err = s3
        .get_object()
        .bucket("ranges")
        .key("k")
        .range("bytes=100-")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRange");
    assert_eq!(status(&err), 416);
}

#[tokio::test]
async fn copy_object_keeps_or_replaces_metadata() {
    let (_emu, s3) = setup("copies").await;
    let etag = s3
        .put_object()
        .bucket("copies")
        .key("src")
        .content_type("text/plain")
        .metadata("a", "1")
        .body(ByteStream::from_static(b"payload"))
        .send()
        .await
        .unwrap()
        .e_tag
        .unwrap();
    s3.create_bucket().bucket("dest").send().await.unwrap();

    let out = s3
        .copy_object()
        .bucket("dest")
        .key("copy")
        .copy_source("copies/src")
        .send()
        .await
        .unwrap();
    assert_eq!(
        out.copy_object_result().and_then(|r| r.e_tag()),
        Some(etag.as_str())
    );
    let got = s3
        .get_object()
        .bucket("dest")
        .key("copy")
        .send()
        .await
        .unwrap();
    assert_eq!(got.content_type(), Some("text/plain"));
    assert_eq!(
        got.metadata().unwrap().get("a").map(String::as_str),
        Some("1")
    );
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"payload"
    );

    s3.copy_object()
        .bucket("copies")
        .key("src")
        .copy_source("copies/src")
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .content_type("application/octet-stream")
        .metadata("b", "2")
        .send()
        .await
        .unwrap();
    let head = s3
        .head_object()
        .bucket("copies")
        .key("src")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_type(), Some("application/octet-stream"));
    let meta = head.metadata().unwrap();
    assert_eq!(
        (meta.get("a"), meta.get("b").map(String::as_str)),
        (None, Some("2"))
    );

    let err = s3
        .copy_object()
        .bucket("copies")
        .key("src")
        .copy_source("copies/src")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidRequest");
    let err = s3
        .copy_object()
        .bucket("copies")
        .key("x")
        .copy_source("copies/none")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    let err = s3
        .copy_object()
        .bucket("copies")
        .key("x")
        .copy_source("copies/src")
        .copy_source_if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    assert_eq!(status(&err), 412);
}
