//! The rig of `gameday bench query`, all in this process: the embedded backend on
//! 127.0.0.1:0 with the bucket → queue notification wiring, the query service on
//! 127.0.0.1:0 (plain HTTP, one tenant with an API key, default limits, the object cache
//! the bench asks for), and the client
//! side: the dashboard's panel queries, one `/v1/query` call, and the service's own
//! `/metrics` counters.

use anyhow::{Context, bail};
use ingest::aws::AwsConfig;
use ingest::config::Secret;
use ingest::delivery::store::Store;
use ingest::gateway::config::{SigningKey, TenantConfig};
use ingest::query::{QueryConfig, QueryService};
use mocks::{EmulatorConfig, RunningEmulator};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

pub const TENANT: &str = "studio-bench";
const API_KEY: &str = "bench-query-key-0123456789abcdef";
const DLQ: &str = "gameday-catalog-dlq";
const DASHBOARD: &str = include_str!("../../../dashboards/ingest.json");

/// One panel query of the dashboard.
pub struct PanelQuery {
    pub title: String,
    /// Short name used in figures.
    pub name: String,
    /// SQL with Grafana's `${__from}` / `${__to}` still in it.
    pub sql: String,
}

impl PanelQuery {
    /// The SQL for `[from_ms, to_ms)`, substituted as Grafana does (epoch milliseconds).
    pub fn at(&self, from_ms: i64, to_ms: i64) -> String {
        ingest::query::warm::at(&self.sql, from_ms, to_ms)
    }
}

fn short_name(title: &str) -> String {
    let known = [
        ("Samples ingested per minute", "samples_per_min"),
        ("Events ingested per minute by name", "events_per_min"),
        ("Top metrics by samples", "top_metrics"),
        ("Players online by region", "players_by_region"),
        ("Freshness by shard", "freshness"),
        ("Ingest delay p50/p99", "ingest_delay"),
        ("Rows per shard", "rows_per_shard"),
        ("Events per shard and type", "events_per_shard"),
        ("Producer duplicates", "producer_dups"),
    ];
    if let Some((_, n)) = known.iter().find(|(t, _)| title.starts_with(t)) {
        return n.to_string();
    }
    let slug: String = title
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    slug.chars().take(20).collect()
}

/// Every panel query of `dashboards/ingest.json` (the query service's benchmark set), read
/// as the service's `[warm]` reads a dashboard.
pub fn panel_queries() -> anyhow::Result<Vec<PanelQuery>> {
    let panels = ingest::query::warm::dashboard_queries(DASHBOARD)
        .map_err(|e| anyhow::anyhow!("dashboards/ingest.json: {e}"))?;
    Ok(panels
        .into_iter()
        .map(|p| PanelQuery {
            name: short_name(&p.title),
            title: p.title,
            sql: p.sql,
        })
        .collect())
}

/// The emulator and the query service, running until [`Rig::stop`].
pub struct Rig {
    emu: RunningEmulator,
    pub svc: Arc<QueryService>,
    pub base: String,
    pub store: Store,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
}

fn config(
    endpoint: &str,
    cache_bytes: u64,
    partial_bytes: u64,
    warm: bool,
) -> anyhow::Result<QueryConfig> {
    let mut c = QueryConfig {
        plain_http: true,
        aws: AwsConfig::local(endpoint),
        tenants: vec![TenantConfig {
            id: TENANT.into(),
            client_id: None,
            client_secret_sha256: None,
            api_key_sha256: vec![hex::encode(Sha256::digest(API_KEY.as_bytes()))],
            allow_job_instance: false,
            promoted_resource_attributes: Vec::new(),
            active_series_budget: 1_000_000,
            quota: Default::default(),
        }],
        ..QueryConfig::default()
    };
    c.auth.keys = vec![SigningKey {
        kid: "bench-1".into(),
        secret: Secret::new("query-bench-signing-secret-0123456789abcdef"),
    }];
    c.catalog.wait_secs = 1;
    c.cache.object_bytes = cache_bytes;
    c.cache.partial_bytes = partial_bytes;
    if warm {
        c.warm.queries = panel_queries()?.into_iter().map(|q| q.sql).collect();
        c.warm.interval_ms = 100;
        // Every committed hour, however many `--hours` asks for (phase 1 waits for all).
        c.warm.horizon_hours = 0;
    }
    Ok(c)
}

