//! SQS's error shapes: the modeled `__type` plus the legacy query code in
//! `x-amzn-query-error` (`<code>;Sender`), which is what aws-sdk-sqs matches on.

use crate::awsjson::JsonError;
use http::StatusCode;

fn sender(status: StatusCode, ty: &str, query: &str, message: impl Into<String>) -> JsonError {
    JsonError::new(status, ty, message).with_query_code(format!("{query};Sender"))
}

fn bad(ty: &str, query: &str, message: impl Into<String>) -> JsonError {
    sender(StatusCode::BAD_REQUEST, ty, query, message)
}

/// The query code a batch entry's `Failed` item carries for this error.
pub fn entry_code(e: &JsonError) -> &str {
    e.query_code
        .as_deref()
        .and_then(|q| q.split(';').next())
        .unwrap_or(&e.code)
}

pub fn queue_does_not_exist() -> JsonError {
    bad(
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "The specified queue does not exist.",
    )
}

pub fn queue_name_exists(name: &str, attribute: &str) -> JsonError {
    bad(
        "QueueNameExists",
        "QueueAlreadyExists",
        format!(
            "A queue already exists with the same name ({name}) and a different value for attribute {attribute}"
        ),
    )
}

pub fn queue_deleted_recently(name: &str) -> JsonError {
    bad(
        "QueueDeletedRecently",
        "AWS.SimpleQueueService.QueueDeletedRecently",
        format!(
            "You must wait 60 seconds after deleting a queue before you can create another with the same name ({name})."
        ),
    )
}

pub fn invalid_address(url: &str) -> JsonError {
    sender(
        StatusCode::NOT_FOUND,
        "InvalidAddress",
        "InvalidAddress",
        format!("The address {url} is not valid for this endpoint."),
    )
}

pub fn invalid_attribute_name(name: &str) -> JsonError {
    bad(
        "InvalidAttributeName",
        "InvalidAttributeName",
        format!("Unknown Attribute {name}."),
    )
}

pub fn invalid_attribute_value(name: &str, reason: &str) -> JsonError {
    bad(
        "InvalidAttributeValue",
        "InvalidAttributeValue",
        format!("Invalid value for the parameter {name}. Reason: {reason}"),
    )
}

pub fn invalid_parameter(message: impl Into<String>) -> JsonError {
    bad(
        "InvalidParameterValueException",
        "InvalidParameterValue",
        message,
    )
}

/// `Value <v> for parameter <p> is invalid. Reason: <r>` — AWS's wording.
pub fn invalid_value(parameter: &str, value: impl std::fmt::Display, reason: &str) -> JsonError {
    invalid_parameter(format!(
        "Value {value} for parameter {parameter} is invalid. Reason: {reason}"
    ))
}

pub fn missing_parameter(name: &str) -> JsonError {
    bad(
        "MissingParameter",
        "MissingParameter",
        format!("The request must contain the parameter {name}."),
    )
}

pub fn invalid_message_contents(c: char) -> JsonError {
    bad(
        "InvalidMessageContents",
        "InvalidMessageContents",
        format!(
            "Invalid binary character '#x{:X}' was found in the message body, the set of allowed characters is #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF",
            c as u32
        ),
    )
}

pub fn receipt_handle_invalid(handle: &str) -> JsonError {
    bad(
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        format!("The input receipt handle \"{handle}\" is not a valid receipt handle."),
    )
}

pub fn receipt_handle_stale() -> JsonError {
    bad(
        "ReceiptHandleIsInvalid",
        "ReceiptHandleIsInvalid",
        "The receipt handle has expired: the message was received again since.",
    )
}

pub fn message_not_inflight() -> JsonError {
    bad(
        "MessageNotInflight",
        "AWS.SimpleQueueService.MessageNotInflight",
        "The specified message isn't in flight.",
    )
}

pub fn empty_batch() -> JsonError {
    bad(
        "EmptyBatchRequest",
        "AWS.SimpleQueueService.EmptyBatchRequest",
        "There should be at least one entry in the request.",
    )
}

pub fn too_many_entries(n: usize) -> JsonError {
    bad(
        "TooManyEntriesInBatchRequest",
        "AWS.SimpleQueueService.TooManyEntriesInBatchRequest",
        format!("Maximum number of entries per request are 10. You have sent {n}."),
    )
}

pub fn ids_not_distinct(id: &str) -> JsonError {
    bad(
        "BatchEntryIdsNotDistinct",
        "AWS.SimpleQueueService.BatchEntryIdsNotDistinct",
        format!("Id {id} repeated."),
    )
}

pub fn invalid_batch_entry_id(id: &str) -> JsonError {
    bad(
        "InvalidBatchEntryId",
        "AWS.SimpleQueueService.InvalidBatchEntryId",
        format!(
            "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long. Got {id:?}."
        ),
    )
}

pub fn batch_too_long(bytes: usize, limit: usize) -> JsonError {
    bad(
        "BatchRequestTooLong",
        "AWS.SimpleQueueService.BatchRequestTooLong",
        format!("Batch requests cannot be longer than {limit} bytes. You have sent {bytes} bytes."),
    )
}

pub fn purge_in_progress(name: &str) -> JsonError {
    sender(
        StatusCode::FORBIDDEN,
        "PurgeQueueInProgress",
        "AWS.SimpleQueueService.PurgeQueueInProgress",
        format!("Only one PurgeQueue operation on {name} is allowed every 60 seconds."),
    )
}

pub fn unsupported(what: &str) -> JsonError {
    bad(
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        format!("{what} is not supported by this emulator."),
    )
}

pub fn unknown_operation(op: &str) -> JsonError {
    bad(
        "UnknownOperationException",
        "InvalidAction",
        format!("AmazonSQS.{op} is not an operation SQS knows."),
    )
}
