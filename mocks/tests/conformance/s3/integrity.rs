//! Body integrity and size: Content-MD5, x-amz-checksum-* (headers and aws-chunked
//! trailers, as aws-sdk-s3 sends them), checksums echoed back, EntityTooLarge.

use super::{md5_hex, put, setup, status};
use crate::common::{self, code};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{ChecksumAlgorithm, ChecksumMode};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

#[tokio::test]
async fn content_md5_is_checked() {
    let (_emu, s3) = setup("integrity").await;
    let body = b"exactly these bytes";
    let md5 = {
        use md5::Digest as _;
        B64.encode(md5::Md5::digest(body))
    };
    let put = s3
        .put_object()
        .bucket("integrity")
        .key("good")
        .content_md5(&md5)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap();
    assert_eq!(put.e_tag(), Some(format!("\"{}\"", md5_hex(body)).as_str()));

    let other = {
        use md5::Digest as _;
        B64.encode(md5::Md5::digest(b"other bytes"))
    };
    let err = s3
        .put_object()
        .bucket("integrity")
        .key("bad")
        .content_md5(other)
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    assert_eq!(status(&err), 400);

    let err = s3
        .put_object()
        .bucket("integrity")
        .key("bad")
        .content_md5("bm90IGFuIG1kNQ==")
        .body(ByteStream::from_static(body))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidDigest");
    let err = s3
        .head_object()
        .bucket("integrity")
        .key("bad")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404, "a refused put stores nothing");
}

#[tokio::test]
async fn checksums_are_verified_and_echoed() {
    let (_emu, s3) = setup("checks").await;
    // The SDK's default: a CRC32 header it computes itself.
    let put = s3
        .put_object()
        .bucket("checks")
        .key("default")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .unwrap();
    assert_eq!(put.checksum_crc32(), Some("DUoRhQ=="));
    let got = s3
        .get_object()
        .bucket("checks")
        .key("default")
        .checksum_mode(ChecksumMode::Enabled)
        .send()
        .await
        .unwrap();
    assert_eq!(got.checksum_crc32(), Some("DUoRhQ=="));
    assert_eq!(
        &got.body.collect().await.unwrap().into_bytes()[..],
        b"hello world"
    );

    let put = s3
        .put_object()
        .bucket("checks")
        .key("sha")
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        put.checksum_sha256(),
        Some("uU0nuZNNPgilLlLX2n2r+sSE7+N6U4DukIj3rOLvzek=")
    );

    let err = s3
        .put_object()
        .bucket("checks")
        .key("wrong")
        .checksum_crc32("AAAAAA==")
        .body(ByteStream::from_static(b"hello world"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
    assert_eq!(status(&err), 400);
}

#[tokio::test]
async fn streamed_bodies_with_trailing_checksums() {
    let (_emu, s3) = setup("stream").await;
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let path = std::env::temp_dir().join(format!("gameday-s3-stream-{}.bin", std::process::id()));
    std::fs::write(&path, &data).unwrap();
    let body = ByteStream::from_path(&path).await.unwrap();
    let put = s3
        .put_object()
        .bucket("stream")
        .key("big")
        .body(body)
        .send()
        .await
        .unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(
        put.e_tag(),
        Some(format!("\"{}\"", md5_hex(&data)).as_str())
    );
    let head = s3
        .head_object()
        .bucket("stream")
        .key("big")
        .send()
        .await
        .unwrap();
    assert_eq!(head.content_length(), Some(data.len() as i64));
    assert_eq!(head.content_encoding(), None, "aws-chunked is not stored");
    assert_eq!(super::get(&s3, "stream", "big").await, data);
}

#[tokio::test]
async fn entity_too_large_above_the_limit() {
    let mut config = mocks::EmulatorConfig::default();
    config.s3.max_object_bytes = 1024;
    let emu = common::start_with(config).await;
    let s3 = common::s3(&emu).await;
    s3.create_bucket().bucket("limits").send().await.unwrap();
    put(&s3, "limits", "fits", &[7u8; 1024]).await;
    let err = s3
        .put_object()
        .bucket("limits")
        .key("too-big")
        .body(ByteStream::from(vec![7u8; 1025]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "EntityTooLarge");
    assert_eq!(status(&err), 400);
    assert!(emu.emulator.ctx.counters.get("s3.rejected.EntityTooLarge") >= 1);
}

#[tokio::test]
async fn fast_etags_are_opaque_but_content_derived() {
    let mut config = mocks::EmulatorConfig::default();
    config.s3.fast_etags = true;
    let emu = common::start_with(config).await;
    let s3 = common::s3(&emu).await;
    s3.create_bucket().bucket("fast").send().await.unwrap();
    let a = put(&s3, "fast", "a", b"same bytes").await;
    let b = put(&s3, "fast", "b", b"same bytes").await;
    let c = put(&s3, "fast", "c", b"other bytes").await;
    assert_eq!(a, b);
    assert_ne!(a, c);
    assert_ne!(a, format!("\"{}\"", md5_hex(b"same bytes")));
    assert_eq!(a.len(), 34);
    // Conditional writes and Content-MD5 work the same.
    let err = s3
        .put_object()
        .bucket("fast")
        .key("a")
        .if_match(c)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    let err = s3
        .put_object()
        .bucket("fast")
        .key("a")
        .content_md5("XrY7u+Ae7tCTyyK7j1rNww==")
        .body(ByteStream::from_static(b"not hello world"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "BadDigest");
}
