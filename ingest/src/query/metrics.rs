//! The query service's own telemetry at `/metrics` (Prometheus text): queries by tenant
//! and outcome, query latency (exponential buckets, 1 ms … ~1 min), catalog messages by
//! outcome and reason, commits and objects applied, objects per tenant and table, objects
//! pruned before reading, refused credentials and refused object-store paths, warming runs
//! by outcome and objects warmed, and the object cache's hits, misses, evictions and bytes
//! held.

use super::catalog::{Applied, Catalog};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabels {
    pub tenant: String,
    pub outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    pub outcome: &'static str,
    pub reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabels {
    pub tenant: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TableLabels {
    pub tenant: String,
    pub table: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 ms … ~56 s in steps of 1.5×.
    Histogram::new(exponential_buckets(0.001, 1.5, 28))
}

pub struct Metrics {
    registry: Registry,
    pub queries: Family<OutcomeLabels, Counter>,
    pub latency: Family<TenantLabels, Histogram, fn() -> Histogram>,
    pub catalog_messages: Family<MessageLabels, Counter>,
    pub commits_applied: Counter,
    pub objects_applied: Counter,
    pub objects: Family<TableLabels, Gauge>,
    pub objects_scanned: Counter,
    pub objects_pruned: Counter,
    pub unauthorized: Family<ReasonLabels, Counter>,
    pub store_refused: Family<TenantLabels, Counter>,
    pub rebuilds: Counter,
    /// Shards the catalog could not rebuild (it stays not ready while any is missing).
    pub shards_missing: Gauge,
    pub warm_queries: Family<OutcomeLabels, Counter>,
    pub warm_objects: Counter,
    pub cache: super::cache::CacheMetrics,
    pub partials: super::partials::PartialsMetrics,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("query::Metrics")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("query");
        let m = Self {
            queries: Family::default(),
            latency: Family::new_with_constructor(latency_histogram),
            catalog_messages: Family::default(),
            commits_applied: Counter::default(),
            objects_applied: Counter::default(),
            objects: Family::default(),
            objects_scanned: Counter::default(),
            objects_pruned: Counter::default(),
            unauthorized: Family::default(),
            store_refused: Family::default(),
            rebuilds: Counter::default(),
            shards_missing: Gauge::default(),
            warm_queries: Family::default(),
            warm_objects: Counter::default(),
            cache: Default::default(),
            partials: Default::default(),
            registry: Registry::default(),
        };
        registry.register(
            "queries",
            "Queries by tenant and outcome",
            m.queries.clone(),
        );
        registry.register(
            "latency_seconds",
            "Query latency (request to answer) by tenant",
            m.latency.clone(),
        );
        registry.register(
            "catalog_messages",
            "Catalog queue messages by outcome and reason",
            m.catalog_messages.clone(),
        );
        registry.register(
            "catalog_commits_applied",
            "Commits applied to the catalog",
            m.commits_applied.clone(),
        );
        registry.register(
            "catalog_objects_applied",
            "Data objects added to tables",
            m.objects_applied.clone(),
        );
        registry.register(
            "table_objects",
            "Data objects in each tenant's tables",
            m.objects.clone(),
        );
        registry.register(
            "objects_scanned",
            "Data objects read by queries",
            m.objects_scanned.clone(),
        );
        registry.register(
            "objects_pruned",
            "Data objects skipped by ingest_time/dt/hour pruning",
            m.objects_pruned.clone(),
        );
        registry.register(
            "unauthorized",
            "Requests refused with 401, by reason",
            m.unauthorized.clone(),
        );
        registry.register(
            "store_refused",
            "Object-store paths refused outside the tenant's prefixes",
            m.store_refused.clone(),
        );
        registry.register(
            "catalog_rebuilds",
            "Start-up rebuilds from the lease heads",
            m.rebuilds.clone(),
        );
        registry.register(
            "catalog_shards_missing",
            "Shards not rebuilt from their lease head (catalog not ready while > 0)",
            m.shards_missing.clone(),
        );
        registry.register(
            "warm_queries",
            "Warming runs of panel queries (query::warm) by tenant and outcome",
            m.warm_queries.clone(),
        );
        registry.register(
            "warm_objects",
            "Data objects whose panel partial states were warmed",
            m.warm_objects.clone(),
        );
        registry.register(
            "object_cache_hits",
            "Object reads answered from the in-memory object cache",
            m.cache.hits.clone(),
        );
        registry.register(
            "object_cache_misses",
            "Object reads that fetched the whole object from the bucket",
            m.cache.misses.clone(),
        );
        registry.register(
            "object_cache_evictions",
            "Objects dropped from the cache to stay within its byte budget",
            m.cache.evictions.clone(),
        );
        registry.register(
            "object_cache_bytes",
            "Bytes of object data the cache holds",
            m.cache.bytes.clone(),
        );
        for (name, help, c) in [
            (
                "partials_hits",
                "Per-object partial aggregation states answered from the partials cache",
                &m.partials.hits,
            ),
            (
                "partials_misses",
                "Per-object partial aggregation states computed (not cached)",
                &m.partials.misses,
            ),
            (
                "partials_evictions",
                "Partial states dropped to stay within the partials cache's byte budget",
                &m.partials.evictions,
            ),
            (
                "partials_oversize",
                "Partial states not kept: larger than an eighth of the budget",
                &m.partials.oversize,
            ),
        ] {
            registry.register(name, help, c.clone());
        }
        registry.register(
            "partials_bytes",
            "Bytes of partial aggregation states the partials cache holds",
            m.partials.bytes.clone(),
        );
        Self { registry, ..m }
    }
}

impl Metrics {
    pub fn catalog_message(&self, outcome: &'static str, reason: &'static str) {
        self.catalog_messages
            .get_or_create(&MessageLabels { outcome, reason })
            .inc();
    }

    pub fn applied(&self, done: Applied) {
        self.commits_applied.inc_by(done.commits);
        self.objects_applied.inc_by(done.objects);
    }

    pub fn query(&self, tenant: &str, outcome: &'static str, seconds: f64) {
        self.queries
            .get_or_create(&OutcomeLabels {
                tenant: tenant.to_string(),
                outcome,
            })
            .inc();
        self.latency
            .get_or_create(&TenantLabels {
                tenant: tenant.to_string(),
            })
            .observe(seconds);
    }

    /// Text exposition, with the catalog's object counts copied in at scrape time.
    pub fn render(&self, catalog: &Catalog) -> String {
        for (tenant, table, n) in catalog.object_counts() {
            self.objects
                .get_or_create(&TableLabels { tenant, table })
                .set(n as i64);
        }
        let mut out = String::new();
        if prometheus_client::encoding::text::encode(&mut out, &self.registry).is_err() {
            out.push_str("# encoding failed\n");
        }
        out
    }
}
