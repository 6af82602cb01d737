//! SQS (awsJson1_0, `X-Amz-Target: AmazonSQS.*`). STUB: replaced by the SQS work.

use crate::Ctx;
use crate::awsjson::{JsonError, Protocol};
use axum::response::Response;
use http::HeaderMap;

/// Why S3 may not notify a queue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyTargetError {
    #[error("queue {0} does not exist")]
    NoSuchQueue(String),
    #[error("the policy of queue {0} does not allow s3.amazonaws.com to send messages from {1}")]
    PolicyDenies(String, String),
}

pub struct Sqs {
    #[allow(dead_code)]
    ctx: Ctx,
}

impl Sqs {
    pub fn new(ctx: Ctx) -> Self {
        Self { ctx }
    }

    /// Serves one SQS operation; `headers` carry the Host that queue URLs are built on.
    pub async fn handle(&self, op: &str, _headers: &HeaderMap, _body: &[u8]) -> Response {
        JsonError::bad_request("UnsupportedOperation", format!("{op} not implemented yet"))
            .into_response(Protocol::Json10)
    }

    /// Checks that the queue exists and its Policy lets S3 (for `bucket_arn`) send to it,
    /// as PutBucketNotificationConfiguration does before it accepts a destination.
    pub fn check_s3_may_send(
        &self,
        queue_arn: &str,
        bucket_arn: &str,
    ) -> Result<(), NotifyTargetError> {
        Err(NotifyTargetError::PolicyDenies(
            queue_arn.into(),
            bucket_arn.into(),
        ))
    }

    /// Enqueues an S3 event notification on the queue named by its ARN.
    pub fn deliver_from_s3(&self, queue_arn: &str, _body: String) -> Result<(), NotifyTargetError> {
        Err(NotifyTargetError::NoSuchQueue(queue_arn.into()))
    }

    pub fn health(&self) -> serde_json::Value {
        serde_json::json!({})
    }
}
