//! Bad traffic for the edge-hygiene gate (T3), one class per request, clean requests
//! between them: planted PII (email, phone, IPv4/IPv6, Luhn-valid card — drawn from the
//! gateway's own `testgen` generators in many spellings) in remote_write label values,
//! exemplar labels, OTLP attributes and event data, each planted string recorded for the
//! storage audit; label names outside the allowlist; a high-cardinality burst past the
//! tenant's active-series budget; bad schemas (unknown fields, wrong types, bodies that
//! are not snappy / protobuf / JSON).

use super::events;
use super::producer::Kind;
use super::{otlp, remote_write};
use bytes::Bytes;
use fake::Fake;
use fake::faker::internet::en::Username;
use fake::rand::RngExt;
use fake::rand::rngs::SmallRng;
use ingest::gateway::hygiene::testgen::{Sampler, pii};
use serde_json::json;

/// A PII string the producers planted, and where.
#[derive(Clone, Debug)]
pub struct Planted {
    pub value: String,
    pub kind: String,
    pub placement: String,
}

pub struct BadRequest {
    pub kind: Kind,
    pub body: Bytes,
    /// Items carried (all of them bad).
    pub items: u64,
    pub planted: Option<Planted>,
}

/// Labels every bad series carries besides its bad part (so only that part is judged).
fn base_labels(tenant: u8) -> Vec<(String, String)> {
    vec![
        ("region".into(), "eu-west-1".into()),
        ("shard_id".into(), format!("hyg-{tenant}")),
    ]
}

/// One PII case of a kind the gateway's default detectors cover.
fn pii_case(rng: &mut SmallRng) -> Option<pii::PiiCase> {
    let mut s = Sampler::new(rng.random());
    match rng.random_range(0..5) {
        0 => s.sample(&pii::email()),
        1 => s.sample(&pii::phone()),
        2 => s.sample(&pii::ipv4()),
        3 => s.sample(&pii::ipv6()),
        _ => s.sample(&pii::card()),
    }
}

pub fn bad_request(
    rng: &mut SmallRng,
    class: &'static str,
    run_id: &str,
    tenant: u8,
    now_ms: i64,
    budget: u64,
    nth: u32,
) -> BadRequest {
    match class {
        "pii" => pii_request(rng, run_id, tenant, now_ms),
        "unknown_label" => unknown_label(rng, tenant, now_ms),
        "high_cardinality" => high_cardinality(tenant, now_ms, budget, nth),
        _ => bad_schema(rng, run_id, tenant, now_ms),
    }
}

fn pii_request(rng: &mut SmallRng, run_id: &str, tenant: u8, now_ms: i64) -> BadRequest {
    let Some(case) = pii_case(rng) else {
        return bad_schema(rng, run_id, tenant, now_ms);
    };
    let mut s = Sampler::new(rng.random());
    let text = s
        .sample(&pii::in_text(case.clone()))
        .map(|(_, _, t)| t)
        .unwrap_or_else(|| case.value.clone());
    let kind_name = format!("{:?}", case.kind).to_lowercase();
    let planted = |placement: &str| {
        Some(Planted {
            value: case.value.clone(),
            kind: kind_name.clone(),
            placement: format!("{placement} ({})", case.spelling),
        })
    };
    let mut labels = base_labels(tenant);
    match rng.random_range(0..4) {
        0 => {
            labels.push(("cluster".into(), text));
            let ts = remote_write::one_series("game_server_players_online", &labels, now_ms, None);
            BadRequest {
                kind: Kind::RemoteWrite,
                body: remote_write::encode(vec![ts]),
                items: 1,
                planted: planted("remote_write label value"),
            }
        }
        1 => {
            let ex = [("trace_note".to_string(), text)];
            let ts = remote_write::one_series("net_rtt_seconds", &labels, now_ms, Some(&ex));
            BadRequest {
                kind: Kind::RemoteWrite,
                body: remote_write::encode(vec![ts]),
                items: 1,
                planted: planted("remote_write exemplar label"),
            }
        }
        2 => {
            labels.push(("queue".into(), text));
            BadRequest {
                kind: Kind::Otlp,
                body: otlp::one_gauge("matchmaker_queue_depth", &labels, now_ms),
                items: 1,
                planted: planted("OTLP attribute"),
            }
        }
        _ => {
            let data = s
                .sample(&pii::in_json(case.clone()))
                .map(|(_, _, v)| v)
                .unwrap_or_else(|| json!({ "note": case.value }));
            let id = events::event_id(run_id, tenant, u16::MAX, rng.random_range(0..1 << 30));
            let ev = json!({
                "event_id": id, "event_type": "chat", "event_name": "report",
                "event_timestamp": now_ms, "app_version": "1.42.0", "event_data": data,
            });
            BadRequest {
                kind: Kind::Events,
                body: Bytes::from(events::batch(vec![ev])),
                items: 1,
                planted: planted("event data"),
            }
        }
    }
}

