//! SQS (awsJson1_0, `X-Amz-Target: AmazonSQS.*`): standard queues in memory, with
//! AWS's attributes, limits and error codes, long polling, visibility timeouts,
//! retention and dead-letter redrive; plus the two doors S3 uses to notify a queue.
//!
//! Layout: `registry` (queues by name, URLs, ARNs), `queue` (one queue's messages and
//! timers), `message` (validation and MD5s), `attrs` (queue attributes), `ids` (message
//! ids, receipt handles), `policy` (may S3 send here?), `batch` (batch entry rules),
//! and the operations in `ops_queue`, `ops_send` and `ops_receive`.

mod attrs;
mod batch;
mod errors;
mod ids;
mod message;
mod ops_handle;
mod ops_queue;
mod ops_receive;
mod ops_send;
mod policy;
mod queue;
mod registry;
#[cfg(test)]
mod s3_tests;

use crate::Ctx;
use crate::awsjson::{self, JsonError, Protocol};
use axum::response::Response;
use http::HeaderMap;
use ids::Ids;
use message::Message;
use queue::{Queue, State, Swept};
use registry::Registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tokio::sync::Notify;

pub(crate) const PROTOCOL: Protocol = Protocol::Json10;

/// Why S3 may not notify a queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyTargetError {
    #[error("queue {0} does not exist")]
    NoSuchQueue(String),
    #[error("the policy of queue {0} does not allow s3.amazonaws.com to send messages from {1}")]
    PolicyDenies(String, String),
}

/// The SenderId S3 event notifications carry.
pub(crate) const S3_SENDER: &str = "s3.amazonaws.com";

pub struct Sqs {
    ctx: Ctx,
    queues: Registry,
    ids: Ids,
    /// Set at shutdown: long polls answer at once instead of holding the server open.
    closing: AtomicBool,
    closed: Notify,
}

/// A required request member, or AWS's MissingParameter.
fn required<T>(value: Option<T>, name: &str) -> Result<T, JsonError> {
    value.ok_or_else(|| errors::missing_parameter(name))
}

impl Sqs {
    pub fn new(ctx: Ctx) -> Self {
        Self {
            ids: Ids::new(ctx.config.seed),
            ctx,
            queues: Registry::default(),
            closing: AtomicBool::new(false),
            closed: Notify::new(),
        }
    }

