//! Sequence numbers: 56-digit numeric strings like AWS's, strictly increasing per shard,
//! so comparing them as numbers (or as fixed-width strings) gives record order.
//!
//! Layout: `49` · stream generation (8 digits) · shard index (6) · record index (20) ·
//! 20 zeros. The record index is the record's absolute position in its shard's log, so
//! AT/AFTER_SEQUENCE_NUMBER resolve in O(1); the generation tells a recreated stream's
//! numbers from its predecessor's.

pub const LEN: usize = 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeqNo {
    pub generation: u32,
    pub shard: u32,
    pub index: u64,
}

impl SeqNo {
    pub fn write_to(&self, out: &mut String) {
        let mut buf = [b'0'; LEN];
        buf[..2].copy_from_slice(b"49");
        put_digits(&mut buf[2..10], self.generation as u64);
        put_digits(&mut buf[10..16], self.shard as u64);
        put_digits(&mut buf[16..36], self.index);
        // Only ASCII digits were written.
        out.push_str(std::str::from_utf8(&buf).unwrap_or_default());
    }

    pub fn render(&self) -> String {
        let mut s = String::with_capacity(LEN);
        self.write_to(&mut s);
        s
    }

    pub fn parse(s: &str) -> Option<SeqNo> {
        if s.len() != LEN || !s.bytes().all(|b| b.is_ascii_digit()) || !s.starts_with("49") {
            return None;
        }
        if s[36..].bytes().any(|b| b != b'0') {
            return None;
        }
        Some(SeqNo {
            generation: s[2..10].parse().ok()?,
            shard: s[10..16].parse().ok()?,
            index: s[16..36].parse().ok()?,
        })
    }
}

/// Writes `v` right-aligned in decimal into `out`, which is pre-filled with zeros.
fn put_digits(out: &mut [u8], mut v: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_numerically() {
        let a = SeqNo {
            generation: 3,
            shard: 1,
            index: 9,
        };
        let b = SeqNo {
            generation: 3,
            shard: 1,
            index: 10,
        };
        let (sa, sb) = (a.render(), b.render());
        assert_eq!(sa.len(), LEN);
        assert_eq!(SeqNo::parse(&sa), Some(a));
        assert!(sa < sb);
        // Fixed width: lexical order is numeric order.
        assert_eq!(sb.len(), LEN);
        let big = SeqNo {
            generation: 99_999_999,
            shard: 999_999,
            index: u64::MAX,
        };
        assert_eq!(SeqNo::parse(&big.render()), Some(big));
        assert_eq!(SeqNo::parse("12"), None);
        assert_eq!(SeqNo::parse(&sa.replace('4', "x")), None);
    }
}
