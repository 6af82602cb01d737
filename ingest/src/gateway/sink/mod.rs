//! From accepted items to Kinesis: aggregation into envelopes per shard (`shards`) or per
//! partition key, and a writer that puts them with bounded concurrency, retrying partial
//! failures with jittered backoff inside a deadline.

pub mod aggregate;
pub mod kinesis;
pub mod shards;
pub mod writer;

pub use aggregate::{Packing, Record, aggregate_events, aggregate_samples};
pub use kinesis::{KinesisSink, PutOutcome, RecordSink, SinkError};
pub use shards::ShardMap;
pub use writer::{AckThenDrop, WriteError, Writer};
