//! Shared test setup: an emulator on 127.0.0.1:0 and SDK clients pointed at it.

#![allow(dead_code)]

use mocks::{EmulatorConfig, RunningEmulator};

pub async fn start() -> RunningEmulator {
    start_with(EmulatorConfig::default()).await
}

pub async fn start_with(config: EmulatorConfig) -> RunningEmulator {
    mocks::Emulator::start(config, "127.0.0.1:0".parse().expect("loopback address"))
        .await
        .expect("emulator binds 127.0.0.1:0")
}

/// SDK configuration for the emulator, signed with the given credentials.
pub async fn sdk_config_with(endpoint: &str, key: &str, secret: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_kinesis::config::Credentials::new(
            key, secret, None, None, "test",
        ))
        // Tests assert on first answers: no retries hiding an error.
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .load()
        .await
}

pub async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    sdk_config_with(endpoint, "test", "test").await
}

pub async fn kinesis(emu: &RunningEmulator) -> aws_sdk_kinesis::Client {
    aws_sdk_kinesis::Client::new(&sdk_config(&emu.endpoint()).await)
}

pub async fn sqs(emu: &RunningEmulator) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(&emu.endpoint()).await)
}

pub async fn s3(emu: &RunningEmulator) -> aws_sdk_s3::Client {
    let conf = sdk_config(&emu.endpoint()).await;
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&conf)
            .force_path_style(true)
            .build(),
    )
}

/// The modeled error code of an SDK error (`ResourceNotFoundException`, `NoSuchKey`, ...).
pub fn code<E, R>(err: &aws_sdk_kinesis::error::SdkError<E, R>) -> String
where
    E: aws_sdk_kinesis::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match err {
        aws_sdk_kinesis::error::SdkError::ServiceError(e) => {
            e.err().code().unwrap_or("<no code>").to_string()
        }
        other => format!("<not a service error: {other:?}>"),
    }
}
