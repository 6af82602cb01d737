//! SQS through aws-sdk-sqs (and, for what an SDK cannot send, raw HTTP): queues and
//! their attributes, messages and their digests, receipt handles and visibility,
//! long polling, redrive and retention, and the error codes the SDK maps.

mod faults;
mod messages;
mod queues;
mod timing;
mod wire;

use crate::common;
use aws_sdk_sqs::Client;
use mocks::RunningEmulator;
use std::time::Duration;

/// An emulator and an SDK client for it.
async fn setup() -> (RunningEmulator, Client) {
    let emu = common::start().await;
    let client = common::sqs(&emu).await;
    (emu, client)
}

/// Creates `name` with `attributes` and returns its URL.
async fn queue(client: &Client, name: &str, attributes: &[(&str, &str)]) -> String {
    let mut req = client.create_queue().queue_name(name);
    for (k, v) in attributes {
        req = req.attributes((*k).into(), (*v).to_string());
    }
    req.send()
        .await
        .expect("queue created")
        .queue_url()
        .expect("queue url")
        .to_string()
}

/// One queue attribute as GetQueueAttributes shows it.
async fn attribute(client: &Client, url: &str, name: &str) -> Option<String> {
    let out = client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(name.into())
        .send()
        .await
        .expect("attributes");
    out.attributes().and_then(|a| a.get(&name.into())).cloned()
}

async fn count(client: &Client, url: &str, name: &str) -> u64 {
    attribute(client, url, name)
        .await
        .and_then(|v| v.parse().ok())
        .expect("a count")
}

async fn send(client: &Client, url: &str, body: &str) -> String {
    client
        .send_message()
        .queue_url(url)
        .message_body(body)
        .send()
        .await
        .expect("sent")
        .message_id()
        .expect("message id")
        .to_string()
}

/// Receives up to 10 messages without waiting, with every system attribute.
async fn receive(client: &Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .wait_time_seconds(0)
        .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
        .message_attribute_names("All")
        .send()
        .await
        .expect("received")
        .messages()
        .to_vec()
}

fn advance(emu: &RunningEmulator, secs: u64) {
    emu.emulator.ctx.clock.advance(Duration::from_secs(secs));
}

fn system_attribute(
    m: &aws_sdk_sqs::types::Message,
    name: aws_sdk_sqs::types::MessageSystemAttributeName,
) -> Option<String> {
    m.attributes().and_then(|a| a.get(&name)).cloned()
}
