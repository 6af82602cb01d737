//! S3 (restXml, via s3s 0.14): an in-memory object store that unmodified S3 clients
//! (aws-sdk-s3, object_store) use path-style or virtual-host-style.
//!
//! s3s owns the wire (routing, XML, SigV4 including aws-chunked bodies); this module
//! owns the behaviour s3s leaves to the implementer: buckets and objects ([`store`]),
//! bodies, Content-MD5 and checksums ([`body`]), conditional requests ([`conditions`]),
//! AWS's error codes and limits, multipart uploads, and bucket notifications to SQS
//! ([`notify`]). Every request refused here is counted as `s3.rejected.<Code>` (those
//! s3s refuses before us — bad signature, unknown key, bad bucket name — are not).

mod api;
mod body;
mod conditions;
mod host;
mod names;
mod notify;
mod ops_bucket;
mod ops_delete;
mod ops_list;
mod ops_multipart;
mod ops_object;
mod settings;
mod store;

pub use host::bucket_from_host;
pub use names::operation_name;
pub use settings::S3Config;

use crate::Ctx;
use crate::sqs::Sqs;
use axum::body::Body;
use axum::response::Response;
use http::StatusCode;
use s3s::dto::Timestamp;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use store::{Bucket, Object, Store};

/// The S3 service's state and behaviour.
pub struct S3Backend {
    ctx: Ctx,
    sqs: Arc<Sqs>,
    store: Store,
    notifications_sent: AtomicU64,
    notifications_failed: AtomicU64,
}

impl S3Backend {
    pub fn new(ctx: Ctx, sqs: Arc<Sqs>) -> Self {
        Self {
            ctx,
            sqs,
            store: Store::default(),
            notifications_sent: AtomicU64::new(0),
            notifications_failed: AtomicU64::new(0),
        }
    }

    /// Totals for `/_gameday/health`; O(buckets), never O(objects).
    pub fn health(&self) -> serde_json::Value {
        let t = &self.store.totals;
        serde_json::json!({
            "buckets": self.store.bucket_count(),
            "objects": t.objects.load(Ordering::Relaxed),
            "bytes": t.bytes.load(Ordering::Relaxed),
            "multipart_uploads": t.uploads.load(Ordering::Relaxed),
            "notifications_sent": self.notifications_sent.load(Ordering::Relaxed),
            "notifications_failed": self.notifications_failed.load(Ordering::Relaxed),
        })
    }

    fn settings(&self) -> &S3Config {
        &self.ctx.config.s3
    }

    fn digest_kind(&self) -> body::Digest {
        if self.settings().fast_etags {
            body::Digest::Fast
        } else {
            body::Digest::Md5
        }
    }

    fn now_ms(&self) -> i64 {
        self.ctx.clock.now_ms()
    }

    /// Counts a rejected request under `s3.rejected.<Code>` and passes it on.
    fn counted<T>(&self, result: s3s::S3Result<T>) -> s3s::S3Result<T> {
        if let Err(e) = &result {
            self.ctx
                .counters
                .incr(&format!("s3.rejected.{}", e.code().as_str()));
        }
        result
    }

    /// Sends `name` for `key` to every queue configuration of `bucket` it matches.
    /// `object` is the created object (`None` for a removal).
    fn notify(
        &self,
        bucket: &Bucket,
        name: &'static str,
        key: &str,
        object: Option<&Object>,
        principal: &str,
    ) {
        let targets = bucket.notifications();
        if targets.is_empty() {
            return;
        }
        let mut matching = targets.iter().filter(|t| t.matches(name, key)).peekable();
        if matching.peek().is_none() {
            return;
        }
        let sequencer = self.store.next_sequencer();
        let event = notify::ObjectEvent {
            name,
            region: &self.ctx.config.region,
            bucket: &bucket.name,
            key,
            object: object.map(|o| (o.size(), o.etag.as_str())),
            sequencer: &sequencer,
            time_ms: object.map_or_else(|| self.now_ms(), |o| o.last_modified_ms),
            principal,
            request_id: &sequencer,
        };
        for target in matching {
            let body = notify::event_json(&event, &target.id);
            self.deliver(&target.queue_arn, body);
        }
    }

    fn deliver(&self, queue_arn: &str, body: String) {
        match self.sqs.deliver_from_s3(queue_arn, body) {
            Ok(()) => {
                self.notifications_sent.fetch_add(1, Ordering::Relaxed);
                self.ctx.counters.incr("s3.notification.sent");
            }
            Err(e) => {
                self.notifications_failed.fetch_add(1, Ordering::Relaxed);
                self.ctx.counters.incr("s3.notification.failed");
                tracing::warn!(queue = queue_arn, error = %e, "S3 event notification not delivered");
            }
        }
    }
}

/// The requester as S3 names it in events: `AWS:<access key id>`.
fn principal(credentials: Option<&s3s::auth::Credentials>) -> String {
    match credentials {
        Some(c) => format!("AWS:{}", c.access_key),
        None => "Anonymous".to_owned(),
    }
}

fn timestamp(ms: i64) -> Timestamp {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .into()
}

/// The s3s service over the backend, with the emulator's credential table and a host
/// parser for virtual-host-style requests.
pub fn service(backend: Arc<S3Backend>, ctx: &Ctx) -> s3s::service::S3Service {
    let mut b = s3s::service::S3ServiceBuilder::new(api::Shared(backend));
    b.set_auth(crate::auth::S3Credentials(ctx.config.clone()));
    b.set_host(host::EmulatorHost);
    b.build()
}

fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// An S3 XML error response (`<Error><Code>..</Code><Message>..</Message></Error>`).
pub fn error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message></Error>",
        xml_escape(code),
        xml_escape(message)
    );
    let mut resp = Response::new(Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/xml"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_response_escapes_its_message() {
        let resp = error_response(StatusCode::BAD_REQUEST, "InvalidArgument", "a <b> & 'c'");
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(
            body.contains("<Message>a &lt;b&gt; &amp; &apos;c&apos;</Message>"),
            "{body}"
        );
    }
}
