//! Queues: create (idempotent, conflicting, invalid), URLs, attributes, listing,
//! purge, delete and recreate, tags, credentials.

use super::{advance, attribute, count, queue, send, setup};
use crate::common::{self, code};
use aws_sdk_sqs::types::QueueAttributeName;
use std::collections::HashSet;

#[tokio::test]
async fn create_is_idempotent_with_the_same_attributes_and_conflicts_otherwise() {
    let (_emu, client) = setup().await;
    let url = queue(&client, "orders", &[("VisibilityTimeout", "45")]).await;
    assert!(url.ends_with("/000000000000/orders"), "{url}");
    assert_eq!(
        queue(&client, "orders", &[("VisibilityTimeout", "45")]).await,
        url
    );
    assert_eq!(queue(&client, "orders", &[]).await, url);
    let err = client
        .create_queue()
        .queue_name("orders")
        .attributes(QueueAttributeName::VisibilityTimeout, "46")
        .send()
        .await
        .expect_err("different attributes");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_name_exists()),
        "{err:?}"
    );
    assert_eq!(code(&err), "QueueAlreadyExists");
}

#[tokio::test]
async fn invalid_names_and_attributes_are_refused() {
    let (_emu, client) = setup().await;
    let err = client
        .create_queue()
        .queue_name("no spaces allowed")
        .send()
        .await
        .expect_err("bad name");
    assert_eq!(code(&err), "InvalidParameterValue");
    for (name, value) in [
        ("VisibilityTimeout", "43201"),
        ("MessageRetentionPeriod", "10"),
        ("MaximumMessageSize", "100"),
        ("DelaySeconds", "abc"),
        ("Policy", "{not json"),
        ("RedrivePolicy", r#"{"maxReceiveCount":3}"#),
    ] {
        let err = client
            .create_queue()
            .queue_name("q")
            .attributes(name.into(), value)
            .send()
            .await
            .expect_err(name);
        assert!(
            err.as_service_error()
                .is_some_and(|e| e.is_invalid_attribute_value()),
            "{name}: {err:?}"
        );
    }
    let err = client
        .create_queue()
        .queue_name("q")
        .attributes("Colour".into(), "blue")
        .send()
        .await
        .expect_err("unknown attribute");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_attribute_name()),
        "{err:?}"
    );
    let err = client.list_queues().send().await.expect("listed");
    assert!(err.queue_urls().is_empty(), "nothing was created");
}

#[tokio::test]
async fn get_queue_url_finds_queues_and_its_url_works_in_later_calls() {
    let (emu, client) = setup().await;
    queue(&client, "events", &[]).await;
    let url = client
        .get_queue_url()
        .queue_name("events")
        .send()
        .await
        .expect("url")
        .queue_url()
        .expect("url")
        .to_string();
    assert_eq!(url, format!("{}/000000000000/events", emu.endpoint()));
    send(&client, &url, "hello").await;
    // Any host will do: only account/name at the end of the path count.
    let elsewhere = "https://sqs.us-east-1.amazonaws.com/000000000000/events";
    assert_eq!(
        count(&client, elsewhere, "ApproximateNumberOfMessages").await,
        1
    );
    let err = client
        .get_queue_url()
        .queue_name("missing")
        .send()
        .await
        .expect_err("no such queue");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{err:?}"
    );
    assert_eq!(code(&err), "AWS.SimpleQueueService.NonExistentQueue");
    let other_account = "http://localhost/111111111111/events";
    let err = client
        .send_message()
        .queue_url(other_account)
        .message_body("x")
        .send()
        .await
        .expect_err("another account's queue");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{err:?}"
    );
}

#[tokio::test]
async fn attributes_show_defaults_counts_and_what_was_set() {
    let (emu, client) = setup().await;
    let url = queue(&client, "attrs", &[("DelaySeconds", "2")]).await;
    send(&client, &url, "one").await;
    let all = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::All)
        .send()
        .await
        .expect("attributes");
    let a = all.attributes().expect("attributes");
    let get = |n: &str| a.get(&n.into()).cloned().unwrap_or_default();
    assert_eq!(get("QueueArn"), "arn:aws:sqs:us-east-1:000000000000:attrs");
    assert_eq!(get("VisibilityTimeout"), "30");
    assert_eq!(get("MessageRetentionPeriod"), "345600");
    assert_eq!(get("MaximumMessageSize"), "1048576");
    assert_eq!(get("ReceiveMessageWaitTimeSeconds"), "0");
    assert_eq!(get("DelaySeconds"), "2");
    assert_eq!(get("ApproximateNumberOfMessages"), "0");
    assert_eq!(get("ApproximateNumberOfMessagesDelayed"), "1");
    assert_eq!(get("ApproximateNumberOfMessagesNotVisible"), "0");
    let created: i64 = get("CreatedTimestamp").parse().expect("seconds");
    assert!((created - mocks::clock::system_now_ms() / 1000).abs() < 5);
    assert!(!a.contains_key(&QueueAttributeName::Policy));

    advance(&emu, 100);
    let policy = r#"{"Version": "2012-10-17", "Statement": []}"#;
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::VisibilityTimeout, "5")
        .attributes(QueueAttributeName::Policy, policy)
        .send()
        .await
        .expect("set");
    assert_eq!(
        attribute(&client, &url, "VisibilityTimeout")
            .await
            .as_deref(),
        Some("5")
    );
    assert_eq!(
        attribute(&client, &url, "Policy").await.as_deref(),
        Some(r#"{"Statement":[],"Version":"2012-10-17"}"#)
    );
    let modified: i64 = attribute(&client, &url, "LastModifiedTimestamp")
        .await
        .and_then(|v| v.parse().ok())
        .expect("seconds");
    assert!(modified >= created + 100);
    assert_eq!(count(&client, &url, "ApproximateNumberOfMessages").await, 1);

    let err = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::ReceiveMessageWaitTimeSeconds, "21")
        .send()
        .await
        .expect_err("out of range");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_attribute_value()),
        "{err:?}"
    );
    let err = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names("Colour".into())
        .send()
        .await
        .expect_err("unknown name");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_attribute_name()),
        "{err:?}"
    );
}

