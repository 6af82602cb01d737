//! Conformance of the embedded backend, through the real AWS SDKs (and object_store's
//! S3 client) against the server on 127.0.0.1:0. One test binary for the crate.

mod common;
mod emulator;
mod kinesis;
mod kinesis_model;
mod object_store_s3;
mod s3;
mod sqs;
