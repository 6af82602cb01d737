//! Delivery integration tests: workers in-process against the embedded backend on
//! 127.0.0.1:0; what they commit is read back by an independent reader (lease heads →
//! commit chain → Parquet) and compared item by item with what was put into Kinesis.

mod balance;
mod checkpoint;
pub(crate) mod common;
mod crash;
pub(crate) mod envelopes;
mod errors;
mod fencing;
mod reader;
mod roundtrip;
mod slow_s3;
mod sweeper;
