//! Aggregation: the items of one request grouped into envelopes (many items per Kinesis
//! record, like the KPL), each kept under the record size target. Items are grouped by
//! partition key, then — with the stream's shard map (`shards`) — the keys that land on
//! the same shard are merged into one envelope put under the first of those keys, which
//! hashes to that shard like every other key in it. Inside an envelope items keep their
//! keys' order and, per key, the request's order.

use crate::envelope::{Envelope, Event, Kind};
use crate::keys::{event_partition_key, fingerprint_partition_key, shard_for};
use std::collections::BTreeMap;

/// One Kinesis record to put, with how many items it carries.
#[derive(Debug, Clone)]
pub struct Record {
    pub partition_key: String,
    pub data: bytes::Bytes,
    pub items: usize,
}

fn seal(mut env: Envelope, key: &str, max_bytes: usize, out: &mut Vec<Record>) {
    // Split by encoded (uncompressed) size: a safe upper bound for the record.
    if env.len() > 1 && prost::Message::encoded_len(&env) > max_bytes {
        let half_s = env.samples.len() / 2;
        let half_e = env.events.len() / 2;
        let mut other = env.clone();
        other.samples = env.samples.split_off(half_s);
        other.events = env.events.split_off(half_e);
        seal(env, key, max_bytes, out);
        seal(other, key, max_bytes, out);
        return;
    }
    out.push(Record {
        partition_key: key.to_string(),
        items: env.len(),
        data: env.encode_record().into(),
    });
}

/// A series with its fingerprint, computed once by the caller.
pub type Fingerprinted = (u64, crate::gateway::inputs::Series);

/// How records are put together: the size target, and the open shards' hash-key ranges
/// when known (`None`: one envelope per partition key).
#[derive(Debug, Clone, Copy)]
pub struct Packing<'a> {
    pub max_record_bytes: usize,
    pub shards: Option<&'a [(u128, u128)]>,
}

/// Groups items by partition key into envelopes of one tenant and kind, merges the keys
/// of one shard when the shards are known, then seals them.
fn group<T>(
    items: impl IntoIterator<Item = (String, T)>,
    template: Envelope,
    packing: Packing<'_>,
    mut add: impl FnMut(&mut Envelope, T),
) -> Vec<Record> {
    let mut by_key: BTreeMap<String, Envelope> = BTreeMap::new();
    for (key, item) in items {
        add(by_key.entry(key).or_insert_with(|| template.clone()), item);
    }
    let mut out = Vec::with_capacity(by_key.len());
    let max = packing.max_record_bytes;
    let Some(ranges) = packing.shards else {
        for (key, env) in by_key {
            seal(env, &key, max, &mut out);
        }
        return out;
    };
    // Per shard: the first key (the record's partition key) and the merged envelope.
    let mut by_shard: BTreeMap<usize, (String, Envelope)> = BTreeMap::new();
    for (key, env) in by_key {
        match shard_for(&key, ranges) {
            Some(i) => match by_shard.get_mut(&i) {
                Some((_, into)) => {
                    into.samples.extend(env.samples);
                    into.events.extend(env.events);
                }
                None => {
                    by_shard.insert(i, (key, env));
                }
            },
            // A gap in the map (never in a listed stream): the key's own record.
            None => seal(env, &key, max, &mut out),
        }
    }
    for (key, env) in by_shard.into_values() {
        seal(env, &key, max, &mut out);
    }
    out
}

fn template(tenant: &str, producer: &str, ingest_time_ms: i64, kind: Kind) -> Envelope {
    Envelope {
        tenant: tenant.to_string(),
        kind: kind as i32,
        ingest_time_ms,
        producer: producer.to_string(),
        ..Default::default()
    }
}

/// Samples of a tenant's series → records, one or more per shard (or partition key).
pub fn aggregate_samples(
    tenant: &str,
    producer: &str,
    ingest_time_ms: i64,
    series: Vec<Fingerprinted>,
    packing: Packing<'_>,
) -> Vec<Record> {
    let keyed = series
        .into_iter()
        .map(|(fp, s)| (fingerprint_partition_key(tenant, fp), s));
    let env = template(tenant, producer, ingest_time_ms, Kind::Metrics);
    group(keyed, env, packing, |env, (mut labels, samples)| {
        // Each sample carries its series' labels; the last one takes them without a copy
        // (remote_write usually sends one sample per series).
        let n = samples.len();
        for (i, mut s) in samples.into_iter().enumerate() {
            s.labels = if i + 1 == n {
                std::mem::take(&mut labels)
            } else {
                labels.clone()
            };
            env.samples.push(s);
        }
    })
}

