//! object_store 0.13's S3 client (the one the query service uses) against the emulator:
//! put, ranged get, head, list with prefix and delimiter, conditional puts, delete
//! (DeleteObjects underneath) and a multipart upload.

use crate::common;
use futures::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::{
    Error, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload, UpdateVersion,
};

async fn store(emu: &mocks::RunningEmulator, bucket: &str) -> AmazonS3 {
    common::s3(emu)
        .await
        .create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    AmazonS3Builder::new()
        .with_endpoint(emu.endpoint())
        .with_allow_http(true)
        .with_bucket_name(bucket)
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_region("us-east-1")
        .build()
        .expect("object_store S3 client")
}

#[tokio::test]
async fn object_store_reads_and_writes() {
    let emu = common::start().await;
    let s = store(&emu, "warehouse").await;
    let data: Vec<u8> = (0..=255u8).cycle().take(10_000).collect();
    let files = [
        "metrics/tenant=a/dt=2024-01-01/hour=00/0-1-e1.parquet",
        "metrics/tenant=a/dt=2024-01-01/hour=01/0-2-e1.parquet",
        "metrics/tenant=b/dt=2024-01-01/hour=00/1-1-e1.parquet",
        "commits/shard-0/0001.json",
    ];
    for f in files {
        let put = s
            .put(&Path::from(f), PutPayload::from(data.clone()))
            .await
            .unwrap();
        assert!(put.e_tag.is_some());
    }
    let path = Path::from(files[0]);

    let got = s.get(&path).await.unwrap();
    assert_eq!(got.meta.size, data.len() as u64);
    assert_eq!(got.bytes().await.unwrap(), data);
    let range = s.get_range(&path, 100..164).await.unwrap();
    assert_eq!(&range[..], &data[100..164]);
    let ranges = s.get_ranges(&path, &[0..4, 9_990..10_000]).await.unwrap();
    assert_eq!(&ranges[1][..], &data[9_990..]);

    let head = s.head(&path).await.unwrap();
    assert_eq!(head.size, data.len() as u64);
    assert_eq!(head.location, path);
    assert!(head.e_tag.is_some());

    let listed: Vec<_> = s
        .list(Some(&Path::from("metrics/tenant=a")))
        .try_collect()
        .await
        .unwrap();
    let mut locations: Vec<_> = listed.iter().map(|m| m.location.to_string()).collect();
    locations.sort();
    assert_eq!(locations, files[..2]);
    assert!(listed.iter().all(|m| m.size == data.len() as u64));

    let top = s
        .list_with_delimiter(Some(&Path::from("metrics")))
        .await
        .unwrap();
    let prefixes: Vec<_> = top
        .common_prefixes
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(prefixes, ["metrics/tenant=a", "metrics/tenant=b"]);
    assert!(top.objects.is_empty());
    let leaf = s
        .list_with_delimiter(Some(&Path::from("commits/shard-0")))
        .await
        .unwrap();
    assert_eq!(leaf.objects.len(), 1);
    assert_eq!(leaf.objects[0].location.to_string(), files[3]);

    s.delete(&path).await.unwrap();
    match s.head(&path).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound after delete, got {other:?}"),
    }
    match s.get(&path).await {
        Err(Error::NotFound { .. }) => {}
        other => panic!("expected NotFound after delete, got {other:?}"),
    }
}

#[tokio::test]
async fn object_store_conditional_puts() {
    let emu = common::start().await;
    let s = store(&emu, "leases").await;
    let path = Path::from("leases/shard-0.json");
    let create = |body: &'static str| {
        s.put_opts(
            &path,
            PutPayload::from_static(body.as_bytes()),
            PutOptions::from(PutMode::Create),
        )
    };
    let first = create("{\"epoch\":1}").await.unwrap();
    match create("{\"epoch\":1}").await {
        Err(Error::AlreadyExists { .. }) => {}
        other => panic!("expected AlreadyExists, got {other:?}"),
    }

    let update = |e_tag: Option<String>, body: &'static str| {
        s.put_opts(
            &path,
            PutPayload::from_static(body.as_bytes()),
            PutOptions::from(PutMode::Update(UpdateVersion {
                e_tag,
                version: None,
            })),
        )
    };
    let second = update(first.e_tag.clone(), "{\"epoch\":2}").await.unwrap();
    assert_ne!(second.e_tag, first.e_tag);
    match update(first.e_tag, "{\"epoch\":1,\"zombie\":true}").await {
        Err(Error::Precondition { .. }) => {}
        other => panic!("expected Precondition for a stale ETag, got {other:?}"),
    }
    let body = s.get(&path).await.unwrap().bytes().await.unwrap();
    assert_eq!(&body[..], b"{\"epoch\":2}");

    // Updating a lease that does not exist is a failed precondition too.
    let missing = Path::from("leases/shard-9.json");
    let r = s
        .put_opts(
            &missing,
            PutPayload::from_static(b"{}"),
            PutOptions::from(PutMode::Update(UpdateVersion {
                e_tag: second.e_tag,
                version: None,
            })),
        )
        .await;
    assert!(matches!(r, Err(Error::Precondition { .. })), "{r:?}");
}

#[tokio::test]
async fn object_store_multipart_upload() {
    let emu = common::start().await;
    let s = store(&emu, "bulk").await;
    let path = Path::from("compacted/0.parquet");
    let mut upload = s.put_multipart(&path).await.unwrap();
    upload
        .put_part(PutPayload::from(vec![1u8; 5 << 20]))
        .await
        .unwrap();
    upload
        .put_part(PutPayload::from(vec![2u8; 10]))
        .await
        .unwrap();
    let done = upload.complete().await.unwrap();
    assert!(done.e_tag.as_deref().is_some_and(|e| e.ends_with("-2\"")));
    let head = s.head(&path).await.unwrap();
    assert_eq!(head.size, (5 << 20) + 10);
    let tail = s.get_range(&path, (5 << 20)..(5 << 20) + 10).await.unwrap();
    assert_eq!(&tail[..], &[2u8; 10]);
}
