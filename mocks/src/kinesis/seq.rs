//! Sequence numbers: 56-digit numeric strings like AWS's, strictly increasing per shard,
//! so comparing them as numbers (or as fixed-width strings) gives record order.
//!
//! Layout: `49` · stream generation (8 digits) · shard index (6) · record index (20) ·
//! 20 zeros. The record index is the record's absolute position in its shard's log, so
//! AT/AFTER_SEQUENCE_NUMBER resolve in O(1); the generation tells a recreated stream's
//! numbers from its predecessor's.

use std::fmt::Write;

pub const LEN: usize = 56;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SeqNo {
    pub generation: u32,
    pub shard: u32,
    pub index: u64,
}

impl SeqNo {
    pub fn write_to(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "49{:08}{:06}{:020}00000000000000000000",
            self.generation, self.shard, self.index
        );
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
        assert_eq!(SeqNo::parse("12"), None);
        assert_eq!(SeqNo::parse(&sa.replace('4', "x")), None);
    }
}
