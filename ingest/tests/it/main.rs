//! The ingest crate's integration tests, one binary: each component against the embedded
//! AWS backend on 127.0.0.1:0 through real clients.

mod delivery;
mod gateway;
mod pipeline;
mod query;
