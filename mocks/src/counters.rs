//! Named counters for every limit hit, injected fault and rejected request. Nothing
//! the emulator refuses goes uncounted; `/_gameday/health` reports them all.

use parking_lot::Mutex;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Counters {
    inner: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// Adds `n` to the counter `name` (`service.kind.reason`, e.g. `kinesis.limit.shard_write_records`).
    pub fn add(&self, name: &str, n: u64) {
        if n == 0 {
            return;
        }
        let mut map = self.inner.lock();
        match map.get_mut(name) {
            Some(v) => *v += n,
            None => {
                map.insert(name.to_string(), n);
            }
        }
    }

    pub fn incr(&self, name: &str) {
        self.add(name, 1);
    }

    pub fn get(&self, name: &str) -> u64 {
        self.inner.lock().get(name).copied().unwrap_or(0)
    }

    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.inner.lock().clone()
    }
}
