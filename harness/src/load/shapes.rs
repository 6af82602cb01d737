//! The synthetic game servers of one tenant: a seeded, bounded catalog of series with
//! realistic label shapes (regions, AZs, clusters named with `fake`, shard ids, instance
//! types, version-like build ids, queues, ASN buckets) and the metric families a game
//! server exports — counters, gauges, classic and exponential histograms.
//!
//! A catalog *unit* is one metric of one server, emitted with one timestamp; it expands
//! into one or more stored *rows* (a classic histogram over remote_write is its `le`
//! buckets plus `_sum` and `_count`; over OTLP it is one row). Every row has an index in
//! the tenant's row table: the ledger's sample identity is (tenant, row, timestamp).

use fake::Fake;
use fake::faker::address::en::CityName;
use fake::faker::filesystem::en::Semver;
use fake::rand::rngs::SmallRng;
use fake::rand::{RngExt, SeedableRng};

/// Which wire protocol a unit is sent over (its rows depend on it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    RemoteWrite,
    Otlp,
}

/// The kind of a metric family.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Family {
    Counter,
    Gauge,
    /// Classic histogram with these upper bounds (without +Inf).
    Classic(&'static [f64]),
    Exponential,
}

/// Metric families of a game server: (name as remote_write spells it, kind).
pub const FAMILIES: &[(&str, Family)] = &[
    ("game_server_cpu_seconds_total", Family::Counter),
    ("net_packets_received_total", Family::Counter),
    ("game_server_players_online", Family::Gauge),
    ("game_server_memory_bytes", Family::Gauge),
    ("matchmaker_queue_depth", Family::Gauge),
    (
        "game_server_tick_duration_seconds",
        Family::Classic(&[0.005, 0.01, 0.025, 0.05, 0.1]),
    ),
    ("net_rtt_seconds", Family::Exponential),
];

/// Rows a unit of this family stores over this protocol.
pub fn rows_of(family: Family, protocol: Protocol) -> u32 {
    match (family, protocol) {
        (Family::Classic(b), Protocol::RemoteWrite) => b.len() as u32 + 3,
        _ => 1,
    }
}

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
    "sa-east-1",
];
const INSTANCE_TYPES: &[&str] = &[
    "c6i.2xlarge",
    "c7g.4xlarge",
    "m6i.xlarge",
    "c6gn.8xlarge",
    "m7g.2xlarge",
];
const QUEUES: &[&str] = &[
    "ranked-5v5",
    "ranked-solo",
    "casual",
    "tournament",
    "coop-raid",
];

/// Labels of one server (allowlisted names only), sorted by name.
pub type ServerLabels = Vec<(String, String)>;

/// Lower-case letters and dashes only: a city name as a cluster name part.
fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphabetic() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `n` servers of a tenant, seeded. Server labels are distinct (shard ids are unique).
pub fn servers(rng: &mut SmallRng, first_shard: usize, n: usize) -> Vec<ServerLabels> {
    let clusters: Vec<String> = (0..6)
        .map(|i| {
            let city: String = CityName().fake_with_rng(rng);
            let s = slug(&city);
            format!("gs-{}-{i}", if s.is_empty() { "city" } else { &s })
        })
        .collect();
    let builds: Vec<String> = (0..3)
        .map(|_| {
            let v: String = Semver().fake_with_rng(rng);
            // A git-describe suffix: letters first so it never reads as a number.
            let sha: String = (0..6)
                .map(|_| char::from(b"abcdef"[rng.random_range(0..6)]))
                .collect();
            format!("{v}+g{sha}")
        })
        .collect();
    (0..n)
        .map(|i| {
            let region = REGIONS[rng.random_range(0..REGIONS.len())];
            let az = format!("{region}{}", ["a", "b", "c"][rng.random_range(0..3)]);
            let mut l = vec![
                (
                    "asn_bucket".to_string(),
                    format!("asn-{}", rng.random_range(0..32)),
                ),
                ("az".to_string(), az),
                (
                    "build_id".to_string(),
                    builds[rng.random_range(0..builds.len())].clone(),
                ),
                (
                    "cluster".to_string(),
                    clusters[rng.random_range(0..clusters.len())].clone(),
                ),
                (
                    "instance_type".to_string(),
                    INSTANCE_TYPES[rng.random_range(0..INSTANCE_TYPES.len())].to_string(),
                ),
                (
                    "queue".to_string(),
                    QUEUES[rng.random_range(0..QUEUES.len())].to_string(),
                ),
                ("region".to_string(), region.to_string()),
                (
                    "shard_id".to_string(),
                    format!("shard-{:05}", first_shard + i),
                ),
            ];
            l.sort();
            l
        })
        .collect()
}

/// One metric of one server.
#[derive(Clone, Debug)]
pub struct Unit {
    pub family: usize,
    pub server: u32,
    /// Index of its first row in the tenant's row table.
    pub first_row: u32,
    pub rows: u32,
    pub protocol: Protocol,
}

/// A stored row as the audit will see it: metric name and labels without `__name__`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RowDef {
    pub metric: String,
    pub labels: Vec<(String, String)>,
}

/// The series of one tenant, per protocol, plus its canary series.
pub struct Catalog {
    pub servers: Vec<ServerLabels>,
    pub units: Vec<Unit>,
    /// Unit indexes sent over each protocol, in send order.
    pub rw_units: Vec<u32>,
    pub otlp_units: Vec<u32>,
    pub rows: Vec<RowDef>,
    /// Canary series: (shard index, row).
    pub canaries: Vec<(usize, u32)>,
    /// Per remote_write unit, its series' labels already encoded (see
    /// `remote_write::body`); built on first use.
    pub rw_labels: std::sync::OnceLock<Vec<Vec<bytes::Bytes>>>,
}

