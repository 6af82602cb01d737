//! SendMessage and SendMessageBatch: validate and digest outside the queue's lock,
//! then enqueue all of a request's messages under one lock.

use super::attrs::MAX_MESSAGE_BYTES;
use super::batch::{self, BatchOut, Failed};
use super::ids::MessageId;
use super::message::{self, Hex, Message, MessageIn, Sender};
use super::{PROTOCOL, Sqs, errors};
use crate::awsjson::{self, JsonError};
use axum::response::Response;
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct BatchIn {
    queue_url: Option<String>,
    #[serde(default)]
    entries: Vec<MessageIn>,
}

/// SendMessage's answer, and (with `id`) one Successful item of SendMessageBatch.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Sent {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    message_id: MessageId,
    #[serde(rename = "MD5OfMessageBody")]
    md5_of_message_body: Hex,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_attributes: Option<Hex>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    md5_of_message_system_attributes: Option<Hex>,
}

impl Sent {
    fn of(id: Option<String>, m: &Message) -> Self {
        let extra = m.extra();
        Self {
            id,
            message_id: MessageId(m.id),
            md5_of_message_body: Hex(m.md5_body),
            md5_of_message_attributes: extra.md5_attributes.map(Hex),
            md5_of_message_system_attributes: extra.md5_system.map(Hex),
        }
    }
}

impl Sqs {
    pub(super) fn send_message(&self, body: &[u8]) -> Result<Response, JsonError> {
        let mut req: MessageIn = awsjson::parse(body)?;
        let q = self.queue(req.queue_url.take().as_deref())?;
        let (max, delay) = {
            let st = q.state.lock();
            (st.attrs.max_message_bytes, st.attrs.delay_s)
        };
        let v = message::validate(req, max, delay, self.ids.message_id(), Sender::Account)?;
        let out = Sent::of(None, &v.message);
        self.enqueue(&q, vec![(v.message, v.delay_s)]);
        Ok(awsjson::ok(PROTOCOL, &out))
    }

    pub(super) fn send_message_batch(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: BatchIn = awsjson::parse(body)?;
        let q = self.queue(req.queue_url.as_deref())?;
        batch::check_entries(req.entries.iter().map(|e| e.id.as_deref()))?;
        let (max, delay) = {
            let st = q.state.lock();
            (st.attrs.max_message_bytes, st.attrs.delay_s)
        };
        let mut ok = Vec::with_capacity(req.entries.len());
        let mut failed = Vec::new();
        let mut total = 0usize;
        for mut entry in req.entries {
            let id = entry.id.take().unwrap_or_default();
            match message::validate(entry, max, delay, self.ids.message_id(), Sender::Account) {
                Ok(v) => {
                    total += v.size;
                    ok.push((id, v.message, v.delay_s));
                }
                Err(e) => {
                    self.ctx.counters.incr(&format!("sqs.error.{}", e.code));
                    failed.push(Failed::new(id, &e));
                }
            }
        }
        if total > MAX_MESSAGE_BYTES as usize {
            return Err(errors::batch_too_long(total, MAX_MESSAGE_BYTES as usize));
        }
        let mut successful = Vec::with_capacity(ok.len());
        let mut msgs = Vec::with_capacity(ok.len());
        for (id, m, delay_s) in ok {
            successful.push(Sent::of(Some(id), &m));
            msgs.push((m, delay_s));
        }
        if !msgs.is_empty() {
            self.enqueue(&q, msgs);
        }
        Ok(awsjson::ok(PROTOCOL, &BatchOut { successful, failed }))
    }
}
