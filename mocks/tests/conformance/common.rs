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

/// A raw HTTP/1.1 exchange for what the SDKs never send (malformed bodies, missing
/// headers). Returns status, lower-cased headers and body.
pub async fn raw_request(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, Vec<(String, String)>, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nhost: {addr}\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).await.expect("write head");
    s.write_all(body).await.expect("write body");
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.expect("read response");
    let text = String::from_utf8_lossy(&out).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, decode_chunked_if_needed(body))
}

fn decode_chunked_if_needed(body: &str) -> String {
    // Responses here carry content-length; chunked bodies only appear for streams.
    body.to_string()
}

/// Headers that get a JSON request past credential checks when signatures are not
/// verified (`verify_signatures = false`): known key, any signature.
pub fn unsigned_auth() -> &'static str {
    "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/kinesis/aws4_request, SignedHeaders=host, Signature=00"
}