/// Events → records, one or more per shard (or partition key).
pub fn aggregate_events(
    tenant: &str,
    producer: &str,
    ingest_time_ms: i64,
    events: Vec<Event>,
    packing: Packing<'_>,
) -> Vec<Record> {
    let keyed = events
        .into_iter()
        .map(|e| (event_partition_key(tenant, &e.event_id), e));
    let env = template(tenant, producer, ingest_time_ms, Kind::Events);
    group(keyed, env, packing, |env, e| env.events.push(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Label, Sample, Value};
    use crate::keys::series_partition_key;

    /// 300 series of 10 samples each (timestamps 0..10).
    fn series() -> Vec<Fingerprinted> {
        (0..300)
            .map(|i| {
                let labels = vec![
                    Label {
                        name: "__name__".into(),
                        value: "tick".into(),
                    },
                    Label {
                        name: "shard_id".into(),
                        value: i.to_string(),
                    },
                ];
                let samples = (0..10)
                    .map(|t| Sample {
                        timestamp_ms: t,
                        value: Some(Value::Number(t as f64)),
                        ..Default::default()
                    })
                    .collect();
                (crate::keys::series_fingerprint(&labels), (labels, samples))
            })
            .collect()
    }

    const FOUR_SHARDS: [(u128, u128); 4] = [
        (0, (1 << 126) - 1),
        (1 << 126, (2 << 126) - 1),
        (2 << 126, (3 << 126) - 1),
        (3 << 126, u128::MAX),
    ];

    /// Every record decoded; checks sizes and that no item is lost or duplicated.
    fn decoded(records: &[Record], max: usize) -> Vec<Envelope> {
        let envs: Vec<Envelope> = records
            .iter()
            .map(|r| {
                let env = Envelope::decode_record(&r.data).unwrap();
                assert_eq!(env.len(), r.items);
                assert!(prost::Message::encoded_len(&env) <= max || env.len() == 1);
                env
            })
            .collect();
        let mut seen: Vec<(String, i64)> = envs
            .iter()
            .flat_map(|e| &e.samples)
            .map(|s| (s.labels[1].value.clone(), s.timestamp_ms))
            .collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 3000, "every sample once");
        assert_eq!(envs.iter().map(Envelope::len).sum::<usize>(), 3000);
        envs
    }

    #[test]
    fn groups_by_key_keeps_every_item_and_splits_big_envelopes() {
        let by_key = Packing {
            max_record_bytes: 4096,
            shards: None,
        };
        let records = aggregate_samples("t", "gw", 5, series(), by_key);
        for (r, env) in records.iter().zip(decoded(&records, 4096)) {
            for s in &env.samples {
                assert_eq!(series_partition_key("t", &s.labels), r.partition_key);
            }
        }
        assert!(
            records.len() <= 64 * 4,
            "aggregated: {} records",
            records.len()
        );
    }

    #[test]
    fn with_a_shard_map_one_record_per_shard_lands_where_each_key_would() {
        let by_shard = Packing {
            max_record_bytes: 1 << 20,
            shards: Some(&FOUR_SHARDS),
        };
        let records = aggregate_samples("t", "gw", 5, series(), by_shard);
        assert_eq!(records.len(), 4, "one record per shard");
        for (r, env) in records.iter().zip(decoded(&records, 1 << 20)) {
            let shard = shard_for(&r.partition_key, &FOUR_SHARDS);
            let mut last: BTreeMap<String, i64> = BTreeMap::new();
            for s in &env.samples {
                let key = series_partition_key("t", &s.labels);
                assert_eq!(shard_for(&key, &FOUR_SHARDS), shard, "{key}");
                // A series' samples keep the request's order.
                let prev = last.insert(s.labels[1].value.clone(), s.timestamp_ms);
                assert!(prev.is_none_or(|p| p < s.timestamp_ms));
            }
        }
        // Past the size target a shard's envelope splits; the halves stay on its shard.
        let small = Packing {
            max_record_bytes: 4096,
            ..by_shard
        };
        let records = aggregate_samples("t", "gw", 5, series(), small);
        assert!(records.len() > 4);
        for (r, env) in records.iter().zip(decoded(&records, 4096)) {
            let shard = shard_for(&r.partition_key, &FOUR_SHARDS);
            for s in &env.samples {
                let key = series_partition_key("t", &s.labels);
                assert_eq!(shard_for(&key, &FOUR_SHARDS), shard);
            }
        }
    }

    #[test]
    fn events_are_grouped_by_shard_too() {
        let events: Vec<Event> = (0..200)
            .map(|i| Event {
                event_id: format!("e-{i}"),
                ..Default::default()
            })
            .collect();
        let packing = Packing {
            max_record_bytes: 1 << 20,
            shards: Some(&FOUR_SHARDS),
        };
        let records = aggregate_events("t", "gw", 5, events, packing);
        assert_eq!(records.len(), 4);
        let mut ids = Vec::new();
        for r in &records {
            let env = Envelope::decode_record(&r.data).unwrap();
            let shard = shard_for(&r.partition_key, &FOUR_SHARDS);
            for e in &env.events {
                let key = event_partition_key("t", &e.event_id);
                assert_eq!(shard_for(&key, &FOUR_SHARDS), shard);
                ids.push(e.event_id.clone());
            }
        }
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 200);
    }
}
