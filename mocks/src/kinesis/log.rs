//! One shard's records: an append-only log whose payloads live in 1 MiB arena segments
//! and whose index entries are 24 bytes each, so two million 150-byte records take
//! about twice their payload. Retention drops whole entries from the front and frees a
//! segment once none of its records remain.

use std::collections::VecDeque;

const SEGMENT_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Copy)]
struct Entry {
    arrival_ms: i64,
    /// Absolute segment number (segments are never renumbered).
    segment: u32,
    offset: u32,
    data_len: u32,
    key_len: u16,
}

#[derive(Debug)]
struct Segment {
    buf: Vec<u8>,
    /// Absolute index of the last record stored in this segment.
    last_index: u64,
}

/// A record as read back: borrowed from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordRef<'a> {
    pub index: u64,
    pub arrival_ms: i64,
    pub data: &'a [u8],
    pub partition_key: &'a [u8],
}

#[derive(Debug, Default)]
pub struct Log {
    /// Absolute index of `entries[0]`.
    first_index: u64,
    entries: VecDeque<Entry>,
    /// Absolute number of `segments[0]`.
    first_segment: u32,
    segments: VecDeque<Segment>,
    retained_bytes: u64,
    /// Latest arrival time ever appended (survives trimming).
    last_arrival_ms: i64,
}

impl Log {
    /// Index the next appended record gets.
    pub fn end(&self) -> u64 {
        self.first_index + self.entries.len() as u64
    }

    /// Oldest retained index (the trim horizon).
    pub fn start(&self) -> u64 {
        self.first_index
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn retained_bytes(&self) -> u64 {
        self.retained_bytes
    }

    /// Arrival times never go backwards inside a shard, whatever the wall clock does.
    pub fn last_arrival_ms(&self) -> i64 {
        self.last_arrival_ms
    }

    /// Appends one record and returns its absolute index.
    pub fn append(&mut self, data: &[u8], partition_key: &[u8], arrival_ms: i64) -> u64 {
        let need = data.len() + partition_key.len();
        let fits = self
            .segments
            .back()
            .is_some_and(|s| s.buf.capacity() - s.buf.len() >= need);
        if !fits {
            let last = self.first_index + self.entries.len() as u64;
            self.segments.push_back(Segment {
                buf: Vec::with_capacity(need.max(SEGMENT_BYTES)),
                last_index: last,
            });
        }
        let segment_no = self.first_segment + self.segments.len() as u32 - 1;
        let index = self.end();
        let arrival_ms = arrival_ms.max(self.last_arrival_ms);
        self.last_arrival_ms = arrival_ms;
        if let Some(seg) = self.segments.back_mut() {
            let offset = seg.buf.len() as u32;
            seg.buf.extend_from_slice(data);
            seg.buf.extend_from_slice(partition_key);
            seg.last_index = index;
            self.entries.push_back(Entry {
                arrival_ms,
                segment: segment_no,
                offset,
                data_len: data.len() as u32,
                key_len: partition_key.len() as u16,
            });
            self.retained_bytes += need as u64;
        }
        index
    }

    pub fn get(&self, index: u64) -> Option<RecordRef<'_>> {
        let i = index.checked_sub(self.first_index)? as usize;
        let e = self.entries.get(i)?;
        let seg = self
            .segments
            .get((e.segment - self.first_segment) as usize)?;
        let start = e.offset as usize;
        let mid = start + e.data_len as usize;
        Some(RecordRef {
            index,
            arrival_ms: e.arrival_ms,
            data: &seg.buf[start..mid],
            partition_key: &seg.buf[mid..mid + e.key_len as usize],
        })
    }

    /// First index whose arrival time is at or after `ts_ms` (`end()` if none).
    pub fn index_at_time(&self, ts_ms: i64) -> u64 {
        self.first_index + self.entries.partition_point(|e| e.arrival_ms < ts_ms) as u64
    }

    /// Drops records that arrived before `cutoff_ms`; returns how many went.
    pub fn trim_before(&mut self, cutoff_ms: i64) -> u64 {
        let mut dropped = 0;
        while let Some(e) = self.entries.front() {
            if e.arrival_ms >= cutoff_ms {
                break;
            }
            self.retained_bytes -= e.data_len as u64 + e.key_len as u64;
            self.entries.pop_front();
            self.first_index += 1;
            dropped += 1;
        }
        while self
            .segments
            .front()
            .is_some_and(|s| s.last_index < self.first_index && self.segments.len() > 1)
        {
            self.segments.pop_front();
            self.first_segment += 1;
        }
        if self.entries.is_empty() && dropped > 0 {
            // Keep the last segment for appends, but release its payload.
            if let Some(s) = self.segments.front_mut()
                && s.last_index < self.first_index
            {
                s.buf = Vec::new();
            }
        }
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_reads_and_trims() {
        let mut log = Log::default();
        for i in 0..3000u64 {
            let data = vec![(i % 251) as u8; 700];
            assert_eq!(log.append(&data, format!("k{i}").as_bytes(), i as i64), i);
        }
        let r = log.get(1234).unwrap();
        assert_eq!(r.data, vec![(1234 % 251) as u8; 700].as_slice());
        assert_eq!(r.partition_key, b"k1234");
        assert_eq!(log.index_at_time(1500), 1500);
        assert_eq!(log.trim_before(2000), 2000);
        assert_eq!(log.start(), 2000);
        assert!(log.get(1999).is_none());
        assert_eq!(log.get(2999).unwrap().partition_key, b"k2999");
        assert!(
            log.segments.len() < 3,
            "segments of trimmed records are freed"
        );
        assert_eq!(log.trim_before(i64::MAX), 1000);
        assert_eq!(log.end(), 3000);
        assert_eq!(log.append(b"x", b"k", 5), 3000);
        assert_eq!(
            log.get(3000).unwrap().arrival_ms,
            2999,
            "arrival never goes back"
        );
    }

    #[test]
    fn big_record_gets_its_own_segment() {
        let mut log = Log::default();
        log.append(&[1; 10], b"a", 0);
        let big = vec![2u8; (1 << 20) + 5];
        let i = log.append(&big, b"b", 0);
        assert_eq!(log.get(i).unwrap().data.len(), big.len());
        assert_eq!(log.get(0).unwrap().data, &[1; 10]);
    }
}
