//! One message: what a SendMessage (or batch entry) carries, its validation on the
//! way in (characters, attributes, size, delay), and its MD5 digests, computed once
//! the way AWS computes them.

use super::errors;
use crate::awsjson::JsonError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A message attribute value as the JSON protocol carries it.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct AttributeIn {
    data_type: Option<String>,
    string_value: Option<String>,
    /// Base64.
    binary_value: Option<String>,
    #[serde(default)]
    string_list_values: Vec<String>,
    #[serde(default)]
    binary_list_values: Vec<String>,
}

/// A SendMessage request, or one SendMessageBatch entry (then `id` is set).
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct MessageIn {
    pub queue_url: Option<String>,
    pub id: Option<String>,
    pub message_body: Option<String>,
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: BTreeMap<String, AttributeIn>,
    #[serde(default)]
    pub message_system_attributes: BTreeMap<String, AttributeIn>,
    pub message_deduplication_id: Option<String>,
    pub message_group_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AttrValue {
    Text(String),
    Binary(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attribute {
    pub name: String,
    pub data_type: String,
    pub value: AttrValue,
}

/// Where a message is in its life on a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MsgState {
    Delayed,
    Visible,
    InFlight { until_ms: i64 },
}

/// Who sent a message: its SenderId.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sender {
    /// Through the API: the account.
    Account,
    /// An S3 event notification.
    S3,
}

/// What few messages carry, boxed so that the common message stays small.
#[derive(Debug, Default)]
pub(crate) struct Extra {
    /// Sorted by name.
    pub attributes: Vec<Attribute>,
    pub md5_attributes: Option<[u8; 16]>,
    pub trace_header: Option<String>,
    pub md5_system: Option<[u8; 16]>,
    pub group_id: Option<String>,
    /// The queue a dead-lettered message came from.
    pub dlq_source: Option<Arc<str>>,
}

static NO_EXTRA: Extra = Extra {
    attributes: Vec::new(),
    md5_attributes: None,
    trace_header: None,
    md5_system: None,
    group_id: None,
    dlq_source: None,
};

#[derive(Debug)]
pub(crate) struct Message {
    /// A UUID (see `ids::MessageId`).
    pub id: u128,
    pub body: String,
    pub md5_body: [u8; 16],
    extra: Option<Box<Extra>>,
    pub sender: Sender,
    pub sent_ms: i64,
    pub receive_count: u32,
    pub first_receive_ms: Option<i64>,
    pub state: MsgState,
    /// The nonce of the latest receive; its receipt handle is the only valid one.
    pub nonce: u64,
}

impl Message {
    /// A message with its body digested, visible, never received.
    pub fn new(id: u128, body: String, sender: Sender) -> Self {
        Self {
            id,
            md5_body: Md5::digest(body.as_bytes()).into(),
            body,
            extra: None,
            sender,
            sent_ms: 0,
            receive_count: 0,
            first_receive_ms: None,
            state: MsgState::Visible,
            nonce: 0,
        }
    }

    pub fn extra(&self) -> &Extra {
        self.extra.as_deref().unwrap_or(&NO_EXTRA)
    }

    pub fn extra_mut(&mut self) -> &mut Extra {
        self.extra.get_or_insert_with(Box::default)
    }
}

/// A 16-byte digest as 32 lowercase hex digits, serialized without allocating.
pub(crate) struct Hex(pub [u8; 16]);

impl serde::Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 32];
        for (pair, b) in buf.chunks_exact_mut(2).zip(self.0) {
            pair[0] = DIGITS[usize::from(b >> 4)];
            pair[1] = DIGITS[usize::from(b & 15)];
        }
        s.serialize_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// The characters SQS accepts in bodies and string attribute values.
