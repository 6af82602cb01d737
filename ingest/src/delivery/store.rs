//! The bucket as delivery uses it: conditional puts (`If-None-Match: *` for objects
//! written once, `If-Match: <etag>` for lease updates), reads with their ETag, listing and
//! deletion for the sweeper. A failed precondition is its own error: it means the writer
//! has been fenced (or, for a write-once key, that the key already exists).

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// 412 (or 404 on `If-Match` against a missing key): the condition did not hold.
    #[error("precondition failed on {0}")]
    Precondition(String),
    /// Any other failure (network, 5xx, throttling): worth retrying.
    #[error("s3 {op} {key}: {detail}")]
    Transient {
        op: &'static str,
        key: String,
        detail: String,
    },
}

impl StoreError {
    /// Reason code for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Precondition(_) => "precondition_failed",
            StoreError::Transient { .. } => "s3_error",
        }
    }
}

type Http = aws_sdk_s3::config::http::HttpResponse;

fn status_of<E>(e: &SdkError<E, Http>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

fn transient<E: ProvideErrorMetadata + std::error::Error + 'static>(
    op: &'static str,
    key: &str,
    e: &SdkError<E, Http>,
) -> StoreError {
    let detail = match (e.code(), status_of(e)) {
        (Some(code), status) => format!(
            "{code} (HTTP {}): {}",
            status.unwrap_or(0),
            e.message().unwrap_or("")
        ),
        (None, _) => aws_sdk_s3::error::DisplayErrorContext(e).to_string(),
    };
    StoreError::Transient {
        op,
        key: key.to_string(),
        detail,
    }
}

/// One listed object.
#[derive(Debug, Clone)]
pub struct Listed {
    pub key: String,
    pub last_modified_ms: i64,
}

#[derive(Clone)]
pub struct Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl Store {
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The object and its ETag, `None` when absent.
    pub async fn get(&self, key: &str) -> Result<Option<(Vec<u8>, String)>, StoreError> {
        let out = match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) if status_of(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(transient("GetObject", key, &e)),
        };
        let etag = out.e_tag().unwrap_or_default().to_string();
        let body = out
            .body
            .collect()
            .await
            .map_err(|e| StoreError::Transient {
                op: "GetObject",
                key: key.to_string(),
                detail: e.to_string(),
            })?
            .into_bytes()
            .to_vec();
        Ok(Some((body, etag)))
    }

    /// Writes `key` only if it does not exist; returns the new ETag.
    pub async fn put_new(&self, key: &str, body: Vec<u8>) -> Result<String, StoreError> {
        self.put(key, body, Condition::Absent).await
    }

    /// Writes `key` only if its ETag is still `etag`; returns the new ETag.
    pub async fn put_match(
        &self,
        key: &str,
        body: Vec<u8>,
        etag: &str,
    ) -> Result<String, StoreError> {
        self.put(key, body, Condition::Match(etag)).await
    }

    /// Unconditional write (idempotent objects such as `errors/` records).
    pub async fn put_any(&self, key: &str, body: Vec<u8>) -> Result<String, StoreError> {
        self.put(key, body, Condition::None).await
    }

    async fn put(
        &self,
        key: &str,
        body: Vec<u8>,
        cond: Condition<'_>,
    ) -> Result<String, StoreError> {
        let mut req = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .body(ByteStream::from(body));
        req = match cond {
            Condition::Absent => req.if_none_match("*"),
            Condition::Match(etag) => req.if_match(etag),
            Condition::None => req,
        };
        match req.send().await {
            Ok(o) => Ok(o.e_tag().unwrap_or_default().to_string()),
            Err(e) => match (status_of(&e), cond) {
                (Some(412), _) | (Some(404), Condition::Match(_)) => {
                    Err(StoreError::Precondition(key.to_string()))
                }
                _ => Err(transient("PutObject", key, &e)),
            },
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| transient("DeleteObject", key, &e))
    }

    /// Every object under `prefix` (paginated; bounded by `max_pages`).
    pub async fn list(&self, prefix: &str, max_pages: usize) -> Result<Vec<Listed>, StoreError> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        for _ in 0..max_pages {
            let resp = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| transient("ListObjectsV2", prefix, &e))?;
            for o in resp.contents() {
                let Some(key) = o.key() else { continue };
                let last_modified_ms = o
                    .last_modified()
                    .and_then(|t| t.to_millis().ok())
                    .unwrap_or(0);
                out.push(Listed {
                    key: key.to_string(),
                    last_modified_ms,
                });
            }
            match resp.next_continuation_token() {
                Some(t) if resp.is_truncated().unwrap_or(false) => token = Some(t.to_string()),
                _ => break,
            }
        }
        Ok(out)
    }

    /// One page of the keys under `prefix` after `start_after`, and whether more follow.
    pub async fn list_page(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        max_keys: i32,
    ) -> Result<(Vec<Listed>, bool), StoreError> {
        let resp = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .set_start_after(start_after.map(str::to_string))
            .max_keys(max_keys.max(1))
            .send()
            .await
            .map_err(|e| transient("ListObjectsV2", prefix, &e))?;
        let page = resp
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Listed {
                    key: o.key()?.to_string(),
                    last_modified_ms: o
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(0),
                })
            })
            .collect();
        Ok((page, resp.is_truncated().unwrap_or(false)))
    }

    /// HeadBucket: is S3 reachable and the bucket there?
    pub async fn check(&self) -> Result<(), StoreError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| transient("HeadBucket", &self.bucket, &e))
    }
}

#[derive(Clone, Copy)]
enum Condition<'a> {
    Absent,
    Match(&'a str),
    None,
}
