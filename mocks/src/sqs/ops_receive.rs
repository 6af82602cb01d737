//! ReceiveMessage: parameters, long polling (woken by arrivals, never busy-waiting,
//! bounded by WaitTimeSeconds in real time) and how a received message is shown —
//! the system and message attributes asked for, with a fresh receipt handle.

use super::attrs;
use super::ids::{Handle, Key, MessageId};
use super::message::{self, AttrValue, Hex, Message, Sender};
use super::queue::State;
use super::{PROTOCOL, S3_SENDER, Sqs, errors};
use crate::awsjson::{self, JsonError};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::StatusCode;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ReceiveIn {
    queue_url: Option<String>,
    #[serde(default)]
    attribute_names: Vec<String>,
    #[serde(default)]
    message_system_attribute_names: Vec<String>,
    #[serde(default)]
    message_attribute_names: Vec<String>,
    max_number_of_messages: Option<i64>,
    visibility_timeout: Option<i64>,
    wait_time_seconds: Option<i64>,
}

/// System attributes a receive can ask for, in the order they are listed.
const SYSTEM: [&str; 9] = [
    "SenderId",
    "SentTimestamp",
    "ApproximateReceiveCount",
    "ApproximateFirstReceiveTimestamp",
    "SequenceNumber",
    "MessageDeduplicationId",
    "MessageGroupId",
    "AWSTraceHeader",
    "DeadLetterQueueSourceArn",
];

/// What a receive shows of each message.
struct View {
    system: [bool; SYSTEM.len()],
    /// Message attribute names or `prefix.*` patterns; `All` / `.*` match all.
    names: Vec<String>,
}

impl View {
    fn new(req: &ReceiveIn) -> Result<Self, JsonError> {
        let mut system = [false; SYSTEM.len()];
        for name in req
            .attribute_names
            .iter()
            .chain(&req.message_system_attribute_names)
        {
            if name == "All" {
                system = [true; SYSTEM.len()];
            } else if let Some(i) = SYSTEM.iter().position(|s| s == name) {
                system[i] = true;
            } else if !attrs::is_known(name) {
                // The deprecated AttributeNames takes queue attribute names too; they show nothing.
                return Err(errors::invalid_attribute_name(name));
            }
        }
        Ok(Self {
            system,
            names: req.message_attribute_names.clone(),
        })
    }

    fn wants_attribute(&self, name: &str) -> bool {
        self.names.iter().any(|p| {
            p == "All"
                || p == ".*"
                || p == name
                || p.strip_suffix(".*").is_some_and(|prefix| {
                    name.strip_prefix(prefix)
                        .is_some_and(|r| r.starts_with('.'))
                })
        })
    }

