//! [`ByteLru`]: a least-recently-used map bounded by the bytes of its values, for the
//! query service's caches of immutable things (committed objects, per-object partial
//! states). Inserting past the budget drops the least recently used entries, counted as
//! evictions; the bytes held are a gauge. Callers decide what is too large to keep.

use lru::LruCache;
use parking_lot::Mutex;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::borrow::Borrow;
use std::hash::Hash;

struct Inner<K: Hash + Eq, V> {
    map: LruCache<K, (V, u64)>,
    bytes: u64,
}

pub struct ByteLru<K: Hash + Eq, V> {
    budget: u64,
    inner: Mutex<Inner<K, V>>,
    evictions: Counter,
    bytes: Gauge,
}

impl<K: Hash + Eq, V: Clone> ByteLru<K, V> {
    pub fn new(budget: u64, evictions: Counter, bytes: Gauge) -> Self {
        Self {
            budget,
            inner: Mutex::new(Inner {
                map: LruCache::unbounded(),
                bytes: 0,
            }),
            evictions,
            bytes,
        }
    }

    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The value under `key`, now the most recently used.
    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.inner.lock().map.get(key).map(|(v, _)| v.clone())
    }

    /// Keeps `value` (`size` bytes) under `key`, replacing an older one, then drops the
    /// least recently used entries until the budget holds.
    pub fn insert(&self, key: K, value: V, size: u64) {
        let mut inner = self.inner.lock();
        if let Some((_, old)) = inner.map.put(key, (value, size)) {
            inner.bytes -= old;
        }
        inner.bytes += size;
        // Bounded: every pass removes one entry.
        while inner.bytes > self.budget {
            let Some((_, (_, s))) = inner.map.pop_lru() else {
                break;
            };
            inner.bytes -= s;
            self.evictions.inc();
        }
        self.bytes.set(inner.bytes as i64);
    }
}