/// OTLP spells metric names with dots; the stored name has `_` for `.` (Prometheus).
pub fn otlp_name(name: &str) -> String {
    name.replace('_', ".")
}

impl Catalog {
    /// About `rows_budget` rows split between the protocols by `rw_share`.
    pub fn build(seed: u64, rows_budget: usize, rw_share: f64) -> Catalog {
        let mut rng = SmallRng::seed_from_u64(seed);
        let rows_rw: u32 = FAMILIES
            .iter()
            .map(|(_, f)| rows_of(*f, Protocol::RemoteWrite))
            .sum();
        let rows_otlp: u32 = FAMILIES
            .iter()
            .map(|(_, f)| rows_of(*f, Protocol::Otlp))
            .sum();
        let rw_share = rw_share.clamp(0.0, 1.0);
        let rw_servers = ((rows_budget as f64 * rw_share) / rows_rw as f64).floor() as usize;
        let otlp_servers =
            ((rows_budget as f64 * (1.0 - rw_share)) / rows_otlp as f64).floor() as usize;
        let rw_servers = if rw_share > 0.0 { rw_servers.max(1) } else { 0 };
        let otlp_servers = if rw_share < 1.0 {
            otlp_servers.max(1)
        } else {
            0
        };
        let servers = servers(&mut rng, 0, rw_servers + otlp_servers);
        let mut c = Catalog {
            servers,
            units: Vec::new(),
            rw_units: Vec::new(),
            otlp_units: Vec::new(),
            rows: Vec::new(),
            canaries: Vec::new(),
            rw_labels: Default::default(),
        };
        for s in 0..rw_servers + otlp_servers {
            let protocol = if s < rw_servers {
                Protocol::RemoteWrite
            } else {
                Protocol::Otlp
            };
            for (f, (name, family)) in FAMILIES.iter().enumerate() {
                let first_row = c.rows.len() as u32;
                c.push_rows(name, *family, protocol, s);
                let idx = c.units.len() as u32;
                c.units.push(Unit {
                    family: f,
                    server: s as u32,
                    first_row,
                    rows: rows_of(*family, protocol),
                    protocol,
                });
                match protocol {
                    Protocol::RemoteWrite => c.rw_units.push(idx),
                    Protocol::Otlp => c.otlp_units.push(idx),
                }
            }
        }
        c
    }

    fn push_rows(&mut self, name: &str, family: Family, protocol: Protocol, server: usize) {
        let labels = self.servers[server].clone();
        let row = |metric: String, extra: Option<(String, String)>| {
            let mut l = labels.clone();
            l.extend(extra);
            l.sort();
            RowDef { metric, labels: l }
        };
        match (family, protocol) {
            (Family::Classic(bounds), Protocol::RemoteWrite) => {
                for le in bounds.iter().map(|b| fmt_le(*b)).chain(["+Inf".into()]) {
                    self.rows
                        .push(row(format!("{name}_bucket"), Some(("le".into(), le))));
                }
                self.rows.push(row(format!("{name}_sum"), None));
                self.rows.push(row(format!("{name}_count"), None));
            }
            _ => self.rows.push(row(name.to_string(), None)),
        }
    }

    /// Adds a series of its own (a canary) and returns its row index.
    pub fn add_series(&mut self, metric: &str, labels: Vec<(String, String)>) -> u32 {
        let mut labels = labels;
        labels.sort();
        self.rows.push(RowDef {
            metric: metric.to_string(),
            labels,
        });
        (self.rows.len() - 1) as u32
    }

    pub fn units_of(&self, p: Protocol) -> &[u32] {
        match p {
            Protocol::RemoteWrite => &self.rw_units,
            Protocol::Otlp => &self.otlp_units,
        }
    }
}

/// `le` as Prometheus formats it.
pub fn fmt_le(b: f64) -> String {
    let s = format!("{b}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Identity hash of a stored series: metric name and labels (sorted, without
/// `__name__`). Computed by the harness itself, never taken from the stored `series_id`.
pub fn row_hash(metric: &str, labels: &[(impl AsRef<str>, impl AsRef<str>)]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(metric.as_bytes());
    h.update(&[0xfd]);
    for (k, v) in labels {
        h.update(k.as_ref().as_bytes());
        h.update(&[0xff]);
        h.update(v.as_ref().as_bytes());
        h.update(&[0xfe]);
    }
    h.digest()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_seeded_bounded_and_distinct() {
        let a = Catalog::build(7, 2_000, 0.7);
        let b = Catalog::build(7, 2_000, 0.7);
        assert_eq!(a.rows, b.rows, "same seed, same catalog");
        assert!(a.rows.len() <= 2_000, "{}", a.rows.len());
        assert!(!a.rw_units.is_empty() && !a.otlp_units.is_empty());
        let mut hashes: Vec<u64> = a
            .rows
            .iter()
            .map(|r| row_hash(&r.metric, &r.labels))
            .collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), a.rows.len(), "every row is its own series");
        // The gateway's default allowlist, plus the histogram bucket label.
        let mut allowed = ingest::gateway::config::HygieneConfig::default().allowlist;
        allowed.push("le".into());
        for r in &a.rows {
            for (k, _) in &r.labels {
                assert!(allowed.contains(k), "{k}");
            }
        }
        let c = Catalog::build(8, 2_000, 0.7);
        assert_ne!(a.servers, c.servers, "another seed, other names");
    }

    #[test]
    fn le_is_formatted_like_prometheus() {
        assert_eq!(fmt_le(0.005), "0.005");
        assert_eq!(fmt_le(1.0), "1.0");
    }
}
