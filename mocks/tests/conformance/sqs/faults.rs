//! Injected SQS errors as aws-sdk-sqs sees them (JSON `__type` bodies): 500
//! InternalFailure and 503 ServiceUnavailable on one operation, the others untouched;
//! S3-only codes refused for SQS.

use super::{queue, setup};
use crate::common::{self, code};
use mocks::faults::FaultError;
use mocks::{FailCode, Fault, Service};

fn fail(operation: &str, status: u16, code: Option<FailCode>) -> Fault {
    Fault::Fail {
        service: Service::Sqs,
        operation: Some(operation.to_string()),
        status,
        code,
        probability: 1.0,
    }
}

#[tokio::test]
async fn receive_errors_leave_sends_alone() {
    let (emu, client) = setup().await;
    let url = queue(&client, "catalog", &[]).await;
    let faults = &emu.emulator.ctx.faults;
    for (status, want) in [(503, "ServiceUnavailable"), (500, "InternalFailure")] {
        let id = faults.inject(fail("ReceiveMessage", status, None)).unwrap();
        let e = client
            .receive_message()
            .queue_url(&url)
            .send()
            .await
            .unwrap_err();
        assert_eq!(code(&e), want);
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(status));
        client
            .send_message()
            .queue_url(&url)
            .message_body(format!("during {status}"))
            .send()
            .await
            .expect("SendMessage is not the failing operation");
        assert!(faults.clear(id));
    }
    let got = client
        .receive_message()
        .queue_url(&url)
        .max_number_of_messages(10)
        .send()
        .await
        .unwrap();
    assert_eq!(got.messages().len(), 2, "both sends landed");
    assert_eq!(emu.emulator.ctx.counters.get("fault.fail.sqs"), 2);
}

#[tokio::test]
async fn the_error_body_is_json_with_its_type() {
    let emu = common::start().await;
    emu.emulator
        .ctx
        .faults
        .inject(fail("ListQueues", 503, Some(FailCode::ServiceUnavailable)))
        .unwrap();
    let (status, headers, body) = common::raw_request(
        emu.addr,
        "POST",
        "/",
        &[
            ("x-amz-target", "AmazonSQS.ListQueues"),
            ("content-type", "application/x-amz-json-1.0"),
            ("authorization", common::unsigned_auth()),
        ],
        b"{}",
    )
    .await;
    assert_eq!(status, 503);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["__type"], "ServiceUnavailable");
    assert_eq!(
        headers
            .iter()
            .find(|(k, _)| k == "x-amzn-errortype")
            .map(|(_, v)| v.as_str()),
        Some("ServiceUnavailable")
    );
}

#[test]
fn s3_only_codes_are_refused_for_sqs() {
    let faults = mocks::Faults::new(1, Default::default());
    assert_eq!(
        faults.inject(fail("SendMessage", 503, Some(FailCode::SlowDown))),
        Err(FaultError::CodeService {
            code: FailCode::SlowDown,
            service: Service::Sqs
        })
    );
    assert!(matches!(
        faults.inject(fail("SendMessage", 409, None)),
        Err(FaultError::CodeService { .. })
    ));
}
