//! Provisioning on the backend through the AWS SDKs, as on real AWS: the Kinesis stream
//! (waits until ACTIVE), the bucket, the catalog queue with its dead-letter queue
//! (redrive after 5 receives), the queue policy letting S3 send from the bucket, and the
//! bucket notification (`ObjectCreated:*` under `_leases/`) that feeds the catalog.
//! Idempotent: what already exists with the right shape is reused.

use super::StackError;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_kinesis::types::StreamStatus;
use ingest::aws::AwsConfig;
use std::time::{Duration, Instant};

/// Receives of one catalog message before it moves to the dead-letter queue.
pub const MAX_RECEIVE_COUNT: u32 = 5;
const ACTIVE_TIMEOUT: Duration = Duration::from_secs(60);
const ACTIVE_POLL: Duration = Duration::from_millis(25);

pub use ingest::aws::ShardRange;

/// Creates the stream with `shards` shards (or checks an existing one has that many),
/// waits until it is ACTIVE and returns its shards in hash-key order.
pub async fn stream(
    aws: &AwsConfig,
    name: &str,
    shards: u32,
) -> Result<Vec<ShardRange>, StackError> {
    let what = || format!("Kinesis stream {name} ({shards} shards)");
    let k = aws.kinesis().await;
    let created = k
        .create_stream()
        .stream_name(name)
        .shard_count(shards as i32)
        .send()
        .await;
    if let Err(e) = created {
        let in_use = e
            .as_service_error()
            .is_some_and(|s| s.is_resource_in_use_exception());
        if !in_use {
            return Err(StackError::provision(what(), DisplayErrorContext(&e)));
        }
    }
    let deadline = Instant::now() + ACTIVE_TIMEOUT;
    loop {
        let d = k
            .describe_stream_summary()
            .stream_name(name)
            .send()
            .await
            .map_err(|e| StackError::provision(what(), DisplayErrorContext(&e)))?;
        let summary = d.stream_description_summary();
        let status = summary.map(|s| s.stream_status().clone());
        if status == Some(StreamStatus::Active) {
            let open = summary.map(|s| s.open_shard_count()).unwrap_or(0);
            if open != shards as i32 {
                return Err(StackError::provision(
                    what(),
                    format!(
                        "the stream already exists with {open} open shards; delete it or ask for {open}"
                    ),
                ));
            }
            break;
        }
        if Instant::now() > deadline {
            return Err(StackError::provision(
                what(),
                format!(
                    "not ACTIVE after {} s (status {status:?})",
                    ACTIVE_TIMEOUT.as_secs()
                ),
            ));
        }
        tokio::time::sleep(ACTIVE_POLL).await;
    }
    ingest::aws::open_shards(&k, name)
        .await
        .map_err(|e| StackError::provision(what(), e))
}

/// The bucket, the catalog queue (+ DLQ, redrive, policy) and the bucket notification.
pub async fn storage(aws: &AwsConfig, bucket: &str, queue: &str) -> Result<(), StackError> {
    let s3 = aws.s3().await;
    let created = s3.create_bucket().bucket(bucket).send().await;
    if let Err(e) = created {
        let owned = e
            .as_service_error()
            .is_some_and(|s| s.is_bucket_already_owned_by_you() || s.is_bucket_already_exists());
        if !owned {
            return Err(StackError::provision(
                format!("bucket {bucket}"),
                DisplayErrorContext(&e),
            ));
        }
    }
    let queue_arn = catalog_queue(aws, bucket, queue).await?;
    let config = aws_sdk_s3::types::NotificationConfiguration::builder()
        .queue_configurations(
            aws_sdk_s3::types::QueueConfiguration::builder()
                .id("gameday-catalog")
                .queue_arn(&queue_arn)
                .events(aws_sdk_s3::types::Event::from("s3:ObjectCreated:*"))
                .filter(
                    aws_sdk_s3::types::NotificationConfigurationFilter::builder()
                        .key(
                            aws_sdk_s3::types::S3KeyFilter::builder()
                                .filter_rules(
                                    aws_sdk_s3::types::FilterRule::builder()
                                        .name(aws_sdk_s3::types::FilterRuleName::Prefix)
                                        .value(ingest::table::layout::LEASES_PREFIX)
                                        .build(),
                                )
                                .build(),
                        )
                        .build(),
                )
                .build()
                .map_err(|e| StackError::provision("bucket notification", e))?,
        )
        .build();
    s3.put_bucket_notification_configuration()
        .bucket(bucket)
        .notification_configuration(config)
        .send()
        .await
        .map_err(|e| {
            StackError::provision(
                format!("notification {bucket} → {queue}"),
                DisplayErrorContext(&e),
            )
        })?;
    Ok(())
}

