//! The capacity plan: what N shards carry (N × 1,000 records/s and N × 1 MiB/s of
//! writes, AWS's per-shard limits) against what the tenants' quotas admit at the
//! scenario's peak. Records come from requests × distinct partition keys per request, as
//! the gateway packs them without its shard map (one aggregated record per key, ≤
//! `KEY_BUCKETS` per tenant and kind) — at start, when ListShards fails, or with
//! `shard_map_refresh_ms = 0`; with the map it writes at most one record per shard, tenant
//! and kind per request, so this is the upper bound the stream must carry either way;
//! bytes from samples × the compressed size of a sample, measured once by
//! encoding realistic envelopes with `ingest::envelope`. Keys map to shards by Kinesis's
//! MD5 rule, so the plan judges the hottest shard, not the average. A plan over
//! [`MAX_UTILISATION`] is refused with its numbers.

use super::StackError;
use super::spec::StackSpec;
use ingest::envelope::{Envelope, Event, Kind, Label, MetricType, Sample, Value};
use ingest::keys::{KEY_BUCKETS, event_partition_key, fingerprint_partition_key, shard_for};
use serde::Serialize;

/// AWS's per-shard write limits (the embedded backend enforces the same).
pub const SHARD_RECORDS_PER_SEC: f64 = 1_000.0;
pub const SHARD_BYTES_PER_SEC: f64 = 1_048_576.0;
/// Admitted load may use at most this share of the hottest shard's limits.
pub const MAX_UTILISATION: f64 = 0.70;
/// The largest stream the plan will pick by itself.
pub const MAX_SHARDS: u32 = 256;

#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct CapacityPlan {
    pub shards: u32,
    /// What the stream carries: shards × AWS's per-shard limits.
    pub stream_records_per_sec: f64,
    pub stream_bytes_per_sec: f64,
    /// What the quotas admit of the peak (sum over tenants of min(offered share, quota)).
    pub admitted_samples_per_sec: f64,
    pub admitted_events_per_sec: f64,
    /// Measured: bytes one sample / event adds to a Kinesis record (compressed envelope
    /// plus its share of the partition key), at the scenario's aggregation.
    pub bytes_per_sample: f64,
    pub bytes_per_event: f64,
    /// Writes at the admitted peak, whole stream.
    pub records_per_sec: f64,
    pub bytes_per_sec: f64,
    /// The busiest shard's share of the writes.
    pub hottest_shard_records_per_sec: f64,
    pub hottest_shard_bytes_per_sec: f64,
    /// max(records, bytes) of the hottest shard over its limits (0..1+).
    pub utilisation: f64,
    pub max_utilisation: f64,
}

impl std::fmt::Display for CapacityPlan {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} shards carry {:.0} records/s and {:.1} MiB/s; the quotas admit {:.0} samples/s + {:.0} events/s at the peak \
             ({:.1} B/sample, {:.1} B/event) = {:.0} records/s and {:.2} MiB/s, hottest shard {:.0} records/s and {:.2} MiB/s \
             = {:.0}% of a shard (limit {:.0}%)",
            self.shards,
            self.stream_records_per_sec,
            self.stream_bytes_per_sec / SHARD_BYTES_PER_SEC,
            self.admitted_samples_per_sec,
            self.admitted_events_per_sec,
            self.bytes_per_sample,
            self.bytes_per_event,
            self.records_per_sec,
            self.bytes_per_sec / SHARD_BYTES_PER_SEC,
            self.hottest_shard_records_per_sec,
            self.hottest_shard_bytes_per_sec / SHARD_BYTES_PER_SEC,
            self.utilisation * 100.0,
            self.max_utilisation * 100.0,
        )
    }
}

