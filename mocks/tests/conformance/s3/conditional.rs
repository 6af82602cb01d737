//! Conditional requests: If-None-Match / If-Match on PutObject (the delivery commit
//! protocol's fencing), racing creators, and the four read conditions on GET/HEAD.

use super::{put, setup, status};
use crate::common::code;
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use std::time::{Duration, SystemTime};

#[tokio::test]
async fn conditional_puts_fence_writers() {
    let (_emu, s3) = setup("lease").await;
    let create = |body: &'static [u8]| {
        s3.put_object()
            .bucket("lease")
            .key("shard-0")
            .if_none_match("*")
            .body(ByteStream::from_static(body))
            .send()
    };
    let first = create(b"epoch-1").await.unwrap().e_tag.unwrap();
    let err = create(b"epoch-1-again").await.unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    assert_eq!(status(&err), 412);

    let update = |etag: String, body: &'static [u8]| {
        s3.put_object()
            .bucket("lease")
            .key("shard-0")
            .if_match(etag)
            .body(ByteStream::from_static(body))
            .send()
    };
    let second = update(first.clone(), b"epoch-2")
        .await
        .unwrap()
        .e_tag
        .unwrap();
    assert_ne!(first, second);
    // A stalled former owner still holds the first ETag: fenced.
    let err = update(first, b"zombie").await.unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    assert_eq!(super::get(&s3, "lease", "shard-0").await, b"epoch-2");

    // If-Match on a key that does not exist: 404 NoSuchKey, as AWS answers.
    let err = s3
        .put_object()
        .bucket("lease")
        .key("shard-1")
        .if_match(second)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchKey");
    assert_eq!(status(&err), 404);

    // S3 takes only `*` in If-None-Match on writes.
    let err = s3
        .put_object()
        .bucket("lease")
        .key("shard-0")
        .if_none_match("\"abc\"")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NotImplemented");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creators_exactly_one_wins() {
    let (emu, s3) = setup("commits").await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s3 = s3.clone();
        tasks.push(tokio::spawn(async move {
            s3.put_object()
                .bucket("commits")
                .key("shard-0/commit-0001.json")
                .if_none_match("*")
                .body(ByteStream::from(format!("writer {i}").into_bytes()))
                .send()
                .await
                .map(|o| (i, o.e_tag.unwrap_or_default()))
                .map_err(|e| code(&e))
        }));
    }
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(w) => winners.push(w),
            Err(c) => assert_eq!(c, "PreconditionFailed"),
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    let (i, _) = &winners[0];
    let stored = super::get(&s3, "commits", "shard-0/commit-0001.json").await;
    assert_eq!(stored, format!("writer {i}").into_bytes());
    assert_eq!(
        emu.emulator
            .ctx
            .counters
            .get("s3.rejected.PreconditionFailed"),
        15
    );
}

#[tokio::test]
async fn conditional_reads() {
    let (_emu, s3) = setup("reads").await;
    let etag = put(&s3, "reads", "k", b"data").await;
    let past = DateTime::from(SystemTime::now() - Duration::from_secs(3600));
    let future = DateTime::from(SystemTime::now() + Duration::from_secs(3600));

    let ok = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.e_tag(), Some(etag.as_str()));
    let err = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_match("\"stale\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert_eq!(code(&err), "PreconditionFailed");

    let err = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    let etag_header = err.raw_response().and_then(|r| r.headers().get("etag"));
    assert_eq!(etag_header, Some(etag.as_str()));
    let ok = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_none_match("\"other\"")
        .send()
        .await;
    assert!(ok.is_ok());

    let err = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_modified_since(future)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    assert!(
        s3.get_object()
            .bucket("reads")
            .key("k")
            .if_modified_since(past)
            .send()
            .await
            .is_ok()
    );

    let err = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_unmodified_since(past)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    assert!(
        s3.get_object()
            .bucket("reads")
            .key("k")
            .if_unmodified_since(future)
            .send()
            .await
            .is_ok()
    );
    // If-Match that holds wins over an If-Unmodified-Since that does not.
    let ok = s3
        .get_object()
        .bucket("reads")
        .key("k")
        .if_match(&etag)
        .if_unmodified_since(past)
        .send()
        .await;
    assert!(ok.is_ok());

    let err = s3
        .head_object()
        .bucket("reads")
        .key("k")
        .if_none_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 304);
    let err = s3
        .head_object()
        .bucket("reads")
        .key("k")
        .if_match("\"stale\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
}

#[tokio::test]
async fn conditional_delete() {
    let (_emu, s3) = setup("dels").await;
    let etag = put(&s3, "dels", "k", b"v").await;
    let err = s3
        .delete_object()
        .bucket("dels")
        .key("k")
        .if_match("\"stale\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 412);
    s3.delete_object()
        .bucket("dels")
        .key("k")
        .if_match(etag)
        .send()
        .await
        .unwrap();
    let err = s3
        .head_object()
        .bucket("dels")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);
}
