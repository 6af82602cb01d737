//! The telemetry pipeline under test: the gateway, delivery and query components, the
//! record envelope the gateway writes into Kinesis and delivery reads back, the storage
//! contract (`table`) delivery writes and the query service and the harness's ledger read,
//! and the series → partition-key function the harness uses to aim a canary at each shard.

pub mod aws;
pub mod certs;
pub mod config;
pub mod delivery;
pub mod envelope;
pub mod gateway;
pub mod keys;
pub mod table;

pub use envelope::{Envelope, Kind};
