//! Bucket notifications: configuration put/get and destination validation.

use super::setup;
use crate::common::code;
use aws_sdk_s3::types::{
    Event, FilterRule, FilterRuleName, NotificationConfiguration, NotificationConfigurationFilter,
    QueueConfiguration, S3KeyFilter,
};

pub fn queue_config(queue_arn: &str, prefix: &str) -> NotificationConfiguration {
    let rule = FilterRule::builder()
        .name(FilterRuleName::Prefix)
        .value(prefix)
        .build();
    let queue = QueueConfiguration::builder()
        .id("commits")
        .queue_arn(queue_arn)
        .events(Event::S3ObjectCreated)
        .filter(
            NotificationConfigurationFilter::builder()
                .key(S3KeyFilter::builder().filter_rules(rule).build())
                .build(),
        )
        .build()
        .unwrap();
    NotificationConfiguration::builder()
        .queue_configurations(queue)
        .build()
}

#[tokio::test]
async fn configuration_is_validated_and_stored() {
    let (_emu, s3) = setup("notify").await;
    let empty = s3
        .get_bucket_notification_configuration()
        .bucket("notify")
        .send()
        .await
        .unwrap();
    assert!(empty.queue_configurations().is_empty());

    let arn = "arn:aws:sqs:us-east-1:000000000000:missing";
    let err = s3
        .put_bucket_notification_configuration()
        .bucket("notify")
        .notification_configuration(queue_config(arn, "commits/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");
    let msg = aws_sdk_s3::error::ProvideErrorMetadata::message(&err).unwrap_or_default();
    assert!(
        msg.contains("Unable to validate the following destination configurations"),
        "{msg}"
    );

    // Skipping validation stores it as given.
    s3.put_bucket_notification_configuration()
        .bucket("notify")
        .skip_destination_validation(true)
        .notification_configuration(queue_config(arn, "commits/"))
        .send()
        .await
        .unwrap();
    let got = s3
        .get_bucket_notification_configuration()
        .bucket("notify")
        .send()
        .await
        .unwrap();
    let q = &got.queue_configurations()[0];
    assert_eq!(q.id(), Some("commits"));
    assert_eq!(q.queue_arn(), arn);
    assert_eq!(q.events(), [Event::S3ObjectCreated]);
    let rules = q
        .filter()
        .and_then(|f| f.key())
        .map(|k| k.filter_rules())
        .unwrap();
    assert_eq!(rules[0].value(), Some("commits/"));

    let err = s3
        .get_bucket_notification_configuration()
        .bucket("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "NoSuchBucket");
}
