//! How a component reaches AWS (or the embedded backend, or LocalStack): one `[aws]` config
//! block and the SDK clients built from it. Components talk to every backend only through
//! the real AWS SDKs; the endpoint decides which backend answers.

use crate::config::Secret;
use serde::Deserialize;

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
}

impl Default for AwsConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            region: "us-east-1".into(),
            access_key_id: None,
            secret_access_key: None,
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
        }
    }

    /// The shared SDK configuration. SDK retries are off: components retry themselves,
    /// with their own backoff, deadlines and counters.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(self.region.clone()))
            .retry_config(aws_config::retry::RetryConfig::disabled());
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
