//! Message ids and receipt handles: unique, cheap (no syscall per message) and derived
//! from the emulator's seed, so a run can be replayed. A receipt handle names the queue
//! incarnation, the message and the receive it came from, with a keyed check that tells
//! a handle this emulator issued from garbage.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use std::sync::atomic::{AtomicU64, Ordering};

/// A message's place in its queue: (first enqueue time in ms, sequence in the queue).
/// Ordered by age, so retention only ever looks at the first entry.
pub(crate) type Key = (i64, u64);

/// What a receipt handle carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Handle {
    pub queue_uid: u64,
    pub key: Key,
    pub nonce: u64,
}

pub(crate) struct Ids {
    key: u64,
    next: AtomicU64,
}

/// SplitMix64's finalizer: a bijection on u64 that mixes well.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const HANDLE_BYTES: usize = 40;

/// A message id as its hyphenated UUID text, serialized without allocating.
pub(crate) struct MessageId(pub u128);

impl serde::Serialize for MessageId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = uuid::Uuid::encode_buffer();
        s.serialize_str(
            uuid::Uuid::from_u128(self.0)
                .hyphenated()
                .encode_lower(&mut buf),
        )
    }
}

impl Ids {
    pub fn new(seed: u64) -> Self {
        Self {
            key: mix(seed ^ 0x5351_5321),
            next: AtomicU64::new(1),
        }
    }

    /// A number never handed out before (receive nonces, queue incarnations).
    pub fn unique(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// A v4-shaped UUID, distinct for every call.
    pub fn message_id(&self) -> u128 {
        let n = self.unique();
        let hi = mix(n ^ self.key);
        let lo = mix(hi ^ self.key.rotate_left(32));
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&hi.to_be_bytes());
        bytes[8..].copy_from_slice(&lo.to_be_bytes());
        uuid::Builder::from_random_bytes(bytes)
            .into_uuid()
            .as_u128()
    }

    fn tag(&self, h: &Handle) -> u64 {
        let mut t = mix(self.key ^ h.queue_uid);
        t = mix(t ^ h.key.0 as u64);
        t = mix(t ^ h.key.1);
        mix(t ^ h.nonce)
    }

    pub fn encode_handle(&self, h: &Handle) -> String {
        let mut bytes = [0u8; HANDLE_BYTES];
        let fields = [h.queue_uid, h.key.0 as u64, h.key.1, h.nonce, self.tag(h)];
        for (chunk, v) in bytes.chunks_exact_mut(8).zip(fields) {
            chunk.copy_from_slice(&v.to_be_bytes());
        }
        STANDARD.encode(bytes)
    }

    /// The handle `s` encodes, if this emulator issued it.
    pub fn decode_handle(&self, s: &str) -> Option<Handle> {
        let bytes = STANDARD.decode(s).ok()?;
        if bytes.len() != HANDLE_BYTES {
            return None;
        }
        let mut f = [0u64; 5];
        for (v, chunk) in f.iter_mut().zip(bytes.chunks_exact(8)) {
            *v = u64::from_be_bytes(chunk.try_into().ok()?);
        }
        let h = Handle {
            queue_uid: f[0],
            key: (f[1] as i64, f[2]),
            nonce: f[3],
        };
        (self.tag(&h) == f[4]).then_some(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_ids_are_distinct_uuids() {
        let ids = Ids::new(7);
        let a = ids.message_id();
        let b = ids.message_id();
        assert_ne!(a, b);
        let text = serde_json::to_string(&MessageId(a)).expect("serialized");
        let parsed = uuid::Uuid::parse_str(text.trim_matches('"')).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
        assert_eq!(parsed.as_u128(), a);
    }

    #[test]
    fn handles_round_trip_and_reject_tampering() {
        let ids = Ids::new(7);
        let h = Handle {
            queue_uid: 3,
            key: (1_700_000_000_000, 42),
            nonce: 9,
        };
        let s = ids.encode_handle(&h);
        assert_eq!(ids.decode_handle(&s), Some(h));
        let mut bytes = STANDARD.decode(&s).expect("base64");
        bytes[31] ^= 1;
        assert_eq!(ids.decode_handle(&STANDARD.encode(bytes)), None);
        assert_eq!(ids.decode_handle("garbage"), None);
        assert_eq!(Ids::new(8).decode_handle(&s), None);
    }
}
