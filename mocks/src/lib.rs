//! The embedded AWS backend (`gameday emulate`): wire-compatible Kinesis, S3 and SQS
//! servers behind one HTTP port, with AWS's own limits and fault hooks.
//!
//! Unmodified AWS SDKs and the AWS CLI talk to it (`AWS_ENDPOINT_URL=http://127.0.0.1:4566`).
//! The service is chosen per request: `X-Amz-Target: Kinesis_20131202.*` is Kinesis
//! (awsJson1_1), `X-Amz-Target: AmazonSQS.*` is SQS (awsJson1_0), everything else is S3
//! (restXml, via s3s). `GET /_gameday/health` (and LocalStack's `/_localstack/health`)
//! report state and counters.
//!
//! Embedding: [`Emulator::new`] builds the state, [`router`] is the axum app and [`run`]
//! serves it on a listener until a shutdown future resolves. Tests bind `127.0.0.1:0`.

pub mod auth;
pub mod awsjson;
pub mod clock;
pub mod config;
pub mod counters;
pub mod ctx;
pub mod faults;
mod health;
pub mod kinesis;
pub mod s3;
mod server;
pub mod sqs;

pub use clock::Clock;
pub use config::{Credentials, EmulatorConfig, KinesisLimits};
pub use counters::Counters;
pub use ctx::Ctx;
pub use faults::{Delay, FailCode, Fault, FaultId, Faults, PauseMode, Service};
pub use server::{Emulator, RunningEmulator, router, run};
