//! The wire format where an SDK cannot go: operations it does not model, malformed
//! bodies, and the exact error headers (`__type`, `x-amzn-query-error`).

use crate::common;
use mocks::{EmulatorConfig, RunningEmulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An emulator that checks access keys but not signatures, so a hand-written request passes.
async fn start() -> RunningEmulator {
    common::start_with(EmulatorConfig {
        verify_signatures: false,
        ..EmulatorConfig::default()
    })
    .await
}

struct Answer {
    status: u16,
    head: String,
    body: serde_json::Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

async fn call(emu: &RunningEmulator, op: &str, body: &str) -> Answer {
    let mut tcp = tokio::net::TcpStream::connect(emu.addr)
        .await
        .expect("connect");
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: AmazonSQS.{op}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=00\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        emu.addr,
        body.len()
    );
    tcp.write_all(req.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    Answer {
        status,
        head: head.to_string(),
        body: serde_json::from_str(body).expect("a JSON body"),
    }
}

#[tokio::test]
async fn errors_carry_the_modeled_type_and_the_query_code() {
    let emu = start().await;
    let a = call(&emu, "GetQueueUrl", r#"{"QueueName":"missing"}"#).await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["__type"], "QueueDoesNotExist");
    assert_eq!(
        a.header("x-amzn-query-error"),
        Some("AWS.SimpleQueueService.NonExistentQueue;Sender")
    );
    assert_eq!(a.header("content-type"), Some("application/x-amz-json-1.0"));
    assert!(a.body["message"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn unknown_operations_and_malformed_bodies_are_client_errors() {
    let emu = start().await;
    let a = call(&emu, "FlyToTheMoon", "{}").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["__type"], "UnknownOperationException");
    assert_eq!(a.header("x-amzn-query-error"), Some("InvalidAction;Sender"));
    let a = call(&emu, "CreateQueue", "{not json").await;
    assert_eq!(a.status, 400);
    assert_eq!(a.body["__type"], "SerializationException");
    let a = call(&emu, "CreateQueue", r#"{"QueueName": 7}"#).await;
    assert_eq!(a.status, 400);
    let a = call(&emu, "CreateQueue", "{}").await;
    assert_eq!(a.status, 400);
    assert_eq!(
        a.header("x-amzn-query-error"),
        Some("MissingParameter;Sender")
    );
    let a = call(&emu, "SendMessage", r#"{"MessageBody":"x"}"#).await;
    assert_eq!(
        a.header("x-amzn-query-error"),
        Some("MissingParameter;Sender")
    );
    let a = call(
        &emu,
        "SendMessage",
        r#"{"QueueUrl":"nope","MessageBody":"x"}"#,
    )
    .await;
    assert_eq!(a.status, 404);
    assert_eq!(a.body["__type"], "InvalidAddress");
    assert!(
        emu.emulator
            .ctx
            .counters
            .get("sqs.error.UnknownOperationException")
            >= 1
    );
}

#[tokio::test]
async fn answers_without_output_are_empty_json_objects() {
    let emu = start().await;
    let a = call(&emu, "CreateQueue", r#"{"QueueName":"q"}"#).await;
    assert_eq!(a.status, 200);
    let url = a.body["QueueUrl"].as_str().expect("url").to_string();
    assert_eq!(url, format!("http://{}/000000000000/q", emu.addr));
    let a = call(&emu, "PurgeQueue", &format!(r#"{{"QueueUrl":"{url}"}}"#)).await;
    assert_eq!((a.status, a.body.clone()), (200, serde_json::json!({})));
    let a = call(
        &emu,
        "ReceiveMessage",
        &format!(r#"{{"QueueUrl":"{url}"}}"#),
    )
    .await;
    assert_eq!((a.status, a.body), (200, serde_json::json!({})));
}
