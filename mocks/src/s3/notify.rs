//! Bucket notifications to SQS: the QueueConfigurations a bucket holds (validated as
//! AWS validates them), which of them an object event matches, and the event JSON S3
//! sends (`Records[0]` with eventVersion 2.1, or the `s3:TestEvent` sent when a
//! configuration is put).

use s3s::dto::{
    FilterRule, FilterRuleName, GetBucketNotificationConfigurationOutput,
    NotificationConfiguration, NotificationConfigurationFilter, QueueConfiguration, S3KeyFilter,
};
use s3s::{S3Result, s3_error};
use serde_json::json;

/// One validated queue configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueTarget {
    pub id: String,
    pub queue_arn: String,
    /// As configured, e.g. `s3:ObjectCreated:*`.
    pub events: Vec<String>,
    pub prefix: Option<String>,
    pub suffix: Option<String>,
}

/// The event types S3 accepts in a notification configuration.
const EVENT_TYPES: &[&str] = &[
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:ReducedRedundancyLostObject",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:Replication:OperationNotTracked",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
];

fn invalid(msg: &str) -> s3s::S3Error {
    s3_error!(InvalidArgument, "{msg}")
}

/// Does configured `pattern` (`s3:ObjectCreated:*`) cover configured/emitted `event`?
fn covers(pattern: &str, event: &str) -> bool {
    let event = event.strip_prefix("s3:").unwrap_or(event);
    let pattern = pattern.strip_prefix("s3:").unwrap_or(pattern);
    match pattern.strip_suffix('*') {
        Some(family) => event.starts_with(family),
        None => pattern == event,
    }
}

impl QueueTarget {
    /// Whether emitted `event` (`ObjectCreated:Put`) on `key` is for this target.
    pub fn matches(&self, event: &str, key: &str) -> bool {
        self.events.iter().any(|p| covers(p, event))
            && self.prefix.as_deref().is_none_or(|p| key.starts_with(p))
            && self.suffix.as_deref().is_none_or(|s| key.ends_with(s))
    }

    fn overlaps(&self, other: &QueueTarget) -> bool {
        let shared_event = self
            .events
            .iter()
            .any(|a| other.events.iter().any(|b| covers(a, b) || covers(b, a)));
        let affix = |a: &Option<String>, b: &Option<String>, f: fn(&str, &str) -> bool| match (
            a.as_deref(),
            b.as_deref(),
        ) {
            (Some(a), Some(b)) => f(a, b) || f(b, a),
            _ => true,
        };
        shared_event
            && affix(&self.prefix, &other.prefix, |a, b| a.starts_with(b))
            && affix(&self.suffix, &other.suffix, |a, b| a.ends_with(b))
    }
}

fn parse_filter(
    filter: Option<&NotificationConfigurationFilter>,
) -> S3Result<(Option<String>, Option<String>)> {
    let rules = filter
        .and_then(|f| f.key.as_ref())
        .and_then(|k| k.filter_rules.as_deref())
        .unwrap_or_default();
    let (mut prefix, mut suffix) = (None, None);
    for rule in rules {
        let name = rule.name.as_ref().map(|n| n.as_str().to_ascii_lowercase());
        let slot = match name.as_deref() {
            Some(FilterRuleName::PREFIX) => &mut prefix,
            Some(FilterRuleName::SUFFIX) => &mut suffix,
            _ => return Err(invalid("filter rule name must be either prefix or suffix")),
        };
        if slot.is_some() {
            return Err(invalid(
                "Cannot specify more than one prefix or suffix rule in a filter.",
            ));
        }
        *slot = Some(rule.value.clone().unwrap_or_default());
    }
    Ok((prefix, suffix))
}

