//! Kinesis through aws-sdk-kinesis: every operation, its errors, AWS's limits and the
//! shard faults. Shared helpers here; tests by theme in the submodules.

mod faults;
mod limits;
mod records;
mod streams;

use aws_sdk_kinesis::Client;
use aws_sdk_kinesis::primitives::Blob;
use aws_sdk_kinesis::types::{PutRecordsRequestEntry, ShardIteratorType};

pub fn entry(data: &[u8], key: &str) -> PutRecordsRequestEntry {
    PutRecordsRequestEntry::builder()
        .data(Blob::new(data))
        .partition_key(key)
        .build()
        .expect("entry has data and key")
}

pub async fn create(k: &Client, name: &str, shards: i32) {
    k.create_stream()
        .stream_name(name)
        .shard_count(shards)
        .send()
        .await
        .expect("create stream");
}

pub async fn iterator(k: &Client, stream: &str, shard: &str, ty: ShardIteratorType) -> String {
    k.get_shard_iterator()
        .stream_name(stream)
        .shard_id(shard)
        .shard_iterator_type(ty)
        .send()
        .await
        .expect("iterator")
        .shard_iterator()
        .expect("iterator present")
        .to_string()
}

/// Every record of a shard from TRIM_HORIZON, as (partition key, data).
pub async fn drain(k: &Client, stream: &str, shard: &str) -> Vec<(String, Vec<u8>)> {
    let mut it = iterator(k, stream, shard, ShardIteratorType::TrimHorizon).await;
    let mut out = Vec::new();
    loop {
        let r = k
            .get_records()
            .shard_iterator(&it)
            .send()
            .await
            .expect("get records");
        if r.records().is_empty() {
            return out;
        }
        out.extend(r.records().iter().map(|x| {
            (
                x.partition_key().unwrap_or_default().to_string(),
                x.data().as_ref().to_vec(),
            )
        }));
        it = r
            .next_shard_iterator()
            .expect("open shard has a next iterator")
            .to_string();
    }
}