/// The plan for `spec`: with `spec.shards` as given (refused when over the limit), or
/// the smallest shard count that fits.
pub fn capacity_plan(spec: &StackSpec) -> Result<CapacityPlan, StackError> {
    let load = Load::of(spec)?;
    match spec.shards {
        Some(0) => Err(StackError::Spec("shards must be at least 1".into())),
        Some(n) => {
            let plan = load.plan(n);
            if plan.utilisation > MAX_UTILISATION {
                return Err(StackError::Plan(format!(
                    "{plan}. Give the stream more shards (or leave `shards` unset to pick them), or lower the quotas or the peak"
                )));
            }
            Ok(plan)
        }
        None => {
            for n in 1..=MAX_SHARDS {
                let plan = load.plan(n);
                if plan.utilisation <= MAX_UTILISATION {
                    return Ok(plan);
                }
            }
            Err(StackError::Plan(format!(
                "{}. Even {MAX_SHARDS} shards are not enough: lower the quotas or the peak",
                load.plan(MAX_SHARDS)
            )))
        }
    }
}

/// Per tenant and kind: admitted items/s and requests/s at the peak.
struct TenantLoad {
    id: String,
    samples: f64,
    events: f64,
}

struct Load {
    tenants: Vec<TenantLoad>,
    samples_per_request: f64,
    events_per_request: f64,
    bytes_per_sample: f64,
    bytes_per_event: f64,
}

/// Expected distinct keys among `n` items spread uniformly over `KEY_BUCKETS` keys.
fn distinct_keys(n: f64) -> f64 {
    let k = KEY_BUCKETS as f64;
    k * (1.0 - (1.0 - 1.0 / k).powf(n))
}

impl Load {
    fn of(spec: &StackSpec) -> Result<Load, StackError> {
        let peak = &spec.peak_load;
        if spec.tenants.is_empty() {
            return Err(StackError::Spec("a stack needs at least one tenant".into()));
        }
        if peak.samples_per_request == 0 || peak.events_per_request == 0 {
            return Err(StackError::Spec(
                "samples_per_request and events_per_request must be at least 1".into(),
            ));
        }
        let quota_s: f64 = spec.tenants.iter().map(|t| t.samples_per_sec).sum();
        let quota_e: f64 = spec.tenants.iter().map(|t| t.events_per_sec).sum();
        // The peak splits over tenants as their quotas do (quotas are a multiple of
        // each tenant's share); each tenant is admitted at most its quota.
        let share = |q: f64, total: f64, offered: f64| {
            if total > 0.0 {
                (offered * q / total).min(q)
            } else {
                0.0
            }
        };
        let tenants = spec
            .tenants
            .iter()
            .map(|t| TenantLoad {
                id: t.id.clone(),
                samples: share(t.samples_per_sec, quota_s, peak.samples_per_sec),
                events: share(t.events_per_sec, quota_e, peak.events_per_sec),
            })
            .collect();
        let spr = peak.samples_per_request as f64;
        let epr = peak.events_per_request as f64;
        Ok(Load {
            tenants,
            samples_per_request: spr,
            events_per_request: epr,
            bytes_per_sample: measured_bytes_per_sample(spr / distinct_keys(spr)),
            bytes_per_event: measured_bytes_per_event(epr / distinct_keys(epr)),
        })
    }

    fn plan(&self, shards: u32) -> CapacityPlan {
        let ranges = even_ranges(shards);
        let mut records = vec![0.0f64; shards as usize];
        let mut bytes = vec![0.0f64; shards as usize];
        let k = KEY_BUCKETS as f64;
        for t in &self.tenants {
            // One record per distinct key of a request; each key equally likely.
            for (items, per_request, item_bytes, keys) in [
                (
                    t.samples,
                    self.samples_per_request,
                    self.bytes_per_sample,
                    metric_keys(&t.id),
                ),
                (
                    t.events,
                    self.events_per_request,
                    self.bytes_per_event,
                    event_keys(&t.id),
                ),
            ] {
                let requests = items / per_request;
                let records_per_key = requests * distinct_keys(per_request) / k;
                let bytes_per_key = items * item_bytes / k;
                for key in keys {
                    let Some(i) = shard_for(&key, &ranges) else {
                        continue;
                    };
                    records[i] += records_per_key;
                    bytes[i] += bytes_per_key;
                }
            }
        }
        let hottest = (0..shards as usize)
            .max_by(|&a, &b| {
                let u = |i: usize| {
                    (records[i] / SHARD_RECORDS_PER_SEC).max(bytes[i] / SHARD_BYTES_PER_SEC)
                };
                u(a).total_cmp(&u(b))
            })
            .unwrap_or(0);
        let (hr, hb) = (records[hottest], bytes[hottest]);
        CapacityPlan {
            shards,
            stream_records_per_sec: shards as f64 * SHARD_RECORDS_PER_SEC,
            stream_bytes_per_sec: shards as f64 * SHARD_BYTES_PER_SEC,
            admitted_samples_per_sec: self.tenants.iter().map(|t| t.samples).sum(),
            admitted_events_per_sec: self.tenants.iter().map(|t| t.events).sum(),
            bytes_per_sample: self.bytes_per_sample,
            bytes_per_event: self.bytes_per_event,
            records_per_sec: records.iter().sum(),
            bytes_per_sec: bytes.iter().sum(),
            hottest_shard_records_per_sec: hr,
            hottest_shard_bytes_per_sec: hb,
            utilisation: (hr / SHARD_RECORDS_PER_SEC).max(hb / SHARD_BYTES_PER_SEC),
            max_utilisation: MAX_UTILISATION,
        }
    }
}