#[tokio::test]
async fn redrive_policy_is_set_shown_and_checked() {
    let (_emu, client) = setup().await;
    queue(&client, "dlq", &[]).await;
    let url = queue(&client, "work", &[]).await;
    let arn = "arn:aws:sqs:us-east-1:000000000000:dlq";
    let policy = format!(r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":"4"}}"#);
    client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(QueueAttributeName::RedrivePolicy, policy)
        .send()
        .await
        .expect("set");
    assert_eq!(
        attribute(&client, &url, "RedrivePolicy").await,
        Some(format!(
            r#"{{"deadLetterTargetArn":"{arn}","maxReceiveCount":4}}"#
        ))
    );
    let sources = client
        .list_dead_letter_source_queues()
        .queue_url(url.replace("/work", "/dlq"))
        .send()
        .await
        .expect("sources");
    assert_eq!(sources.queue_urls(), std::slice::from_ref(&url));
    let err = client
        .set_queue_attributes()
        .queue_url(&url)
        .attributes(
            QueueAttributeName::RedrivePolicy,
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:nope","maxReceiveCount":4}"#,
        )
        .send()
        .await
        .expect_err("no such dlq");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_invalid_attribute_value()),
        "{err:?}"
    );
}

#[tokio::test]
async fn list_queues_filters_by_prefix_and_pages() {
    let (_emu, client) = setup().await;
    for name in ["a-1", "a-2", "a-3", "b-1"] {
        queue(&client, name, &[]).await;
    }
    let all = client.list_queues().send().await.expect("listed");
    assert_eq!(all.queue_urls().len(), 4);
    assert_eq!(all.next_token(), None);
    let a = client
        .list_queues()
        .queue_name_prefix("a-")
        .send()
        .await
        .expect("listed");
    assert_eq!(a.queue_urls().len(), 3);
    let mut seen = HashSet::new();
    let mut token = None;
    loop {
        let page = client
            .list_queues()
            .max_results(2)
            .set_next_token(token)
            .send()
            .await
            .expect("page");
        assert!(page.queue_urls().len() <= 2);
        seen.extend(page.queue_urls().iter().cloned());
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen.len(), 4);
    let err = client
        .list_queues()
        .max_results(1001)
        .send()
        .await
        .expect_err("too many");
    assert_eq!(code(&err), "InvalidParameterValue");
}

#[tokio::test]
async fn purge_empties_a_queue_once_a_minute() {
    let (emu, client) = setup().await;
    let url = queue(&client, "purge", &[]).await;
    for i in 0..3 {
        send(&client, &url, &format!("m{i}")).await;
    }
    client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("purged");
    assert_eq!(count(&client, &url, "ApproximateNumberOfMessages").await, 0);
    let err = client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("too soon");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_purge_queue_in_progress()),
        "{err:?}"
    );
    advance(&emu, 61);
    client
        .purge_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("purged again");
    assert_eq!(emu.emulator.ctx.counters.get("sqs.purged"), 3);
}

#[tokio::test]
async fn a_deleted_queue_is_gone_and_its_name_waits_a_minute() {
    let (emu, client) = setup().await;
    let url = queue(&client, "doomed", &[]).await;
    send(&client, &url, "lost with the queue").await;
    client
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect("deleted");
    let err = client
        .send_message()
        .queue_url(&url)
        .message_body("x")
        .send()
        .await
        .expect_err("gone");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{err:?}"
    );
    let err = client
        .delete_queue()
        .queue_url(&url)
        .send()
        .await
        .expect_err("gone");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_does_not_exist()),
        "{err:?}"
    );
    let err = client
        .create_queue()
        .queue_name("doomed")
        .send()
        .await
        .expect_err("too soon");
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_queue_deleted_recently()),
        "{err:?}"
    );
    advance(&emu, 61);
    queue(&client, "doomed", &[]).await;
    assert_eq!(count(&client, &url, "ApproximateNumberOfMessages").await, 0);
    assert_eq!(emu.emulator.ctx.counters.get("sqs.deleted_with_queue"), 1);
}

#[tokio::test]
async fn tags_are_kept_per_queue() {
    let (_emu, client) = setup().await;
    let created = client
        .create_queue()
        .queue_name("tagged")
        .tags("team", "ingest")
        .send()
        .await
        .expect("created");
    let url = created.queue_url().expect("url");
    client
        .tag_queue()
        .queue_url(url)
        .tags("env", "test")
        .send()
        .await
        .expect("tagged");
    client
        .untag_queue()
        .queue_url(url)
        .tag_keys("team")
        .send()
        .await
        .expect("untagged");
    let tags = client
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .expect("tags");
    let tags = tags.tags().expect("tags");
    assert_eq!(tags.len(), 1);
    assert_eq!(tags.get("env").map(String::as_str), Some("test"));
}

#[tokio::test]
async fn unknown_access_keys_are_refused() {
    let emu = common::start().await;
    let conf = common::sdk_config_with(&emu.endpoint(), "AKIDUNKNOWN", "secret").await;
    let client = aws_sdk_sqs::Client::new(&conf);
    let err = client.list_queues().send().await.expect_err("refused");
    assert_eq!(code(&err), "InvalidClientTokenId");
    assert_eq!(err.raw_response().map(|r| r.status().as_u16()), Some(403));
}
