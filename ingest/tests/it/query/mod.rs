//! Query service integration tests: the embedded backend on 127.0.0.1:0, the wiring
//! (bucket → S3 notifications → SQS with a DLQ), a fixture committing like delivery, and
//! the service answering over HTTP.

mod catalog;
mod dashboards;
pub(crate) mod fixture;
mod limits;
mod partials;
mod results;
mod tenancy;
