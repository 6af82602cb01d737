//! Messages: send and receive with their digests and attributes, the limits on
//! bodies, attributes and batches, and what receipt handles may do.

use super::{queue, receive, send, setup, system_attribute};
use crate::common::code;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName as Sys,
    SendMessageBatchRequestEntry,
};
use md5::{Digest, Md5};

fn number(v: &str) -> MessageAttributeValue {
    MessageAttributeValue::builder()
        .data_type("Number")
        .string_value(v)
        .build()
        .expect("attribute")
}

fn entry(id: &str, body: &str) -> SendMessageBatchRequestEntry {
    SendMessageBatchRequestEntry::builder()
        .id(id)
        .message_body(body)
        .build()
        .expect("entry")
}

#[tokio::test]
async fn a_message_goes_round_trip_with_its_digests() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "q", &[]).await;
    let body = "{\"event\":\"match_end\",\"ü\":\"😀\"}\n";
    let sent = client
        .send_message()
        .queue_url(&url)
        .message_body(body)
        .message_attributes("timestamp", number("1493147359900"))
        .send()
        .await
        .expect("sent");
    let body_md5 = hex::encode(Md5::digest(body.as_bytes()));
    assert_eq!(sent.md5_of_message_body(), Some(body_md5.as_str()));
    // AWS's digest for this attribute (pinned in moto's and LocalStack's suites).
    assert_eq!(
        sent.md5_of_message_attributes(),
        Some("235c5c510d26fb653d073faed50ae77c")
    );
    let got = receive(&client, &url).await;
    assert_eq!(got.len(), 1);
    let m = &got[0];
    assert_eq!(m.body(), Some(body));
    assert_eq!(m.message_id(), sent.message_id());
    assert_eq!(m.md5_of_body(), Some(body_md5.as_str()));
    assert_eq!(
        m.md5_of_message_attributes(),
        Some("235c5c510d26fb653d073faed50ae77c")
    );
    let ts = m
        .message_attributes()
        .and_then(|a| a.get("timestamp"))
        .expect("attribute");
    assert_eq!(ts.data_type(), "Number");
    assert_eq!(ts.string_value(), Some("1493147359900"));
    assert_eq!(
        system_attribute(m, Sys::ApproximateReceiveCount).as_deref(),
        Some("1")
    );
    assert_eq!(
        system_attribute(m, Sys::SenderId).as_deref(),
        Some("000000000000")
    );
    let sent_at: i64 = system_attribute(m, Sys::SentTimestamp)
        .and_then(|v| v.parse().ok())
        .expect("sent timestamp");
    let first: i64 = system_attribute(m, Sys::ApproximateFirstReceiveTimestamp)
        .and_then(|v| v.parse().ok())
        .expect("first receive");
    assert!(first >= sent_at);
    client
        .delete_message()
        .queue_url(&url)
        .receipt_handle(m.receipt_handle().expect("handle"))
        .send()
        .await
        .expect("deleted");
    assert!(receive(&client, &url).await.is_empty());
}

#[tokio::test]
async fn message_attributes_are_shown_only_when_asked_for() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "attrs", &[]).await;
    let bin = MessageAttributeValue::builder()
        .data_type("Binary.gz")
        .binary_value(Blob::new(vec![0, 1, 2, 255]))
        .build()
        .expect("attribute");
    let text = MessageAttributeValue::builder()
        .data_type("String")
        .string_value("tenant-a")
        .build()
        .expect("attribute");
    client
        .send_message()
        .queue_url(&url)
        .message_body("b")
        .message_attributes("blob", bin)
        .message_attributes("meta.tenant", text)
        .send()
        .await
        .expect("sent");
    let plain = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .expect("received");
    let m = &plain.messages()[0];
    assert!(m.message_attributes().is_none_or(|a| a.is_empty()));
    assert!(m.attributes().is_none_or(|a| a.is_empty()));
    assert_eq!(m.md5_of_message_attributes(), None);
    let picked = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .message_attribute_names("meta.*")
        .send()
        .await
        .expect("received");
    let attrs = picked.messages()[0]
        .message_attributes()
        .expect("attributes");
    assert_eq!(attrs.len(), 1);
    assert_eq!(attrs["meta.tenant"].string_value(), Some("tenant-a"));
    let all = receive(&client, &url).await;
    let attrs = all[0].message_attributes().expect("attributes");
    assert_eq!(
        attrs["blob"].binary_value().map(|b| b.as_ref()),
        Some(&[0u8, 1, 2, 255][..])
    );
    assert_eq!(attrs["blob"].data_type(), "Binary.gz");
}