/// Creates the DLQ and the catalog queue (redrive + policy); returns the queue's ARN.
async fn catalog_queue(aws: &AwsConfig, bucket: &str, queue: &str) -> Result<String, StackError> {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    let sqs = aws.sqs().await;
    let what = |q: &str| format!("SQS queue {q}");
    let dlq_name = format!("{queue}-dlq");
    let dlq_url = sqs
        .create_queue()
        .queue_name(&dlq_name)
        .send()
        .await
        .map_err(|e| StackError::provision(what(&dlq_name), DisplayErrorContext(&e)))?
        .queue_url
        .unwrap_or_default();
    let dlq_arn = queue_arn(&sqs, &dlq_url)
        .await
        .map_err(|e| StackError::provision(what(&dlq_name), e))?;
    let url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| StackError::provision(what(queue), DisplayErrorContext(&e)))?
        .queue_url
        .unwrap_or_default();
    let arn = queue_arn(&sqs, &url)
        .await
        .map_err(|e| StackError::provision(what(queue), e))?;
    let redrive = serde_json::json!({
        "deadLetterTargetArn": dlq_arn,
        "maxReceiveCount": MAX_RECEIVE_COUNT.to_string(),
    });
    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "s3-sends-lease-changes",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnLike": {"aws:SourceArn": format!("arn:aws:s3:::{bucket}")}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(A::RedrivePolicy, redrive.to_string())
        .attributes(A::Policy, policy.to_string())
        .send()
        .await
        .map_err(|e| StackError::provision(what(queue), DisplayErrorContext(&e)))?;
    Ok(arn)
}

async fn queue_arn(sqs: &aws_sdk_sqs::Client, url: &str) -> Result<String, String> {
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("GetQueueAttributes: {}", DisplayErrorContext(&e)))?;
    attrs
        .attributes()
        .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
        .cloned()
        .ok_or_else(|| format!("GetQueueAttributes of {url}: no QueueArn"))
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn emulator() -> (mocks::RunningEmulator, AwsConfig) {
        let emu = mocks::Emulator::start(
            mocks::EmulatorConfig::default(),
            "127.0.0.1:0".parse().unwrap(),
        )
        .await
        .unwrap();
        let aws = AwsConfig::local(emu.endpoint());
        (emu, aws)
    }

    #[tokio::test]
    async fn the_stream_is_active_with_its_shards_and_reprovisioning_is_idempotent() {
        let (_emu, aws) = emulator().await;
        let shards = stream(&aws, "telemetry", 4).await.unwrap();
        assert_eq!(shards.len(), 4);
        assert_eq!(shards[0].1, 0);
        assert_eq!(shards[3].2, u128::MAX);
        assert!(
            shards.windows(2).all(|w| w[0].2 + 1 == w[1].1),
            "{shards:?}"
        );
        assert_eq!(stream(&aws, "telemetry", 4).await.unwrap(), shards);
        let e = stream(&aws, "telemetry", 6).await.unwrap_err().to_string();
        assert!(e.contains("already exists with 4 open shards"), "{e}");
    }

    #[tokio::test]
    async fn lease_objects_notify_the_catalog_queue_and_nothing_else_does() {
        let (_emu, aws) = emulator().await;
        storage(&aws, "lake", "catalog").await.unwrap();
        storage(&aws, "lake", "catalog").await.unwrap(); // idempotent
        let s3 = aws.s3().await;
        let sqs = aws.sqs().await;
        let url = sqs
            .get_queue_url()
            .queue_name("catalog")
            .send()
            .await
            .unwrap();
        let url = url.queue_url().unwrap().to_string();
        // Drain the s3:TestEvent S3 sends when a configuration is put.
        let _ = sqs.purge_queue().queue_url(&url).send().await;

        for key in [
            "metrics/tenant=a/dt=2026-11-26/hour=10/x.parquet",
            "_leases/shardId-000000000000.json",
        ] {
            s3.put_object()
                .bucket("lake")
                .key(key)
                .body(aws_sdk_s3::primitives::ByteStream::from_static(b"{}"))
                .send()
                .await
                .unwrap();
        }
        let got = sqs
            .receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let bodies: Vec<&str> = got.messages().iter().filter_map(|m| m.body()).collect();
        assert_eq!(bodies.len(), 1, "{bodies:?}");
        assert!(
            bodies[0].contains("_leases/shardId-000000000000.json"),
            "{}",
            bodies[0]
        );

        use aws_sdk_sqs::types::QueueAttributeName as A;
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(A::All)
            .send()
            .await
            .unwrap();
        let attrs = attrs.attributes().unwrap();
        let redrive: serde_json::Value = serde_json::from_str(&attrs[&A::RedrivePolicy]).unwrap();
        assert_eq!(
            redrive["maxReceiveCount"].to_string().trim_matches('"'),
            "5"
        );
        assert!(
            redrive["deadLetterTargetArn"]
                .as_str()
                .unwrap()
                .ends_with(":catalog-dlq")
        );
        assert!(attrs[&A::Policy].contains("arn:aws:s3:::lake"));
    }
}
