//! From accepted items to Kinesis: aggregation into envelopes per partition key, and a
//! writer that puts them with bounded concurrency, retrying partial failures with
//! jittered backoff inside a deadline.

pub mod aggregate;
pub mod kinesis;
pub mod writer;

pub use aggregate::{Record, aggregate_events, aggregate_samples};
pub use kinesis::{KinesisSink, PutOutcome, RecordSink, SinkError};
pub use writer::{WriteError, Writer};