/// Validates a configuration's queue entries (event names, filters, overlap). Topic,
/// Lambda and EventBridge destinations do not exist in the emulator and are refused.
pub fn parse_config(cfg: &NotificationConfiguration) -> S3Result<Vec<QueueTarget>> {
    let unsupported = cfg
        .topic_configurations
        .as_ref()
        .is_some_and(|v| !v.is_empty())
        || cfg
            .lambda_function_configurations
            .as_ref()
            .is_some_and(|v| !v.is_empty());
    if unsupported {
        return Err(invalid(
            "Unable to validate the following destination configurations: only SQS queues exist in this emulator",
        ));
    }
    if cfg.event_bridge_configuration.is_some() {
        return Err(s3_error!(
            NotImplemented,
            "EventBridge notifications are not implemented by this emulator"
        ));
    }
    let mut targets: Vec<QueueTarget> = Vec::new();
    for q in cfg.queue_configurations.as_deref().unwrap_or_default() {
        if q.events.is_empty() {
            return Err(invalid("The event list must not be empty"));
        }
        let mut events = Vec::with_capacity(q.events.len());
        for e in &q.events {
            let e: &str = e.as_ref();
            if !EVENT_TYPES.contains(&e) {
                return Err(invalid("The event is not supported for notifications"));
            }
            events.push(e.to_owned());
        }
        let (prefix, suffix) = parse_filter(q.filter.as_ref())?;
        let id = match q.id.as_deref() {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                use base64::Engine as _;
                base64::engine::general_purpose::STANDARD.encode(uuid::Uuid::new_v4().to_string())
            }
        };
        if targets.iter().any(|t| t.id == id) {
            return Err(invalid("Same ID used for multiple configurations"));
        }
        let target = QueueTarget {
            id,
            queue_arn: q.queue_arn.clone(),
            events,
            prefix,
            suffix,
        };
        if targets.iter().any(|t| t.overlaps(&target)) {
            return Err(invalid(
                "Configurations overlap. Configurations on the same bucket cannot share a common event type.",
            ));
        }
        targets.push(target);
    }
    Ok(targets)
}

/// The stored configuration as GetBucketNotificationConfiguration answers it.
pub fn to_output(targets: &[QueueTarget]) -> GetBucketNotificationConfigurationOutput {
    let queues = targets
        .iter()
        .map(|t| {
            let rules: Vec<FilterRule> = [
                (FilterRuleName::PREFIX, &t.prefix),
                (FilterRuleName::SUFFIX, &t.suffix),
            ]
            .into_iter()
            .filter_map(|(name, v)| {
                v.as_ref().map(|v| FilterRule {
                    name: Some(FilterRuleName::from(name.to_owned())),
                    value: Some(v.clone()),
                })
            })
            .collect();
            QueueConfiguration {
                events: t.events.iter().map(|e| e.clone().into()).collect(),
                filter: (!rules.is_empty()).then_some(NotificationConfigurationFilter {
                    key: Some(S3KeyFilter {
                        filter_rules: Some(rules),
                    }),
                }),
                id: Some(t.id.clone()),
                queue_arn: t.queue_arn.clone(),
            }
        })
        .collect::<Vec<_>>();
    GetBucketNotificationConfigurationOutput {
        queue_configurations: (!queues.is_empty()).then_some(queues),
        ..Default::default()
    }
}