#[tokio::test]
async fn bodies_and_attributes_outside_the_limits_are_refused() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "limits", &[("MaximumMessageSize", "1024")]).await;
    let send = |body: String| {
        client
            .send_message()
            .queue_url(&url)
            .message_body(body)
            .send()
    };
    send("x".repeat(1024)).await.expect("exactly the limit");
    let err = send("x".repeat(1025)).await.expect_err("too big");
    assert_eq!(code(&err), "InvalidParameterValue");
    let err = send("bell \u{7}".into()).await.expect_err("bad character");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_message_contents()),
        "{err:?}"
    );
    let err = send(String::new()).await.expect_err("empty");
    assert_eq!(code(&err), "MissingParameter");
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("late")
        .delay_seconds(901)
        .send()
        .await
        .expect_err("delay too long");
    assert_eq!(code(&err), "InvalidParameterValue");
    let mut many = client.send_message().queue_url(&url).message_body("b");
    for i in 0..11 {
        many = many.message_attributes(format!("a{i}"), number("1"));
    }
    assert_eq!(
        code(&many.send().await.expect_err("11 attributes")),
        "InvalidParameterValue"
    );
    for (name, value) in [
        ("AWS.reserved", number("1")),
        ("ok", number("not-a-number")),
        (
            "ok",
            MessageAttributeValue::builder()
                .data_type("Date")
                .string_value("x")
                .build()
                .expect("attribute"),
        ),
    ] {
        let err = client
            .send_message()
            .queue_url(&url)
            .message_body("b")
            .message_attributes(name, value)
            .send()
            .await
            .expect_err(name);
        assert_eq!(code(&err), "InvalidParameterValue", "{name}");
    }
    // Attribute names, types and values count towards the size.
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x".repeat(1000))
        .message_attributes("padding", number(&"9".repeat(20)))
        .send()
        .await
        .expect_err("body plus attribute too big");
    assert_eq!(code(&err), "InvalidParameterValue");
}

#[tokio::test]
async fn batches_answer_per_entry_and_enforce_their_rules() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "batch", &[]).await;
    let out = client
        .send_message_batch()
        .queue_url(&url)
        .entries(entry("a", "first"))
        .entries(entry("b", "bad \u{1}"))
        .entries(entry("c", "third"))
        .send()
        .await
        .expect("sent");
    let ok: Vec<_> = out.successful().iter().map(|s| s.id()).collect();
    assert_eq!(ok, ["a", "c"]);
    assert_eq!(
        out.successful()[0].md5_of_message_body(),
        hex::encode(Md5::digest(b"first"))
    );
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].id(), "b");
    assert_eq!(out.failed()[0].code(), "InvalidMessageContents");
    assert!(out.failed()[0].sender_fault());
    assert_eq!(receive(&client, &url).await.len(), 2);

    let batch = |entries: Vec<SendMessageBatchRequestEntry>| {
        client
            .send_message_batch()
            .queue_url(&url)
            .set_entries(Some(entries))
            .send()
    };
    let eleven = (0..11).map(|i| entry(&format!("e{i}"), "x")).collect();
    let err = batch(eleven).await.expect_err("11 entries");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_too_many_entries_in_batch_request()),
        "{err:?}"
    );
    let err = batch(vec![entry("same", "x"), entry("same", "y")])
        .await
        .expect_err("same ids");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_batch_entry_ids_not_distinct()),
        "{err:?}"
    );
    let err = batch(vec![]).await.expect_err("empty");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_empty_batch_request()),
        "{err:?}"
    );
    let err = batch(vec![entry("not ok!", "x")])
        .await
        .expect_err("bad id");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_batch_entry_id()),
        "{err:?}"
    );
    let big = (0..5)
        .map(|i| entry(&format!("e{i}"), &"x".repeat(250_000)))
        .collect();
    let err = batch(big).await.expect_err("over 1 MiB in total");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_batch_request_too_long()),
        "{err:?}"
    );
}

