//! Who may call and how requests are addressed: credentials (InvalidAccessKeyId,
//! SignatureDoesNotMatch), virtual-host-style requests, and faults aimed at one S3
//! operation by name.

use super::{get, put, setup, status};
use crate::common::{self, code};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_s3::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_s3::error::BoxError;
use aws_sdk_s3::primitives::ByteStream;
use mocks::{Fault, Service};
use std::net::SocketAddr;

#[tokio::test]
async fn credentials_are_checked() {
    let emu = common::start().await;
    let stranger = Client::from_conf(
        aws_sdk_s3::config::Builder::from(
            &common::sdk_config_with(&emu.endpoint(), "AKIDUNKNOWN", "test").await,
        )
        .force_path_style(true)
        .build(),
    );
    let err = stranger.list_buckets().send().await.unwrap_err();
    assert_eq!(code(&err), "InvalidAccessKeyId");
    assert_eq!(status(&err), 403);

    let forger = Client::from_conf(
        aws_sdk_s3::config::Builder::from(
            &common::sdk_config_with(&emu.endpoint(), "test", "not-the-secret").await,
        )
        .force_path_style(true)
        .build(),
    );
    let err = forger
        .create_bucket()
        .bucket("forged")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "SignatureDoesNotMatch");
    assert_eq!(status(&err), 403);
    let s3 = common::s3(&emu).await;
    let list = s3.list_buckets().send().await.unwrap();
    assert!(
        list.buckets().is_empty(),
        "a forged request changed nothing"
    );
}

/// Sends every request to the emulator while keeping the SDK's own `Host` (what DNS
/// for `*.localhost` would do), so the SDK signs and sends virtual-host requests.
#[derive(Debug)]
struct ResolveTo(SocketAddr);

impl Intercept for ResolveTo {
    fn name(&self) -> &'static str {
        "ResolveTo"
    }

    fn modify_before_signing(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _: &RuntimeComponents,
        _: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let req = context.request_mut();
        let uri: http::Uri = req.uri().parse()?;
        let host = uri.authority().ok_or("no authority")?.to_string();
        let path = uri.path_and_query().map_or("/", |p| p.as_str());
        let target = format!("http://{}{path}", self.0);
        req.headers_mut().insert("host", host);
        req.set_uri(target)?;
        Ok(())
    }
}

async fn virtual_host_client(emu: &mocks::RunningEmulator, domain: &str) -> Client {
    let endpoint = format!("http://{domain}:{}", emu.addr.port());
    let conf = common::sdk_config(&endpoint).await;
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(false)
            .interceptor(ResolveTo(emu.addr))
            .build(),
    )
}

#[tokio::test]
async fn virtual_host_style_requests() {
    let emu = common::start().await;
    let path_style = common::s3(&emu).await;
    for (domain, bucket) in [
        ("s3.localhost.localstack.cloud", "vh-one"),
        ("localhost", "vh-two"),
        ("s3.localhost", "vh-three"),
    ] {
        let s3 = virtual_host_client(&emu, domain).await;
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        let etag = put(&s3, bucket, "dir/key.txt", b"virtual").await;
        assert_eq!(get(&s3, bucket, "dir/key.txt").await, b"virtual");
        let list = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix("dir/")
            .send()
            .await
            .unwrap();
        assert_eq!(list.contents()[0].key(), Some("dir/key.txt"));
        // Both addressing styles see the same store.
        let head = path_style
            .head_object()
            .bucket(bucket)
            .key("dir/key.txt")
            .send()
            .await;
        assert_eq!(head.unwrap().e_tag(), Some(etag.as_str()));
        let err = s3
            .get_object()
            .bucket(bucket)
            .key("missing")
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&err), "NoSuchKey");
    }
    let buckets = path_style.list_buckets().send().await.unwrap();
    assert_eq!(buckets.buckets().len(), 3);
}

#[tokio::test]
async fn faults_target_s3_operations_by_name() {
    let (emu, s3) = setup("faults").await;
    put(&s3, "faults", "k", b"v").await;
    let id = emu
        .emulator
        .ctx
        .faults
        .inject(Fault::Throttle {
            service: Service::S3,
            operation: Some("GetObject".into()),
            probability: 1.0,
        })
        .unwrap();
    let err = s3
        .get_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "SlowDown");
    assert_eq!(status(&err), 503);
    // Other operations are untouched.
    s3.head_object()
        .bucket("faults")
        .key("k")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket("faults")
        .key("k2")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert!(emu.emulator.ctx.faults.clear(id));
    assert_eq!(get(&s3, "faults", "k").await, b"v");
}