/// A key as S3 writes it in event JSON: form-URL-encoded (space → `+`), `/` kept.
pub fn encode_key(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    for b in key.bytes() {
        match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'*' | b'/' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `2024-05-01T12:00:00.123Z`.
pub fn iso8601_ms(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let f = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    t.format(&f).unwrap_or_default()
}

/// What happened to which object, for one event record.
#[derive(Debug, Clone, Copy)]
pub struct ObjectEvent<'a> {
    /// `ObjectCreated:Put`, `ObjectRemoved:Delete`, ...
    pub name: &'static str,
    pub region: &'a str,
    pub bucket: &'a str,
    pub key: &'a str,
    /// Size and ETag (unquoted) of a created object; `None` for removals.
    pub object: Option<(u64, &'a str)>,
    pub sequencer: &'a str,
    pub time_ms: i64,
    /// Who made the request (`AWS:<access key id>`).
    pub principal: &'a str,
    pub request_id: &'a str,
}

/// The notification body for `e` as configuration `config_id` receives it.
pub fn event_json(e: &ObjectEvent<'_>, config_id: &str) -> String {
    let mut object = json!({ "key": encode_key(e.key), "sequencer": e.sequencer });
    if let Some((size, etag)) = e.object {
        object["size"] = json!(size);
        object["eTag"] = json!(etag);
    }
    json!({ "Records": [{
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": e.region,
        "eventTime": iso8601_ms(e.time_ms),
        "eventName": e.name,
        "userIdentity": { "principalId": e.principal },
        "requestParameters": { "sourceIPAddress": "127.0.0.1" },
        "responseElements": { "x-amz-request-id": e.request_id, "x-amz-id-2": e.request_id },
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": config_id,
            "bucket": {
                "name": e.bucket,
                "ownerIdentity": { "principalId": e.principal },
                "arn": format!("arn:aws:s3:::{}", e.bucket),
            },
            "object": object,
        },
    }]})
    .to_string()
}

/// The message S3 sends to each queue when a configuration is put.
pub fn test_event_json(bucket: &str, time_ms: i64, request_id: &str) -> String {
    json!({
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": iso8601_ms(time_ms),
        "Bucket": bucket,
        "RequestId": request_id,
        "HostId": request_id,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use s3s::dto::Event;

    fn queue(id: Option<&str>, events: &[&str], rules: &[(&str, &str)]) -> QueueConfiguration {
        let filter_rules: Vec<FilterRule> = rules
            .iter()
            .map(|(n, v)| FilterRule {
                name: Some(FilterRuleName::from((*n).to_owned())),
                value: Some((*v).to_owned()),
            })
            .collect();
        QueueConfiguration {
            events: events
                .iter()
                .map(|e| Event::from((*e).to_owned()))
                .collect(),
            filter: (!rules.is_empty()).then_some(NotificationConfigurationFilter {
                key: Some(S3KeyFilter {
                    filter_rules: Some(filter_rules),
                }),
            }),
            id: id.map(str::to_owned),
            queue_arn: "arn:aws:sqs:us-east-1:000000000000:q".into(),
        }
    }

    fn config(queues: Vec<QueueConfiguration>) -> NotificationConfiguration {
        NotificationConfiguration {
            queue_configurations: Some(queues),
            ..Default::default()
        }
    }

    #[test]
    fn validates_and_round_trips() {
        let cfg = config(vec![
            queue(
                Some("commits"),
                &["s3:ObjectCreated:*"],
                &[("prefix", "commits/"), ("suffix", ".json")],
            ),
            queue(None, &["s3:ObjectRemoved:Delete"], &[]),
        ]);
        let targets = parse_config(&cfg).unwrap();
        assert_eq!(targets.len(), 2);
        assert!(!targets[1].id.is_empty());
        let out = to_output(&targets);
        let back = parse_config(&config(out.queue_configurations.unwrap())).unwrap();
        assert_eq!(back, targets);

        let t = &targets[0];
        assert!(t.matches("ObjectCreated:Put", "commits/1.json"));
        assert!(t.matches("ObjectCreated:CompleteMultipartUpload", "commits/1.json"));
        assert!(!t.matches("ObjectCreated:Put", "data/1.json"));
        assert!(!t.matches("ObjectCreated:Put", "commits/1.parquet"));
        assert!(!t.matches("ObjectRemoved:Delete", "commits/1.json"));
    }

    #[test]
    fn refuses_what_aws_refuses() {
        let bad_event = config(vec![queue(None, &["s3:ObjectCreated:Nope"], &[])]);
        let bad_rule = config(vec![queue(
            None,
            &["s3:ObjectCreated:*"],
            &[("middle", "x")],
        )]);
        let overlap = config(vec![
            queue(None, &["s3:ObjectCreated:*"], &[("prefix", "a/")]),
            queue(None, &["s3:ObjectCreated:Put"], &[("prefix", "a/b/")]),
        ]);
        for cfg in [bad_event, bad_rule, overlap] {
            let e = parse_config(&cfg).unwrap_err();
            assert_eq!(e.code(), &s3s::S3ErrorCode::InvalidArgument);
        }
        let disjoint = config(vec![
            queue(None, &["s3:ObjectCreated:*"], &[("prefix", "a/")]),
            queue(None, &["s3:ObjectCreated:*"], &[("prefix", "b/")]),
        ]);
        assert!(parse_config(&disjoint).is_ok());
    }

    #[test]
    fn event_json_has_s3_shape() {
        let e = ObjectEvent {
            name: "ObjectCreated:Put",
            region: "us-east-1",
            bucket: "b",
            key: "metrics/tenant=a/dt=2024-01-01/x y.parquet",
            object: Some((42, "abc")),
            sequencer: "00000000000000000A",
            time_ms: 1_700_000_000_123,
            principal: "AWS:test",
            request_id: "R1",
        };
        let v: serde_json::Value = serde_json::from_str(&event_json(&e, "cfg")).unwrap();
        let r = &v["Records"][0];
        assert_eq!(r["eventVersion"], "2.1");
        assert_eq!(r["eventSource"], "aws:s3");
        assert_eq!(r["eventTime"], "2023-11-14T22:13:20.123Z");
        assert_eq!(r["s3"]["configurationId"], "cfg");
        assert_eq!(r["s3"]["bucket"]["arn"], "arn:aws:s3:::b");
        assert_eq!(
            r["s3"]["object"]["key"],
            "metrics/tenant%3Da/dt%3D2024-01-01/x+y.parquet"
        );
        assert_eq!(r["s3"]["object"]["size"], 42);
        assert_eq!(r["s3"]["object"]["eTag"], "abc");
        let t: serde_json::Value = serde_json::from_str(&test_event_json("b", 0, "R")).unwrap();
        assert_eq!(t["Event"], "s3:TestEvent");
        assert_eq!(t["Time"], "1970-01-01T00:00:00.000Z");
    }
}