const UNKNOWN_LABELS: &[&str] = &[
    "player_name",
    "user_id",
    "session_id",
    "match_uuid",
    "pod_ip",
];

fn unknown_label(rng: &mut SmallRng, tenant: u8, now_ms: i64) -> BadRequest {
    let mut labels = base_labels(tenant);
    let name = UNKNOWN_LABELS[rng.random_range(0..UNKNOWN_LABELS.len())];
    let value: String = Username().fake_with_rng(rng);
    labels.push((
        name.into(),
        value.replace(|c: char| !c.is_ascii_alphanumeric(), "-"),
    ));
    labels.sort();
    if rng.random_bool(0.5) {
        let ts = remote_write::one_series("game_server_players_online", &labels, now_ms, None);
        BadRequest {
            kind: Kind::RemoteWrite,
            body: remote_write::encode(vec![ts]),
            items: 1,
            planted: None,
        }
    } else {
        BadRequest {
            kind: Kind::Otlp,
            body: otlp::one_gauge("game_server_players_online", &labels, now_ms),
            items: 1,
            planted: None,
        }
    }
}

/// Budget + 1 new series in one remote_write request: it cannot fit.
fn high_cardinality(tenant: u8, now_ms: i64, budget: u64, nth: u32) -> BadRequest {
    let n = budget.saturating_add(1).min(200_000);
    let series = (0..n)
        .map(|i| {
            let labels = vec![
                ("region".to_string(), "eu-west-1".to_string()),
                ("shard_id".to_string(), format!("hc-{tenant}-{nth}-{i}")),
            ];
            remote_write::one_series("game_server_players_online", &labels, now_ms, None)
        })
        .collect();
    BadRequest {
        kind: Kind::RemoteWrite,
        body: remote_write::encode(series),
        items: n,
        planted: None,
    }
}

fn bad_schema(rng: &mut SmallRng, run_id: &str, tenant: u8, now_ms: i64) -> BadRequest {
    let id = events::event_id(run_id, tenant, u16::MAX, rng.random_range(0..1 << 30));
    let event = |extra: serde_json::Value| {
        let mut e = json!({
            "event_id": id, "event_type": "match", "event_name": "match_end",
            "event_timestamp": now_ms, "app_version": "1.42.0", "event_data": {"score": 1},
        });
        if let (Some(o), Some(x)) = (e.as_object_mut(), extra.as_object()) {
            for (k, v) in x {
                o.insert(k.clone(), v.clone());
            }
        }
        e
    };
    let (kind, body) = match rng.random_range(0..5) {
        0 => (
            Kind::Events,
            events::batch(vec![event(json!({"surprise": true}))]),
        ),
        1 => (
            Kind::Events,
            events::batch(vec![event(json!({"event_timestamp": true}))]),
        ),
        2 => (Kind::Events, b"{\"events\": [ not json".to_vec()),
        3 => (Kind::RemoteWrite, b"this is not snappy protobuf".to_vec()),
        _ => (Kind::Otlp, vec![0xff, 0xff, 0xff, 0x0f, 0x01]),
    };
    BadRequest {
        kind,
        body: Bytes::from(body),
        items: 1,
        planted: None,
    }
}
