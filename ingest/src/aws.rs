//! How a component reaches AWS (or the embedded backend, or LocalStack): one `[aws]` config
//! block and the SDK clients built from it. Components talk to every backend only through
//! the real AWS SDKs; the endpoint decides which backend answers.

use crate::config::Secret;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_kinesis::error::DisplayErrorContext;
use aws_sdk_s3::error::SdkError;
use serde::Deserialize;
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AwsConfig {
    /// Endpoint URL (embedded backend, LocalStack); unset = the AWS SDK's own resolution.
    pub endpoint: Option<String>,
    pub region: String,
    /// Static credentials (the embedded backend and LocalStack know `test`/`test`);
    /// unset = the AWS SDK's default credential chain (real AWS).
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<Secret>,
    /// Bound on opening a connection.
    pub connect_timeout_ms: u64,
    /// Bound on one attempt of a call (request sent, response headers back).
    pub attempt_timeout_ms: u64,
    /// Bound on a whole call. SDK retries are off, so one attempt is the whole call; both
    /// bounds are set so that a retry config can never make a call unbounded. Above SQS's
    /// longest long poll (20 s); delivery lowers all three to fit its lease
    /// ([`AwsConfig::capped`]).
    pub operation_timeout_ms: u64,
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
            connect_timeout_ms: 3_000,
            attempt_timeout_ms: 30_000,
            operation_timeout_ms: 30_000,
        }
    }
}

impl AwsConfig {
    /// Static `test`/`test` credentials against `endpoint` (embedded backend, tests).
    pub fn local(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: Some(endpoint.into()),
            region: "us-east-1".into(),
            access_key_id: Some("test".into()),
            secret_access_key: Some(Secret::new("test")),
            ..Self::default()
        }
    }

    /// The same config with every timeout at most `cap` (a caller whose calls must end
    /// within a deadline of its own, such as delivery's lease).
    pub fn capped(&self, cap: Duration) -> Self {
        let cap = cap.as_millis().max(1) as u64;
        Self {
            connect_timeout_ms: self.connect_timeout_ms.min(cap),
            attempt_timeout_ms: self.attempt_timeout_ms.min(cap),
            operation_timeout_ms: self.operation_timeout_ms.min(cap),
            ..self.clone()
        }
    }

    /// The timeouts every call made with these clients gets (a call past one fails with
    /// the SDK's timeout error; see [`is_timeout`]).
    pub fn timeouts(&self) -> TimeoutConfig {
        let ms = |v: u64| Duration::from_millis(v.max(1));
        TimeoutConfig::builder()
            .connect_timeout(ms(self.connect_timeout_ms))
            .operation_attempt_timeout(ms(self.attempt_timeout_ms))
            .operation_timeout(ms(self.operation_timeout_ms))
            .build()
    }

    /// The shared SDK configuration. SDK retries are off: components retry themselves,
    /// with their own backoff, deadlines and counters. Every call is bounded
    /// ([`AwsConfig::timeouts`]): a blackholed or stalled endpoint fails a call, never hangs it.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .timeout_config(self.timeouts());
        if let Some(ep) = &self.endpoint {
            loader = loader.endpoint_url(ep);
        }
        if let (Some(id), Some(secret)) = (&self.access_key_id, &self.secret_access_key) {
            loader = loader.credentials_provider(aws_sdk_kinesis::config::Credentials::new(
                id,
                secret.expose(),
                None,
                None,
                "gameday-config",
            ));
        }
        loader.load().await
    }

    pub async fn kinesis(&self) -> aws_sdk_kinesis::Client {
        aws_sdk_kinesis::Client::new(&self.sdk_config().await)
    }

    /// Path-style addressing when an endpoint is set (local backends have no wildcard DNS).
    pub async fn s3(&self) -> aws_sdk_s3::Client {
        let conf = aws_sdk_s3::config::Builder::from(&self.sdk_config().await)
            .force_path_style(self.endpoint.is_some())
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&self.sdk_config().await)
    }
}

/// Whether a call failed because it ran past one of [`AwsConfig::timeouts`].
pub fn is_timeout<E, R>(e: &SdkError<E, R>) -> bool {
    matches!(e, SdkError::TimeoutError(_))
}

/// A shard id and its hash-key range (inclusive), as ListShards reports them.
pub type ShardRange = (String, u128, u128);

/// The stream's open shards (a closed parent no longer takes writes) in hash-key order,
/// every ListShards page followed (at most 100 pages of up to 1,000 shards).
pub async fn open_shards(
    k: &aws_sdk_kinesis::Client,
    stream: &str,
) -> Result<Vec<ShardRange>, String> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    for _ in 0..100 {
        let req = match &token {
            Some(t) => k.list_shards().next_token(t),
            None => k.list_shards().stream_name(stream),
        };
        let page = req
            .send()
            .await
            .map_err(|e| format!("ListShards: {}", DisplayErrorContext(&e)))?;
        for s in page.shards() {
            if s.sequence_number_range()
                .and_then(|r| r.ending_sequence_number())
                .is_some()
            {
                continue;
            }
            let r = s
                .hash_key_range()
                .ok_or_else(|| format!("shard {} has no hash-key range", s.shard_id()))?;
            let parse = |v: &str| {
                v.parse::<u128>()
                    .map_err(|e| format!("shard {} hash key {v:?}: {e}", s.shard_id()))
            };
            out.push((
                s.shard_id().to_string(),
                parse(r.starting_hash_key())?,
                parse(r.ending_hash_key())?,
            ));
        }
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    out.sort_by_key(|(_, start, _)| *start);
    Ok(out)
}
