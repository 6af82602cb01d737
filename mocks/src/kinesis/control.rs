//! The control plane: streams, shards and retention. Streams are ACTIVE as soon as
//! CreateStream returns (AWS takes seconds; callers that poll for ACTIVE still work).

use super::errors::{check_stream_name, invalid_argument, stream_exists, validation};
use super::store::{CreateError, Shard, Stream};
use super::{Kinesis, PROTOCOL, StreamRef};
use crate::awsjson::{self, JsonError};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::atomic::Ordering;

const MAX_SHARDS_PER_STREAM: i64 = 500;
const ON_DEMAND_SHARDS: u32 = 4;

fn seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

fn mode(stream: &Stream) -> Value {
    json!({"StreamMode": if stream.on_demand { "ON_DEMAND" } else { "PROVISIONED" }})
}

fn shard_json(stream: &Stream, shard: &Shard) -> Value {
    json!({
        "ShardId": shard.id,
        "HashKeyRange": {
            "StartingHashKey": shard.hash_start.to_string(),
            "EndingHashKey": shard.hash_end.to_string(),
        },
        "SequenceNumberRange": {"StartingSequenceNumber": stream.starting_seq(shard).render()},
    })
}

fn limit_in(field: &str, value: Option<i64>, default: i64, max: i64) -> Result<usize, JsonError> {
    let v = value.unwrap_or(default);
    if v < 1 || v > max {
        return Err(validation(
            field,
            &v.to_string(),
            &format!("Member must have value between 1 and {max}"),
        ));
    }
    Ok(v as usize)
}

impl Kinesis {
    pub(super) fn create_stream(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            stream_name: String,
            shard_count: Option<i64>,
            stream_mode_details: Option<ModeDetails>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct ModeDetails {
            stream_mode: String,
        }
        let input: Input = awsjson::parse(body)?;
        check_stream_name(&input.stream_name)?;
        let on_demand = match input
            .stream_mode_details
            .as_ref()
            .map(|m| m.stream_mode.as_str())
        {
            None | Some("PROVISIONED") => false,
            Some("ON_DEMAND") => true,
            Some(other) => {
                return Err(validation(
                    "streamModeDetails.streamMode",
                    other,
                    "Member must satisfy enum value set: [ON_DEMAND, PROVISIONED]",
                ));
            }
        };
        let shards = match (input.shard_count, on_demand) {
            (Some(n), false) if n < 1 => {
                return Err(validation(
                    "shardCount",
                    &n.to_string(),
                    "Member must have value greater than or equal to 1",
                ));
            }
            (Some(n), false) if n > MAX_SHARDS_PER_STREAM => {
                return Err(JsonError::bad_request(
                    "LimitExceededException",
                    format!(
                        "This request would exceed the shard limit for the account {} in {}. Current shard count for the account: 0. Limit: {MAX_SHARDS_PER_STREAM}.",
                        self.account(),
                        self.ctx.config.region
                    ),
                ));
            }
            (Some(n), false) => n as u32,
            (None, false) => {
                return Err(invalid_argument(
                    "ShardCount is required for a PROVISIONED stream.",
                ));
            }
            (_, true) => ON_DEMAND_SHARDS,
        };
        let arn = self.stream_arn(&input.stream_name);
        let now = self.ctx.clock.now_ms();
        match self.streams.create(
            &input.stream_name,
            arn,
            shards,
            on_demand,
            &self.ctx.config.kinesis,
            now,
        ) {
            Ok(_) => Ok(awsjson::ok(PROTOCOL, &json!({}))),
            Err(CreateError::Exists) => Err(stream_exists(&input.stream_name, self.account())),
        }
    }

    pub(super) fn delete_stream(&self, body: &[u8]) -> Result<Response, JsonError> {
        let r: StreamRef = awsjson::parse(body)?;
        let stream = self.resolve(&r)?;
        self.streams.delete(&stream.name);
        Ok(awsjson::ok(PROTOCOL, &json!({})))
    }