fn allowed(c: char) -> bool {
    matches!(c, '\u{9}' | '\u{A}' | '\u{D}' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn first_invalid(s: &str) -> Option<char> {
    let plain = |b: &u8| (0x20..0x7F).contains(b) || matches!(b, b'\t' | b'\n' | b'\r');
    if s.as_bytes().iter().all(plain) {
        return None;
    }
    s.chars().find(|&c| !allowed(c))
}

/// Appends `bytes` with its 4-byte big-endian length, as AWS's attribute digest does.
fn put(h: &mut Md5, bytes: &[u8]) {
    h.update((bytes.len() as u32).to_be_bytes());
    h.update(bytes);
}

/// MD5OfMessageAttributes: over the attributes sorted by name, each as name, data
/// type, transport type (1 string, 2 binary) and value, each length-prefixed.
pub(crate) fn md5_of_attributes<'a>(
    attrs: impl IntoIterator<Item = &'a Attribute>,
) -> Option<[u8; 16]> {
    let mut h = Md5::new();
    let mut any = false;
    for a in attrs {
        any = true;
        put(&mut h, a.name.as_bytes());
        put(&mut h, a.data_type.as_bytes());
        match &a.value {
            AttrValue::Text(s) => {
                h.update([1]);
                put(&mut h, s.as_bytes());
            }
            AttrValue::Binary(b) => {
                h.update([2]);
                put(&mut h, b);
            }
        }
    }
    any.then(|| h.finalize().into())
}

fn check_attribute_name(name: &str) -> Result<(), JsonError> {
    let lower = name.to_ascii_lowercase();
    let ok = (1..=256).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && !lower.starts_with("aws.")
        && !lower.starts_with("amazon.");
    if ok {
        Ok(())
    } else {
        Err(errors::invalid_parameter(format!(
            "Message attribute name '{name}' is invalid: names are 1 to 256 of [A-Za-z0-9_.-], without leading, trailing or repeated periods, and not starting with AWS. or Amazon."
        )))
    }
}

fn is_number(s: &str) -> bool {
    s.bytes().any(|b| b.is_ascii_digit())
        && s.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'))
        && s.parse::<f64>().is_ok()
}

/// Validates one attribute; `Ok` carries it with its decoded value.
fn attribute(name: String, a: AttributeIn) -> Result<Attribute, JsonError> {
    check_attribute_name(&name)?;
    let invalid =
        |why: &str| errors::invalid_parameter(format!("Message attribute '{name}' {why}"));
    let data_type = a
        .data_type
        .filter(|t| !t.is_empty())
        .ok_or_else(|| invalid("must contain a DataType."))?;
    let base = data_type.split('.').next().unwrap_or("");
    if data_type.len() > 256 || !matches!(base, "String" | "Number" | "Binary") {
        return Err(invalid(
            "has an invalid DataType: it must be String, Number or Binary, optionally followed by .label",
        ));
    }
    if !a.string_list_values.is_empty() || !a.binary_list_values.is_empty() {
        return Err(invalid(
            "uses StringListValues or BinaryListValues, which SQS does not support.",
        ));
    }
    let value = if base == "Binary" {
        let b64 = a.binary_value.filter(|v| !v.is_empty()).ok_or_else(|| {
            invalid("must contain a non-empty BinaryValue for its Binary data type.")
        })?;
        let bytes = STANDARD
            .decode(b64)
            .map_err(|_| invalid("has a BinaryValue that is not base64."))?;
        AttrValue::Binary(bytes)
    } else {
        let s = a.string_value.filter(|v| !v.is_empty()).ok_or_else(|| {
            invalid(&format!(
                "must contain a non-empty StringValue for its {base} data type."
            ))
        })?;
        if let Some(c) = first_invalid(&s) {
            return Err(invalid(&format!(
                "contains the invalid character #x{:X}.",
                c as u32
            )));
        }
        if base == "Number" && !is_number(&s) {
            return Err(invalid(&format!(
                "has a Number value that is not a number: {s}"
            )));
        }
        AttrValue::Text(s)
    };
    Ok(Attribute {
        name,
        data_type,
        value,
    })
}

fn value_len(v: &AttrValue) -> usize {
    match v {
        AttrValue::Text(s) => s.len(),
        AttrValue::Binary(b) => b.len(),
    }
}

/// A validated message, ready to be enqueued, and the delay it asked for.
pub(crate) struct Validated {
    pub message: Message,
    pub delay_s: u32,
    /// Body plus attribute names, types and values: what size limits count.
    pub size: usize,
}

/// Checks a message against the queue's limits and AWS's rules, and digests it.
/// `default_delay_s` is the queue's DelaySeconds.
pub(crate) fn validate(
    m: MessageIn,
    max_bytes: u32,
    default_delay_s: u32,
    id: u128,
    sender: Sender,
) -> Result<Validated, JsonError> {
    let body = m
        .message_body
        .filter(|b| !b.is_empty())
        .ok_or_else(|| errors::missing_parameter("MessageBody"))?;
    let delay_s = match m.delay_seconds {
        None => default_delay_s,
        Some(d) if (0..=900).contains(&d) => d as u32,
        Some(d) => {
            return Err(errors::invalid_value(
                "DelaySeconds",
                d,
                "Must be between 0 and 900, if provided.",
            ));
        }
    };
    if m.message_deduplication_id.is_some() {
        return Err(errors::invalid_parameter(
            "The request include parameter MessageDeduplicationId that is not valid for this queue type",
        ));
    }
    if m.message_attributes.len() > 10 {
        return Err(errors::invalid_parameter(format!(
            "Number of message attributes [{}] exceeds the allowed maximum [10].",
            m.message_attributes.len()
        )));
    }
    let attributes = m
        .message_attributes
        .into_iter()
        .map(|(name, a)| attribute(name, a))
        .collect::<Result<Vec<_>, _>>()?;
    let size = body.len()
        + attributes
            .iter()
            .map(|a| a.name.len() + a.data_type.len() + value_len(&a.value))
            .sum::<usize>();
    if size > max_bytes as usize {
        return Err(errors::invalid_parameter(format!(
            "One or more parameters are invalid. Reason: Message must be shorter than {max_bytes} bytes."
        )));
    }
    if let Some(c) = first_invalid(&body) {
        return Err(errors::invalid_message_contents(c));
    }
    let mut trace = None;
    for (name, a) in m.message_system_attributes {
        if name != "AWSTraceHeader" {
            return Err(errors::invalid_parameter(format!(
                "Message system attribute name '{name}' is invalid."
            )));
        }
        let attr = attribute(name, a)?;
        if attr.data_type != "String" {
            return Err(errors::invalid_parameter(
                "Message system attribute AWSTraceHeader must have the String data type.",
            ));
        }
        trace = Some(attr);
    }
    let mut message = Message::new(id, body, sender);
    if !attributes.is_empty() || trace.is_some() || m.message_group_id.is_some() {
        let extra = message.extra_mut();
        extra.md5_attributes = md5_of_attributes(&attributes);
        extra.attributes = attributes;
        extra.md5_system = md5_of_attributes(trace.iter());
        extra.trace_header = trace.and_then(|t| match t.value {
            AttrValue::Text(s) => Some(s),
            AttrValue::Binary(_) => None,
        });
        extra.group_id = m.message_group_id;
    }
    Ok(Validated {
        message,
        delay_s,
        size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number(name: &str, v: &str) -> Attribute {
        Attribute {
            name: name.into(),
            data_type: "Number".into(),
            value: AttrValue::Text(v.into()),
        }
    }

    /// Digests AWS returns for these attributes (pinned in moto's and LocalStack's suites).
    #[test]
    fn attribute_digest_matches_aws() {
        for (name, value, digest) in [
            (
                "timestamp",
                "1493147359900",
                "235c5c510d26fb653d073faed50ae77c",
            ),
            (
                "timestamp",
                "1493147359901",
                "994258b45346a2cc3f9cbb611aa7af30",
            ),
        ] {
            let d = md5_of_attributes(&[number(name, value)]).map(hex::encode);
            assert_eq!(d.as_deref(), Some(digest));
        }
        assert_eq!(md5_of_attributes(&[]), None);
    }

    #[test]
    fn characters_outside_the_xml_set_are_invalid() {
        assert_eq!(first_invalid("tab\tnl\ncr\r ok ünïcödé 😀"), None);
        assert_eq!(first_invalid("bell\u{7}"), Some('\u{7}'));
        assert_eq!(first_invalid("\u{FFFE}"), Some('\u{FFFE}'));
    }

    #[test]
    fn numbers_are_numbers() {
        assert!(is_number("0230.01"));
        assert!(is_number("-1e5"));
        assert!(!is_number("inf"));
        assert!(!is_number("1,5"));
    }
}
