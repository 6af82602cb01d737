//! The data plane: PutRecord(s), GetShardIterator, GetRecords. Hot paths parse with
//! borrowed strings, decode into one scratch buffer, take each shard's lock once per
//! request and write their JSON answers by hand.

use super::errors::{
    expired_iterator, invalid_argument, shard_not_found, throughput_exceeded, throughput_message,
    validation,
};
use super::iterator::{self, Iterator};
use super::seq::SeqNo;
use super::store::{Stream, hash_key};
use super::{Kinesis, PROTOCOL, StreamRef};
use crate::awsjson::{self, JsonError};
use crate::faults::Service;
use axum::response::Response;
use http::StatusCode;
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

const MAX_PARTITION_KEY: usize = 256;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutEntry<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    #[serde(borrow)]
    partition_key: Cow<'a, str>,
    #[serde(borrow, default)]
    explicit_hash_key: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsInput<'a> {
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
    #[serde(borrow)]
    records: Vec<PutEntry<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordInput<'a> {
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
    #[serde(borrow, flatten)]
    entry: PutEntry<'a>,
}

/// A validated record waiting for its shard: payload in the request's scratch buffer.
struct Pending<'a> {
    start: usize,
    len: usize,
    partition_key: &'a str,
    shard: usize,
}

/// Why a record of a PutRecords was refused.
#[derive(Clone, Copy)]
enum Refusal {
    Paused,
    Throttled,
    RecordsLimit,
    BytesLimit,
}

type WriteResult = Result<SeqNo, Refusal>;

