//! Queue attributes: AWS's names, ranges and defaults; validating and applying a
//! request's `Attributes` map; and their values as GetQueueAttributes shows them.

use super::errors;
use crate::awsjson::JsonError;

/// The most a message may be (body plus message attributes), and the default.
pub(crate) const MAX_MESSAGE_BYTES: u32 = 1_048_576;

/// `RedrivePolicy`: where messages go after `max_receive_count` receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RedrivePolicy {
    pub dlq_arn: String,
    pub max_receive_count: u32,
}

impl RedrivePolicy {
    fn to_json(&self) -> String {
        serde_json::json!({
            "deadLetterTargetArn": self.dlq_arn,
            "maxReceiveCount": self.max_receive_count,
        })
        .to_string()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueueAttrs {
    pub delay_s: u32,
    pub max_message_bytes: u32,
    pub retention_s: u32,
    pub wait_s: u32,
    pub visibility_s: u32,
    pub redrive: Option<RedrivePolicy>,
    /// Compact JSON.
    pub policy: Option<String>,
    pub sse: bool,
    pub kms_key: Option<String>,
    pub kms_reuse_s: u32,
    pub redrive_allow: Option<String>,
}

impl Default for QueueAttrs {
    fn default() -> Self {
        Self {
            delay_s: 0,
            max_message_bytes: MAX_MESSAGE_BYTES,
            retention_s: 345_600,
            wait_s: 0,
            visibility_s: 30,
            redrive: None,
            policy: None,
            sse: true,
            kms_key: None,
            kms_reuse_s: 300,
            redrive_allow: None,
        }
    }
}

/// Attributes a request may set, in the order GetQueueAttributes lists them.
pub(crate) const SETTABLE: [&str; 11] = [
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "RedrivePolicy",
    "Policy",
    "SqsManagedSseEnabled",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "RedriveAllowPolicy",
];

/// Attributes the queue computes.
pub(crate) const READ_ONLY: [&str; 6] = [
    "QueueArn",
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
    "CreatedTimestamp",
    "LastModifiedTimestamp",
];

/// FIFO-only attributes: a standard queue has none of them to show.
const FIFO_ONLY: [&str; 4] = [
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
];

/// Whether GetQueueAttributes may name `name`.
pub(crate) fn is_known(name: &str) -> bool {
    name == "All"
        || SETTABLE.contains(&name)
        || READ_ONLY.contains(&name)
        || FIFO_ONLY.contains(&name)
}

fn seconds(name: &str, value: &str, min: u32, max: u32) -> Result<u32, JsonError> {
    value
        .parse::<u32>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| {
            errors::invalid_attribute_value(
                name,
                &format!("Value {value:?} must be an integer between {min} and {max}."),
            )
        })
}

/// A JSON document as AWS stores it (compact), or `None` for the empty string.
fn json_document(name: &str, value: &str) -> Result<Option<String>, JsonError> {
    if value.is_empty() {
        return Ok(None);
    }
    match serde_json::from_str::<serde_json::Value>(value) {
        Ok(v) if v.is_object() => Ok(Some(v.to_string())),
        _ => Err(errors::invalid_attribute_value(
            name,
            "the value is not a valid JSON object.",
        )),
    }
}

fn redrive_policy(
    value: &str,
    dlq_exists: &dyn Fn(&str) -> bool,
) -> Result<Option<RedrivePolicy>, JsonError> {
    const NAME: &str = "RedrivePolicy";
    if value.is_empty() {
        return Ok(None);
    }
    let doc: serde_json::Value = serde_json::from_str(value).map_err(|_| {
        errors::invalid_attribute_value(NAME, "Redrive policy is not a valid JSON map.")
    })?;
    let Some(map) = doc.as_object() else {
        return Err(errors::invalid_attribute_value(
            NAME,
            "Redrive policy is not a valid JSON map.",
        ));
    };
    let dlq_arn = map
        .get("deadLetterTargetArn")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            errors::invalid_attribute_value(
                NAME,
                "Redrive policy does not contain mandatory attribute: deadLetterTargetArn.",
            )
        })?;
    let count = match map.get("maxReceiveCount") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse::<u64>().ok(),
        _ => None,
    }
    .ok_or_else(|| {
        errors::invalid_attribute_value(
            NAME,
            "Redrive policy does not contain mandatory attribute: maxReceiveCount.",
        )
    })?;
    if !(1..=1000).contains(&count) {
        return Err(errors::invalid_attribute_value(
            NAME,
            &format!(
                "Invalid value for maxReceiveCount: {count}, valid values are from 1 to 1000 both inclusive."
            ),
        ));
    }
    if !dlq_exists(dlq_arn) {
        return Err(errors::invalid_attribute_value(
            NAME,
            "Dead letter target does not exist.",
        ));
    }
    Ok(Some(RedrivePolicy {
        dlq_arn: dlq_arn.to_string(),
        max_receive_count: count as u32,
    }))
}

