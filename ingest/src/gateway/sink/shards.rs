//! The stream's shard map as the gateway aggregates by it: the open shards' hash-key
//! ranges (ListShards), refreshed in the background. With a map, the items of all the
//! partition keys that land on one shard travel in one Kinesis record — as the KPL
//! aggregates by shard, not by key — instead of one record per key: a 500-sample request
//! becomes a few records of ~100 samples rather than ~60 of ~8, so every per-record cost
//! (PutRecords and GetRecords entries, sequence numbers, compression frames, delivery's
//! per-record work) is paid once per shard. Without a map (not listed yet, listing
//! failing, or turned off) the gateway aggregates by partition key, as before.
//!
//! A stale map (a reshard since the last refresh) never misplaces a series against its
//! own history more than the KPL would: a record goes where its partition key — the
//! first of its keys — hashes, and every item of one series in one request stays in one
//! record.

use super::RecordSink;
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Open shards' hash-key ranges (inclusive), in hash-key order.
pub type Ranges = Arc<[(u128, u128)]>;

/// The stream's shard map; `None` until first listed.
#[derive(Default)]
pub struct ShardMap {
    ranges: RwLock<Option<Ranges>>,
}

impl ShardMap {
    /// The ranges to aggregate by, if known.
    pub fn current(&self) -> Option<Ranges> {
        self.ranges.read().ok().and_then(|r| r.clone())
    }

    /// Replaces the map; an empty list clears it (aggregation by key).
    pub fn set(&self, ranges: Vec<(u128, u128)>) {
        let next = (!ranges.is_empty()).then(|| Arc::from(ranges));
        if let Ok(mut r) = self.ranges.write() {
            *r = next;
        }
    }
}

/// How one refresh went, for the gateway's counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Listed; the map holds this many open shards.
    Listed(usize),
    /// The sink has no shard map to offer (a test sink): aggregation by key.
    Unsupported,
    /// ListShards failed; the previous map stays.
    Failed,
}

impl Refresh {
    pub fn outcome(self) -> &'static str {
        match self {
            Refresh::Listed(_) => "ok",
            Refresh::Unsupported => "unsupported",
            Refresh::Failed => "error",
        }
    }
}

/// How long one listing may take (the gateway's start waits for the first).
const LIST_TIMEOUT: Duration = Duration::from_secs(5);

/// One refresh of `map` from `sink`.
pub async fn refresh(map: &ShardMap, sink: &dyn RecordSink) -> Refresh {
    let listed = tokio::time::timeout(LIST_TIMEOUT, sink.shard_ranges()).await;
    match listed {
        Ok(Ok(Some(ranges))) => {
            let n = ranges.len();
            map.set(ranges);
            Refresh::Listed(n)
        }
        Ok(Ok(None)) => Refresh::Unsupported,
        Ok(Err(e)) => {
            tracing::warn!(%e, "listing the stream's shards (keeping the previous map)");
            Refresh::Failed
        }
        Err(_) => {
            tracing::warn!(
                timeout_ms = LIST_TIMEOUT.as_millis() as u64,
                "listing the stream's shards timed out (keeping the previous map)"
            );
            Refresh::Failed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::sink::{PutOutcome, Record, SinkError};
    use std::sync::Mutex;

    type Listing = Result<Option<Vec<(u128, u128)>>, SinkError>;

    /// A sink whose listings are scripted, one answer per call.
    struct Listings(Mutex<Vec<Listing>>);

    #[async_trait::async_trait]
    impl RecordSink for Listings {
        async fn put(&self, records: &[Record]) -> Result<Vec<PutOutcome>, SinkError> {
            Ok(vec![PutOutcome::Stored; records.len()])
        }
        async fn ready(&self) -> bool {
            true
        }
        async fn shard_ranges(&self) -> Listing {
            self.0.lock().unwrap().remove(0)
        }
    }

    #[tokio::test]
    async fn a_failed_listing_keeps_the_last_good_map() {
        let two = vec![(0, u128::MAX / 2), (u128::MAX / 2 + 1, u128::MAX)];
        let sink = Listings(Mutex::new(vec![
            Err(SinkError::Retryable("ListShards: unreachable".into())),
            Ok(Some(two.clone())),
            Err(SinkError::Retryable("ListShards: throttled".into())),
            Ok(None),
            Ok(Some(Vec::new())),
        ]));
        let map = ShardMap::default();
        assert_eq!(refresh(&map, &sink).await, Refresh::Failed);
        assert!(map.current().is_none(), "no map until a listing succeeds");
        assert_eq!(refresh(&map, &sink).await, Refresh::Listed(2));
        assert_eq!(map.current().as_deref(), Some(&two[..]));
        assert_eq!(refresh(&map, &sink).await, Refresh::Failed);
        assert_eq!(map.current().as_deref(), Some(&two[..]), "kept");
        assert_eq!(refresh(&map, &sink).await, Refresh::Unsupported);
        assert_eq!(map.current().as_deref(), Some(&two[..]));
        // A stream listed with no open shard: back to packing by key.
        assert_eq!(refresh(&map, &sink).await, Refresh::Listed(0));
        assert!(map.current().is_none());
    }
}
