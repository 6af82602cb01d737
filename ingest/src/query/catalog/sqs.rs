//! Consuming the catalog queue: S3 `ObjectCreated` notifications for `_leases/` keys,
//! received with long polling. A message is deleted only after every lease it names was
//! followed; a message that fails (unparseable, lease or commit unreadable) is made
//! visible again after `retry_visibility_secs` and, after the queue's maxReceiveCount
//! receives, SQS's redrive policy moves it to the dead-letter queue. Nothing is dropped
//! silently: every outcome has a counter.
//!
//! Losing a notification (to the DLQ) only delays the shard: the next lease change walks
//! the chain back to what was applied and picks up the missed commits too.

use super::follow::Follower;
use super::{Catalog, sdk_error};
use crate::query::config::CatalogConfig;
use crate::query::metrics::Metrics;
use crate::table::layout;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::Message;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// Pause after a failed ReceiveMessage call before the next one.
const RECEIVE_BACKOFF: Duration = Duration::from_millis(500);
/// How often shards missing since start-up are tried again without a notification.
const MISSING_RETRY: Duration = Duration::from_secs(5);

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "Records", default)]
    records: Vec<Record>,
    /// `s3:TestEvent`, sent when a notification configuration is put.
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Deserialize)]
struct Record {
    #[serde(rename = "eventName")]
    event_name: String,
    s3: Entity,
}

#[derive(Deserialize)]
struct Entity {
    bucket: Bucket,
    object: Object,
}

#[derive(Deserialize)]
struct Bucket {
    name: String,
}

#[derive(Deserialize)]
struct Object {
    key: String,
}

/// What a message asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum Notification {
    /// `s3:TestEvent`: nothing to do.
    Test,
    /// Lease objects (by shard) created or overwritten in our bucket.
    Leases(Vec<String>),
}

/// Parses a message body (`Err` = a poison message, with its reason code).
pub fn parse(body: &str, bucket: &str) -> Result<Notification, &'static str> {
    let ev: Event = serde_json::from_str(body).map_err(|_| "unparseable_message")?;
    if ev.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Notification::Test);
    }
    if ev.records.is_empty() {
        return Err("unparseable_message");
    }
    let mut shards = Vec::new();
    for r in ev.records {
        if !r.event_name.starts_with("ObjectCreated") || r.s3.bucket.name != bucket {
            continue;
        }
        let key = decode_key(&r.s3.object.key).ok_or("unparseable_message")?;
        if let Some(shard) = layout::shard_of_lease_key(&key) {
            shards.push(shard.to_string());
        }
    }
    Ok(Notification::Leases(shards))
}

/// S3 event keys are URL-encoded like form values (`+` for a space).
fn decode_key(key: &str) -> Option<String> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&format!("k={key}")).ok()?;
    pairs.into_iter().next().map(|(_, v)| v)
}

pub struct Consumer {
    pub sqs: Client,
    pub queue_url: String,
    pub bucket: String,
    pub follower: Follower,
    pub catalog: Arc<Catalog>,
    pub metrics: Arc<Metrics>,
    pub config: CatalogConfig,
}

impl Consumer {
    /// Receives and applies notifications until the task is aborted.
    pub async fn run(self) {
        let mut next_retry = std::time::Instant::now() + MISSING_RETRY;
        loop {
            if std::time::Instant::now() >= next_retry {
                next_retry = std::time::Instant::now() + MISSING_RETRY;
                self.retry_missing().await;
            }
            let received = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(self.config.wait_secs.clamp(0, 20))
                .send()
                .await;
            match received {
                Ok(out) => {
                    for m in out.messages() {
                        self.handle(m).await;
                    }
                }
                Err(e) => {
                    self.metrics
                        .catalog_message("receive_failed", "sqs_receive");
                    tracing::warn!(error = %sdk_error(&e), "ReceiveMessage failed");
                    tokio::time::sleep(RECEIVE_BACKOFF).await;
                }
            }
        }
    }

    /// Follows again every shard the catalog is missing (a shard with no owner sends no
    /// lease notifications).
    async fn retry_missing(&self) {
        for (shard, _) in self.catalog.missing() {
            match self.follower.follow(&self.catalog, &shard).await {
                Ok(done) => {
                    self.metrics.applied(done);
                    tracing::info!(shard, "missing shard applied");
                }
                Err(e) => {
                    self.catalog.mark_missing(&shard, e.reason());
                    tracing::warn!(shard, error = %e, "missing shard still not applied");
                }
            }
        }
        self.metrics
            .shards_missing
            .set(self.catalog.missing().len() as i64);
    }

    async fn handle(&self, m: &Message) {
        let body = m.body().unwrap_or_default();
        let shards = match parse(body, &self.bucket) {
            Ok(Notification::Test) => {
                self.metrics.catalog_message("ignored", "test_event");
                return self.delete(m).await;
            }
            Ok(Notification::Leases(shards)) => shards,
            Err(reason) => return self.fail(m, reason).await,
        };
        if shards.is_empty() {
            self.metrics.catalog_message("ignored", "not_a_lease");
            return self.delete(m).await;
        }
        for shard in &shards {
            match self.follower.follow(&self.catalog, shard).await {
                Ok(done) => self.metrics.applied(done),
                Err(e) => {
                    tracing::warn!(shard, error = %e, "lease change not applied");
                    return self.fail(m, e.reason()).await;
                }
            }
        }
        self.metrics.catalog_message("applied", "ok");
        self.metrics
            .shards_missing
            .set(self.catalog.missing().len() as i64);
        self.delete(m).await;
    }

    async fn delete(&self, m: &Message) {
        let Some(handle) = m.receipt_handle() else {
            return;
        };
        let deleted = self
            .sqs
            .delete_message()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .send()
            .await;
        if let Err(e) = deleted {
            // The message comes back and is applied again: harmless (idempotent).
            self.metrics.catalog_message("delete_failed", "sqs_delete");
            tracing::warn!(error = %sdk_error(&e), "DeleteMessage failed");
        }
    }

    /// Leaves the message on the queue (its receive count grows toward the DLQ).
    async fn fail(&self, m: &Message, reason: &'static str) {
        self.metrics.catalog_message("failed", reason);
        let Some(handle) = m.receipt_handle() else {
            return;
        };
        let changed = self
            .sqs
            .change_message_visibility()
            .queue_url(&self.queue_url)
            .receipt_handle(handle)
            .visibility_timeout(self.config.retry_visibility_secs.max(0))
            .send()
            .await;
        if changed.is_err() {
            // It still comes back, after the queue's visibility timeout.
            self.metrics
                .catalog_message("visibility_failed", "sqs_visibility");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notifications_name_lease_shards_and_poison_is_recognized() {
        let body = serde_json::json!({"Records": [
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "_leases/shardId-000000000001.json"}}},
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"}, "object": {"key": "_commits/x.json"}}},
            {"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "other"}, "object": {"key": "_leases/s2.json"}}},
        ]})
        .to_string();
        assert_eq!(
            parse(&body, "b"),
            Ok(Notification::Leases(vec!["shardId-000000000001".into()]))
        );
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Bucket":"b"}"#;
        assert_eq!(parse(test, "b"), Ok(Notification::Test));
        assert_eq!(parse("not json", "b"), Err("unparseable_message"));
        assert_eq!(parse("{}", "b"), Err("unparseable_message"));
        assert_eq!(
            decode_key("_leases/a+b%2Bc.json").unwrap(),
            "_leases/a b+c.json"
        );
    }
}