/// The hash-key ranges CreateStream gives `n` shards: equal slices of 0..2^128.
pub fn even_ranges(n: u32) -> Vec<(u128, u128)> {
    let n = n.max(1) as u128;
    let size = u128::MAX / n;
    (0..n)
        .map(|i| {
            let start = i * size;
            let end = if i + 1 == n {
                u128::MAX
            } else {
                (i + 1) * size - 1
            };
            (start, end)
        })
        .collect()
}

/// Every metric partition key of a tenant (fingerprints 0..KEY_BUCKETS cover them all).
fn metric_keys(tenant: &str) -> Vec<String> {
    (0..KEY_BUCKETS)
        .map(|f| fingerprint_partition_key(tenant, f))
        .collect()
}

/// Every event partition key of a tenant, found through the public key function.
fn event_keys(tenant: &str) -> Vec<String> {
    let mut keys = std::collections::BTreeSet::new();
    // Bounded: 64 buckets are all hit within a few hundred ids (coupon collector).
    for i in 0..100_000u32 {
        keys.insert(event_partition_key(tenant, &format!("plan-{i}")));
        if keys.len() as u64 == KEY_BUCKETS {
            break;
        }
    }
    keys.into_iter().collect()
}

fn label(name: &str, value: impl Into<String>) -> Label {
    Label {
        name: name.into(),
        value: value.into(),
    }
}

/// Compressed record bytes per sample when a record aggregates `per_record` samples of
/// different series with the label shapes the producers use (plus the partition key).
fn measured_bytes_per_sample(per_record: f64) -> f64 {
    const NAMES: [&str; 6] = [
        "game_players_online",
        "game_tick_duration_seconds_bucket",
        "game_matches_started_total",
        "game_queue_wait_seconds_sum",
        "game_server_memory_bytes",
        "game_net_packets_dropped_total",
    ];
    let n = per_record.round().max(1.0) as usize;
    let samples = (0..n)
        .map(|i| Sample {
            labels: vec![
                label("__name__", NAMES[i % NAMES.len()]),
                label("asn_bucket", format!("as-{}", 16_509 + i * 7)),
                label("az", format!("eu-west-1{}", ['a', 'b', 'c'][i % 3])),
                label(
                    "build_id",
                    format!("b2026.11.{}-{:06x}", i % 4, 0x8f3c2a + i * 977),
                ),
                label("cluster", format!("prod-eu-{}", i % 5)),
                label("instance_type", ["c7g.2xlarge", "m6i.xlarge"][i % 2]),
                label("le", format!("{}", 0.005 * (1 << (i % 8)) as f64)),
                label("queue", ["ranked-5v5", "casual-2v2", "br-solo"][i % 3]),
                label("region", "eu-west-1"),
                label("shard_id", format!("{}", 100 + i * 13)),
            ],
            timestamp_ms: 1_795_680_000_000 + (i as i64) * 137,
            metric_type: MetricType::Gauge as i32,
            value: Some(Value::Number(1_000.0 + i as f64 * 3.7)),
            exemplars: vec![],
        })
        .collect::<Vec<_>>();
    let env = Envelope {
        tenant: "studio-a".into(),
        kind: Kind::Metrics as i32,
        ingest_time_ms: 1_795_680_000_000,
        producer: "gateway-a".into(),
        samples,
        events: vec![],
    };
    let key = fingerprint_partition_key("studio-a", 63).len();
    (env.encode_record().len() + key) as f64 / n as f64
}

