//! Creating what the catalog listens to, idempotently: the bucket, the catalog queue and
//! its dead-letter queue (redrive after [`MAX_RECEIVE_COUNT`] receives), the queue policy
//! letting `s3.amazonaws.com` send from the bucket's ARN, and the bucket notification
//! (`s3:ObjectCreated:*` on prefix `_leases/`) to the queue. The harness calls it for every
//! backend; the embedded backend, like AWS, checks the policy before accepting the
//! notification configuration.

use crate::table::layout::LEASES_PREFIX;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};
use aws_sdk_sqs::types::QueueAttributeName;

/// Receives after which a message goes to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;

/// Id of the bucket's queue configuration.
pub const NOTIFICATION_ID: &str = "gameday-catalog-leases";

#[derive(Debug, thiserror::Error)]
#[error("wiring {step}: {message}")]
pub struct WiringError {
    pub step: &'static str,
    pub message: String,
}

/// The queues created.
#[derive(Debug, Clone)]
pub struct Wiring {
    pub queue_url: String,
    pub queue_arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

fn fail<E: std::error::Error>(step: &'static str) -> impl FnOnce(E) -> WiringError {
    move |e| WiringError {
        step,
        message: aws_sdk_s3::error::DisplayErrorContext(&e).to_string(),
    }
}

async fn queue(sqs: &aws_sdk_sqs::Client, name: &str) -> Result<(String, String), WiringError> {
    let url = sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .map_err(fail("CreateQueue"))?
        .queue_url
        .ok_or_else(|| WiringError {
            step: "CreateQueue",
            message: "no QueueUrl".into(),
        })?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(fail("GetQueueAttributes"))?
        .attributes
        .and_then(|mut a| a.remove(&QueueAttributeName::QueueArn))
        .ok_or_else(|| WiringError {
            step: "GetQueueAttributes",
            message: "no QueueArn".into(),
        })?;
    Ok((url, arn))
}

/// The queue policy: S3 may send from `bucket_arn` only.
pub fn queue_policy(queue_arn: &str, bucket_arn: &str) -> String {
    serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "s3-lease-notifications",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {"ArnLike": {"aws:SourceArn": bucket_arn}},
        }],
    })
    .to_string()
}

pub async fn ensure_wiring(
    s3: &aws_sdk_s3::Client,
    sqs: &aws_sdk_sqs::Client,
    bucket: &str,
    queue_name: &str,
    dlq_name: &str,
) -> Result<Wiring, WiringError> {
    if let Err(e) = s3.create_bucket().bucket(bucket).send().await {
        let owned = e
            .as_service_error()
            .is_some_and(|s| s.is_bucket_already_owned_by_you());
        if !owned {
            return Err(fail("CreateBucket")(e));
        }
    }
    let (dlq_url, dlq_arn) = queue(sqs, dlq_name).await?;
    let (queue_url, queue_arn) = queue(sqs, queue_name).await?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    })
    .to_string();
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(QueueAttributeName::RedrivePolicy, redrive)
        .attributes(
            QueueAttributeName::Policy,
            queue_policy(&queue_arn, &bucket_arn),
        )
        .send()
        .await
        .map_err(fail("SetQueueAttributes"))?;
    let filter = NotificationConfigurationFilter::builder()
        .key(
            S3KeyFilter::builder()
                .filter_rules(
                    FilterRule::builder()
                        .name(FilterRuleName::Prefix)
                        .value(LEASES_PREFIX)
                        .build(),
                )
                .build(),
        )
        .build();
    let target = QueueConfiguration::builder()
        .id(NOTIFICATION_ID)
        .queue_arn(&queue_arn)
        .events(Event::from("s3:ObjectCreated:*"))
        .filter(filter)
        .build()
        .map_err(fail("QueueConfiguration"))?;
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(
            NotificationConfiguration::builder()
                .queue_configurations(target)
                .build(),
        )
        .send()
        .await
        .map_err(fail("PutBucketNotificationConfiguration"))?;
    Ok(Wiring {
        queue_url,
        queue_arn,
        dlq_url,
        dlq_arn,
    })
}
