//! [`CachedStore`]: an in-memory cache of whole committed data objects in front of the
//! bucket's store, keyed by object key and bounded by a byte budget (least recently used
//! out first). Committed objects are immutable (written once with `If-None-Match: *`; a
//! retired object is never rewritten under the same key), so nothing is ever invalidated.
//! A miss reads the whole object with one GET and keeps it; ranges and suffixes (the
//! Parquet footer, column chunks) are then served as slices of it. Conditional GETs, HEAD
//! requests, listings and objects larger than a quarter of the budget go to the store.
//! It sits below the tenant scoping ([`super::store::ScopedStore`]), which refuses a path
//! before the cache is asked. Hits, misses, evictions and bytes held are in `/metrics`.
//! Two concurrent misses of one object both read it (the second insert replaces the first).

use super::lru::ByteLru;
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    Attributes, CopyOptions, GetOptions, GetResult, GetResultPayload, ListResult, MultipartUpload,
    ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The cache's counters (registered by [`super::metrics::Metrics`]).
#[derive(Debug, Clone, Default)]
pub struct CacheMetrics {
    pub hits: Counter,
    pub misses: Counter,
    pub evictions: Counter,
    pub bytes: Gauge,
}

struct Entry {
    meta: ObjectMeta,
    data: Bytes,
}

/// The bucket's store with whole-object caching of reads.
pub struct CachedStore {
    inner: Arc<dyn ObjectStore>,
    lru: ByteLru<Path, Arc<Entry>>,
    metrics: CacheMetrics,
}

impl fmt::Debug for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CachedStore")
            .field("budget", &self.lru.budget())
            .finish()
    }
}

impl fmt::Display for CachedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "CachedStore({} bytes, {})",
            self.lru.budget(),
            self.inner
        )
    }
}

impl CachedStore {
    /// `budget` bytes of object data at most (0: every read goes to `inner`).
    pub fn new(inner: Arc<dyn ObjectStore>, budget: u64, metrics: CacheMetrics) -> Self {
        Self {
            inner,
            lru: ByteLru::new(budget, metrics.evictions.clone(), metrics.bytes.clone()),
            metrics,
        }
    }

    /// Largest object kept: a quarter of the budget, so one object cannot flush the rest.
    fn max_object(&self) -> u64 {
        self.lru.budget() / 4
    }

    fn cached(&self, location: &Path) -> Option<Arc<Entry>> {
        self.lru.get(location)
    }

    fn insert(&self, location: &Path, entry: Arc<Entry>) {
        let size = entry.data.len() as u64;
        if size > self.max_object() {
            return;
        }
        self.lru.insert(location.clone(), entry, size);
    }

    /// The whole object, from the cache or read (and kept) now.
    async fn entry(&self, location: &Path) -> object_store::Result<Arc<Entry>> {
        if let Some(e) = self.cached(location) {
            self.metrics.hits.inc();
            return Ok(e);
        }
        self.metrics.misses.inc();
        let got = self.inner.get_opts(location, GetOptions::default()).await?;
        let meta = got.meta.clone();
        let data = got.bytes().await?;
        let entry = Arc::new(Entry { meta, data });
        self.insert(location, entry.clone());
        Ok(entry)
    }

    /// Whether a read with `options` may be answered from a cached copy.
    fn cacheable(&self, options: &GetOptions) -> bool {
        self.lru.budget() > 0
            && !options.head
            && options.if_match.is_none()
            && options.if_none_match.is_none()
            && options.if_modified_since.is_none()
            && options.if_unmodified_since.is_none()
            && options.version.is_none()
    }
}

fn out_of_range(location: &Path, msg: String) -> object_store::Error {
    object_store::Error::Generic {
        store: "CachedStore",
        source: format!("{location}: {msg}").into(),
    }
}

#[async_trait]
impl ObjectStore for CachedStore {
    async fn put_opts(
        &self,
        location: &Path,
        payload: PutPayload,
        opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        self.inner.put_opts(location, payload, opts).await
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        self.inner.put_multipart_opts(location, opts).await
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !self.cacheable(&options) {
            return self.inner.get_opts(location, options).await;
        }
        let e = self.entry(location).await?;
        let len = e.data.len() as u64;
        let range = match &options.range {
            Some(r) => r
                .as_range(len)
                .map_err(|err| out_of_range(location, err.to_string()))?,
            None => 0..len,
        };
        let data = e.data.slice(range.start as usize..range.end as usize);
        Ok(GetResult {
            payload: GetResultPayload::Stream(futures::stream::once(async { Ok(data) }).boxed()),
            meta: e.meta.clone(),
            range,
            attributes: Attributes::default(),
        })
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<Bytes>> {
        if self.lru.budget() == 0 {
            return self.inner.get_ranges(location, ranges).await;
        }
        let e = self.entry(location).await?;
        let len = e.data.len() as u64;
        ranges
            .iter()
            .map(|r| {
                if r.start > r.end || r.end > len {
                    return Err(out_of_range(
                        location,
                        format!("range {r:?} outside {len} bytes"),
                    ));
                }
                Ok(e.data.slice(r.start as usize..r.end as usize))
            })
            .collect()
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        self.inner.delete_stream(locations)
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        from: &Path,
        to: &Path,
        options: CopyOptions,
    ) -> object_store::Result<()> {
        self.inner.copy_opts(from, to, options).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    #[tokio::test]
    async fn serves_ranges_from_one_read_and_stays_within_budget() {
        let inner = Arc::new(InMemory::new());
        for k in ["a", "b", "c", "d", "e"] {
            inner
                .put(&Path::from(k), PutPayload::from(vec![k.as_bytes()[0]; 25]))
                .await
                .unwrap();
        }
        let m = CacheMetrics::default();
        let store = CachedStore::new(inner, 100, m.clone());
        let a = Path::from("a");
        let r = store.get_ranges(&a, &[0..10, 20..25]).await.unwrap();
        assert_eq!((r[0].len(), r[1].len()), (10, 5));
        let tail = store
            .get_opts(
                &a,
                GetOptions {
                    range: Some(object_store::GetRange::Suffix(8)),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(tail.range, 17..25);
        assert_eq!(tail.bytes().await.unwrap().len(), 8);
        assert_eq!((m.misses.get(), m.hits.get()), (1, 1));
        // Four more objects pass the 100-byte budget: the least recently used (a) goes.
        for k in ["b", "c", "d", "e"] {
            store
                .get_ranges(&Path::from(k), &[0..1, 1..2])
                .await
                .unwrap();
        }
        assert_eq!((m.evictions.get(), m.bytes.get()), (1, 100));
        store.get_ranges(&a, &[0..1, 1..2]).await.unwrap();
        assert_eq!(m.misses.get(), 6);
        assert!(store.get_ranges(&a, &[0..1, 0..26]).await.is_err());
    }
}