    /// Serves one SQS operation; `headers` carry the Host that queue URLs are built on.
    pub async fn handle(&self, op: &str, headers: &HeaderMap, body: &[u8]) -> Response {
        let host = headers
            .get(http::header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost:4566");
        let result = match op {
            "CreateQueue" => self.create_queue(host, body),
            "GetQueueUrl" => self.get_queue_url(host, body),
            "GetQueueAttributes" => self.get_queue_attributes(body),
            "SetQueueAttributes" => self.set_queue_attributes(body),
            "ListQueues" => self.list_queues(host, body),
            "DeleteQueue" => self.delete_queue(body),
            "PurgeQueue" => self.purge_queue(body),
            "TagQueue" => self.tag_queue(body),
            "UntagQueue" => self.untag_queue(body),
            "ListQueueTags" => self.list_queue_tags(body),
            "ListDeadLetterSourceQueues" => self.list_dead_letter_source_queues(host, body),
            "SendMessage" => self.send_message(body),
            "SendMessageBatch" => self.send_message_batch(body),
            "ReceiveMessage" => self.receive_message(body).await,
            "DeleteMessage" => self.delete_message(body),
            "DeleteMessageBatch" => self.delete_message_batch(body),
            "ChangeMessageVisibility" => self.change_message_visibility(body),
            "ChangeMessageVisibilityBatch" => self.change_message_visibility_batch(body),
            "AddPermission"
            | "RemovePermission"
            | "StartMessageMoveTask"
            | "CancelMessageMoveTask"
            | "ListMessageMoveTasks" => Err(errors::unsupported(op)),
            other => Err(errors::unknown_operation(other)),
        };
        match result {
            Ok(resp) => resp,
            Err(e) => {
                self.ctx.counters.incr(&format!("sqs.error.{}", e.code));
                e.into_response(PROTOCOL)
            }
        }
    }

    fn now_ms(&self) -> i64 {
        self.ctx.clock.now_ms()
    }

    fn account(&self) -> &str {
        &self.ctx.config.account_id
    }

    fn arn(&self, name: &str) -> String {
        format!(
            "arn:aws:sqs:{}:{}:{name}",
            self.ctx.config.region,
            self.account()
        )
    }

    fn url(&self, host: &str, name: &str) -> String {
        format!("http://{host}/{}/{name}", self.account())
    }

    /// The queue a QueueUrl names.
    fn queue(&self, url: Option<&str>) -> Result<Arc<Queue>, JsonError> {
        let url = required(url, "QueueUrl")?;
        let name = registry::name_from_url(url, self.account())?;
        self.queues
            .get(name)
            .ok_or_else(errors::queue_does_not_exist)
    }

    fn queue_by_arn(&self, arn: &str) -> Option<Arc<Queue>> {
        let name = registry::name_from_arn(arn, &self.ctx.config.region, self.account())?;
        self.queues.get(name)
    }

    /// Runs `f` on the queue's state with its time moved to now (before and after), then
    /// wakes long polls if messages became visible and dead-letters what the sweeps found.
    fn with_state<R>(&self, q: &Arc<Queue>, f: impl FnOnce(&mut State, i64) -> R) -> R {
        let now = self.now_ms();
        let mut swept = Swept::default();
        let (r, woke) = {
            let mut st = q.state.lock();
            let before = st.became_visible;
            st.sweep(now, &mut swept);
            let r = f(&mut st, now);
            st.sweep(now, &mut swept);
            (r, st.became_visible != before)
        };
        if woke {
            q.arrivals.notify_waiters();
        }
        self.settle(q, swept);
        r
    }

    /// Counts expired messages and moves dead ones to the dead-letter queue (back to
    /// their own queue, counted, if that queue is gone).
    fn settle(&self, q: &Arc<Queue>, swept: Swept) {
        self.ctx.counters.add("sqs.expired", swept.expired);
        if swept.dead.is_empty() {
            return;
        }
        let n = swept.dead.len() as u64;
        match swept
            .dlq_arn
            .as_deref()
            .and_then(|arn| self.queue_by_arn(arn))
        {
            Some(dlq) => {
                let source: Arc<str> = Arc::from(q.arn.as_str());
                self.with_state(&dlq, |st, now| {
                    for mut m in swept.dead {
                        m.receive_count = 0;
                        m.first_receive_ms = None;
                        m.nonce = 0;
                        m.extra_mut().dlq_source = Some(source.clone());
                        st.push(m, 0, now);
                    }
                });
                self.ctx.counters.add("sqs.dead_lettered", n);
            }
            None => {
                self.ctx.counters.add("sqs.redrive.target_missing", n);
                self.with_state(q, |st, now| {
                    for m in swept.dead {
                        st.push(m, 0, now);
                    }
                });
            }
        }
    }

    /// Enqueues validated messages (their delays in seconds) and wakes long polls.
    fn enqueue(&self, q: &Arc<Queue>, msgs: Vec<(Message, u32)>) {
        self.with_state(q, |st, now| {
            for (mut m, delay_s) in msgs {
                m.sent_ms = now;
                st.push(m, i64::from(delay_s) * 1000, now);
            }
        });
    }

    /// Makes pending long polls answer now and future ones not wait (shutdown).
    pub fn release_long_polls(&self) {
        self.closing.store(true, Ordering::Relaxed);
        self.closed.notify_waiters();
    }

    /// Checks that the queue exists and its Policy lets S3 (for `bucket_arn`) send to it,
    /// as PutBucketNotificationConfiguration does before it accepts a destination.
    pub fn check_s3_may_send(
        &self,
        queue_arn: &str,
        bucket_arn: &str,
    ) -> Result<(), NotifyTargetError> {
        let q = self
            .queue_by_arn(queue_arn)
            .ok_or_else(|| NotifyTargetError::NoSuchQueue(queue_arn.into()))?;
        let policy = q.state.lock().attrs.policy.clone();
        let allowed =
            policy.is_some_and(|p| policy::s3_may_send(&p, &q.arn, bucket_arn, self.account()));
        if allowed {
            Ok(())
        } else {
            self.ctx.counters.incr("sqs.s3.policy_denied");
            Err(NotifyTargetError::PolicyDenies(
                queue_arn.into(),
                bucket_arn.into(),
            ))
        }
    }

    /// Enqueues an S3 event notification on the queue named by its ARN.
    pub fn deliver_from_s3(&self, queue_arn: &str, body: String) -> Result<(), NotifyTargetError> {
        let Some(q) = self.queue_by_arn(queue_arn) else {
            self.ctx.counters.incr("sqs.s3.no_such_queue");
            return Err(NotifyTargetError::NoSuchQueue(queue_arn.into()));
        };
        let delay = q.state.lock().attrs.delay_s;
        let input = message::MessageIn {
            message_body: Some(body),
            ..Default::default()
        };
        // S3 events are checked against SQS's own 1 MiB ceiling rather than the queue's
        // MaximumMessageSize (an event with a long key may exceed a small limit, where AWS
        // would drop it). Event JSON never exceeds 1 MiB nor holds invalid characters, so
        // the refusal below is unreachable in practice; it is still counted, not silent.
        let max = attrs::MAX_MESSAGE_BYTES;
        match message::validate(
            input,
            max,
            delay,
            self.ids.message_id(),
            message::Sender::S3,
        ) {
            Ok(v) => {
                self.enqueue(&q, vec![(v.message, v.delay_s)]);
                self.ctx.counters.incr("sqs.s3.delivered");
                Ok(())
            }
            Err(e) => {
                tracing::warn!(queue = queue_arn, error = %e.message, "S3 notification refused by the queue");
                self.ctx
                    .counters
                    .incr(&format!("sqs.s3.refused.{}", e.code));
                Err(NotifyTargetError::NoSuchQueue(queue_arn.into()))
            }
        }
    }

    pub fn health(&self) -> serde_json::Value {
        let mut by_queue = serde_json::Map::new();
        let (mut visible, mut in_flight, mut delayed) = (0, 0, 0);
        for q in self.queues.all() {
            let c = self.with_state(&q, |st, _| st.counts());
            visible += c.visible;
            in_flight += c.in_flight;
            delayed += c.delayed;
            by_queue.insert(
                q.name.clone(),
                serde_json::json!({"visible": c.visible, "in_flight": c.in_flight, "delayed": c.delayed}),
            );
        }
        serde_json::json!({
            "queues": by_queue.len(),
            "messages_visible": visible,
            "messages_in_flight": in_flight,
            "messages_delayed": delayed,
            "dead_lettered": self.ctx.counters.get("sqs.dead_lettered"),
            "expired": self.ctx.counters.get("sqs.expired"),
            "by_queue": by_queue,
        })
    }
}

/// An empty success (`{}`), for operations without output.
fn empty() -> Response {
    awsjson::raw(PROTOCOL, http::StatusCode::OK, "{}")
}
