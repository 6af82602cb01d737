//! Gateway integration tests: real HTTPS and gRPC clients against the gateway on
//! 127.0.0.1:0 with the embedded AWS backend; what is acknowledged is read back from
//! Kinesis (GetRecords on every shard) and compared item by item.

mod auth;
mod backpressure;
mod common;
mod edges;
mod events;
mod hygiene;
mod otlp;
mod packing;
mod quota;
mod remote_write;
mod rw;
mod shutdown;