    fn system_value(&self, i: usize, m: &Message, account: &str) -> Option<String> {
        if !self.system[i] {
            return None;
        }
        match SYSTEM[i] {
            "SenderId" => Some(match m.sender {
                Sender::Account => account.to_string(),
                Sender::S3 => S3_SENDER.to_string(),
            }),
            "SentTimestamp" => Some(m.sent_ms.to_string()),
            "ApproximateReceiveCount" => Some(m.receive_count.to_string()),
            "ApproximateFirstReceiveTimestamp" => m.first_receive_ms.map(|t| t.to_string()),
            "MessageGroupId" => m.extra().group_id.clone(),
            "AWSTraceHeader" => m.extra().trace_header.clone(),
            "DeadLetterQueueSourceArn" => m.extra().dlq_source.as_deref().map(str::to_string),
            _ => None,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct AttrOut<'a> {
    data_type: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    string_value: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    binary_value: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct MessageOut<'a> {
    message_id: MessageId,
    receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    md5_of_body: Hex,
    body: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    attributes: BTreeMap<&'static str, String>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<Hex>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    message_attributes: BTreeMap<&'a str, AttrOut<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ReceiveOut<'a> {
    messages: Vec<MessageOut<'a>>,
}

impl Sqs {
    fn render(&self, st: &State, queue_uid: u64, keys: &[Key], view: &View) -> Vec<u8> {
        let messages: Vec<MessageOut> = keys
            .iter()
            .filter_map(|key| st.get(key).map(|m| (key, m)))
            .map(|(key, m)| {
                let extra = m.extra();
                let shown: Vec<_> = extra
                    .attributes
                    .iter()
                    .filter(|a| view.wants_attribute(&a.name))
                    .collect();
                let md5_of_message_attributes = if shown.len() == extra.attributes.len() {
                    extra.md5_attributes
                } else {
                    message::md5_of_attributes(shown.iter().copied())
                };
                MessageOut {
                    message_id: MessageId(m.id),
                    receipt_handle: self.ids.encode_handle(&Handle {
                        queue_uid,
                        key: *key,
                        nonce: m.nonce,
                    }),
                    md5_of_body: Hex(m.md5_body),
                    body: &m.body,
                    attributes: (0..SYSTEM.len())
                        .filter_map(|i| {
                            view.system_value(i, m, self.account())
                                .map(|v| (SYSTEM[i], v))
                        })
                        .collect(),
                    md5_of_message_attributes: md5_of_message_attributes.map(Hex),
                    message_attributes: shown
                        .iter()
                        .map(|a| {
                            let (string_value, binary_value) = match &a.value {
                                AttrValue::Text(s) => (Some(s.as_str()), None),
                                AttrValue::Binary(b) => (None, Some(STANDARD.encode(b))),
                            };
                            (
                                a.name.as_str(),
                                AttrOut {
                                    data_type: &a.data_type,
                                    string_value,
                                    binary_value,
                                },
                            )
                        })
                        .collect(),
                }
            })
            .collect();
        if messages.is_empty() {
            return b"{}".to_vec();
        }
        serde_json::to_vec(&ReceiveOut { messages }).unwrap_or_else(|_| b"{}".to_vec())
    }

    pub(super) async fn receive_message(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: ReceiveIn = awsjson::parse(body)?;
        let max = match req.max_number_of_messages {
            None => 1,
            Some(n) if (1..=10).contains(&n) => n as usize,
            Some(n) => {
                return Err(errors::invalid_value(
                    "MaxNumberOfMessages",
                    n,
                    "Must be between 1 and 10, if provided.",
                ));
            }
        };
        if let Some(w) = req.wait_time_seconds.filter(|w| !(0..=20).contains(w)) {
            return Err(errors::invalid_value(
                "WaitTimeSeconds",
                w,
                "Must be >= 0 and <= 20, if provided.",
            ));
        }
        if let Some(v) = req.visibility_timeout.filter(|v| !(0..=43_200).contains(v)) {
            return Err(errors::invalid_value(
                "VisibilityTimeout",
                v,
                "Must be >= 0 and <= 43200, if provided.",
            ));
        }
        let view = View::new(&req)?;
        let q = self.queue(req.queue_url.as_deref())?;
        let wait_s = match req.wait_time_seconds {
            Some(w) => w as u64,
            None => u64::from(q.state.lock().attrs.wait_s),
        };
        let deadline = Instant::now() + Duration::from_secs(wait_s);
        loop {
            let arrivals = q.arrivals.notified();
            let closed = self.closed.notified();
            tokio::pin!(arrivals, closed);
            arrivals.as_mut().enable();
            closed.as_mut().enable();
            if q.deleted.load(Ordering::Relaxed) {
                return Err(errors::queue_does_not_exist());
            }
            let (out, got, next_due_in_ms) = self.with_state(&q, |st, now| {
                let visibility_s = req
                    .visibility_timeout
                    .unwrap_or(i64::from(st.attrs.visibility_s));
                let keys = st.receive(max, visibility_s * 1000, now, || self.ids.unique());
                let out = self.render(st, q.uid, &keys, &view);
                (out, keys.len(), st.next_due_ms().map(|due| due - now))
            });
            let now = Instant::now();
            if got > 0 || now >= deadline || self.closing.load(Ordering::Relaxed) {
                return Ok(awsjson::raw(PROTOCOL, StatusCode::OK, out));
            }
            let mut nap = deadline - now;
            if let Some(ms) = next_due_in_ms {
                nap = nap.min(Duration::from_millis(ms.max(1) as u64));
            }
            tokio::select! {
                _ = &mut arrivals => {}
                _ = &mut closed => {}
                _ = tokio::time::sleep(nap) => {}
            }
        }
    }
}