/// Compressed record bytes per event at `per_record` events per record.
fn measured_bytes_per_event(per_record: f64) -> f64 {
    let n = per_record.round().max(1.0) as usize;
    let events = (0..n)
        .map(|i| Event {
            event_id: format!("r7f3a-p{}-{:08}", i % 40, 1_000 + i * 31),
            event_type: "match".into(),
            event_name: ["match_start", "match_end", "player_join", "purchase"][i % 4].into(),
            event_timestamp_ms: 1_795_680_000_000 + (i as i64) * 211,
            app_version: format!("1.{}.{}", 40 + i % 3, i % 7),
            event_data_json: format!(
                r#"{{"match_id":"m-{:08}","map":"{}","score":{},"duration_s":{},"region":"eu-west-1"}}"#,
                90_000 + i * 17,
                ["dust", "harbor", "citadel"][i % 3],
                i * 113 % 5000,
                300 + i * 7 % 900
            ),
        })
        .collect::<Vec<_>>();
    let env = Envelope {
        tenant: "studio-a".into(),
        kind: Kind::Events as i32,
        ingest_time_ms: 1_795_680_000_000,
        producer: "gateway-a".into(),
        samples: vec![],
        events,
    };
    let key = event_partition_key("studio-a", "x").len();
    (env.encode_record().len() + key) as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stack::spec::{PeakLoad, TenantSpec};

    #[test]
    fn the_default_scenario_gets_the_smallest_stream_that_fits() {
        let spec = StackSpec::new("/tmp/unused");
        let plan = capacity_plan(&spec).unwrap();
        // Quotas are 4× of 1×: the 5× peak is admitted at 80,000 samples/s.
        assert!(
            (plan.admitted_samples_per_sec - 80_000.0).abs() < 1.0,
            "{plan}"
        );
        assert!(
            (plan.admitted_events_per_sec - 4_000.0).abs() < 1.0,
            "{plan}"
        );
        assert!(plan.utilisation <= MAX_UTILISATION, "{plan}");
        assert!(
            plan.bytes_per_sample > 5.0 && plan.bytes_per_sample < 200.0,
            "{plan}"
        );
        // One fewer shard would not fit.
        let smaller = Load::of(&spec).unwrap().plan(plan.shards - 1);
        assert!(smaller.utilisation > MAX_UTILISATION, "{smaller}");
        println!("{plan}");
    }

    #[test]
    fn an_oversized_load_is_refused_with_the_numbers() {
        let mut spec = StackSpec::new("/tmp/unused");
        spec.shards = Some(2);
        let e = capacity_plan(&spec).unwrap_err().to_string();
        assert!(e.contains("capacity plan refused"), "{e}");
        assert!(e.contains("2 shards carry 2000 records/s"), "{e}");
        assert!(e.contains("80000 samples/s"), "{e}");
        assert!(e.contains("limit 70%"), "{e}");
    }

    #[test]
    fn quotas_cap_what_the_plan_counts() {
        let mut spec = StackSpec::new("/tmp/unused");
        spec.tenants = vec![TenantSpec::new("solo", 1_000.0, 100.0)];
        spec.peak_load = PeakLoad {
            samples_per_sec: 1_000_000.0,
            ..PeakLoad::default()
        };
        let plan = capacity_plan(&spec).unwrap();
        assert_eq!(plan.admitted_samples_per_sec, 1_000.0);
        assert_eq!(plan.shards, 1, "{plan}");
    }

    #[test]
    fn even_ranges_cover_the_key_space() {
        let r = even_ranges(3);
        assert_eq!(r[0].0, 0);
        assert_eq!(r[2].1, u128::MAX);
        assert_eq!(r[0].1 + 1, r[1].0);
        assert_eq!(r[1].1 + 1, r[2].0);
    }
}
