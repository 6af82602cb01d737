//! Clean telemetry as game backends really send it: label sets built from the default
//! allowlist (AWS regions and AZ ids, clusters, shard ids, EC2 instance types, build
//! ids in semver / calver / git-describe / perforce / Unity shapes, queues, ASN
//! buckets, histogram `le` and summary `quantile`), and match-summary event data (match
//! and player ids of several platforms, scores, durations, hex ids, UUIDs, ISO and
//! epoch timestamps, positions, item lists, nested rounds).
//!
//! Documented collisions, deliberately NOT generated because they are rejected:
//! - bare four-part versions whose parts are all ≤ 255 (`1.0.0.0`, `10.0.0.1`) are
//!   valid IPv4 addresses; four-part versions are generated with a `v` prefix or with
//!   a part above 255 (`10.0.19045.3803`), the shapes real products use;
//! - a bare numeric id of 13–16 digits with a card brand prefix is Luhn-valid one time
//!   in ten (e.g. a 16-digit Xbox XUID `2535…`): such ids are indistinguishable from
//!   card numbers. Generated platform ids are SteamID64 (`7656119…`, no brand),
//!   Discord-style snowflakes (`1…`) and hex/UUID ids;
//! - a bare `instance` of `10.1.2.3:9100` is an IP address; instances are generated as
//!   host names (`ip-10-1-2-3.eu-west-1.compute.internal:9100`, pod names).

use crate::envelope::Label;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

pub const REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-central-1",
    "eu-north-1",
    "eu-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-south-1",
    "sa-east-1",
    "ca-central-1",
    "me-south-1",
    "af-south-1",
];
const AZ_PREFIXES: &[&str] = &[
    "use1", "use2", "usw1", "usw2", "euw1", "euw2", "euw3", "euc1", "eun1", "apse1", "apse2",
    "apne1", "apne2", "aps1", "sae1", "cac1",
];
const FAMILIES: &[&str] = &[
    "c5", "c5n", "c6i", "c6g", "c6gn", "c7g", "c7gn", "c7i", "m5", "m5d", "m6i", "m6g", "m7g",
    "m7i", "r6a", "r6i", "r7g", "t3", "t3a", "t4g", "g4dn", "g5", "z1d", "x2idn",
];
const SIZES: &[&str] = &[
    "nano", "micro", "small", "medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge",
    "12xlarge", "16xlarge", "24xlarge", "metal",
];
const QUEUES: &[&str] = &[
    "ranked-5v5",
    "ranked-solo",
    "ranked-flex",
    "casual-3v3",
    "arena-1v1",
    "arena-2v2",
    "battle-royale-squads",
    "br-duos",
    "custom",
    "tutorial",
    "coop-vs-ai",
    "ranked-5v5-eu",
];
const METRICS: &[&str] = &[
    "gameserver_tick_duration_seconds",
    "matchmaking_queue_wait_seconds",
    "players_online",
    "http_requests_total",
    "http_request_duration_seconds",
    "match_started_total",
    "match_duration_seconds",
    "net_packet_loss_ratio",
    "net_rtt_milliseconds",
    "process_resident_memory_bytes",
    "gameserver_entities",
    "lobby_join_failures_total",
    "anticheat_flags_total",
    "store_purchases_total",
    "grpc_server_handled_total",
    "up",
    "scrape_duration_seconds",
    "node_cpu_seconds_total",
    "go_gc_duration_seconds",
];
const BUCKETS: &[&str] = &[
    "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "30", "60",
    "+Inf", "1e+06",
];
const QUANTILES: &[&str] = &[
    "0", "0.25", "0.5", "0.75", "0.9", "0.95", "0.99", "0.999", "1",
];
const MAPS: &[&str] = &[
    "de_dust2",
    "summoners_rift",
    "howling_abyss",
    "kings_canyon",
    "erangel",
    "ascent",
    "bind",
    "world_edge",
    "verdansk",
    "arena_07",
];
const JOBS: &[&str] = &[
    "gameserver",
    "matchmaker",
    "node-exporter",
    "lobby",
    "kubernetes-pods",
];

