//! Time: delays, visibility timeouts (and changing them), redrive to a dead-letter
//! queue, retention, and long polling. The emulator's clock is moved forward for the
//! first four; long polling waits in real time, so those waits are 1–2 s.

use super::{advance, count, queue, receive, send, setup, system_attribute};
use crate::common::code;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, MessageSystemAttributeName as Sys,
};
use std::time::{Duration, Instant};

#[tokio::test]
async fn delayed_messages_wait_their_delay() {
    let (emu, client) = setup().await;
    let url = queue(&client, "delay", &[]).await;
    client
        .send_message()
        .queue_url(&url)
        .message_body("later")
        .delay_seconds(5)
        .send()
        .await
        .expect("sent");
    assert!(receive(&client, &url).await.is_empty());
    assert_eq!(
        count(&client, &url, "ApproximateNumberOfMessagesDelayed").await,
        1
    );
    advance(&emu, 5);
    assert_eq!(receive(&client, &url).await.len(), 1);
}

#[tokio::test]
async fn an_expired_visibility_timeout_makes_a_message_receivable_again() {
    let (emu, client) = setup().await;
    let url = queue(&client, "vis", &[("VisibilityTimeout", "30")]).await;
    send(&client, &url, "retry me").await;
    let first = receive(&client, &url).await;
    assert_eq!(first.len(), 1);
    assert!(receive(&client, &url).await.is_empty());
    assert_eq!(
        count(&client, &url, "ApproximateNumberOfMessagesNotVisible").await,
        1
    );
    advance(&emu, 31);
    let again = receive(&client, &url).await;
    assert_eq!(again.len(), 1);
    assert_eq!(
        system_attribute(&again[0], Sys::ApproximateReceiveCount).as_deref(),
        Some("2")
    );
    assert_eq!(
        system_attribute(&again[0], Sys::ApproximateFirstReceiveTimestamp),
        system_attribute(&first[0], Sys::ApproximateFirstReceiveTimestamp)
    );
    // A receive's own VisibilityTimeout overrides the queue's.
    let short = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .expect("received");
    assert!(
        short.messages().is_empty(),
        "still in flight from the last receive"
    );
    advance(&emu, 31);
    let zero = client
        .receive_message()
        .queue_url(&url)
        .visibility_timeout(0)
        .send()
        .await
        .expect("received");
    assert_eq!(zero.messages().len(), 1);
    assert_eq!(
        receive(&client, &url).await.len(),
        1,
        "visibility 0 leaves it visible"
    );
}

#[tokio::test]
async fn changing_visibility_shows_or_hides_a_message() {
    let (emu, client) = setup().await;
    let url = queue(&client, "change", &[]).await;
    send(&client, &url, "m").await;
    let got = receive(&client, &url).await;
    let handle = got[0].receipt_handle().expect("handle");
    let change = |secs: i32| {
        client
            .change_message_visibility()
            .queue_url(&url)
            .receipt_handle(handle)
            .visibility_timeout(secs)
            .send()
    };
    change(600).await.expect("extended");
    advance(&emu, 300);
    assert!(
        receive(&client, &url).await.is_empty(),
        "extended past the queue's 30 s"
    );
    change(0).await.expect("shown");
    let err = change(10).await.expect_err("no longer in flight");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_message_not_inflight()),
        "{err:?}"
    );
    let err = change(43_201).await.expect_err("too long");
    assert_eq!(code(&err), "InvalidParameterValue");
    let again = receive(&client, &url).await;
    assert_eq!(again.len(), 1);
    let out = client
        .change_message_visibility_batch()
        .queue_url(&url)
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("ok")
                .receipt_handle(again[0].receipt_handle().expect("handle"))
                .visibility_timeout(0)
                .build()
                .expect("entry"),
        )
        .entries(
            ChangeMessageVisibilityBatchRequestEntry::builder()
                .id("stale")
                .receipt_handle(handle)
                .visibility_timeout(0)
                .build()
                .expect("entry"),
        )
        .send()
        .await
        .expect("batch");
    assert_eq!(out.successful().len(), 1);
    assert_eq!(out.failed()[0].id(), "stale");
    assert_eq!(out.failed()[0].code(), "ReceiptHandleIsInvalid");
    assert_eq!(count(&client, &url, "ApproximateNumberOfMessages").await, 1);
}

