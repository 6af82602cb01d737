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

async fn receive_all(sqs: &aws_sdk_sqs::Client, url: &str, want: usize) -> Vec<serde_json::Value> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= want {
            break;
        }
        let out = sqs
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in out.messages() {
            got.push(serde_json::from_str(m.body().unwrap()).unwrap());
            sqs.delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
    got
}

#[tokio::test]
async fn object_events_reach_sqs() {
    use aws_sdk_sqs::types::QueueAttributeName as Attr;
    let (emu, s3) = setup("events").await;
    let sqs = crate::common::sqs(&emu).await;
    let url = sqs
        .create_queue()
        .queue_name("commits")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let attrs = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(Attr::QueueArn)
        .send()
        .await
        .unwrap();
    let arn = attrs.attributes().unwrap()[&Attr::QueueArn].clone();

    // A queue whose policy does not let S3 send is refused, as AWS refuses it.
    let err = s3
        .put_bucket_notification_configuration()
        .bucket("events")
        .notification_configuration(queue_config(&arn, "commits/"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&err), "InvalidArgument");

    let policy = serde_json::json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": arn,
            "Condition": {"ArnLike": {"aws:SourceArn": "arn:aws:s3:::events"}},
        }],
    });
    sqs.set_queue_attributes()
        .queue_url(&url)
        .attributes(Attr::Policy, policy.to_string())
        .send()
        .await
        .unwrap();
    let mut config = queue_config(&arn, "commits/");
    config.queue_configurations.as_mut().unwrap().push(
        QueueConfiguration::builder()
            .id("removals")
            .queue_arn(&arn)
            .events(Event::S3ObjectRemoved)
            .build()
            .unwrap(),
    );
    s3.put_bucket_notification_configuration()
        .bucket("events")
        .notification_configuration(config)
        .send()
        .await
        .unwrap();
    let test = receive_all(&sqs, &url, 1).await;
    assert_eq!(test.len(), 1);
    assert_eq!(test[0]["Event"], "s3:TestEvent");
    assert_eq!(test[0]["Bucket"], "events");

    let etag = super::put(
        &s3,
        "events",
        "commits/shard-0/0001.json",
        b"{\"parent\":null}",
    )
    .await;
    super::put(&s3, "events", "data/0-1-e1.parquet", b"not notified").await;
    s3.copy_object()
        .bucket("events")
        .key("commits/a b=c.json")
        .copy_source("events/commits/shard-0/0001.json")
        .send()
        .await
        .unwrap();
    s3.delete_object()
        .bucket("events")
        .key("commits/shard-0/0001.json")
        .send()
        .await
        .unwrap();

    let events = receive_all(&sqs, &url, 3).await;
    assert_eq!(events.len(), 3, "{events:?}");
    let records: Vec<&serde_json::Value> = events.iter().map(|e| &e["Records"][0]).collect();
    let names: Vec<&str> = records
        .iter()
        .map(|r| r["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ObjectCreated:Put",
            "ObjectCreated:Copy",
            "ObjectRemoved:Delete"
        ]
    );
    let put = records[0];
    assert_eq!(put["eventVersion"], "2.1");
    assert_eq!(put["eventSource"], "aws:s3");
    assert_eq!(put["awsRegion"], "us-east-1");
    assert!(put["eventTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(put["s3"]["s3SchemaVersion"], "1.0");
    assert_eq!(put["s3"]["configurationId"], "commits");
    assert_eq!(put["s3"]["bucket"]["name"], "events");
    assert_eq!(put["s3"]["bucket"]["arn"], "arn:aws:s3:::events");
    assert!(put["s3"]["bucket"]["ownerIdentity"]["principalId"].is_string());
    let object = &put["s3"]["object"];
    assert_eq!(object["key"], "commits/shard-0/0001.json");
    assert_eq!(object["size"], 15);
    assert_eq!(object["eTag"], etag.trim_matches('"'));
    assert_eq!(records[1]["s3"]["object"]["key"], "commits/a+b%3Dc.json");
    let removed = records[2];
    assert_eq!(removed["s3"]["configurationId"], "removals");
    assert!(removed["s3"]["object"].get("size").is_none());
    let seq = |r: &serde_json::Value| r["s3"]["object"]["sequencer"].as_str().unwrap().to_owned();
    assert!(seq(records[0]).chars().all(|c| c.is_ascii_hexdigit()));
    assert!(seq(records[2]) > seq(records[0]), "sequencers grow per key");

    let health = emu.emulator.s3.health();
    assert_eq!(health["notifications_sent"], 4);
    assert_eq!(health["notifications_failed"], 0);
}
