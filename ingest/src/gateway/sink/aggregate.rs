//! Aggregation: the items of one request grouped by partition key into envelopes (many
//! items per Kinesis record, like the KPL), each kept under the record size target.

use crate::envelope::{Envelope, Event, Kind};
use crate::keys::{event_partition_key, fingerprint_partition_key};
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

/// Groups items by partition key into envelopes of one tenant and kind, then seals them.
fn group<T>(
    items: impl IntoIterator<Item = (String, T)>,
    template: Envelope,
    max_record_bytes: usize,
    mut add: impl FnMut(&mut Envelope, T),
) -> Vec<Record> {
    let mut by_key: BTreeMap<String, Envelope> = BTreeMap::new();
    for (key, item) in items {
        add(by_key.entry(key).or_insert_with(|| template.clone()), item);
    }
    let mut out = Vec::with_capacity(by_key.len());
    for (key, env) in by_key {
        seal(env, &key, max_record_bytes, &mut out);
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

/// Samples of a tenant's series → records, one or more per partition key.
pub fn aggregate_samples(
    tenant: &str,
    producer: &str,
    ingest_time_ms: i64,
    series: Vec<Fingerprinted>,
    max_record_bytes: usize,
) -> Vec<Record> {
    let keyed = series
        .into_iter()
        .map(|(fp, s)| (fingerprint_partition_key(tenant, fp), s));
    let env = template(tenant, producer, ingest_time_ms, Kind::Metrics);
    group(
        keyed,
        env,
        max_record_bytes,
        |env, (mut labels, samples)| {
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
        },
    )
}

/// Events → records, grouped by their partition key.
pub fn aggregate_events(
    tenant: &str,
    producer: &str,
    ingest_time_ms: i64,
    events: Vec<Event>,
    max_record_bytes: usize,
) -> Vec<Record> {
    let keyed = events
        .into_iter()
        .map(|e| (event_partition_key(tenant, &e.event_id), e));
    let env = template(tenant, producer, ingest_time_ms, Kind::Events);
    group(keyed, env, max_record_bytes, |env, e| env.events.push(e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Label, Sample, Value};
    use crate::keys::series_partition_key;

    #[test]
    fn groups_by_key_keeps_every_item_and_splits_big_envelopes() {
        let series: Vec<_> = (0..300)
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
            .collect();
        let records = aggregate_samples("t", "gw", 5, series, 4096);
        let total: usize = records.iter().map(|r| r.items).sum();
        assert_eq!(total, 3000);
        let mut seen = 0;
        for r in &records {
            let env = Envelope::decode_record(&r.data).unwrap();
            assert_eq!(env.len(), r.items);
            assert!(prost::Message::encoded_len(&env) <= 4096 || env.len() == 1);
            for s in &env.samples {
                assert_eq!(series_partition_key("t", &s.labels), r.partition_key);
            }
            seen += env.samples.len();
        }
        assert_eq!(seen, 3000);
        assert!(
            records.len() <= 64 * 4,
            "aggregated: {} records",
            records.len()
        );
    }
}
