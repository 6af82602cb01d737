//! One DataFusion session per request, for one authenticated tenant: tables `metrics` and
//! `events` over that tenant's committed objects only, an object-store registry that knows
//! only the tenant-scoped bucket, and the service-wide memory pool. With `dedupe`, the
//! tables are views keeping one row per identity (metrics: `series_id` + `timestamp`;
//! events: `event_id`), the earliest stored copy (by ingest time, then shard, sequence
//! number and sub-sequence number) winning.
//!
//! The SQL a tenant sends is planned and then checked with [`sql_options`] (no DDL, no
//! DML, no statements — so `CREATE EXTERNAL TABLE … LOCATION` never runs), exactly what
//! `SessionContext::sql_with_options` does, split so that a refusal is told apart from a
//! bad query.

use super::catalog::Catalog;
use super::metrics::Metrics;
use super::partials::{PartialsCache, PartialsRule};
use super::store::{ScopedStore, TenantRegistry};
use super::table::CommittedTable;
use crate::Kind;
use crate::table::layout::table_name;
use crate::table::schema::{events_schema, metrics_schema};
use datafusion::error::Result;
use datafusion::execution::memory_pool::{GreedyMemoryPool, MemoryPool};
use datafusion::execution::object_store::ObjectStoreUrl;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use object_store::ObjectStore;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;

/// What a tenant's SQL may do: queries only.
pub fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Builds tenant sessions; shared by all requests.
pub struct Sessions {
    bucket_url: ObjectStoreUrl,
    store: Arc<dyn ObjectStore>,
    pool: Arc<dyn MemoryPool>,
    partials: Arc<PartialsCache>,
    runtimes: Mutex<HashMap<String, Arc<RuntimeEnv>>>,
    catalog: Arc<Catalog>,
    metrics: Arc<Metrics>,
}

impl Sessions {
    pub fn new(
        bucket: &str,
        store: Arc<dyn ObjectStore>,
        memory_bytes: usize,
        partials: Arc<PartialsCache>,
        catalog: Arc<Catalog>,
        metrics: Arc<Metrics>,
    ) -> Result<Self> {
        Ok(Self {
            bucket_url: ObjectStoreUrl::parse(format!("s3://{bucket}"))?,
            store,
            pool: Arc::new(GreedyMemoryPool::new(memory_bytes)),
            partials,
            runtimes: Mutex::new(HashMap::new()),
            catalog,
            metrics,
        })
    }

    /// The tenant-scoped store every read of `tenant`'s sessions goes through.
    pub fn tenant_store(&self, tenant: &str) -> Arc<dyn ObjectStore> {
        let refused = self
            .metrics
            .store_refused
            .get_or_create(&super::metrics::TenantLabels {
                tenant: tenant.to_string(),
            })
            .clone();
        Arc::new(ScopedStore::new(self.store.clone(), tenant, refused))
    }

    /// The tenant's runtime (scoped store registry, shared memory pool, its own Parquet
    /// metadata cache), kept across requests.
    fn runtime(&self, tenant: &str) -> Result<Arc<RuntimeEnv>> {
        let mut runtimes = self.runtimes.lock();
        if let Some(rt) = runtimes.get(tenant) {
            return Ok(rt.clone());
        }
        let registry = TenantRegistry::new(
            AsRef::<url::Url>::as_ref(&self.bucket_url).clone(),
            self.tenant_store(tenant),
        );
        let rt = RuntimeEnvBuilder::new()
            .with_memory_pool(self.pool.clone())
            .with_object_store_registry(Arc::new(registry))
            .build_arc()?;
        runtimes.insert(tenant.to_string(), rt.clone());
        Ok(rt)
    }

    /// A fresh session for `tenant` over the catalog as it is now.
    pub fn session(&self, tenant: &str, dedupe: bool) -> Result<SessionContext> {
        // Objects are one row group each: splitting one into byte ranges gives a reader
        // nothing to do, and whole objects are what partial states are cached by.
        let config = SessionConfig::new()
            .with_target_partitions(2)
            .with_information_schema(false)
            .with_repartition_file_scans(false);
        let state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(self.runtime(tenant)?)
            .with_default_features()
            .with_physical_optimizer_rule(Arc::new(PartialsRule::new(
                tenant,
                self.partials.clone(),
            )))
            .build();
        let ctx = SessionContext::new_with_state(state);
        let snap = self.catalog.snapshot(tenant);
        for kind in [Kind::Metrics, Kind::Events] {
            let schema = match kind {
                Kind::Events => events_schema(),
                _ => metrics_schema(),
            };
            let table = Arc::new(CommittedTable::new(
                schema,
                snap.table(kind).clone(),
                self.bucket_url.clone(),
                self.metrics.clone(),
            ));
            let name = table_name(kind);
            if dedupe {
                ctx.register_table(format!("{name}_stored"), table)?;
            } else {
                ctx.register_table(name, table)?;
            }
        }
        Ok(ctx)
    }

    /// Registers the dedupe views (`metrics`, `events`) over the `*_stored` tables.
    pub async fn register_dedupe_views(&self, ctx: &SessionContext) -> Result<()> {
        let order = "ingest_time, kinesis_shard, kinesis_seq, sub_seq";
        for (name, identity) in [("metrics", "series_id, timestamp"), ("events", "event_id")] {
            let sql = format!(
                "SELECT * EXCLUDE (dedupe_rank) FROM (SELECT *, row_number() OVER \
                 (PARTITION BY {identity} ORDER BY {order}) AS dedupe_rank FROM {name}_stored) \
                 WHERE dedupe_rank = 1"
            );
            let view = ctx.sql(&sql).await?.into_view();
            ctx.register_table(name, view)?;
        }
        Ok(())
    }
}
