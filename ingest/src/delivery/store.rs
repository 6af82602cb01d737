//! The bucket as delivery uses it: conditional puts (`If-None-Match: *` for objects
//! written once, `If-Match: <etag>` for lease updates), reads with their ETag, listing and
//! deletion for the sweeper. A failed precondition (412, or S3's 409
//! ConditionalRequestConflict for a concurrent conditional write) is its own error: it
//! means the writer lost a race and has been fenced (or, for a write-once key, that the
//! key already exists or is being written by someone else).

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// 412 (or 404 on `If-Match` against a missing key): the condition did not hold; or
    /// 409 ConditionalRequestConflict: another conditional write to the key won the race.
    #[error("precondition failed on {0}")]
    Precondition(String),
    /// Any other failure (network, 5xx, throttling): worth retrying.
    #[error("s3 {op} {key}: {detail}")]
    Transient {
        op: &'static str,
        key: String,
        detail: String,
    },
    /// The call ran past its timeout (`[aws]` timeouts, capped by the lease): a
    /// blackholed or stalled endpoint. Worth retrying.
    #[error("s3 {op} {key}: timed out")]
    Timeout { op: &'static str, key: String },
}

impl StoreError {
    /// Reason code for counters.
    pub fn reason(&self) -> &'static str {
        match self {
            StoreError::Precondition(_) => "precondition_failed",
            StoreError::Transient { .. } => "s3_error",
            StoreError::Timeout { .. } => "timeout",
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
    if crate::aws::is_timeout(e) {
        return StoreError::Timeout {
            op,
            key: key.to_string(),
        };
    }
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

/// Whether a failed conditional put lost to another writer: 412 (the condition did not
/// hold), 404 on `If-Match` against a missing key, or 409 `ConditionalRequestConflict`
/// (S3's answer when another conditional write to the key is in progress).
fn lost_race<E: ProvideErrorMetadata>(e: &SdkError<E, Http>, cond: Condition<'_>) -> bool {
    match (status_of(e), cond) {
        (_, Condition::None) => false,
        (Some(412), _) | (Some(404), Condition::Match(_)) => true,
        (Some(409), _) => e.code() == Some("ConditionalRequestConflict"),
        _ => false,
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
            Err(e) if lost_race(&e, cond) => Err(StoreError::Precondition(key.to_string())),
            Err(e) => Err(transient("PutObject", key, &e)),
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use mocks::{FailCode, Fault, RunningEmulator, Service};

    /// A store on a fresh embedded backend (kept running while the emulator lives).
    pub(crate) async fn store() -> (RunningEmulator, Store) {
        let emu = mocks::Emulator::start(
            mocks::EmulatorConfig::default(),
            "127.0.0.1:0".parse().expect("loopback"),
        )
        .await
        .expect("emulator binds");
        let client = crate::aws::AwsConfig::local(emu.endpoint()).s3().await;
        client
            .create_bucket()
            .bucket("delivery-store")
            .send()
            .await
            .expect("CreateBucket");
        (emu, Store::new(client, "delivery-store"))
    }

    /// Every S3 PutObject fails with `code` from now on.
    pub(crate) fn s3_fails(emu: &RunningEmulator, code: FailCode) -> mocks::FaultId {
        emu.emulator
            .ctx
            .faults
            .inject(Fault::Fail {
                service: Service::S3,
                operation: Some("PutObject".into()),
                status: code.status(),
                code: Some(code),
                probability: 1.0,
            })
            .expect("inject")
    }

    /// Issue 16, bug 6: S3 answers a conditional write that races another one with 409
    /// ConditionalRequestConflict as well as 412; both mean the writer lost the race.
    #[tokio::test]
    async fn a_conditional_conflict_is_a_lost_race_like_a_failed_precondition() {
        let (emu, store) = store().await;
        let etag = store
            .put_new("lease", b"e1".to_vec())
            .await
            .expect("create");
        let again = store.put_new("lease", b"e1".to_vec()).await;
        assert!(
            matches!(&again, Err(StoreError::Precondition(k)) if k == "lease"),
            "412: {again:?}"
        );

        s3_fails(&emu, FailCode::ConditionalRequestConflict);
        let create = store.put_new("commit", b"c".to_vec()).await;
        assert!(
            matches!(&create, Err(StoreError::Precondition(k)) if k == "commit"),
            "409 on If-None-Match: {create:?}"
        );
        let update = store.put_match("lease", b"e2".to_vec(), &etag).await;
        assert!(
            matches!(&update, Err(StoreError::Precondition(k)) if k == "lease"),
            "409 on If-Match: {update:?}"
        );
        assert_eq!(
            update.map_err(|e| e.reason()).err(),
            Some("precondition_failed")
        );
        // An unconditional write cannot lose a race and is never answered 409.
        store
            .put_any("errors/x", b"x".to_vec())
            .await
            .expect("unconditional put");
        assert_eq!(
            store.get("lease").await.expect("get").map(|(b, _)| b),
            Some(b"e1".to_vec())
        );
    }

    #[tokio::test]
    async fn slow_down_on_a_conditional_write_stays_transient() {
        let (emu, store) = store().await;
        s3_fails(&emu, FailCode::SlowDown);
        let err = store.put_new("commit", b"c".to_vec()).await;
        assert!(
            matches!(&err, Err(StoreError::Transient { detail, .. }) if detail.contains("SlowDown")),
            "{err:?}"
        );
    }
}
