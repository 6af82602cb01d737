//! The doors S3 uses: `check_s3_may_send` (queue exists and its policy allows S3 for
//! the bucket) and `deliver_from_s3` (enqueue an event on the queue by ARN).

use super::*;
use crate::EmulatorConfig;
use serde_json::json;

const QUEUE_ARN: &str = "arn:aws:sqs:us-east-1:000000000000:events";
const BUCKET: &str = "arn:aws:s3:::telemetry";

fn sqs_with_queue(policy: Option<Value>) -> Sqs {
    let sqs = Sqs::new(Ctx::new(EmulatorConfig::default()));
    let mut attributes = serde_json::Map::new();
    if let Some(p) = policy {
        attributes.insert("Policy".into(), Value::String(p.to_string()));
    }
    let body = json!({"QueueName": "events", "Attributes": attributes}).to_string();
    sqs.create_queue("localhost", body.as_bytes())
        .expect("queue created");
    sqs
}

use serde_json::Value;

fn s3_policy(source_arn: &str) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": QUEUE_ARN,
            "Condition": {"ArnLike": {"aws:SourceArn": source_arn}},
        }],
    })
}

#[test]
fn a_policy_allowing_s3_for_the_bucket_lets_it_send() {
    let sqs = sqs_with_queue(Some(s3_policy(BUCKET)));
    assert_eq!(sqs.check_s3_may_send(QUEUE_ARN, BUCKET), Ok(()));
    let wildcard = sqs_with_queue(Some(s3_policy("arn:aws:s3:::tele*")));
    assert_eq!(wildcard.check_s3_may_send(QUEUE_ARN, BUCKET), Ok(()));
}

#[test]
fn no_policy_or_another_principal_is_denied() {
    let none = sqs_with_queue(None);
    assert_eq!(
        none.check_s3_may_send(QUEUE_ARN, BUCKET),
        Err(NotifyTargetError::PolicyDenies(
            QUEUE_ARN.into(),
            BUCKET.into()
        ))
    );
    let mut sns_only = s3_policy(BUCKET);
    sns_only["Statement"][0]["Principal"] = json!({"Service": "sns.amazonaws.com"});
    let sqs = sqs_with_queue(Some(sns_only));
    assert!(matches!(
        sqs.check_s3_may_send(QUEUE_ARN, BUCKET),
        Err(NotifyTargetError::PolicyDenies(..))
    ));
    assert_eq!(sqs.ctx.counters.get("sqs.s3.policy_denied"), 1);
}

#[test]
fn another_bucket_does_not_match_the_source_arn() {
    let sqs = sqs_with_queue(Some(s3_policy(BUCKET)));
    assert!(matches!(
        sqs.check_s3_may_send(QUEUE_ARN, "arn:aws:s3:::someone-elses"),
        Err(NotifyTargetError::PolicyDenies(..))
    ));
}

#[test]
fn a_missing_queue_is_named() {
    let sqs = sqs_with_queue(Some(s3_policy(BUCKET)));
    let other = "arn:aws:sqs:us-east-1:000000000000:nope";
    assert_eq!(
        sqs.check_s3_may_send(other, BUCKET),
        Err(NotifyTargetError::NoSuchQueue(other.into()))
    );
    assert_eq!(
        sqs.deliver_from_s3(other, "{}".into()),
        Err(NotifyTargetError::NoSuchQueue(other.into()))
    );
    assert_eq!(sqs.ctx.counters.get("sqs.s3.no_such_queue"), 1);
}

#[tokio::test]
async fn delivered_events_are_received_with_s3_as_sender() {
    let sqs = sqs_with_queue(Some(s3_policy(BUCKET)));
    let event = json!({"Records": [{"eventName": "ObjectCreated:Put"}]}).to_string();
    sqs.deliver_from_s3(QUEUE_ARN, event.clone())
        .expect("delivered");
    assert_eq!(sqs.health()["messages_visible"], 1);
    let req = json!({
        "QueueUrl": "http://localhost/000000000000/events",
        "MessageSystemAttributeNames": ["SenderId"],
    })
    .to_string();
    let resp = sqs.receive_message(req.as_bytes()).await.expect("received");
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .expect("body");
    let out: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(out["Messages"][0]["Body"], event.as_str());
    assert_eq!(out["Messages"][0]["Attributes"]["SenderId"], S3_SENDER);
    assert_eq!(sqs.ctx.counters.get("sqs.s3.delivered"), 1);
}
