//! Player and match events (JSON batches to `/v1/events`). The `event_id` encodes the
//! run, the tenant, the producer and a sequence number, so the ledger can tell every
//! stored event it sent from one it never sent, without keeping the ids as strings.

use fake::Fake;
use fake::faker::lorem::en::Word;
use fake::rand::RngExt;
use fake::rand::rngs::SmallRng;
use serde_json::{Value, json};

const TYPES: &[(&str, &[&str])] = &[
    ("match", &["match_start", "match_end", "round_end"]),
    ("player", &["login", "logout", "level_up"]),
    ("economy", &["purchase", "reward_granted"]),
    ("social", &["party_formed", "friend_added"]),
];
const MODES: &[&str] = &["ranked-5v5", "casual", "tournament", "coop-raid"];

/// `<run>-t<tenant>-p<producer>-<seq>`
pub fn event_id(run: &str, tenant: u8, producer: u16, seq: u64) -> String {
    format!("{run}-t{tenant}-p{producer}-{seq}")
}

/// The parts of an id this run made (`None` for any other id: a phantom).
pub fn parse_event_id(run: &str, id: &str) -> Option<(u8, u16, u64)> {
    let rest = id.strip_prefix(run)?.strip_prefix("-t")?;
    let (t, rest) = rest.split_once("-p")?;
    let (p, seq) = rest.split_once('-')?;
    Some((t.parse().ok()?, p.parse().ok()?, seq.parse().ok()?))
}

fn hex(rng: &mut SmallRng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

/// One clean event (RFC 3339 or epoch-ms timestamps, both accepted).
pub fn event(rng: &mut SmallRng, id: &str, ts_ms: i64, app_version: &str) -> Value {
    let (ty, names) = TYPES[rng.random_range(0..TYPES.len())];
    let name = names[rng.random_range(0..names.len())];
    let map: String = Word().fake_with_rng(rng);
    let data = json!({
        "match_id": format!("m-{}", hex(rng, 12)),
        "player_id": format!("pl-{}", hex(rng, 10)),
        "mode": MODES[rng.random_range(0..MODES.len())],
        "map": map,
        "score": rng.random_range(0..5_000),
        "duration_ms": rng.random_range(1_000..2_400_000),
        "items": [format!("item-{}", rng.random_range(0..400)), format!("skin-{}", rng.random_range(0..90))],
    });
    let ts = if rng.random_bool(0.5) {
        json!(ts_ms)
    } else {
        json!(rfc3339(ts_ms))
    };
    json!({
        "event_id": id,
        "event_type": ty,
        "event_name": name,
        "event_timestamp": ts,
        "app_version": app_version,
        "event_data": data,
    })
}

pub fn rfc3339(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

pub fn batch(events: Vec<Value>) -> Vec<u8> {
    json!({ "events": events }).to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_ids_round_trip_and_foreign_ids_do_not_parse() {
        let id = event_id("ab12cd34", 2, 7, 123_456);
        assert_eq!(parse_event_id("ab12cd34", &id), Some((2, 7, 123_456)));
        assert_eq!(parse_event_id("ffffffff", &id), None);
        assert_eq!(parse_event_id("ab12cd34", "ab12cd34-x"), None);
    }
}
