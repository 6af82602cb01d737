//! The Kinesis seam: a `RecordSink` trait with the aws-sdk-kinesis implementation, so
//! tests can reach behind the network call.

use super::aggregate::Record;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::PutRecordsRequestEntry;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    Stored,
    /// Refused for now (throttled, internal failure): retry.
    Retry(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The call failed as a whole (unreachable, 5xx, throttled): retry.
    #[error("PutRecords failed: {0}")]
    Retryable(String),
}

#[async_trait::async_trait]
pub trait RecordSink: Send + Sync + 'static {
    /// One PutRecords of at most 500 records; outcomes in request order.
    async fn put(&self, records: &[Record]) -> Result<Vec<PutOutcome>, SinkError>;
    /// Whether the stream is reachable (for `/readyz`).
    async fn ready(&self) -> bool;
    /// The open shards' hash-key ranges to aggregate by (`shards`); `None`: this sink
    /// has no shard map (records are aggregated by partition key).
    async fn shard_ranges(&self) -> Result<Option<Vec<(u128, u128)>>, SinkError> {
        Ok(None)
    }
}

pub struct KinesisSink {
    client: aws_sdk_kinesis::Client,
    stream: String,
}

impl KinesisSink {
    pub async fn new(cfg: &super::super::config::KinesisConfig) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(cfg.region.clone()))
            // The writer does its own retries inside the request deadline.
            .retry_config(aws_config::retry::RetryConfig::disabled());
        if let Some(ep) = &cfg.endpoint {
            loader = loader.endpoint_url(ep);
        }
        if let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) {
            loader = loader.credentials_provider(aws_sdk_kinesis::config::Credentials::new(
                id,
                secret.expose(),
                None,
                None,
                "gateway-config",
            ));
        }
        let conf = loader.load().await;
        Self {
            client: aws_sdk_kinesis::Client::new(&conf),
            stream: cfg.stream.clone(),
        }
    }
}

#[async_trait::async_trait]
impl RecordSink for KinesisSink {
    async fn put(&self, records: &[Record]) -> Result<Vec<PutOutcome>, SinkError> {
        let entries = records
            .iter()
            .map(|r| {
                PutRecordsRequestEntry::builder()
                    .data(Blob::new(r.data.to_vec()))
                    .partition_key(&r.partition_key)
                    .build()
                    .map_err(|e| SinkError::Retryable(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .put_records()
            .stream_name(&self.stream)
            .set_records(Some(entries))
            .send()
            .await
            .map_err(|e| {
                SinkError::Retryable(aws_sdk_kinesis::error::DisplayErrorContext(e).to_string())
            })?;
        Ok(out
            .records()
            .iter()
            .map(|r| match r.error_code() {
                None => PutOutcome::Stored,
                Some(code) => PutOutcome::Retry(code.to_string()),
            })
            .collect())
    }

    async fn ready(&self) -> bool {
        self.client
            .describe_stream_summary()
            .stream_name(&self.stream)
            .send()
            .await
            .is_ok()
    }

    async fn shard_ranges(&self) -> Result<Option<Vec<(u128, u128)>>, SinkError> {
        let shards = crate::aws::open_shards(&self.client, &self.stream)
            .await
            .map_err(SinkError::Retryable)?;
        Ok(Some(shards.into_iter().map(|(_, s, e)| (s, e)).collect()))
    }
}