impl Rig {
    /// Backend, wiring, then the query service (its catalog follows what gets committed)
    /// with an object cache of `cache_bytes`, warming the dashboard's panel queries if
    /// `warm`.
    pub async fn start(cache_bytes: u64, partial_bytes: u64, warm: bool) -> anyhow::Result<Rig> {
        let emu = mocks::Emulator::start(EmulatorConfig::default(), ([127, 0, 0, 1], 0).into())
            .await
            .context("starting the embedded backend on 127.0.0.1:0")?;
        let cfg = config(&emu.endpoint(), cache_bytes, partial_bytes, warm)?;
        let (s3, sqs) = (cfg.aws.s3().await, cfg.aws.sqs().await);
        ingest::query::ensure_wiring(&s3, &sqs, &cfg.bucket, &cfg.queue, DLQ)
            .await
            .map_err(|e| anyhow::anyhow!("bucket and queue wiring: {e}"))?;
        let store = Store::new(s3, cfg.bucket.clone());
        let svc = QueryService::start(cfg)
            .await
            .map_err(|e| anyhow::anyhow!("starting the query service: {e}"))?;
        if !svc.wait_ready(Duration::from_secs(30)).await {
            bail!("the query service's catalog did not rebuild within 30 s");
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding the query service")?;
        let addr = listener.local_addr()?;
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(ingest::query::run(listener, svc.clone(), async move {
            let _ = rx.await;
        }));
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .context("HTTP client")?;
        Ok(Rig {
            emu,
            svc,
            base: format!("http://{addr}"),
            store,
            http,
            shutdown: Some(tx),
        })
    }

    /// Data objects the catalog holds for the bench tenant.
    pub fn catalog_objects(&self) -> u64 {
        self.svc
            .catalog
            .object_counts()
            .iter()
            .filter(|(t, _, _)| t == TENANT)
            .map(|(_, _, n)| *n as u64)
            .sum()
    }

    /// Waits (bounded) until the catalog lists `objects` data objects.
    pub async fn wait_catalog(&self, objects: u64, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.catalog_objects() < objects {
            if start.elapsed() > within {
                bail!(
                    "the catalog lists {} of {objects} committed objects after {:?}",
                    self.catalog_objects(),
                    within
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Waits (bounded) until the service's warmer has warmed `objects` data objects.
    pub async fn wait_warm(&self, objects: u64, within: Duration) -> anyhow::Result<()> {
        let start = Instant::now();
        while self.svc.metrics.warm_objects.get() < objects {
            if start.elapsed() > within {
                bail!(
                    "the service warmed {} of {objects} objects after {:?}",
                    self.svc.metrics.warm_objects.get(),
                    within
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// POST /v1/query (JSON); the status and the answer's `row_count`, or the body text.
    pub async fn query(&self, sql: &str) -> anyhow::Result<Result<u64, String>> {
        Ok(self
            .answer(sql)
            .await?
            .map(|v| v["row_count"].as_u64().unwrap_or(0)))
    }

    /// `EXPLAIN ANALYZE` of `sql` as the service runs it: the plan with each operator's
    /// time and rows (text), or the failure.
    pub async fn explain(&self, sql: &str) -> anyhow::Result<Result<String, String>> {
        let v = match self.answer(&format!("EXPLAIN ANALYZE {sql}")).await? {
            Ok(v) => v,
            Err(e) => return Ok(Err(e)),
        };
        let plan = v["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_array()?.get(1)?.as_str().map(str::to_string))
            .collect::<Vec<_>>()
            .join("\n");
        Ok(Ok(plan))
    }

    /// POST /v1/query (JSON); the answer, or the status and body text.
    async fn answer(&self, sql: &str) -> anyhow::Result<Result<serde_json::Value, String>> {
        let r = self
            .http
            .post(format!("{}/v1/query", self.base))
            .header("x-api-key", API_KEY)
            .json(&serde_json::json!({ "sql": sql }))
            .send()
            .await
            .context("sending a query")?;
        let status = r.status();
        let body = r.bytes().await.context("reading an answer")?;
        if !status.is_success() {
            return Ok(Err(format!(
                "{status}: {}",
                String::from_utf8_lossy(&body[..body.len().min(400)])
            )));
        }
        let v: serde_json::Value = serde_json::from_slice(&body).context("answer is not JSON")?;
        Ok(Ok(v))
    }

    /// A counter of the service's `/metrics` (0 when absent).
    pub async fn counter(&self, name: &str) -> anyhow::Result<f64> {
        let text = self
            .http
            .get(format!("{}/metrics", self.base))
            .send()
            .await
            .context("scraping /metrics")?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (metric, value) = l.rsplit_once(' ')?;
                let bare = metric.split('{').next()?;
                (bare == name).then(|| value.parse::<f64>().ok())?
            })
            .sum())
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.svc.stop();
        let _ = self.emu.stop().await;
    }
}
