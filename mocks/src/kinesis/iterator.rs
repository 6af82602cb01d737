//! Shard iterators: opaque tokens naming a stream, a shard and a position, valid for
//! five minutes after they were issued (then ExpiredIteratorException), as in AWS.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const VALIDITY_MS: i64 = 5 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Iterator {
    pub stream: String,
    pub generation: u32,
    pub shard: u32,
    /// Absolute index of the next record to return.
    pub position: u64,
    pub issued_ms: i64,
}

impl Iterator {
    pub fn encode(&self) -> String {
        STANDARD.encode(format!(
            "gdk1|{}|{}|{}|{}|{}",
            self.stream, self.generation, self.shard, self.position, self.issued_ms
        ))
    }

    pub fn decode(token: &str) -> Option<Iterator> {
        let raw = STANDARD.decode(token).ok()?;
        let text = std::str::from_utf8(&raw).ok()?;
        let mut parts = text.split('|');
        if parts.next()? != "gdk1" {
            return None;
        }
        let it = Iterator {
            stream: parts.next()?.to_string(),
            generation: parts.next()?.parse().ok()?,
            shard: parts.next()?.parse().ok()?,
            position: parts.next()?.parse().ok()?,
            issued_ms: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(it)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let it = Iterator {
            stream: "telemetry.v1".into(),
            generation: 2,
            shard: 3,
            position: 77,
            issued_ms: 1_700_000_000_000,
        };
        assert_eq!(Iterator::decode(&it.encode()), Some(it));
        assert_eq!(Iterator::decode("not base64!"), None);
        assert_eq!(Iterator::decode(&STANDARD.encode("gdk1|s|1|2")), None);
    }
}
