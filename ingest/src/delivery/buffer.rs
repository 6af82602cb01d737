//! Per-shard buffers, one per `table::Partition` (kind, tenant, day, hour of the
//! envelope's ingest time). A buffer is due when its rows reach `max_bytes` or its oldest
//! record has waited `interval`, like Firehose's buffering hints.

use super::rows::BufferedRecord;
use crate::table::{Partition, SeqNo};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

#[derive(Debug)]
pub struct PartitionBuffer {
    pub records: Vec<BufferedRecord>,
    /// Uncompressed envelope bytes (the size the flush threshold is measured in).
    pub bytes: u64,
    pub first_at: Instant,
}

impl PartitionBuffer {
    pub fn first_seq(&self) -> Option<&SeqNo> {
        self.records.first().map(|r| &r.seq)
    }
    pub fn last_seq(&self) -> Option<&SeqNo> {
        self.records.last().map(|r| &r.seq)
    }
}

#[derive(Debug)]
pub struct Buffers {
    parts: BTreeMap<Partition, PartitionBuffer>,
    max_bytes: u64,
    interval: Duration,
}

impl Buffers {
    pub fn new(max_bytes: u64, interval: Duration) -> Self {
        Self {
            parts: BTreeMap::new(),
            max_bytes,
            interval,
        }
    }

    pub fn push(&mut self, partition: Partition, rec: BufferedRecord, size: u64, now: Instant) {
        let b = self
            .parts
            .entry(partition)
            .or_insert_with(|| PartitionBuffer {
                records: Vec::new(),
                bytes: 0,
                first_at: now,
            });
        b.bytes += size;
        b.records.push(rec);
    }

    fn is_due(&self, b: &PartitionBuffer, now: Instant) -> bool {
        b.bytes >= self.max_bytes || now.duration_since(b.first_at) >= self.interval
    }

    pub fn any_due(&self, now: Instant) -> bool {
        self.parts.values().any(|b| self.is_due(b, now))
    }

    /// Removes and returns the due buffers (all of them when `all`).
    pub fn take_due(&mut self, now: Instant, all: bool) -> Vec<(Partition, PartitionBuffer)> {
        let due: Vec<Partition> = self
            .parts
            .iter()
            .filter(|(_, b)| all || self.is_due(b, now))
            .map(|(p, _)| p.clone())
            .collect();
        due.into_iter()
            .filter_map(|p| self.parts.remove(&p).map(|b| (p, b)))
            .collect()
    }

    /// Oldest sequence number still only in a buffer: the resume point.
    pub fn oldest_seq(&self) -> Option<SeqNo> {
        self.parts
            .values()
            .filter_map(|b| b.first_seq())
            .min()
            .cloned()
    }

    /// Age of the oldest buffered record.
    pub fn oldest_age(&self, now: Instant) -> Duration {
        self.parts
            .values()
            .map(|b| now.duration_since(b.first_at))
            .max()
            .unwrap_or_default()
    }

    pub fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    pub fn total_bytes(&self) -> u64 {
        self.parts.values().map(|b| b.bytes).sum()
    }

    /// Time until the next buffer becomes due by age (`None` when empty).
    pub fn next_due_in(&self, now: Instant) -> Option<Duration> {
        self.parts
            .values()
            .map(|b| self.interval.saturating_sub(now.duration_since(b.first_at)))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::{Envelope, Kind};

    fn rec(seq: &str) -> BufferedRecord {
        BufferedRecord::from_envelope(SeqNo::new(seq), &Envelope::default())
    }

    #[test]
    fn due_by_size_or_age_and_resume_is_oldest() {
        let t0 = Instant::now();
        let mut b = Buffers::new(100, Duration::from_secs(1));
        let p1 = Partition::of(Kind::Metrics, "a", 0);
        let p2 = Partition::of(Kind::Events, "a", 0);
        b.push(p1.clone(), rec("5"), 10, t0);
        b.push(p2.clone(), rec("7"), 200, t0);
        b.push(p1.clone(), rec("9"), 10, t0);
        assert_eq!(b.oldest_seq(), Some(SeqNo::new("5")));
        let due = b.take_due(t0, false);
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].0, p2);
        assert_eq!(b.oldest_seq(), Some(SeqNo::new("5")));
        assert!(!b.any_due(t0));
        assert!(b.any_due(t0 + Duration::from_secs(1)));
        let rest = b.take_due(t0, true);
        assert_eq!(rest[0].1.records.len(), 2);
        assert!(b.is_empty() && b.oldest_seq().is_none());
    }
}