#[tokio::test]
async fn receipt_handles_are_unique_and_only_the_latest_counts() {
    let (emu, client) = setup().await;
    let url = queue(&client, "handles", &[("VisibilityTimeout", "10")]).await;
    send(&client, &url, "m").await;
    let first = receive(&client, &url).await;
    super::advance(&emu, 11);
    let second = receive(&client, &url).await;
    let (old, new) = (
        first[0].receipt_handle().expect("handle"),
        second[0].receipt_handle().expect("handle"),
    );
    assert_ne!(old, new);
    assert_eq!(first[0].message_id(), second[0].message_id());
    let delete = |h: &str| {
        client
            .delete_message()
            .queue_url(&url)
            .receipt_handle(h)
            .send()
    };
    // "You must provide the most recently received ReceiptHandle for the message
    // (otherwise, the request succeeds, but the message will not be deleted)": SQS API
    // reference, DeleteMessage.
    delete(old).await.expect("a stale handle succeeds");
    assert_eq!(
        emu.emulator
            .ctx
            .counters
            .get("sqs.delete.stale_receipt_handle"),
        1
    );
    assert_eq!(
        super::count(&client, &url, "ApproximateNumberOfMessagesNotVisible").await,
        1,
        "and deletes nothing: the message is still in flight"
    );
    let err = delete("garbage").await.expect_err("garbage");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_receipt_handle_is_invalid()),
        "{err:?}"
    );
    delete(new).await.expect("latest handle deletes");
    delete(new)
        .await
        .expect("deleting twice is fine, as on AWS");
    assert_eq!(emu.emulator.ctx.counters.get("sqs.delete.already_gone"), 1);
    // A handle from another queue is not this queue's.
    let other = queue(&client, "other", &[]).await;
    send(&client, &other, "o").await;
    let theirs = receive(&client, &other).await;
    let err = delete(theirs[0].receipt_handle().expect("handle"))
        .await
        .expect_err("other queue");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_receipt_handle_is_invalid()),
        "{err:?}"
    );
}

#[tokio::test]
async fn delete_batch_answers_per_entry() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "delbatch", &[]).await;
    for i in 0..2 {
        send(&client, &url, &format!("m{i}")).await;
    }
    let got = receive(&client, &url).await;
    let mut req = client.delete_message_batch().queue_url(&url);
    for (i, m) in got.iter().enumerate() {
        req = req.entries(
            DeleteMessageBatchRequestEntry::builder()
                .id(format!("d{i}"))
                .receipt_handle(m.receipt_handle().expect("handle"))
                .build()
                .expect("entry"),
        );
    }
    req = req.entries(
        DeleteMessageBatchRequestEntry::builder()
            .id("junk")
            .receipt_handle("junk")
            .build()
            .expect("entry"),
    );
    let out = req.send().await.expect("batch");
    assert_eq!(out.successful().len(), 2);
    assert_eq!(out.failed().len(), 1);
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert_eq!(
        super::count(&client, &url, "ApproximateNumberOfMessagesNotVisible").await,
        0
    );
}

#[tokio::test]
async fn receive_parameters_are_checked() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "params", &[]).await;
    for (n, w, v) in [(11, 0, 30), (0, 0, 30), (1, 21, 30), (1, 0, 43_201)] {
        let err = client
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(n)
            .wait_time_seconds(w)
            .visibility_timeout(v)
            .send()
            .await
            .expect_err("out of range");
        assert_eq!(code(&err), "InvalidParameterValue", "{n} {w} {v}");
    }
}