fn hex(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(select(b"0123456789abcdef".as_slice()), len)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

/// Kubernetes name suffixes use this alphabet (no vowels, no `0`, `1`, `3`).
fn pod_hash(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(select(b"bcdfghjklmnpqrstvwxz2456789".as_slice()), len)
        .prop_map(|v| v.into_iter().map(char::from).collect())
}

pub fn uuid() -> impl Strategy<Value = String> {
    (
        hex(8),
        hex(4),
        hex(3),
        select(&['8', '9', 'a', 'b'][..]),
        hex(3),
        hex(12),
    )
        .prop_map(|(a, b, c, v, d, e)| format!("{a}-{b}-4{c}-{v}{d}-{e}"))
}

pub fn region() -> impl Strategy<Value = String> {
    select(REGIONS).prop_map(String::from)
}

pub fn az() -> impl Strategy<Value = String> {
    (select(AZ_PREFIXES), 1..=6u8).prop_map(|(p, n)| format!("{p}-az{n}"))
}

pub fn cluster() -> impl Strategy<Value = String> {
    (
        select(&["prod", "staging", "canary", "perf", "dev"][..]),
        select(&["eu", "us", "ap", "sa", "na", "global"][..]),
        1..=40u8,
    )
        .prop_map(|(e, r, n)| format!("{e}-{r}-{n}"))
}

pub fn shard_id() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..4096u32).prop_map(|n| n.to_string()),
        (0..4096u32).prop_map(|n| format!("shard-{n:04}")),
        (0..64u32, 0..256u32).prop_map(|(a, b)| format!("{a}-{b}")),
        (0..1024u32).prop_map(|n| format!("s{n:03}")),
    ]
}

pub fn instance_type() -> impl Strategy<Value = String> {
    (select(FAMILIES), select(SIZES)).prop_map(|(f, s)| format!("{f}.{s}"))
}

pub fn build_id() -> impl Strategy<Value = String> {
    prop_oneof![
        (0..30u32, 0..80u32, 0..400u32).prop_map(|(a, b, c)| format!("{a}.{b}.{c}")),
        (
            0..30u32,
            0..80u32,
            0..40u32,
            select(&["rc", "beta", "alpha"][..]),
            1..12u32
        )
            .prop_map(|(a, b, c, p, n)| format!("{a}.{b}.{c}-{p}.{n}")),
        (2023..2028u32, 1..13u32, 0..40u32, 1..99_999u32)
            .prop_map(|(y, m, p, b)| format!("{y}.{m}.{p}-b{b}")),
        (2023..2028u32, 1..13u32, 0..40u32).prop_map(|(y, m, p)| format!("{y}.{m}.{p}")),
        (0..10u32, 0..40u32, 0..40u32, hex(7))
            .prop_map(|(a, b, c, h)| format!("v{a}.{b}.{c}+g{h}")),
        (0..10u32, 0..40u32, 0..40u32, 0..500u32, hex(7))
            .prop_map(|(a, b, c, n, h)| format!("v{a}.{b}.{c}-{n}-g{h}")),
        (1..2_000_000u32).prop_map(|n| format!("r{n}")),
        (1..2_000_000u32).prop_map(|n| format!("CL-{n}")),
        (2020..2026u32, 1..4u32, 0..60u32, 1..20u32)
            .prop_map(|(y, a, b, f)| format!("{y}.{a}.{b}f{f}")),
        (0..20u32, 0..10u32, 256..60_000u32, 0..9_999u32)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        (0..10u32, 0..40u32, 0..40u32, 0..999u32)
            .prop_map(|(a, b, c, d)| format!("v{a}.{b}.{c}.{d}")),
        (
            0..10u32,
            0..40u32,
            0..40u32,
            2024..2028u32,
            1..13u32,
            1..29u32
        )
            .prop_map(|(a, b, c, y, m, d)| format!("{a}.{b}.{c}+{y}{m:02}{d:02}")),
        hex(12),
    ]
}

