//! Multipart uploads through aws-sdk-s3: S3's ETag, part validation, abort, ListParts
//! and conditional completion.

use super::{setup, status};
use crate::common::code;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

const MIB: usize = 1 << 20;

async fn start(s3: &Client, key: &str) -> String {
    s3.create_multipart_upload()
        .bucket("multi")
        .key(key)
        .content_type("application/vnd.apache.parquet")
        .metadata("epoch", "3")
        .send()
        .await
        .unwrap()
        .upload_id
        .unwrap()
}

async fn part(s3: &Client, key: &str, id: &str, n: i32, data: Vec<u8>) -> CompletedPart {
    let etag = s3
        .upload_part()
        .bucket("multi")
        .key(key)
        .upload_id(id)
        .part_number(n)
        .body(ByteStream::from(data))
        .send()
        .await
        .unwrap()
        .e_tag
        .unwrap();
    CompletedPart::builder().part_number(n).e_tag(etag).build()
}

fn parts(list: Vec<CompletedPart>) -> CompletedMultipartUpload {
    CompletedMultipartUpload::builder()
        .set_parts(Some(list))
        .build()
}

fn raw_md5(data: &[u8]) -> [u8; 16] {
    use md5::Digest as _;
    md5::Md5::digest(data).into()
}

#[tokio::test]
async fn multipart_upload_round_trip() {
    let (emu, s3) = setup("multi").await;
    let id = start(&s3, "big.parquet").await;
    assert_eq!(emu.emulator.s3.health()["multipart_uploads"], 1);
    let p1 = vec![1u8; 5 * MIB];
    let p2 = b"tail".to_vec();
    let c1 = part(&s3, "big.parquet", &id, 1, p1.clone()).await;
    let c2 = part(&s3, "big.parquet", &id, 2, p2.clone()).await;

    let listed = s3
        .list_parts()
        .bucket("multi")
        .key("big.parquet")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let sizes: Vec<_> = listed
        .parts()
        .iter()
        .map(|p| (p.part_number(), p.size()))
        .collect();
    assert_eq!(sizes, [(Some(1), Some(5 * MIB as i64)), (Some(2), Some(4))]);
    let page = s3
        .list_parts()
        .bucket("multi")
        .key("big.parquet")
        .upload_id(&id)
        .max_parts(1)
        .send()
        .await
        .unwrap();
    assert_eq!(page.is_truncated(), Some(true));
    assert_eq!(page.next_part_number_marker(), Some("1"));

    let done = s3
        .complete_multipart_upload()
        .bucket("multi")
        .key("big.parquet")
        .upload_id(&id)
        .multipart_upload(parts(vec![c1, c2]))
        .send()
        .await
        .unwrap();
    let mut both = raw_md5(&p1).to_vec();
    both.extend(raw_md5(&p2));
    let want = format!("\"{}-2\"", super::md5_hex(&both));
    assert_eq!(done.e_tag(), Some(want.as_str()));

    let got = s3
        .get_object()
        .bucket("multi")
        .key("big.parquet")
        .send()
        .await
        .unwrap();
    assert_eq!(got.e_tag(), Some(want.as_str()));
    assert_eq!(got.content_type(), Some("application/vnd.apache.parquet"));
    assert_eq!(
        got.metadata().unwrap().get("epoch").map(String::as_str),
        Some("3")
    );
    let data = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(data.len(), p1.len() + p2.len());
    assert_eq!(&data[p1.len()..], b"tail");
    let health = emu.emulator.s3.health();
    assert_eq!(health["multipart_uploads"], 0);
    assert_eq!(health["bytes"], (5 * MIB + 4) as u64);

    let err = s3
        .list_parts()
        .bucket("multi")
        .key("big.parquet")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    assert_eq!(status(&err), 404);
}

#[tokio::test]
async fn completion_is_validated() {
    let (_emu, s3) = setup("multi").await;
    let id = start(&s3, "k").await;
    let small1 = part(&s3, "k", &id, 1, vec![1u8; 100]).await;
    let small2 = part(&s3, "k", &id, 2, vec![2u8; 100]).await;
    let complete = |list| {
        s3.complete_multipart_upload()
            .bucket("multi")
            .key("k")
            .upload_id(&id)
            .multipart_upload(parts(list))
            .send()
    };
    let err = complete(vec![small1.clone(), small2.clone()])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "EntityTooSmall");
    let err = complete(vec![small2.clone(), small1.clone()])
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidPartOrder");
    let wrong = CompletedPart::builder()
        .part_number(1)
        .e_tag("\"0123\"")
        .build();
    let err = complete(vec![wrong]).await.unwrap_err();
    assert_eq!(code(&err), "InvalidPart");
    let missing = CompletedPart::builder()
        .part_number(9)
        .e_tag(small1.e_tag().unwrap())
        .build();
    let err = complete(vec![missing]).await.unwrap_err();
    assert_eq!(code(&err), "InvalidPart");
    // A single (last) part may be small.
    complete(vec![small1]).await.unwrap();
    assert_eq!(super::get(&s3, "multi", "k").await, vec![1u8; 100]);

    let err = s3
        .upload_part()
        .bucket("multi")
        .key("k")
        .upload_id("no-such-upload")
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    let err = s3
        .upload_part()
        .bucket("multi")
        .key("k")
        .upload_id(&id)
        .part_number(10_001)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
}

#[tokio::test]
async fn abort_and_conditional_completion() {
    let (_emu, s3) = setup("multi").await;
    let id = start(&s3, "gone").await;
    part(&s3, "gone", &id, 1, b"x".to_vec()).await;
    s3.abort_multipart_upload()
        .bucket("multi")
        .key("gone")
        .upload_id(&id)
        .send()
        .await
        .unwrap();
    let err = s3
        .abort_multipart_upload()
        .bucket("multi")
        .key("gone")
        .upload_id(&id)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchUpload");
    let err = s3
        .head_object()
        .bucket("multi")
        .key("gone")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&err), 404);

    super::put(&s3, "multi", "data/0-1-e1.parquet", b"first writer").await;
    let id = start(&s3, "data/0-1-e1.parquet").await;
    let p = part(
        &s3,
        "data/0-1-e1.parquet",
        &id,
        1,
        b"second writer".to_vec(),
    )
    .await;
    let err = s3
        .complete_multipart_upload()
        .bucket("multi")
        .key("data/0-1-e1.parquet")
        .upload_id(&id)
        .if_none_match("*")
        .multipart_upload(parts(vec![p]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "PreconditionFailed");
    assert_eq!(
        super::get(&s3, "multi", "data/0-1-e1.parquet").await,
        b"first writer"
    );
}
