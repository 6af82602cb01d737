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
use std::sync::{Arc, RwLock, Weak};
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

/// One refresh of `map` from `sink`.
pub async fn refresh(map: &ShardMap, sink: &dyn RecordSink) -> Refresh {
    match sink.shard_ranges().await {
        Ok(Some(ranges)) => {
            let n = ranges.len();
            map.set(ranges);
            Refresh::Listed(n)
        }
        Ok(None) => Refresh::Unsupported,
        Err(e) => {
            tracing::warn!(%e, "listing the stream's shards (keeping the previous map)");
            Refresh::Failed
        }
    }
}

/// Refreshes `map` every `every` until the map is dropped (the gateway with it);
/// `on_refresh` counts each outcome.
pub fn spawn_refresh(
    map: Weak<ShardMap>,
    sink: Arc<dyn RecordSink>,
    every: Duration,
    on_refresh: impl Fn(Refresh) + Send + Sync + 'static,
) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(m) = map.upgrade() else { return };
            on_refresh(refresh(&m, sink.as_ref()).await);
        }
    });
}
