//! [`PartialsCache`]: partial aggregation states per committed object, keyed by what was
//! computed over which object (see [`super`]), bounded by a byte budget (least recently
//! used out first). Committed objects are immutable, so an entry never goes stale; one
//! larger than an eighth of the budget is not kept (counted as `oversize`).

use crate::query::lru::ByteLru;
use arrow::record_batch::RecordBatch;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::Arc;

/// The cache's counters (registered by [`crate::query::metrics::Metrics`]).
#[derive(Debug, Clone, Default)]
pub struct PartialsMetrics {
    pub hits: Counter,
    pub misses: Counter,
    pub evictions: Counter,
    pub oversize: Counter,
    pub bytes: Gauge,
}

pub type Partial = Arc<Vec<RecordBatch>>;

pub struct PartialsCache {
    lru: ByteLru<String, Partial>,
    metrics: PartialsMetrics,
}

impl std::fmt::Debug for PartialsCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartialsCache")
            .field("budget", &self.lru.budget())
            .finish()
    }
}

impl PartialsCache {
    /// `budget` bytes at most; 0 turns caching (and the plan rewrite) off.
    pub fn new(budget: u64, metrics: PartialsMetrics) -> Self {
        Self {
            lru: ByteLru::new(budget, metrics.evictions.clone(), metrics.bytes.clone()),
            metrics,
        }
    }

    pub fn enabled(&self) -> bool {
        self.lru.budget() > 0
    }

    /// The largest state kept (bytes).
    pub fn entry_limit(&self) -> u64 {
        self.lru.budget() / 8
    }

    /// A state was not kept: larger than [`Self::entry_limit`] or than the query's memory.
    pub fn note_oversize(&self) {
        self.metrics.oversize.inc();
    }

    pub fn get(&self, key: &str) -> Option<Partial> {
        let hit = self.lru.get(key);
        match hit {
            Some(_) => self.metrics.hits.inc(),
            None => self.metrics.misses.inc(),
        };
        hit
    }

    pub fn insert(&self, key: String, partial: Partial) {
        let size: u64 = partial
            .iter()
            .map(|b| b.get_array_memory_size() as u64)
            .sum::<u64>()
            + key.len() as u64;
        if size > self.entry_limit() {
            self.note_oversize();
            return;
        }
        self.lru.insert(key, partial, size);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{ArrayRef, Int64Array};

    fn partial(n: usize) -> Partial {
        let a: ArrayRef = Arc::new(Int64Array::from_iter_values(0..n as i64));
        Arc::new(vec![RecordBatch::try_from_iter([("n", a)]).unwrap()])
    }

    #[test]
    fn least_recently_used_goes_first_and_oversize_is_refused() {
        let one = partial(1000);
        let size = one[0].get_array_memory_size() as u64 + 1;
        let m = PartialsMetrics::default();
        let c = PartialsCache::new(size * 8 + size / 2, m.clone());
        for k in ["a", "b", "c", "d", "e", "f", "g", "h"] {
            c.insert(k.into(), one.clone());
        }
        assert!(c.get("a").is_some()); // a is now the most recent
        c.insert("i".into(), one.clone());
        assert!(c.get("b").is_none(), "b was the least recently used");
        assert!(c.get("a").is_some());
        assert_eq!(m.evictions.get(), 1);
        c.insert("big".into(), partial(100_000));
        assert!(c.get("big").is_none());
        assert_eq!(m.oversize.get(), 1);
        assert_eq!(m.hits.get(), 2);
        assert_eq!(m.misses.get(), 2);
        assert!(m.bytes.get() as u64 <= size * 8 + size / 2);
    }
}