pub fn queue() -> impl Strategy<Value = String> {
    select(QUEUES).prop_map(String::from)
}

pub fn asn_bucket() -> impl Strategy<Value = String> {
    prop_oneof![
        (1..400_000u32).prop_map(|n| format!("asn-{n}")),
        (64_512..65_535u32).prop_map(|n| format!("asn-{n}")),
        select(&["asn-other", "asn-unknown", "asn-mobile"][..]).prop_map(String::from),
    ]
}

pub fn instance() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            0..256u32,
            0..256u32,
            0..256u32,
            select(REGIONS),
            select(&[9100u16, 8080, 9090][..])
        )
            .prop_map(|(b, c, d, r, p)| format!("ip-10-{b}-{c}-{d}.{r}.compute.internal:{p}")),
        (select(JOBS), pod_hash(10), pod_hash(5), 1000..10000u32)
            .prop_map(|(j, a, b, p)| format!("{j}-{a}-{b}:{p}")),
    ]
}

/// A metric series: `__name__` plus a random subset of allowlisted labels (and `le` /
/// `quantile` for histogram buckets and summaries; `job`/`instance` when asked),
/// sorted by name.
pub fn labels(with_job_instance: bool) -> impl Strategy<Value = Vec<Label>> {
    let opt = |s: BoxedStrategy<String>| proptest::option::weighted(0.6, s);
    (
        select(METRICS),
        0..4u8,
        select(BUCKETS),
        select(QUANTILES),
        (
            opt(region().boxed()),
            opt(az().boxed()),
            opt(cluster().boxed()),
            opt(shard_id().boxed()),
            opt(instance_type().boxed()),
            opt(build_id().boxed()),
            opt(queue().boxed()),
            opt(asn_bucket().boxed()),
        ),
        (select(JOBS), instance(), any::<bool>()),
    )
        .prop_map(move |(metric, shape, le, q, l, (job, inst, ji))| {
            let mut out = Vec::new();
            let mut push = |n: &str, v: String| {
                out.push(Label {
                    name: n.to_string(),
                    value: v,
                })
            };
            let name = match shape {
                0 => {
                    push("le", le.to_string());
                    format!("{metric}_bucket")
                }
                1 => {
                    push("quantile", q.to_string());
                    metric.to_string()
                }
                _ => metric.to_string(),
            };
            push("__name__", name);
            let names = [
                "region",
                "az",
                "cluster",
                "shard_id",
                "instance_type",
                "build_id",
                "queue",
                "asn_bucket",
            ];
            let values = [l.0, l.1, l.2, l.3, l.4, l.5, l.6, l.7];
            for (n, v) in names.iter().zip(values) {
                if let Some(v) = v {
                    push(n, v);
                }
            }
            if with_job_instance && ji {
                push("job", job.to_string());
                push("instance", inst);
            }
            out.sort_by(|a, b| a.name.cmp(&b.name));
            out
        })
}

fn iso_timestamp() -> impl Strategy<Value = String> {
    (
        1_600_000_000i64..1_900_000_000,
        0..1000u32,
        0..4u8,
        select(&["Z", "+00:00", "+01:00", "-05:00", "+09:00", "+05:30"][..]),
    )
        .prop_map(|(secs, ms, style, tz)| {
            let t = time::OffsetDateTime::from_unix_timestamp(secs)
                .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
            let (y, mo, d) = (t.year(), u8::from(t.month()), t.day());
            let (h, mi, s) = (t.hour(), t.minute(), t.second());
            match style {
                0 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
                1 => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}{tz}"),
                2 => format!("{y}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
                _ => format!("{y}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{ms:03}123{tz}"),
            }
        })
}