    pub(super) fn describe_stream(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            #[serde(flatten)]
            stream: StreamRef,
            limit: Option<i64>,
            exclusive_start_shard_id: Option<String>,
        }
        let input: Input = awsjson::parse(body)?;
        let stream = self.resolve(&input.stream)?;
        let limit = limit_in("limit", input.limit, 100, 10_000)?;
        let after = input
            .exclusive_start_shard_id
            .as_deref()
            .and_then(Shard::index_of);
        let remaining: Vec<&Shard> = stream
            .shards
            .iter()
            .filter(|s| after.is_none_or(|a| s.index > a))
            .collect();
        let shards: Vec<Value> = remaining
            .iter()
            .take(limit)
            .map(|s| shard_json(&stream, s))
            .collect();
        Ok(awsjson::ok(
            PROTOCOL,
            &json!({"StreamDescription": {
                "StreamName": stream.name,
                "StreamARN": stream.arn,
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": mode(&stream),
                "Shards": shards,
                "HasMoreShards": remaining.len() > limit,
                "RetentionPeriodHours": stream.retention_hours.load(Ordering::Relaxed),
                "StreamCreationTimestamp": seconds(stream.created_ms),
                "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
                "EncryptionType": "NONE",
            }}),
        ))
    }

    pub(super) fn describe_stream_summary(&self, body: &[u8]) -> Result<Response, JsonError> {
        let r: StreamRef = awsjson::parse(body)?;
        let stream = self.resolve(&r)?;
        Ok(awsjson::ok(
            PROTOCOL,
            &json!({"StreamDescriptionSummary": {
                "StreamName": stream.name,
                "StreamARN": stream.arn,
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": mode(&stream),
                "RetentionPeriodHours": stream.retention_hours.load(Ordering::Relaxed),
                "StreamCreationTimestamp": seconds(stream.created_ms),
                "EnhancedMonitoring": [{"ShardLevelMetrics": []}],
                "EncryptionType": "NONE",
                "OpenShardCount": stream.shards.len(),
                "ConsumerCount": 0,
            }}),
        ))
    }

    pub(super) fn list_streams(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            limit: Option<i64>,
            exclusive_start_stream_name: Option<String>,
            next_token: Option<String>,
        }
        let input: Input = awsjson::parse(body)?;
        let limit = limit_in("limit", input.limit, 100, 10_000)?;
        let after = match input.next_token.as_deref() {
            Some(t) => Some(decode_token(t)?),
            None => input.exclusive_start_stream_name,
        };
        let all: Vec<_> = self
            .streams
            .all()
            .into_iter()
            .filter(|s| after.as_deref().is_none_or(|a| s.name.as_str() > a))
            .collect();
        let page = &all[..all.len().min(limit)];
        let more = all.len() > page.len();
        let mut out = json!({
            "StreamNames": page.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "HasMoreStreams": more,
            "StreamSummaries": page.iter().map(|s| json!({
                "StreamName": s.name,
                "StreamARN": s.arn,
                "StreamStatus": "ACTIVE",
                "StreamModeDetails": mode(s),
                "StreamCreationTimestamp": seconds(s.created_ms),
            })).collect::<Vec<_>>(),
        });
        if more && let Some(last) = page.last() {
            out["NextToken"] = json!(encode_token(&last.name));
        }
        Ok(awsjson::ok(PROTOCOL, &out))
    }

    pub(super) fn list_shards(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            #[serde(flatten)]
            stream: StreamRef,
            next_token: Option<String>,
            exclusive_start_shard_id: Option<String>,
            max_results: Option<i64>,
        }
        let input: Input = awsjson::parse(body)?;
        let max = limit_in("maxResults", input.max_results, 1000, 10_000)?;
        let (stream, after) = match &input.next_token {
            Some(token) => {
                if input.stream.stream_name.is_some() || input.stream.stream_arn.is_some() {
                    return Err(invalid_argument(
                        "NextToken and StreamName cannot be provided together.",
                    ));
                }
                let decoded = decode_token(token)?;
                let (name, last) = decoded
                    .split_once('|')
                    .ok_or_else(|| invalid_argument("Invalid NextToken."))?;
                let r = StreamRef {
                    stream_name: Some(name.to_string()),
                    stream_arn: None,
                };
                (self.resolve(&r)?, last.parse::<u32>().ok())
            }
            None => (
                self.resolve(&input.stream)?,
                input
                    .exclusive_start_shard_id
                    .as_deref()
                    .and_then(Shard::index_of),
            ),
        };
        let remaining: Vec<&Shard> = stream
            .shards
            .iter()
            .filter(|s| after.is_none_or(|a| s.index > a))
            .collect();
        let page = &remaining[..remaining.len().min(max)];
        let mut out = json!({
            "Shards": page.iter().map(|s| shard_json(&stream, s)).collect::<Vec<_>>(),
        });
        if remaining.len() > page.len()
            && let Some(last) = page.last()
        {
            out["NextToken"] = json!(encode_token(&format!("{}|{}", stream.name, last.index)));
        }
        Ok(awsjson::ok(PROTOCOL, &out))
    }

    pub(super) fn change_retention(
        &self,
        body: &[u8],
        increase: bool,
    ) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            #[serde(flatten)]
            stream: StreamRef,
            retention_period_hours: i64,
        }
        let input: Input = awsjson::parse(body)?;
        let stream = self.resolve(&input.stream)?;
        let hours = input.retention_period_hours;
        if !(24..=8760).contains(&hours) {
            return Err(validation(
                "retentionPeriodHours",
                &hours.to_string(),
                "Member must have value between 24 and 8760",
            ));
        }
        let current = stream.retention_hours.load(Ordering::Relaxed) as i64;
        if increase && hours < current {
            return Err(invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.",
                stream.name
            )));
        }
        if !increase && hours > current {
            return Err(invalid_argument(format!(
                "Requested retention period ({hours} hours) for stream {} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.",
                stream.name
            )));
        }
        stream
            .retention_hours
            .store(hours as u32, Ordering::Relaxed);
        Ok(awsjson::ok(PROTOCOL, &json!({})))
    }

    pub(super) fn describe_limits(&self) -> Result<Response, JsonError> {
        let open: usize = self.streams.all().iter().map(|s| s.shards.len()).sum();
        Ok(awsjson::ok(
            PROTOCOL,
            &json!({
                "ShardLimit": MAX_SHARDS_PER_STREAM,
                "OpenShardCount": open,
                "OnDemandStreamCount": self.streams.all().iter().filter(|s| s.on_demand).count(),
                "OnDemandStreamCountLimit": 50,
            }),
        ))
    }
}

fn encode_token(s: &str) -> String {
    STANDARD.encode(s)
}

fn decode_token(t: &str) -> Result<String, JsonError> {
    STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_argument("Invalid NextToken."))
}