#[tokio::test]
async fn messages_received_max_receive_count_times_move_to_the_dead_letter_queue() {
    let (emu, client) = setup().await;
    let dlq = queue(&client, "dead", &[]).await;
    let policy =
        r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dead","maxReceiveCount":2}"#;
    let url = queue(
        &client,
        "poison",
        &[("RedrivePolicy", policy), ("VisibilityTimeout", "5")],
    )
    .await;
    let id = send(&client, &url, "poison pill").await;
    for n in 1..=2 {
        let got = receive(&client, &url).await;
        assert_eq!(got.len(), 1, "receive {n}");
        advance(&emu, 6);
    }
    assert!(receive(&client, &url).await.is_empty());
    assert_eq!(count(&client, &url, "ApproximateNumberOfMessages").await, 0);
    let dead = receive(&client, &dlq).await;
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].message_id(), Some(id.as_str()));
    assert_eq!(dead[0].body(), Some("poison pill"));
    assert_eq!(
        system_attribute(&dead[0], Sys::DeadLetterQueueSourceArn).as_deref(),
        Some("arn:aws:sqs:us-east-1:000000000000:poison")
    );
    assert_eq!(emu.emulator.ctx.counters.get("sqs.dead_lettered"), 1);
    let health = emu.emulator.sqs.health();
    assert_eq!(health["dead_lettered"], 1);
    assert_eq!(health["messages_in_flight"], 1);
}

#[tokio::test]
async fn messages_past_retention_disappear_and_are_counted() {
    let (emu, client) = setup().await;
    let url = queue(&client, "short", &[("MessageRetentionPeriod", "60")]).await;
    send(&client, &url, "old").await;
    advance(&emu, 30);
    send(&client, &url, "newer").await;
    advance(&emu, 31);
    let left = receive(&client, &url).await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].body(), Some("newer"));
    assert_eq!(emu.emulator.ctx.counters.get("sqs.expired"), 1);
}

#[tokio::test]
async fn long_polling_returns_as_soon_as_a_message_arrives() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "poll", &[]).await;
    let poller = {
        let (client, url) = (client.clone(), url.clone());
        tokio::spawn(async move {
            let start = Instant::now();
            let out = client
                .receive_message()
                .queue_url(&url)
                .wait_time_seconds(2)
                .send()
                .await
                .expect("received");
            (start.elapsed(), out.messages().len())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    send(&client, &url, "wake up").await;
    let (waited, got) = poller.await.expect("poller");
    assert_eq!(got, 1);
    assert!(waited < Duration::from_millis(1500), "waited {waited:?}");
}

#[tokio::test]
async fn long_polling_an_empty_queue_waits_wait_time_seconds() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "quiet", &[("ReceiveMessageWaitTimeSeconds", "1")]).await;
    let start = Instant::now();
    let out = client
        .receive_message()
        .queue_url(&url)
        .send()
        .await
        .expect("received");
    let waited = start.elapsed();
    assert!(out.messages().is_empty());
    assert!(
        waited >= Duration::from_millis(950),
        "the queue's wait applies: {waited:?}"
    );
    assert!(waited < Duration::from_millis(1900), "waited {waited:?}");
    let start = Instant::now();
    client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(0)
        .send()
        .await
        .expect("received");
    assert!(
        start.elapsed() < Duration::from_millis(500),
        "0 overrides the queue's wait"
    );
}

#[tokio::test]
async fn a_long_poll_sees_a_message_whose_visibility_ran_out_during_the_wait() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "comeback", &[("VisibilityTimeout", "1")]).await;
    send(&client, &url, "m").await;
    assert_eq!(receive(&client, &url).await.len(), 1);
    let start = Instant::now();
    let out = client
        .receive_message()
        .queue_url(&url)
        .wait_time_seconds(3)
        .send()
        .await
        .expect("received");
    assert_eq!(out.messages().len(), 1);
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );
}
