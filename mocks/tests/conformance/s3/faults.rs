//! Injected S3 errors as the SDK sees them: SlowDown, InternalError and
//! ServiceUnavailable with S3's XML error body (so the SDK classifies and retries them
//! as AWS's own), 409 ConditionalRequestConflict only on conditional writes, and faults
//! limited to one operation.

use super::{get, put, setup, status};
use crate::common::{self, code};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use mocks::{FailCode, Fault, RunningEmulator, Service};
use std::time::Duration;

fn fail(operation: Option<&str>, code: FailCode) -> Fault {
    Fault::Fail {
        service: Service::S3,
        operation: operation.map(str::to_string),
        status: code.status(),
        code: Some(code),
        probability: 1.0,
    }
}

/// A client that retries as applications do (standard mode, 3 attempts, ~no backoff).
async fn retrying(emu: &RunningEmulator) -> Client {
    let conf = common::sdk_config(&emu.endpoint()).await;
    Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_max_attempts(3)
                    .with_initial_backoff(Duration::from_millis(1)),
            )
            .build(),
    )
}

#[tokio::test]
async fn injected_errors_carry_s3_codes_and_stay_on_their_operation() {
    let (emu, s3) = setup("errs").await;
    put(&s3, "errs", "k", b"v").await;
    let faults = &emu.emulator.ctx.faults;
    for (op, c) in [
        ("PutObject", FailCode::SlowDown),
        ("PutObject", FailCode::ServiceUnavailable),
        ("GetObject", FailCode::InternalError),
    ] {
        let id = faults.inject(fail(Some(op), c)).unwrap();
        let err = match op {
            "PutObject" => {
                let e = s3
                    .put_object()
                    .bucket("errs")
                    .key("k")
                    .body(ByteStream::from_static(b"lost"))
                    .send()
                    .await
                    .unwrap_err();
                // The other operation is untouched.
                assert_eq!(get(&s3, "errs", "k").await, b"v", "{c:?}");
                (code(&e), status(&e))
            }
            _ => {
                let e = s3
                    .get_object()
                    .bucket("errs")
                    .key("k")
                    .send()
                    .await
                    .unwrap_err();
                put(&s3, "errs", "other", b"x").await;
                (code(&e), status(&e))
            }
        };
        assert_eq!(err, (c.as_str().to_string(), c.status()), "{op} {c:?}");
        assert!(faults.clear(id));
    }
    let counters = &emu.emulator.ctx.counters;
    assert_eq!(counters.get("fault.fail.s3"), 3);
    assert_eq!(counters.get("fault.fail.s3.SlowDown"), 1);
    assert_eq!(counters.get("fault.fail.s3.InternalError"), 1);
}

#[tokio::test]
async fn the_sdk_retries_slowdown_but_not_a_conditional_conflict() {
    let (emu, _) = setup("retry").await;
    let s3 = retrying(&emu).await;
    let faults = &emu.emulator.ctx.faults;
    let counters = &emu.emulator.ctx.counters;

    let id = faults
        .inject(fail(Some("PutObject"), FailCode::SlowDown))
        .unwrap();
    let e = s3
        .put_object()
        .bucket("retry")
        .key("k")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!((code(&e).as_str(), status(&e)), ("SlowDown", 503));
    assert_eq!(
        counters.get("fault.fail.s3.SlowDown"),
        3,
        "SlowDown is retryable: every attempt was made"
    );
    assert!(faults.clear(id));

    faults
        .inject(fail(None, FailCode::ConditionalRequestConflict))
        .unwrap();
    let e = s3
        .put_object()
        .bucket("retry")
        .key("k")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&e).as_str(), status(&e)),
        ("ConditionalRequestConflict", 409)
    );
    assert_eq!(
        counters.get("fault.fail.s3.ConditionalRequestConflict"),
        1,
        "a conflict is not retried by the SDK: the caller lost a race"
    );
}

#[tokio::test]
async fn conditional_conflict_hits_only_conditional_writes() {
    let (emu, s3) = setup("lease").await;
    let faults = &emu.emulator.ctx.faults;
    faults
        .inject(Fault::Fail {
            service: Service::S3,
            operation: None,
            status: 409,
            code: None,
            probability: 1.0,
        })
        .unwrap();

    // Unconditional writes and reads (conditional ones included) go through.
    let etag = put(&s3, "lease", "shard-0", b"epoch-1").await;
    let read = s3
        .get_object()
        .bucket("lease")
        .key("shard-0")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(read.e_tag(), Some(etag.as_str()));

    let create = s3
        .put_object()
        .bucket("lease")
        .key("new")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&create).as_str(), status(&create)),
        ("ConditionalRequestConflict", 409)
    );
    let update = s3
        .put_object()
        .bucket("lease")
        .key("shard-0")
        .if_match(&etag)
        .body(ByteStream::from_static(b"epoch-2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        (code(&update).as_str(), status(&update)),
        ("ConditionalRequestConflict", 409)
    );
    // A refused conditional write changed nothing.
    assert_eq!(get(&s3, "lease", "shard-0").await, b"epoch-1");
    let missing = s3
        .head_object()
        .bucket("lease")
        .key("new")
        .send()
        .await
        .unwrap_err();
    assert_eq!(status(&missing), 404);
    assert_eq!(
        emu.emulator
            .ctx
            .counters
            .get("fault.fail.s3.ConditionalRequestConflict"),
        2
    );
}