impl Kinesis {
    pub(super) fn put_records(&self, body: &[u8]) -> Result<Response, JsonError> {
        let input: PutRecordsInput = awsjson::parse(body)?;
        let stream = self.resolve(&StreamRef {
            stream_name: input.stream_name,
            stream_arn: input.stream_arn,
        })?;
        let limits = &self.ctx.config.kinesis;
        let n = input.records.len();
        if n == 0 {
            return Err(validation(
                "records",
                "[]",
                "Member must have length greater than or equal to 1",
            ));
        }
        if n > limits.put_records_max_records {
            return Err(validation(
                "records",
                &format!("[{n} records]"),
                &format!(
                    "Member must have length less than or equal to {}",
                    limits.put_records_max_records
                ),
            ));
        }
        let mut scratch = Vec::with_capacity(body.len() * 3 / 4);
        let pending = self.decode_entries(&stream, &input.records, &mut scratch)?;
        let results = self.write(&stream, &pending, &scratch, "PutRecords");
        let failed = results.iter().filter(|r| r.is_err()).count();
        let mut out = String::with_capacity(64 + n * 110);
        let _ = write!(out, "{{\"FailedRecordCount\":{failed},\"Records\":[");
        for (i, (r, p)) in results.iter().zip(&pending).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let shard_id = &stream.shards[p.shard].id;
            match r {
                Ok(seq) => {
                    out.push_str("{\"SequenceNumber\":\"");
                    seq.write_to(&mut out);
                    out.push_str("\",\"ShardId\":\"");
                    out.push_str(shard_id);
                    out.push_str("\"}");
                }
                Err(_) => {
                    let _ = write!(
                        out,
                        "{{\"ErrorCode\":\"ProvisionedThroughputExceededException\",\"ErrorMessage\":\"{}\"}}",
                        throughput_message(shard_id, &stream.name, self.account())
                    );
                }
            }
        }
        out.push_str("],\"EncryptionType\":\"NONE\"}");
        Ok(awsjson::raw(PROTOCOL, StatusCode::OK, out))
    }

    pub(super) fn put_record(&self, body: &[u8]) -> Result<Response, JsonError> {
        let input: PutRecordInput = awsjson::parse(body)?;
        let stream = self.resolve(&StreamRef {
            stream_name: input.stream_name,
            stream_arn: input.stream_arn,
        })?;
        let mut scratch = Vec::new();
        let pending =
            self.decode_entries(&stream, std::slice::from_ref(&input.entry), &mut scratch)?;
        let shard_id = &stream.shards[pending[0].shard].id;
        match self.write(&stream, &pending, &scratch, "PutRecord")[0] {
            Ok(seq) => Ok(awsjson::ok(
                PROTOCOL,
                &serde_json::json!({
                    "ShardId": shard_id,
                    "SequenceNumber": seq.render(),
                    "EncryptionType": "NONE",
                }),
            )),
            Err(_) => Err(throughput_exceeded(throughput_message(
                shard_id,
                &stream.name,
                self.account(),
            ))),
        }
    }

    /// Validates and decodes every entry before anything is written, as AWS refuses a
    /// PutRecords whole when any record is malformed.
    fn decode_entries<'a>(
        &self,
        stream: &Stream,
        entries: &'a [PutEntry<'a>],
        scratch: &mut Vec<u8>,
    ) -> Result<Vec<Pending<'a>>, JsonError> {
        let limits = &self.ctx.config.kinesis;
        let mut total = 0u64;
        let mut pending = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let key_len = e.partition_key.len();
            if key_len == 0 || key_len > MAX_PARTITION_KEY {
                return Err(validation(
                    &format!("records.{}.member.partitionKey", i + 1),
                    &e.partition_key,
                    "Member must have length between 1 and 256",
                ));
            }
            let start = scratch.len();
            base64_simd::STANDARD
                .decode_append(e.data.as_bytes(), scratch)
                .map_err(|_| {
                    JsonError::bad_request(
                        "SerializationException",
                        format!("records.{}.member.data is not valid base64", i + 1),
                    )
                })?;
            let len = scratch.len() - start;
            if len as u64 > limits.max_record_bytes {
                return Err(validation(
                    &format!("records.{}.member.data", i + 1),
                    &format!("<{len} bytes>"),
                    &format!(
                        "Member must have length less than or equal to {}",
                        limits.max_record_bytes
                    ),
                ));
            }
            total += (len + key_len) as u64;
            let hash = match &e.explicit_hash_key {
                // AWS validates the pattern first (ValidationException), then the range
                // (InvalidArgumentException): Kinesis API reference, PutRecord,
                // ExplicitHashKey "Pattern: 0|([1-9]\d{0,38})".
                Some(k) if !explicit_hash_key_pattern(k) => {
                    return Err(validation(
                        &format!("records.{}.member.explicitHashKey", i + 1),
                        k,
                        "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
                    ));
                }
                Some(k) => k.parse::<u128>().map_err(|_| {
                    invalid_argument(format!(
                        "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {k}"
                    ))
                })?,
                None => hash_key(e.partition_key.as_bytes()),
            };
            pending.push(Pending {
                start,
                len,
                partition_key: &e.partition_key,
                shard: stream.shard_for_hash(hash).index as usize,
            });
        }
        if total > limits.put_records_max_bytes {
            return Err(invalid_argument(format!(
                "Records size exceeds {} MB limit",
                limits.put_records_max_bytes >> 20
            )));
        }
        Ok(pending)
    }

    /// Appends records shard by shard (one lock per shard), keeping request order in the
    /// results, and applies pauses, injected throttling and the per-shard write limits.
    fn write(
        &self,
        stream: &Stream,
        pending: &[Pending],
        scratch: &[u8],
        op: &str,
    ) -> Vec<WriteResult> {
        let limits = &self.ctx.config.kinesis;
        let faults = &self.ctx.faults;
        let mut results: Vec<WriteResult> = vec![Err(Refusal::Throttled); pending.len()];
        let mut shards: Vec<usize> = pending.iter().map(|p| p.shard).collect();
        shards.sort_unstable();
        shards.dedup();
        let (mut written, mut paused, mut rec_limit, mut byte_limit) = (0u64, 0u64, 0u64, 0u64);
        for shard_no in shards {
            let shard = &stream.shards[shard_no];
            let pause = faults.shard_pause(&stream.name, &shard.id);
            let mut st = shard.state.lock();
            let now = self.ctx.clock.now_ms();
            st.log.trim_before(now - stream.retention_ms());
            for (i, p) in pending
                .iter()
                .enumerate()
                .filter(|(_, p)| p.shard == shard_no)
            {
                let bytes = (p.len + p.partition_key.len()) as f64;
                results[i] = if pause.is_some_and(|m| m.blocks_writes()) {
                    paused += 1;
                    Err(Refusal::Paused)
                } else if faults.roll_throttle(Service::Kinesis, op) {
                    Err(Refusal::Throttled)
                } else if limits.enabled && !st.write_records.try_take(1.0, now) {
                    rec_limit += 1;
                    Err(Refusal::RecordsLimit)
                } else if limits.enabled && !st.write_bytes.try_take(bytes, now) {
                    st.write_records.charge(-1.0, now);
                    byte_limit += 1;
                    Err(Refusal::BytesLimit)
                } else {
                    written += 1;
                    let data = &scratch[p.start..p.start + p.len];
                    let index = st.log.append(data, p.partition_key.as_bytes(), now);
                    Ok(SeqNo {
                        generation: stream.generation,
                        shard: shard.index,
                        index,
                    })
                };
            }
        }
        let c = &self.ctx.counters;
        c.add("kinesis.records.written", written);
        c.add("kinesis.limit.shard_write_records", rec_limit);
        c.add("kinesis.limit.shard_write_bytes", byte_limit);
        faults.count_pause_hit(Service::Kinesis, paused);
        results
    }

    pub(super) fn get_shard_iterator(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            #[serde(flatten)]
            stream: StreamRef,
            shard_id: String,
            shard_iterator_type: String,
            starting_sequence_number: Option<String>,
            timestamp: Option<f64>,
        }
        let input: Input = awsjson::parse(body)?;
        let stream = self.resolve(&input.stream)?;
        let shard = stream
            .shard(&input.shard_id)
            .ok_or_else(|| shard_not_found(&input.shard_id, &stream.name, self.account()))?;
        let now = self.ctx.clock.now_ms();
        let mut st = shard.state.lock();
        st.log.trim_before(now - stream.retention_ms());
        let log = &st.log;
        let seq_arg = || {
            let s = input.starting_sequence_number.as_deref().ok_or_else(|| {
                invalid_argument(format!(
                    "StartingSequenceNumber must be provided for ShardIteratorType {}",
                    input.shard_iterator_type
                ))
            })?;
            let seq = SeqNo::parse(s).ok_or_else(|| {
                invalid_argument(format!(
                    "StartingSequenceNumber {s} is not a valid sequence number"
                ))
            })?;
            if seq.generation != stream.generation || seq.shard != shard.index {
                return Err(invalid_argument(format!(
                    "Invalid StartingSequenceNumber. It did not come from shard {} of stream {}",
                    shard.id, stream.name
                )));
            }
            if seq.index >= log.end() {
                return Err(invalid_argument(format!(
                    "StartingSequenceNumber {s} used in GetShardIterator on shard {} in stream {} is beyond the end of the shard",
                    shard.id, stream.name
                )));
            }
            Ok(seq.index)
        };
        let position = match input.shard_iterator_type.as_str() {
            "TRIM_HORIZON" => log.start(),
            "LATEST" => log.end(),
            "AT_SEQUENCE_NUMBER" => seq_arg()?.max(log.start()),
            "AFTER_SEQUENCE_NUMBER" => (seq_arg()? + 1).max(log.start()),
            "AT_TIMESTAMP" => {
                let ts = input.timestamp.ok_or_else(|| {
                    invalid_argument(
                        "Timestamp must be provided for ShardIteratorType AT_TIMESTAMP",
                    )
                })?;
                log.index_at_time((ts * 1000.0).round() as i64)
            }
            other => {
                return Err(validation(
                    "shardIteratorType",
                    other,
                    "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
                ));
            }
        };
        let it = Iterator {
            stream: stream.name.clone(),
            generation: stream.generation,
            shard: shard.index,
            position,
            issued_ms: now,
        };
        Ok(awsjson::ok(
            PROTOCOL,
            &serde_json::json!({"ShardIterator": it.encode()}),
        ))
    }

    fn iterator_stream(&self, it: &Iterator) -> Result<Arc<Stream>, JsonError> {
        self.streams
            .get(&it.stream)
            .filter(|s| s.generation == it.generation)
            .ok_or_else(|| super::errors::stream_not_found(&it.stream, self.account()))
    }

    pub(super) fn get_records(&self, body: &[u8]) -> Result<Response, JsonError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase")]
        struct Input {
            shard_iterator: String,
            limit: Option<i64>,
        }
        let input: Input = awsjson::parse(body)?;
        let limits = &self.ctx.config.kinesis;
        let max_records = limits.get_records_max_records;
        let limit = match input.limit {
            None => max_records,
            Some(l) if l >= 1 && l as usize <= max_records => l as usize,
            Some(l) => {
                return Err(validation(
                    "limit",
                    &l.to_string(),
                    &format!("Member must have value between 1 and {max_records}"),
                ));
            }
        };
        let it = Iterator::decode(&input.shard_iterator)
            .ok_or_else(|| invalid_argument("Invalid ShardIterator."))?;
        let now = self.ctx.clock.now_ms();
        if now - it.issued_ms > iterator::VALIDITY_MS {
            return Err(expired_iterator(it.issued_ms, now));
        }
        let stream = self.iterator_stream(&it)?;
        let shard = stream
            .shards
            .get(it.shard as usize)
            .ok_or_else(|| invalid_argument("Invalid ShardIterator."))?;
        let pause = self.ctx.faults.shard_pause(&stream.name, &shard.id);
        let mut st = shard.state.lock();
        st.log.trim_before(now - stream.retention_ms());
        let throttled = |what: &str| {
            self.ctx.counters.incr(what);
            throughput_exceeded(throughput_message(&shard.id, &stream.name, self.account()))
        };
        if limits.enabled && !st.read_calls.try_take(1.0, now) {
            return Err(throttled("kinesis.limit.shard_read_calls"));
        }
        if limits.enabled && !st.read_bytes.has_credit(now) {
            return Err(throttled("kinesis.limit.shard_read_bytes"));
        }
        if self
            .ctx
            .faults
            .roll_throttle(Service::Kinesis, "GetRecords")
        {
            return Err(throughput_exceeded(throughput_message(
                &shard.id,
                &stream.name,
                self.account(),
            )));
        }
        let start = it.position.max(st.log.start());
        let mut out = String::with_capacity(4096);
        out.push_str("{\"Records\":[");
        let mut next = start;
        let mut bytes = 0u64;
        if pause.is_some_and(|m| m.blocks_reads()) {
            self.ctx.faults.count_pause_hit(Service::Kinesis, 1);
        } else {
            let end = st.log.end();
            while next < end && ((next - start) as usize) < limit {
                let Some(r) = st.log.get(next) else { break };
                let size = (r.data.len() + r.partition_key.len()) as u64;
                if next > start && bytes + size > limits.get_records_max_bytes {
                    break;
                }
                if next > start {
                    out.push(',');
                }
                bytes += size;
                write_record(
                    &mut out,
                    &r,
                    &SeqNo {
                        generation: stream.generation,
                        shard: shard.index,
                        index: next,
                    },
                );
                next += 1;
            }
        }
        if limits.enabled {
            st.read_bytes.charge(bytes as f64, now);
        }
        let behind = match st.log.get(next) {
            Some(r) => (now - r.arrival_ms).max(0),
            None => 0,
        };
        drop(st);
        self.ctx.counters.add("kinesis.records.read", next - start);
        let next_it = Iterator {
            position: next,
            issued_ms: now,
            ..it
        };
        let _ = write!(
            out,
            "],\"NextShardIterator\":\"{}\",\"MillisBehindLatest\":{behind}}}",
            next_it.encode()
        );
        Ok(awsjson::raw(PROTOCOL, StatusCode::OK, out))
    }
}

