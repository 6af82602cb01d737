//! Bounded cache of per-series verdicts, keyed by (tenant, series fingerprint): a
//! known series is judged with one lookup. Sharded maps behind read-write locks; a
//! full shard is cleared (the next sighting of each series re-judges it).
//!
//! The key is the 64-bit `series_fingerprint`; two different series with the same
//! fingerprint would share a verdict. xxh3 makes that vanishingly rare by accident; it
//! is not a defence against a tenant crafting collisions on purpose.

use super::Rejection;
use parking_lot::RwLock;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SHARDS: usize = 64;

/// Keys are fingerprints already: mix them instead of hashing them again.
#[derive(Default)]
pub(super) struct FpHasher(u64);

impl Hasher for FpHasher {
    fn finish(&self) -> u64 {
        let mut z = self.0;
        z = (z ^ (z >> 33)).wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u32(&mut self, v: u32) {
        self.0 = self.0.rotate_left(32) ^ u64::from(v);
    }

    fn write_u64(&mut self, v: u64) {
        self.0 = self.0.rotate_left(29) ^ v;
    }
}

pub(super) type FpBuild = BuildHasherDefault<FpHasher>;

type Verdict = Result<(), Rejection>;
type Shard = RwLock<HashMap<(u32, u64), Verdict, FpBuild>>;

pub(super) struct VerdictCache {
    per_shard: usize,
    shards: Box<[Shard]>,
}

impl VerdictCache {
    /// `entries`: total capacity; 0 disables the cache.
    pub(super) fn new(entries: usize) -> Self {
        let shards = if entries == 0 { 0 } else { SHARDS.min(entries) };
        Self {
            per_shard: entries.checked_div(shards).unwrap_or(0),
            shards: (0..shards).map(|_| RwLock::default()).collect(),
        }
    }

    fn shard(&self, fp: u64) -> Option<&Shard> {
        if self.shards.is_empty() {
            return None;
        }
        // Top bits pick the shard; the map mixes all bits for its buckets.
        let i = ((fp >> 40) as usize) % self.shards.len();
        self.shards.get(i)
    }

    pub(super) fn get(&self, tenant: u32, fp: u64) -> Option<Verdict> {
        self.shard(fp)?.read().get(&(tenant, fp)).cloned()
    }

    pub(super) fn insert(&self, tenant: u32, fp: u64, v: Verdict) {
        let Some(shard) = self.shard(fp) else {
            return;
        };
        let mut m = shard.write();
        if m.len() >= self.per_shard && !m.contains_key(&(tenant, fp)) {
            m.clear();
        }
        m.insert((tenant, fp), v);
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keyed_by_tenant() {
        let c = VerdictCache::new(128);
        for fp in 0..10_000u64 {
            c.insert(0, fp.wrapping_mul(0x9E37_79B9_7F4A_7C15), Ok(()));
        }
        assert!(c.len() <= 128, "{}", c.len());
        c.insert(1, 7, Err(Rejection::Cardinality));
        assert_eq!(c.get(1, 7), Some(Err(Rejection::Cardinality)));
        assert_eq!(c.get(2, 7), None);
        let off = VerdictCache::new(0);
        off.insert(0, 1, Ok(()));
        assert_eq!(off.get(0, 1), None);
    }
}
