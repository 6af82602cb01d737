//! Kinesis's error shapes, named and worded as the service answers them.

use crate::awsjson::JsonError;

pub fn validation(field: &str, value: &str, constraint: &str) -> JsonError {
    JsonError::bad_request(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
    )
}

pub fn invalid_argument(message: impl Into<String>) -> JsonError {
    JsonError::bad_request("InvalidArgumentException", message)
}

pub fn stream_not_found(name: &str, account: &str) -> JsonError {
    JsonError::bad_request(
        "ResourceNotFoundException",
        format!("Stream {name} under account {account} not found."),
    )
}

pub fn stream_exists(name: &str, account: &str) -> JsonError {
    JsonError::bad_request(
        "ResourceInUseException",
        format!("Stream {name} under account {account} already exists."),
    )
}

pub fn shard_not_found(shard_id: &str, stream: &str, account: &str) -> JsonError {
    JsonError::bad_request(
        "ResourceNotFoundException",
        format!("Shard {shard_id} in stream {stream} under account {account} does not exist"),
    )
}

pub fn throughput_message(shard_id: &str, stream: &str, account: &str) -> String {
    format!("Rate exceeded for shard {shard_id} in stream {stream} under account {account}.")
}

pub fn throughput_exceeded(message: String) -> JsonError {
    JsonError::bad_request("ProvisionedThroughputExceededException", message)
}

pub fn expired_iterator(issued_ms: i64, now_ms: i64) -> JsonError {
    JsonError::bad_request(
        "ExpiredIteratorException",
        format!(
            "Iterator expired. The iterator was created at time {issued_ms} while right now it is {now_ms} which is further in the future than the tolerated delay of 300000 milliseconds."
        ),
    )
}

/// Stream names: 1–128 characters of `[a-zA-Z0-9_.-]`.
pub fn check_stream_name(name: &str) -> Result<(), JsonError> {
    if name.is_empty() || name.len() > 128 {
        return Err(validation(
            "streamName",
            name,
            "Member must have length between 1 and 128",
        ));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-')
    {
        return Err(validation(
            "streamName",
            name,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        ));
    }
    Ok(())
}