fn write_record(out: &mut String, r: &super::RecordRef, seq: &SeqNo) {
    out.push_str("{\"SequenceNumber\":\"");
    seq.write_to(out);
    let mut num = itoa::Buffer::new();
    out.push_str("\",\"ApproximateArrivalTimestamp\":");
    out.push_str(num.format(r.arrival_ms.div_euclid(1000)));
    let millis = r.arrival_ms.rem_euclid(1000) as u16;
    out.push('.');
    out.push(char::from(b'0' + (millis / 100) as u8));
    out.push(char::from(b'0' + (millis / 10 % 10) as u8));
    out.push(char::from(b'0' + (millis % 10) as u8));
    out.push_str(",\"Data\":\"");
    base64_simd::STANDARD.encode_append(r.data, out);
    out.push_str("\",\"PartitionKey\":");
    push_json_string(out, r.partition_key);
    out.push('}');
}

/// Appends `bytes` (UTF-8, from a JSON request) as a JSON string literal.
fn push_json_string(out: &mut String, bytes: &[u8]) {
    let s = String::from_utf8_lossy(bytes);
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(&s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(&*s).unwrap_or_else(|_| "\"\"".into()));
    }
}

/// `0|([1-9]\d{0,38})`: a decimal without leading zeros, at most 39 digits.
fn explicit_hash_key_pattern(k: &str) -> bool {
    k == "0"
        || (!k.is_empty()
            && k.len() <= 39
            && !k.starts_with('0')
            && k.bytes().all(|b| b.is_ascii_digit()))
}
