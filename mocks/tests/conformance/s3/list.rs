//! ListObjectsV2 (prefix, delimiter, paging, start-after) and DeleteObjects.

use super::{put, setup, status};
use crate::common::code;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

const KEYS: &[&str] = &[
    "errors/x.json",
    "metrics/tenant=a/dt=2024-01-01/hour=00/0-1-e1.parquet",
    "metrics/tenant=a/dt=2024-01-01/hour=01/0-2-e1.parquet",
    "metrics/tenant=a/dt=2024-01-02/hour=00/0-3-e1.parquet",
    "metrics/tenant=b/dt=2024-01-01/hour=00/1-1-e1.parquet",
    "top.txt",
];

#[tokio::test]
async fn list_with_prefix_delimiter_and_pages() {
    let (_emu, s3) = setup("listing").await;
    for k in KEYS {
        put(&s3, "listing", k, k.as_bytes()).await;
    }
    let all = s3.list_objects_v2().bucket("listing").send().await.unwrap();
    let keys: Vec<_> = all.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, KEYS);
    assert_eq!(all.key_count(), Some(6));
    assert_eq!(all.is_truncated(), Some(false));
    let first = &all.contents()[0];
    assert_eq!(first.size(), Some(KEYS[0].len() as i64));
    assert!(first.e_tag().is_some() && first.last_modified().is_some());

    let top = s3
        .list_objects_v2()
        .bucket("listing")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = top.contents().iter().filter_map(|o| o.key()).collect();
    let prefixes: Vec<_> = top
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(keys, ["top.txt"]);
    assert_eq!(prefixes, ["errors/", "metrics/"]);
    assert_eq!(top.key_count(), Some(3));

    let tenants = s3
        .list_objects_v2()
        .bucket("listing")
        .prefix("metrics/tenant=a/")
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<_> = tenants
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(
        prefixes,
        [
            "metrics/tenant=a/dt=2024-01-01/",
            "metrics/tenant=a/dt=2024-01-02/"
        ]
    );
    assert!(tenants.contents().is_empty());

    // Page by two, following continuation tokens, and by the SDK's paginator.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = s3
            .list_objects_v2()
            .bucket("listing")
            .max_keys(2)
            .set_continuation_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.key_count().unwrap() <= 2);
        seen.extend(
            page.contents()
                .iter()
                .filter_map(|o| o.key().map(str::to_owned)),
        );
        if page.is_truncated() != Some(true) {
            break;
        }
        token = page.next_continuation_token().map(str::to_owned);
        assert!(token.is_some());
    }
    assert_eq!(seen, KEYS);
    let pages: Vec<_> = s3
        .list_objects_v2()
        .bucket("listing")
        .prefix("metrics/")
        .max_keys(1)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 4);

    let after = s3
        .list_objects_v2()
        .bucket("listing")
        .start_after("metrics/tenant=b")
        .send()
        .await
        .unwrap();
    let keys: Vec<_> = after.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, [KEYS[4], KEYS[5]]);
    assert_eq!(after.start_after(), Some("metrics/tenant=b"));

    let none = s3
        .list_objects_v2()
        .bucket("listing")
        .prefix("nothing/")
        .send()
        .await
        .unwrap();
    assert_eq!(none.key_count(), Some(0));
    assert!(none.contents().is_empty());

    let err = s3
        .list_objects_v2()
        .bucket("listing")
        .continuation_token("garbage!")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    let err = s3
        .list_objects_v2()
        .bucket("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
    assert_eq!(status(&err), 404);
}

fn ids(keys: &[&str]) -> Delete {
    let objects = keys
        .iter()
        .map(|k| ObjectIdentifier::builder().key(*k).build().unwrap())
        .collect();
    Delete::builder()
        .set_objects(Some(objects))
        .build()
        .unwrap()
}

#[tokio::test]
async fn delete_objects_reports_per_key() {
    let (emu, s3) = setup("dels").await;
    for k in ["a", "b", "c"] {
        put(&s3, "dels", k, b"x").await;
    }
    let out = s3
        .delete_objects()
        .bucket("dels")
        .delete(ids(&["a", "b", "ghost"]))
        .send()
        .await
        .unwrap();
    let mut deleted: Vec<_> = out.deleted().iter().filter_map(|d| d.key()).collect();
    deleted.sort();
    assert_eq!(
        deleted,
        ["a", "b", "ghost"],
        "S3 reports missing keys as deleted"
    );
    assert!(out.errors().is_empty());

    let mut quiet = ids(&["c"]);
    quiet.quiet = Some(true);
    let out = s3
        .delete_objects()
        .bucket("dels")
        .delete(quiet)
        .send()
        .await
        .unwrap();
    assert!(out.deleted().is_empty());
    assert!(out.errors().is_empty());
    let left = s3.list_objects_v2().bucket("dels").send().await.unwrap();
    assert_eq!(left.key_count(), Some(0));
    assert_eq!(emu.emulator.s3.health()["objects"], 0);

    // A per-key ETag condition that fails is an error entry, not a failed request.
    put(&s3, "dels", "e", b"x").await;
    let stale = ObjectIdentifier::builder()
        .key("e")
        .e_tag("\"stale\"")
        .build()
        .unwrap();
    let del = Delete::builder().objects(stale).build().unwrap();
    let out = s3
        .delete_objects()
        .bucket("dels")
        .delete(del)
        .send()
        .await
        .unwrap();
    assert_eq!(out.errors().len(), 1);
    assert_eq!(out.errors()[0].code(), Some("PreconditionFailed"));
    assert_eq!(out.errors()[0].key(), Some("e"));
}
