//! Tests of the load side: the ledger's classification on hand-built rows, the
//! open-model scheduler and retries against axum stubs, the generated payloads through
//! the real gateway (in-process, embedded backend), the storage reader on objects written
//! by hand, and the probes against a stub query service.

mod audit;
mod catalog;
mod failover;
mod fixture;
mod gateway;
mod open_model;
mod probes;
mod storage;
