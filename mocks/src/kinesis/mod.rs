//! Kinesis Data Streams (awsJson1_1, `X-Amz-Target: Kinesis_20131202.*`): the control
//! plane (streams, shards, retention) and the data plane (PutRecord(s), iterators,
//! GetRecords) with AWS's per-shard limits and the shard-pause and throttle faults.
//!
//! Written for this project rather than wrapping ferrokinesis: the read limits, fault
//! hooks and the throughput/memory targets all sit on the hot path of the shard log.

mod control;
mod data;
mod errors;
mod iterator;
mod limits;
mod log;
mod seq;
mod store;

pub use log::{Log, RecordRef};
pub use seq::SeqNo;
pub use store::{hash_key, hash_ranges};

use crate::Ctx;
use crate::awsjson::{JsonError, Protocol};
use axum::response::Response;
use serde::Deserialize;
use std::sync::Arc;
use store::{Stream, Streams};

pub(crate) const PROTOCOL: Protocol = Protocol::Json11;

pub struct Kinesis {
    ctx: Ctx,
    streams: Streams,
}

/// Requests name a stream by `StreamName` or `StreamARN`.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct StreamRef {
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
}

impl Kinesis {
    pub fn new(ctx: Ctx) -> Self {
        Self {
            ctx,
            streams: Streams::default(),
        }
    }

    /// Serves one operation; `op` is the part of X-Amz-Target after the dot.
    pub fn handle(&self, op: &str, body: &[u8]) -> Response {
        let result = match op {
            "CreateStream" => self.create_stream(body),
            "DeleteStream" => self.delete_stream(body),
            "DescribeStream" => self.describe_stream(body),
            "DescribeStreamSummary" => self.describe_stream_summary(body),
            "ListStreams" => self.list_streams(body),
            "ListShards" => self.list_shards(body),
            "IncreaseStreamRetentionPeriod" => self.change_retention(body, true),
            "DecreaseStreamRetentionPeriod" => self.change_retention(body, false),
            "DescribeLimits" => self.describe_limits(),
            "PutRecord" => self.put_record(body),
            "PutRecords" => self.put_records(body),
            "GetShardIterator" => self.get_shard_iterator(body),
            "GetRecords" => self.get_records(body),
            other => Err(JsonError::bad_request(
                "UnknownOperationException",
                format!("Kinesis_20131202.{other} is not an operation this emulator serves"),
            )),
        };
        match result {
            Ok(resp) => resp,
            Err(e) => {
                self.ctx.counters.incr(&format!("kinesis.error.{}", e.code));
                e.into_response(PROTOCOL)
            }
        }
    }

    fn account(&self) -> &str {
        &self.ctx.config.account_id
    }

    fn stream_arn(&self, name: &str) -> String {
        format!(
            "arn:aws:kinesis:{}:{}:stream/{name}",
            self.ctx.config.region,
            self.account()
        )
    }

    /// The stream a request names, or AWS's errors for a bad or unknown name.
    pub(crate) fn resolve(&self, r: &StreamRef) -> Result<Arc<Stream>, JsonError> {
        let name = match (&r.stream_name, &r.stream_arn) {
            (Some(n), _) => n.as_str(),
            (None, Some(arn)) => arn.rsplit_once("stream/").map(|(_, n)| n).ok_or_else(|| {
                errors::validation(
                    "streamARN",
                    arn,
                    "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
                )
            })?,
            (None, None) => {
                return Err(errors::invalid_argument(
                    "Either StreamName or StreamARN should be provided.",
                ));
            }
        };
        errors::check_stream_name(name)?;
        self.streams
            .get(name)
            .ok_or_else(|| errors::stream_not_found(name, self.account()))
    }

    pub fn health(&self) -> serde_json::Value {
        let streams = self.streams.all();
        let (mut records, mut bytes, mut shards) = (0u64, 0u64, 0usize);
        for s in &streams {
            shards += s.shards.len();
            for sh in &s.shards {
                let st = sh.state.lock();
                records += st.log.len() as u64;
                bytes += st.log.retained_bytes();
            }
        }
        serde_json::json!({
            "streams": streams.len(),
            "shards": shards,
            "records_retained": records,
            "bytes_retained": bytes,
        })
    }
}
