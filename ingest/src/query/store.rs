//! Tenant-scoped, read-only object storage for DataFusion. [`ScopedStore`] wraps the
//! bucket's store and refuses every path outside the tenant's prefixes
//! (`metrics/tenant=<t>/`, `events/tenant=<t>/`) and every write; [`TenantRegistry`] is the
//! only object-store registry a tenant's session sees: it knows `s3://<bucket>` (scoped)
//! and nothing else — no local filesystem, no other bucket. Even a statement that got past
//! the SQL options could read nothing of another tenant.

use crate::Kind;
use crate::table::layout::tenant_prefix;
use async_trait::async_trait;
use datafusion::error::DataFusionError;
use datafusion::execution::object_store::ObjectStoreRegistry;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore,
    PutMultipartOptions, PutOptions, PutPayload, PutResult,
};
use prometheus_client::metrics::counter::Counter;
use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use url::Url;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

/// A read-only view of the bucket limited to one tenant's prefixes.
pub struct ScopedStore {
    inner: Arc<dyn ObjectStore>,
    tenant: String,
    prefixes: Vec<String>,
    refused: Counter,
}

impl fmt::Debug for ScopedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedStore")
            .field("tenant", &self.tenant)
            .field("prefixes", &self.prefixes)
            .finish()
    }
}

impl fmt::Display for ScopedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ScopedStore({}, {})", self.tenant, self.inner)
    }
}

impl ScopedStore {
    pub fn new(inner: Arc<dyn ObjectStore>, tenant: &str, refused: Counter) -> Self {
        Self {
            inner,
            tenant: tenant.to_string(),
            prefixes: vec![
                tenant_prefix(Kind::Metrics, tenant),
                tenant_prefix(Kind::Events, tenant),
            ],
            refused,
        }
    }

    fn deny(&self, path: &str, what: &str) -> object_store::Error {
        self.refused.inc();
        tracing::warn!(tenant = %self.tenant, path, what, "object store access refused");
        object_store::Error::PermissionDenied {
            path: path.to_string(),
            source: Box::new(Refused(format!(
                "{what} outside the tenant's data is not allowed"
            ))),
        }
    }

    /// Whether `location` (an object) lies under one of the tenant's prefixes.
    fn allowed(&self, location: &Path) -> bool {
        let s = location.as_ref();
        self.prefixes.iter().any(|p| s.starts_with(p.as_str()))
    }

    /// Whether listing under `prefix` stays inside the tenant's data.
    fn allowed_prefix(&self, prefix: Option<&Path>) -> bool {
        let Some(p) = prefix else { return false };
        let dir = format!("{}/", p.as_ref());
        self.prefixes.iter().any(|t| dir.starts_with(t.as_str()))
    }

    fn read_only(&self, location: &Path) -> object_store::Error {
        self.deny(location.as_ref(), "writing")
    }
}

#[async_trait]
impl ObjectStore for ScopedStore {
    async fn put_opts(
        &self,
        location: &Path,
        _payload: PutPayload,
        _opts: PutOptions,
    ) -> object_store::Result<PutResult> {
        Err(self.read_only(location))
    }

    async fn put_multipart_opts(
        &self,
        location: &Path,
        _opts: PutMultipartOptions,
    ) -> object_store::Result<Box<dyn MultipartUpload>> {
        Err(self.read_only(location))
    }

    async fn get_opts(
        &self,
        location: &Path,
        options: GetOptions,
    ) -> object_store::Result<GetResult> {
        if !self.allowed(location) {
            return Err(self.deny(location.as_ref(), "reading"));
        }
        self.inner.get_opts(location, options).await
    }

    async fn get_ranges(
        &self,
        location: &Path,
        ranges: &[Range<u64>],
    ) -> object_store::Result<Vec<bytes::Bytes>> {
        if !self.allowed(location) {
            return Err(self.deny(location.as_ref(), "reading"));
        }
        self.inner.get_ranges(location, ranges).await
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<Path>>,
    ) -> BoxStream<'static, object_store::Result<Path>> {
        let err = self.deny("-", "deleting");
        let msg = err.to_string();
        locations
            .map(move |p| {
                let path = p.map(|p| p.to_string()).unwrap_or_default();
                Err(object_store::Error::PermissionDenied {
                    path,
                    source: Box::new(Refused(msg.clone())),
                })
            })
            .boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        if !self.allowed_prefix(prefix) {
            let p = prefix.map(|p| p.to_string()).unwrap_or_default();
            let err = self.deny(&p, "listing");
            return futures::stream::once(async move { Err(err) }).boxed();
        }
        self.inner.list(prefix)
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> object_store::Result<ListResult> {
        if !self.allowed_prefix(prefix) {
            let p = prefix.map(|p| p.to_string()).unwrap_or_default();
            return Err(self.deny(&p, "listing"));
        }
        self.inner.list_with_delimiter(prefix).await
    }

    async fn copy_opts(
        &self,
        _from: &Path,
        to: &Path,
        _options: CopyOptions,
    ) -> object_store::Result<()> {
        Err(self.read_only(to))
    }
}

/// The object stores a tenant's session can reach: exactly one, `s3://<bucket>`, scoped.
#[derive(Debug)]
pub struct TenantRegistry {
    url: Url,
    store: Arc<dyn ObjectStore>,
}

impl TenantRegistry {
    pub fn new(url: Url, store: Arc<dyn ObjectStore>) -> Self {
        Self { url, store }
    }

    fn key(url: &Url) -> String {
        format!(
            "{}://{}",
            url.scheme(),
            &url[url::Position::BeforeHost..url::Position::AfterPort]
        )
    }
}

impl ObjectStoreRegistry for TenantRegistry {
    /// Registering stores is not possible from a tenant's session: refused (logged).
    fn register_store(
        &self,
        url: &Url,
        _store: Arc<dyn ObjectStore>,
    ) -> Option<Arc<dyn ObjectStore>> {
        tracing::warn!(%url, "object store registration refused");
        None
    }

    fn get_store(&self, url: &Url) -> datafusion::error::Result<Arc<dyn ObjectStore>> {
        if Self::key(url) == Self::key(&self.url) {
            Ok(self.store.clone())
        } else {
            Err(DataFusionError::Plan(format!(
                "no object store for {}: only the tenant's own data is readable",
                Self::key(url)
            )))
        }
    }
}
