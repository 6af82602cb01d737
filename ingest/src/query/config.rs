//! Query service configuration (TOML, `deny_unknown_fields`). `[auth]` and `[[tenants]]`
//! are the gateway's own types: the harness writes the same blocks into both files
//! (gateway-only fields such as quotas are accepted and unused here).

use super::warm::{PanelQuery, dashboard_queries};
use crate::aws::AwsConfig;
use crate::gateway::config::{AuthConfig, TenantConfig, TlsConfig};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Name in logs and metrics, e.g. `query`.
    pub instance: String,
    /// Serve plain HTTP instead of TLS. Only with this explicit flag.
    pub plain_http: bool,
    pub tls: Option<TlsConfig>,
    /// The bucket delivery commits into.
    pub bucket: String,
    /// The SQS queue (name) S3 sends the bucket's `_leases/` ObjectCreated events to.
    pub queue: String,
    pub aws: AwsConfig,
    pub auth: AuthConfig,
    pub tenants: Vec<TenantConfig>,
    pub limits: QueryLimits,
    pub catalog: CatalogConfig,
    pub cache: CacheConfig,
    pub warm: WarmConfig,
}

/// Panel queries whose per-object partial states are computed as objects join the tables
/// (`query::warm`); none by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WarmConfig {
    /// A Grafana dashboard (JSON) whose panel targets' `rawSql` are warmed, e.g.
    /// `dashboards/ingest.json`.
    pub dashboard: Option<PathBuf>,
    /// More SQL to warm, with Grafana's `${__from}` / `${__to}` (epoch milliseconds).
    pub queries: Vec<String>,
    /// How often new objects are looked for.
    pub interval_ms: u64,
    /// Objects whose newest row is older than this many hours are not warmed (a start-up
    /// rebuild over months of history would otherwise aggregate all of it, and the cache
    /// keeps only the newest states anyway); 0: no limit.
    pub horizon_hours: u64,
}

impl Default for WarmConfig {
    fn default() -> Self {
        Self {
            dashboard: None,
            queries: Vec::new(),
            interval_ms: 1_000,
            horizon_hours: 24,
        }
    }
}

impl WarmConfig {
    /// The queries to warm: the dashboard's panels, then the listed ones.
    pub fn load(&self) -> Result<Vec<PanelQuery>, String> {
        let mut out = match &self.dashboard {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("reading the dashboard {}: {e}", path.display()))?;
                dashboard_queries(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => Vec::new(),
        };
        out.extend(self.queries.iter().enumerate().map(|(i, sql)| PanelQuery {
            title: format!("warm.queries[{i}]"),
            sql: sql.clone(),
        }));
        Ok(out)
    }
}

/// The in-memory cache of committed data objects (they are immutable, so it is never
/// invalidated; see `query::cache`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// Bytes of object data kept at most (least recently used out first); 0 turns the
    /// cache off (every query reads its objects from the bucket).
    pub object_bytes: u64,
    /// Bytes of per-object partial aggregation states kept at most (see
    /// `query::partials`); 0 turns them off (every query aggregates every object).
    pub partial_bytes: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            object_bytes: 256 << 20,
            partial_bytes: 256 << 20,
        }
    }
}

impl Default for QueryConfig {
    fn default() -> Self {
        Self {
            instance: "query".into(),
            plain_http: false,
            tls: None,
            bucket: "gameday-telemetry".into(),
            queue: "gameday-catalog".into(),
            aws: AwsConfig::default(),
            auth: AuthConfig::default(),
            tenants: Vec::new(),
            limits: QueryLimits::default(),
            catalog: CatalogConfig::default(),
            cache: CacheConfig::default(),
            warm: WarmConfig::default(),
        }
    }
}

/// What one query, and one tenant, may use.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueryLimits {
    /// Memory all queries together may hold (DataFusion memory pool); a query that needs
    /// more fails with `memory_limit`.
    pub memory_bytes: usize,
    /// Queries of one tenant running at once; more → 429 + Retry-After.
    pub concurrency_per_tenant: usize,
    /// Wall-clock limit of one query; past it → 504.
    pub timeout_ms: u64,
    /// Rows returned at most; more are cut off and the answer says `truncated`.
    pub max_rows: usize,
    /// Largest accepted request body (the SQL text).
    pub max_body_bytes: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        Self {
            memory_bytes: 256 << 20,
            concurrency_per_tenant: 4,
            timeout_ms: 10_000,
            max_rows: 100_000,
            max_body_bytes: 64 << 10,
        }
    }
}

/// How the catalog follows the queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// SQS long-poll wait (1..=20 s).
    pub wait_secs: i32,
    /// After a failed message, it becomes visible again after this long (so a poison
    /// message reaches the DLQ after maxReceiveCount receives, not after hours).
    pub retry_visibility_secs: i32,
    /// Longest commit chain walked for one lease change (bounds the work of one message).
    pub max_chain_walk: usize,
}

impl Default for CatalogConfig {
    fn default() -> Self {
        Self {
            wait_secs: 10,
            retry_visibility_secs: 2,
            max_chain_walk: 100_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse_gateway_blocks_and_refuse_unknown_fields() {
        let c: QueryConfig = toml::from_str(
            r#"
            plain_http = true
            [aws]
            endpoint = "http://127.0.0.1:4566"
            [[auth.keys]]
            kid = "k1"
            secret = "s"
            [[tenants]]
            id = "studio-a"
            api_key_sha256 = ["00"]
            [tenants.quota]
            samples_per_sec = 10.0
            [limits]
            max_rows = 5
            "#,
        )
        .unwrap();
        assert_eq!(c.bucket, "gameday-telemetry");
        assert_eq!(c.queue, "gameday-catalog");
        assert_eq!(c.limits.max_rows, 5);
        assert_eq!(c.limits.memory_bytes, 256 << 20);
        assert_eq!(c.limits.concurrency_per_tenant, 4);
        assert_eq!(c.cache.object_bytes, 256 << 20);
        assert!(c.warm.load().unwrap().is_empty());
        let e = toml::from_str::<QueryConfig>("[limits]\nmax_rowz = 1").unwrap_err();
        assert!(e.to_string().contains("max_rowz"), "{e}");
    }

    #[test]
    fn warm_loads_the_dashboard_then_the_listed_queries_and_names_a_bad_path() {
        let dir = std::env::temp_dir().join(format!("gameday-warm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("d.json");
        std::fs::write(
            &path,
            r#"{"panels":[{"title":"p","targets":[{"rawSql":"SELECT 1"}]}]}"#,
        )
        .unwrap();
        let c: QueryConfig = toml::from_str(&format!(
            "[warm]\ndashboard = {:?}\nqueries = [\"SELECT 2\"]\ninterval_ms = 50",
            path.display().to_string()
        ))
        .unwrap();
        let q = c.warm.load().unwrap();
        assert_eq!(
            q.iter().map(|p| p.sql.as_str()).collect::<Vec<_>>(),
            ["SELECT 1", "SELECT 2"]
        );
        assert_eq!(c.warm.interval_ms, 50);
        assert_eq!(c.warm.horizon_hours, 24);
        let missing = WarmConfig {
            dashboard: Some(dir.join("missing.json")),
            ..WarmConfig::default()
        };
        assert!(missing.load().unwrap_err().contains("missing.json"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
