//! Streams and shards: hash-key ranges, per-shard logs and limit buckets.

use super::limits::TokenBucket;
use super::log::Log;
use super::seq::SeqNo;
use crate::config::KinesisLimits;
use md5::{Digest, Md5};
use parking_lot::{Mutex, RwLock};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

pub const DEFAULT_RETENTION_HOURS: u32 = 24;

#[derive(Debug)]
pub struct Shard {
    pub index: u32,
    pub id: String,
    pub hash_start: u128,
    pub hash_end: u128,
    pub state: Mutex<ShardState>,
}

#[derive(Debug)]
pub struct ShardState {
    pub log: Log,
    pub write_records: TokenBucket,
    pub write_bytes: TokenBucket,
    pub read_calls: TokenBucket,
    pub read_bytes: TokenBucket,
}

impl Shard {
    pub fn shard_id(index: u32) -> String {
        format!("shardId-{index:012}")
    }

    pub fn index_of(shard_id: &str) -> Option<u32> {
        let digits = shard_id.strip_prefix("shardId-")?;
        (digits.len() == 12).then_some(())?;
        digits.parse().ok()
    }
}

#[derive(Debug)]
pub struct Stream {
    pub name: String,
    pub arn: String,
    pub generation: u32,
    pub created_ms: i64,
    pub on_demand: bool,
    pub retention_hours: AtomicU32,
    pub shards: Vec<Shard>,
}

impl Stream {
    pub fn retention_ms(&self) -> i64 {
        self.retention_hours.load(Ordering::Relaxed) as i64 * 3_600_000
    }

    /// The shard whose hash-key range holds `hash`.
    pub fn shard_for_hash(&self, hash: u128) -> &Shard {
        let i = self.shards.partition_point(|s| s.hash_end < hash);
        &self.shards[i.min(self.shards.len() - 1)]
    }

    pub fn shard(&self, shard_id: &str) -> Option<&Shard> {
        let i = Shard::index_of(shard_id)? as usize;
        self.shards.get(i)
    }

    pub fn starting_seq(&self, shard: &Shard) -> SeqNo {
        SeqNo {
            generation: self.generation,
            shard: shard.index,
            index: 0,
        }
    }
}

/// MD5 of the partition key as a 128-bit big-endian integer: AWS's hash key.
pub fn hash_key(partition_key: &[u8]) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key).into())
}

/// Even split of the 128-bit hash-key space, as CreateStream makes it: shard `i` of `n`
/// starts at floor(i · 2^128 / n).
pub fn hash_ranges(count: u32) -> Vec<(u128, u128)> {
    let n = count as u128;
    // 2^128 = q·n + (r + 1), with q = MAX / n and r = MAX % n.
    let (q, r1) = (u128::MAX / n, u128::MAX % n + 1);
    let start = |i: u128| i * q + i * r1 / n;
    (0..n)
        .map(|i| {
            let end = if i + 1 == n {
                u128::MAX
            } else {
                start(i + 1) - 1
            };
            (start(i), end)
        })
        .collect()
}

#[derive(Debug, Default)]
pub struct Streams {
    by_name: RwLock<BTreeMap<String, Arc<Stream>>>,
    generation: AtomicU32,
}

pub enum CreateError {
    Exists,
}

impl Streams {
    pub fn create(
        &self,
        name: &str,
        arn: String,
        shard_count: u32,
        on_demand: bool,
        limits: &KinesisLimits,
        now_ms: i64,
    ) -> Result<Arc<Stream>, CreateError> {
        let mut map = self.by_name.write();
        if map.contains_key(name) {
            return Err(CreateError::Exists);
        }
        let generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        let shards = hash_ranges(shard_count)
            .into_iter()
            .enumerate()
            .map(|(i, (hash_start, hash_end))| Shard {
                index: i as u32,
                id: Shard::shard_id(i as u32),
                hash_start,
                hash_end,
                state: Mutex::new(ShardState {
                    log: Log::default(),
                    write_records: TokenBucket::new(limits.shard_write_records_per_sec, now_ms),
                    write_bytes: TokenBucket::new(limits.shard_write_bytes_per_sec, now_ms),
                    read_calls: TokenBucket::new(limits.shard_read_calls_per_sec, now_ms),
                    read_bytes: TokenBucket::new(limits.shard_read_bytes_per_sec, now_ms),
                }),
            })
            .collect();
        let stream = Arc::new(Stream {
            name: name.to_string(),
            arn,
            generation,
            created_ms: now_ms,
            on_demand,
            retention_hours: AtomicU32::new(DEFAULT_RETENTION_HOURS),
            shards,
        });
        map.insert(name.to_string(), stream.clone());
        Ok(stream)
    }

    pub fn get(&self, name: &str) -> Option<Arc<Stream>> {
        self.by_name.read().get(name).cloned()
    }

    pub fn delete(&self, name: &str) -> Option<Arc<Stream>> {
        self.by_name.write().remove(name)
    }

    pub fn all(&self) -> Vec<Arc<Stream>> {
        self.by_name.read().values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_whole_space_without_gaps() {
        for n in [1u32, 2, 3, 4, 7, 64] {
            let r = hash_ranges(n);
            assert_eq!(r[0].0, 0);
            assert_eq!(r[r.len() - 1].1, u128::MAX);
            for w in r.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
        }
        // As AWS splits two shards: at 2^127.
        assert_eq!(hash_ranges(2)[1].0, 1u128 << 127);
        assert_eq!(hash_ranges(4)[3].0, 3u128 << 126);
    }

    #[test]
    fn partition_key_hash_is_md5() {
        // md5("a") = 0cc175b9c0f1b6a831c399e269772661
        assert_eq!(hash_key(b"a"), 0x0cc175b9c0f1b6a831c399e269772661);
        assert_eq!(Shard::index_of("shardId-000000000003"), Some(3));
        assert_eq!(Shard::index_of("shard-3"), None);
    }
}
