//! Series identity and partition keys. A tenant's series spread over [`KEY_BUCKETS`]
//! partition keys, so the gateway can aggregate the samples of one key into one record
//! while the keys' MD5 hashes spread over the stream's shards. The harness uses the same
//! functions to find, for each shard, a series whose records land on it (its canary).

use crate::envelope::Label;
use md5::{Digest, Md5};

/// Partition keys per tenant and kind: enough to cover any shard count this tool runs
/// with several keys per shard, few enough that aggregation stays effective.
pub const KEY_BUCKETS: u64 = 64;

/// Stable 64-bit fingerprint of a series (its labels, sorted by name): xxh3 of
/// `name 0xff value 0xfe` for each label, in order.
pub fn series_fingerprint(labels: &[Label]) -> u64 {
    fingerprint_of_pairs(labels.iter().map(|l| (l.name.as_str(), l.value.as_str())))
}

/// [`series_fingerprint`] of label pairs given as string slices (delivery reads labels
/// straight from record bytes). Hashes one contiguous buffer (a thread-local scratch):
/// the same digest as streaming the pieces, at a fraction of the cost for short labels.
pub fn fingerprint_of_pairs<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> u64 {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    SCRATCH.with(|cell| {
        // A re-entrant call (none exists) would find the scratch borrowed: hash a fresh one.
        let mut fresh = Vec::new();
        let mut guard = cell.try_borrow_mut();
        let buf = match guard.as_mut() {
            Ok(b) => &mut **b,
            Err(_) => &mut fresh,
        };
        buf.clear();
        for (name, value) in pairs {
            buf.extend_from_slice(name.as_bytes());
            buf.push(0xff);
            buf.extend_from_slice(value.as_bytes());
            buf.push(0xfe);
        }
        xxhash_rust::xxh3::xxh3_64(buf)
    })
}

/// The Kinesis partition key of a metric series.
pub fn series_partition_key(tenant: &str, labels: &[Label]) -> String {
    fingerprint_partition_key(tenant, series_fingerprint(labels))
}

/// The same key from an already computed [`series_fingerprint`] (hot paths hash once).
pub fn fingerprint_partition_key(tenant: &str, fingerprint: u64) -> String {
    format!("{tenant}/m{}", fingerprint % KEY_BUCKETS)
}

/// The Kinesis partition key of an event.
pub fn event_partition_key(tenant: &str, event_id: &str) -> String {
    format!(
        "{tenant}/e{}",
        xxhash_rust::xxh3::xxh3_64(event_id.as_bytes()) % KEY_BUCKETS
    )
}

/// Kinesis's hash key of a partition key: MD5 as a 128-bit big-endian integer.
pub fn hash_key(partition_key: &str) -> u128 {
    u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into())
}

/// Index of the shard whose hash-key range (`(start, end)` as ListShards reports them,
/// in order) holds the partition key.
pub fn shard_for(partition_key: &str, ranges: &[(u128, u128)]) -> Option<usize> {
    let h = hash_key(partition_key);
    ranges.iter().position(|(s, e)| *s <= h && h <= *e)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<Label> {
        pairs
            .iter()
            .map(|(n, v)| Label {
                name: n.to_string(),
                value: v.to_string(),
            })
            .collect()
    }

    #[test]
    fn fingerprint_is_stable_and_label_sensitive() {
        let a = labels(&[("__name__", "up"), ("region", "eu")]);
        let b = labels(&[("__name__", "up"), ("region", "us")]);
        assert_eq!(series_fingerprint(&a), series_fingerprint(&a.clone()));
        assert_ne!(series_fingerprint(&a), series_fingerprint(&b));
        // name/value boundaries matter: ("ab","c") is not ("a","bc").
        assert_ne!(
            series_fingerprint(&labels(&[("ab", "c")])),
            series_fingerprint(&labels(&[("a", "bc")]))
        );
        // The one-shot digest is the streaming digest of the same pieces (the stored
        // `series_id` of older objects stays valid).
        let many: Vec<(String, String)> = (0..40)
            .map(|i| (format!("label_{i}"), "v".repeat(i)))
            .collect();
        let many = labels(
            &many
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        );
        let streaming = |ls: &[Label]| {
            let mut h = xxhash_rust::xxh3::Xxh3::new();
            for l in ls {
                h.update(l.name.as_bytes());
                h.update(&[0xff]);
                h.update(l.value.as_bytes());
                h.update(&[0xfe]);
            }
            h.digest()
        };
        assert_eq!(series_fingerprint(&many), streaming(&many));
        assert_eq!(series_fingerprint(&a), streaming(&a));
    }

    #[test]
    fn a_tenant_reaches_every_shard() {
        let ranges = [
            (0u128, (1u128 << 126) - 1),
            (1u128 << 126, (2u128 << 126) - 1),
            (2u128 << 126, (3u128 << 126) - 1),
            (3u128 << 126, u128::MAX),
        ];
        let mut hit = [false; 4];
        for i in 0..200 {
            let l = labels(&[("__name__", "canary"), ("shard_id", &i.to_string())]);
            hit[shard_for(&series_partition_key("studio-a", &l), &ranges).unwrap()] = true;
        }
        assert_eq!(hit, [true; 4]);
    }
}
