//! The telemetry pipeline under test. Today: the record envelope that the gateway writes
//! into Kinesis and delivery reads back, and the series → partition-key function the
//! harness uses to aim a canary at each shard. The gateway, delivery and query
//! components build on these.

pub mod config;
pub mod envelope;
pub mod gateway;
pub mod keys;

pub use envelope::{Envelope, Kind};