fn match_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        uuid().prop_map(Value::from),
        (
            select(&["EUW1", "NA1", "KR", "BR1", "OC1"][..]),
            1_000_000_000u64..9_999_999_999
        )
            .prop_map(|(p, n)| Value::from(format!("{p}_{n}"))),
        (1_000_000_000u64..9_999_999_999).prop_map(Value::from),
        hex(24).prop_map(Value::from),
    ]
}

fn player_id() -> impl Strategy<Value = Value> {
    prop_oneof![
        hex(32).prop_map(Value::from),
        (0..100_000_000u64).prop_map(|n| Value::from(format!("7656119{:010}", 8_000_000_000 + n))),
        (1_100_000_000_000_000_000u64..1_400_000_000_000_000_000)
            .prop_map(|n| Value::from(n.to_string())),
        uuid().prop_map(Value::from),
        (1..50_000_000u64).prop_map(Value::from),
    ]
}

fn round() -> impl Strategy<Value = Value> {
    (
        1..40u32,
        select(&["team_a", "team_b", "draw"][..]),
        5.0..240.0f64,
        0..6u32,
    )
        .prop_map(|(n, w, d, k)| json!({"round": n, "winner": w, "duration_s": d, "mvp_kills": k}))
}

/// One match-summary `event_data` object (fields vary from event to event).
pub fn event_data() -> impl Strategy<Value = Value> {
    (
        (match_id(), player_id(), 0..250_000u32, 0..60u32, 0..60u32, 0..7_200_000u64),
        (iso_timestamp(), iso_timestamp(), select(MAPS), queue(), region(), build_id()),
        (
            1.0..350.0f64,
            prop::array::uniform3(-5000.0..5000.0f64),
            prop::collection::vec(0..100_000u32, 0..6),
            prop::collection::vec(round(), 0..4),
        ),
        (
            hex(16),
            hex(64),
            any::<u32>(),
            any::<u64>(),
            1_600_000_000_000u64..1_900_000_000_000,
            1_600_000_000u64..1_900_000_000,
        ),
        (uuid(), instance_type(), any::<u16>()),
    )
        .prop_map(|(a, b, c, d, e)| {
            let (match_id, player_id, score, kills, deaths, duration_ms) = a;
            let (started, ended, map, queue, region, build) = b;
            let (ping, pos, items, rounds) = c;
            let (session, checksum, seed32, seed64, ts_ms, ts_s) = d;
            let (request_id, itype, mask) = e;
            let all = [
                ("match_id", match_id),
                ("player_id", player_id),
                ("score", json!(score)),
                ("stats", json!({"kills": kills, "deaths": deaths, "kda": f64::from(kills) / f64::from(deaths.max(1))})),
                ("duration_ms", json!(duration_ms)),
                ("started_at", json!(started)),
                ("ended_at", json!(ended)),
                ("map", json!(map)),
                ("queue", json!(queue)),
                ("region", json!(region)),
                ("build_id", json!(build)),
                ("ping_ms", json!(ping)),
                ("position", json!({"x": pos[0], "y": pos[1], "z": pos[2]})),
                ("items", json!(items)),
                ("rounds", json!(rounds)),
                ("session", json!(session)),
                ("checksum_sha256", json!(checksum)),
                ("seed", if mask & 1 == 0 { json!(seed32) } else { json!(seed64) }),
                ("client_ts_ms", json!(ts_ms)),
                ("server_ts", json!(ts_s)),
                ("request_id", json!(request_id)),
                ("host_type", json!(itype)),
            ];
            let obj: serde_json::Map<String, Value> = all
                .into_iter()
                .enumerate()
                .filter(|(i, _)| *i < 3 || (mask >> (i % 16)) & 1 == 1 || *i % 5 == 0)
                .map(|(_, (k, v))| (k.to_string(), v))
                .collect();
            Value::Object(obj)
        })
}
