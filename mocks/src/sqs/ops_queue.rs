//! Queue operations: CreateQueue (idempotent with the same attributes), GetQueueUrl,
//! Get/SetQueueAttributes, ListQueues, DeleteQueue, PurgeQueue, tags and
//! ListDeadLetterSourceQueues.

use super::attrs::{self, QueueAttrs};
use super::queue::Queue;
use super::{PROTOCOL, Sqs, empty, errors, registry, required};
use crate::awsjson::{self, JsonError};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

/// AWS allows one PurgeQueue per queue in this window.
const PURGE_INTERVAL_MS: i64 = 60_000;

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct QueueRequest {
    queue_url: Option<String>,
    queue_name: Option<String>,
    #[serde(rename = "QueueOwnerAWSAccountId")]
    queue_owner: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    attribute_names: Vec<String>,
    /// CreateQueue spells it `tags`, TagQueue `Tags`.
    #[serde(default, alias = "tags")]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    tag_keys: Vec<String>,
    queue_name_prefix: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

impl Sqs {
    fn dlq_exists(&self) -> impl Fn(&str) -> bool + '_ {
        |arn: &str| self.queue_by_arn(arn).is_some()
    }

    fn queue_of(&self, req: &QueueRequest) -> Result<std::sync::Arc<Queue>, JsonError> {
        self.queue(req.queue_url.as_deref())
    }

    pub(super) fn create_queue(&self, host: &str, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let name = required(req.queue_name, "QueueName")?;
        registry::check_name(&name)?;
        let dlq_exists = self.dlq_exists();
        let mut wanted = QueueAttrs::default();
        for (k, v) in &req.attributes {
            wanted.set(k, v, &dlq_exists)?;
        }
        let now = self.now_ms();
        let (q, created) = self.queues.get_or_create(&name, now, || {
            Queue::new(
                name.clone(),
                self.arn(&name),
                self.ids.unique(),
                now,
                wanted,
            )
        })?;
        let mut st = q.state.lock();
        if created {
            st.tags = req.tags;
        } else {
            let mut same = st.attrs.clone();
            for (k, v) in &req.attributes {
                same.set(k, v, &dlq_exists)?;
            }
            if same != st.attrs {
                let differs = req
                    .attributes
                    .keys()
                    .find(|k| same.get(k) != st.attrs.get(k))
                    .map_or("", String::as_str);
                return Err(errors::queue_name_exists(&name, differs));
            }
        }
        Ok(awsjson::ok(
            PROTOCOL,
            &json!({"QueueUrl": self.url(host, &name)}),
        ))
    }

    pub(super) fn get_queue_url(&self, host: &str, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let name = required(req.queue_name, "QueueName")?;
        if req.queue_owner.is_some_and(|o| o != self.account()) {
            return Err(errors::queue_does_not_exist());
        }
        let q = self
            .queues
            .get(&name)
            .ok_or_else(errors::queue_does_not_exist)?;
        Ok(awsjson::ok(
            PROTOCOL,
            &json!({"QueueUrl": self.url(host, &q.name)}),
        ))
    }

    pub(super) fn get_queue_attributes(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        if let Some(bad) = req.attribute_names.iter().find(|n| !attrs::is_known(n)) {
            return Err(errors::invalid_attribute_name(bad));
        }
        let all = req.attribute_names.iter().any(|n| n == "All");
        let wants = |name: &str| all || req.attribute_names.iter().any(|n| n == name);
        let (a, counts, modified_s) =
            self.with_state(&q, |st, _| (st.attrs.clone(), st.counts(), st.modified_s));
        let mut out = Map::new();
        let mut put = |name: &str, value: String| {
            if wants(name) {
                out.insert(name.to_string(), Value::String(value));
            }
        };
        put("QueueArn", q.arn.clone());
        put("ApproximateNumberOfMessages", counts.visible.to_string());
        put(
            "ApproximateNumberOfMessagesNotVisible",
            counts.in_flight.to_string(),
        );
        put(
            "ApproximateNumberOfMessagesDelayed",
            counts.delayed.to_string(),
        );
        put("CreatedTimestamp", q.created_s.to_string());
        put("LastModifiedTimestamp", modified_s.to_string());
        for name in attrs::SETTABLE {
            if let Some(v) = a.get(name) {
                put(name, v);
            }
        }
        let body = if out.is_empty() {
            json!({})
        } else {
            json!({"Attributes": out})
        };
        Ok(awsjson::ok(PROTOCOL, &body))
    }

    pub(super) fn set_queue_attributes(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        if req.attributes.is_empty() {
            return Err(errors::missing_parameter("Attributes"));
        }
        let dlq_exists = self.dlq_exists();
        self.with_state(&q, |st, now| {
            let mut next = st.attrs.clone();
            for (k, v) in &req.attributes {
                next.set(k, v, &dlq_exists)?;
            }
            st.attrs = next;
            st.modified_s = now / 1000;
            Ok::<_, JsonError>(())
        })?;
        Ok(empty())
    }

    pub(super) fn list_queues(&self, host: &str, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let limit = match req.max_results {
            None => 1000,
            Some(n) if (1..=1000).contains(&n) => n as usize,
            Some(n) => {
                return Err(errors::invalid_value(
                    "MaxResults",
                    n,
                    "MaxResults must be an integer between 1 and 1000.",
                ));
            }
        };
        let after = match &req.next_token {
            None => None,
            Some(t) => Some(
                URL_SAFE_NO_PAD
                    .decode(t)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| errors::invalid_value("NextToken", t, "Invalid token."))?,
            ),
        };
        let prefix = req.queue_name_prefix.as_deref().unwrap_or("");
        let queues = self.queues.list(prefix, after.as_deref());
        let page = &queues[..queues.len().min(limit)];
        let mut out = Map::new();
        if !page.is_empty() {
            let urls: Vec<Value> = page
                .iter()
                .map(|q| Value::String(self.url(host, &q.name)))
                .collect();
            out.insert("QueueUrls".into(), Value::Array(urls));
        }
        if req.max_results.is_some()
            && queues.len() > page.len()
            && let Some(last) = page.last()
        {
            out.insert(
                "NextToken".into(),
                Value::String(URL_SAFE_NO_PAD.encode(last.name.as_bytes())),
            );
        }
        Ok(awsjson::ok(PROTOCOL, &Value::Object(out)))
    }

    pub(super) fn delete_queue(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        let now = self.now_ms();
        if let Some(q) = self.queues.remove(&q.name, now) {
            q.deleted.store(true, Ordering::Relaxed);
            let dropped = q.state.lock().purge();
            self.ctx
                .counters
                .add("sqs.deleted_with_queue", dropped as u64);
            q.arrivals.notify_waiters();
        }
        Ok(empty())
    }

    pub(super) fn purge_queue(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        let purged = self.with_state(&q, |st, now| {
            if st
                .last_purge_ms
                .is_some_and(|at| now - at < PURGE_INTERVAL_MS)
            {
                return Err(errors::purge_in_progress(&q.name));
            }
            st.last_purge_ms = Some(now);
            Ok(st.purge())
        })?;
        self.ctx.counters.add("sqs.purged", purged as u64);
        Ok(empty())
    }

    pub(super) fn tag_queue(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        q.state.lock().tags.extend(req.tags);
        Ok(empty())
    }

    pub(super) fn untag_queue(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        let mut st = q.state.lock();
        for k in &req.tag_keys {
            st.tags.remove(k);
        }
        Ok(empty())
    }

    pub(super) fn list_queue_tags(&self, body: &[u8]) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        let tags = q.state.lock().tags.clone();
        let body = if tags.is_empty() {
            json!({})
        } else {
            json!({ "Tags": tags })
        };
        Ok(awsjson::ok(PROTOCOL, &body))
    }

    pub(super) fn list_dead_letter_source_queues(
        &self,
        host: &str,
        body: &[u8],
    ) -> Result<Response, JsonError> {
        let req: QueueRequest = awsjson::parse(body)?;
        let q = self.queue_of(&req)?;
        let urls: Vec<String> = self
            .queues
            .all()
            .into_iter()
            .filter(|s| {
                s.state
                    .lock()
                    .attrs
                    .redrive
                    .as_ref()
                    .is_some_and(|r| r.dlq_arn == q.arn)
            })
            .map(|s| self.url(host, &s.name))
            .collect();
        Ok(awsjson::ok(PROTOCOL, &json!({ "queueUrls": urls })))
    }
}