impl QueueAttrs {
    /// Validates one attribute of a CreateQueue or SetQueueAttributes request and
    /// applies it. `dlq_exists` tells whether a RedrivePolicy's target is a queue.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        dlq_exists: &dyn Fn(&str) -> bool,
    ) -> Result<(), JsonError> {
        match name {
            "DelaySeconds" => self.delay_s = seconds(name, value, 0, 900)?,
            "MaximumMessageSize" => {
                self.max_message_bytes = seconds(name, value, 1024, MAX_MESSAGE_BYTES)?
            }
            "MessageRetentionPeriod" => self.retention_s = seconds(name, value, 60, 1_209_600)?,
            "ReceiveMessageWaitTimeSeconds" => self.wait_s = seconds(name, value, 0, 20)?,
            "VisibilityTimeout" => self.visibility_s = seconds(name, value, 0, 43_200)?,
            "KmsDataKeyReusePeriodSeconds" => self.kms_reuse_s = seconds(name, value, 60, 86_400)?,
            "RedrivePolicy" => self.redrive = redrive_policy(value, dlq_exists)?,
            "Policy" => self.policy = json_document(name, value)?,
            "RedriveAllowPolicy" => self.redrive_allow = json_document(name, value)?,
            "KmsMasterKeyId" => self.kms_key = (!value.is_empty()).then(|| value.to_string()),
            "SqsManagedSseEnabled" => {
                self.sse = match value {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(errors::invalid_attribute_value(
                            name,
                            "must be true or false.",
                        ));
                    }
                }
            }
            "FifoQueue" if value == "false" => {}
            "FifoQueue" => return Err(errors::unsupported("A FIFO queue")),
            _ => return Err(errors::invalid_attribute_name(name)),
        }
        Ok(())
    }

    /// A settable attribute's value as GetQueueAttributes shows it (`None`: not set).
    pub fn get(&self, name: &str) -> Option<String> {
        match name {
            "DelaySeconds" => Some(self.delay_s.to_string()),
            "MaximumMessageSize" => Some(self.max_message_bytes.to_string()),
            "MessageRetentionPeriod" => Some(self.retention_s.to_string()),
            "ReceiveMessageWaitTimeSeconds" => Some(self.wait_s.to_string()),
            "VisibilityTimeout" => Some(self.visibility_s.to_string()),
            "KmsDataKeyReusePeriodSeconds" => {
                self.kms_key.as_ref().map(|_| self.kms_reuse_s.to_string())
            }
            "RedrivePolicy" => self.redrive.as_ref().map(RedrivePolicy::to_json),
            "Policy" => self.policy.clone(),
            "RedriveAllowPolicy" => self.redrive_allow.clone(),
            "KmsMasterKeyId" => self.kms_key.clone(),
            "SqsManagedSseEnabled" => Some(self.sse.to_string()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn any_dlq(_: &str) -> bool {
        true
    }

    #[test]
    fn numbers_are_checked_against_aws_ranges() {
        let mut a = QueueAttrs::default();
        a.set("VisibilityTimeout", "45", &any_dlq)
            .expect("in range");
        assert_eq!(a.get("VisibilityTimeout").as_deref(), Some("45"));
        for (name, bad) in [
            ("VisibilityTimeout", "43201"),
            ("DelaySeconds", "-1"),
            ("MaximumMessageSize", "1023"),
            ("MessageRetentionPeriod", "59"),
            ("ReceiveMessageWaitTimeSeconds", "21"),
            ("DelaySeconds", "ten"),
        ] {
            let e = a.set(name, bad, &any_dlq).expect_err(bad);
            assert_eq!(e.code, "InvalidAttributeValue", "{name}={bad}");
        }
        let e = a.set("Colour", "blue", &any_dlq).expect_err("unknown");
        assert_eq!(e.code, "InvalidAttributeName");
    }

    #[test]
    fn redrive_policy_accepts_string_or_number_counts_and_normalizes() {
        let mut a = QueueAttrs::default();
        a.set(
            "RedrivePolicy",
            r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}"#,
            &any_dlq,
        )
        .expect("valid");
        assert_eq!(
            a.get("RedrivePolicy").as_deref(),
            Some(
                r#"{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":3}"#
            )
        );
        let no_dlq = |_: &str| false;
        for bad in [
            "not json",
            r#"{"maxReceiveCount":3}"#,
            r#"{"deadLetterTargetArn":"x","maxReceiveCount":0}"#,
        ] {
            assert_eq!(
                a.set("RedrivePolicy", bad, &any_dlq).expect_err(bad).code,
                "InvalidAttributeValue"
            );
        }
        let e = a
            .set(
                "RedrivePolicy",
                r#"{"deadLetterTargetArn":"x","maxReceiveCount":2}"#,
                &no_dlq,
            )
            .expect_err("missing dlq");
        assert!(e.message.contains("does not exist"), "{}", e.message);
        a.set("RedrivePolicy", "", &any_dlq).expect("clears");
        assert_eq!(a.redrive, None);
    }
}
