//! One tenant's active-series budget. A series is active for the window after it was
//! last seen; a new series is admitted only while fewer than `budget` are held. Memory
//! is bounded by the budget itself (nothing is stored for a refused series). Expired
//! series are dropped lazily: when the budget is full, at most once per sweep interval
//! (so a flood of refused series cannot make every call walk the whole map).

use super::Rejection;
use super::cache::FpBuild;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};

const SHARDS: usize = 16;
const SWEEP_INTERVAL_MS: i64 = 1_000;

pub(super) struct ActiveSeries {
    budget: usize,
    window_ms: i64,
    held: AtomicUsize,
    next_sweep_ms: AtomicI64,
    shards: Box<[Mutex<HashMap<u64, i64, FpBuild>>]>,
}

impl ActiveSeries {
    pub(super) fn new(budget: usize, window_ms: i64) -> Self {
        Self {
            budget,
            window_ms,
            held: AtomicUsize::new(0),
            next_sweep_ms: AtomicI64::new(i64::MIN),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
        }
    }

    fn shard(&self, fp: u64) -> &Mutex<HashMap<u64, i64, FpBuild>> {
        &self.shards[(fp >> 60) as usize % SHARDS]
    }

    /// Takes one slot if the budget has room.
    fn reserve(&self) -> bool {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |h| {
                (h < self.budget).then_some(h + 1)
            })
            .is_ok()
    }

    fn try_admit(&self, fp: u64, now_ms: i64) -> bool {
        let mut m = self.shard(fp).lock();
        if let Some(last) = m.get_mut(&fp) {
            // Known (even if expired and not swept yet: it still holds its slot).
            *last = (*last).max(now_ms);
            return true;
        }
        if self.reserve() {
            m.insert(fp, now_ms);
            return true;
        }
        false
    }

    pub(super) fn admit(&self, fp: u64, now_ms: i64) -> Result<(), Rejection> {
        if self.try_admit(fp, now_ms) || (self.sweep(now_ms) > 0 && self.try_admit(fp, now_ms)) {
            Ok(())
        } else {
            Err(Rejection::Cardinality)
        }
    }

    /// Drops the series not seen within the window; returns how many. Runs at most
    /// once per [`SWEEP_INTERVAL_MS`].
    fn sweep(&self, now_ms: i64) -> usize {
        let due = self.next_sweep_ms.load(Ordering::Acquire);
        let next = now_ms.saturating_add(SWEEP_INTERVAL_MS.min(self.window_ms.max(1)));
        if now_ms < due
            || self
                .next_sweep_ms
                .compare_exchange(due, next, Ordering::AcqRel, Ordering::Acquire)
                .is_err()
        {
            return 0;
        }
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut m = shard.lock();
            let before = m.len();
            m.retain(|_, last| now_ms.saturating_sub(*last) < self.window_ms);
            removed += before - m.len();
        }
        self.held.fetch_sub(removed, Ordering::AcqRel);
        removed
    }

    #[cfg(test)]
    pub(super) fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(i: u64) -> u64 {
        i.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    #[test]
    fn new_series_over_budget_are_refused_known_ones_pass() {
        let a = ActiveSeries::new(3, 60_000);
        for i in 0..3 {
            assert_eq!(a.admit(fp(i), 0), Ok(()));
        }
        assert_eq!(a.admit(fp(3), 10), Err(Rejection::Cardinality));
        for i in 0..3 {
            assert_eq!(a.admit(fp(i), 20), Ok(()), "known series {i}");
        }
        assert_eq!(a.held(), 3);
    }

    #[test]
    fn expired_series_free_their_slots() {
        let a = ActiveSeries::new(2, 60_000);
        a.admit(fp(0), 0).unwrap();
        a.admit(fp(1), 30_000).unwrap();
        assert!(a.admit(fp(2), 59_000).is_err());
        // fp(0) expires at 60 s; fp(1) is still active.
        assert_eq!(a.admit(fp(2), 61_000), Ok(()));
        assert!(a.admit(fp(3), 62_500).is_err());
        assert_eq!(a.held(), 2);
    }

    #[test]
    fn zero_budget_refuses_everything_new() {
        let a = ActiveSeries::new(0, 1_000);
        assert!(a.admit(fp(0), 0).is_err());
        assert_eq!(a.held(), 0);
    }
}
