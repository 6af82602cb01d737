//! Warming (`[warm]`): the per-object partial states ([`super::partials`]) of known panel
//! queries — a Grafana dashboard's, or SQL listed in the config — computed as data
//! objects join the tables, so a dashboard's first view of a range merges cached states
//! like a refresh does instead of aggregating every object (what a rollup maintained at
//! ingest gives, kept in the partials cache instead of in storage). Queries not listed
//! are planned and cached as before: their first run aggregates every object it reads.
//!
//! Every `interval_ms` the warmer takes each tenant's objects it has not warmed yet (those
//! with rows newer than `horizon_hours`), groups them by partition hour, and runs each
//! query once per hour over exactly that hour's objects' ingest span (`${__from}` /
//! `${__to}` substituted as Grafana does, epoch milliseconds): the objects of that hour
//! lie wholly inside the range, so their states are the whole-object states any range
//! covering them reuses; other hours' objects are pruned by their commit statistics. The
//! answers are dropped. Warming takes one of the tenant's query slots (a tenant whose
//! slots are all in use is retried next round) and runs under the service's limits; each
//! run is counted by outcome (`query_warm_queries`), and the objects warmed
//! (`query_warm_objects`).

use super::QueryService;
use super::catalog::DataObject;
use super::exec;
use super::metrics::OutcomeLabels;
use crate::gateway::pipeline::now_ms;
use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// One panel query with Grafana's `${__from}` / `${__to}` still in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PanelQuery {
    pub title: String,
    pub sql: String,
}

impl PanelQuery {
    pub fn at(&self, from_ms: i64, to_ms: i64) -> String {
        at(&self.sql, from_ms, to_ms)
    }
}

/// `sql` for `[from_ms, to_ms)`: `${__from}` / `${__to}` substituted as Grafana does
/// (epoch milliseconds).
pub fn at(sql: &str, from_ms: i64, to_ms: i64) -> String {
    sql.replace("${__from}", &from_ms.to_string())
        .replace("${__to}", &to_ms.to_string())
}

/// Every target's `rawSql` of a Grafana dashboard (JSON), the panels nested in rows
/// included, in panel order.
pub fn dashboard_queries(json: &str) -> Result<Vec<PanelQuery>, String> {
    let d: serde_json::Value =
        serde_json::from_str(json).map_err(|e| format!("not a dashboard (JSON): {e}"))?;
    let mut out = Vec::new();
    let mut panels: Vec<&serde_json::Value> =
        d["panels"].as_array().into_iter().flatten().collect();
    panels.reverse();
    while let Some(p) = panels.pop() {
        let title = p["title"].as_str().unwrap_or("panel");
        for t in p["targets"].as_array().into_iter().flatten() {
            if let Some(sql) = t["rawSql"].as_str().filter(|s| !s.trim().is_empty()) {
                out.push(PanelQuery {
                    title: title.to_string(),
                    sql: sql.to_string(),
                });
            }
        }
        // A row's collapsed panels come right after it.
        let nested: Vec<&serde_json::Value> =
            p["panels"].as_array().into_iter().flatten().collect();
        panels.extend(nested.into_iter().rev());
    }
    if out.is_empty() {
        return Err("the dashboard has no panel target with rawSql".into());
    }
    Ok(out)
}

/// Objects not warmed yet with rows at or after `oldest_ms`, grouped by partition hour
/// (oldest first, so the newest states are the last the cache's LRU order drops): each
/// group's ingest span.
fn spans<'a>(
    objects: impl Iterator<Item = &'a Arc<DataObject>>,
    warmed: &HashSet<String>,
    oldest_ms: i64,
) -> Vec<(i64, i64, Vec<String>)> {
    let mut by_hour: BTreeMap<(String, String), (i64, i64, Vec<String>)> = BTreeMap::new();
    for o in objects.filter(|o| o.max_ingest_ms >= oldest_ms && !warmed.contains(&o.key)) {
        let e = by_hour.entry((o.dt.clone(), o.hour.clone())).or_insert((
            i64::MAX,
            i64::MIN,
            Vec::new(),
        ));
        e.0 = e.0.min(o.min_ingest_ms);
        e.1 = e.1.max(o.max_ingest_ms);
        e.2.push(o.key.clone());
    }
    by_hour
        .into_values()
        .map(|(lo, hi, keys)| (lo, hi.saturating_add(1), keys))
        .collect()
}

/// Runs until the service is dropped.
pub(super) async fn run(svc: Weak<QueryService>, queries: Vec<PanelQuery>, interval: Duration) {
    let mut warmed = HashSet::new();
    loop {
        tokio::time::sleep(interval).await;
        let Some(svc) = svc.upgrade() else { return };
        if svc.catalog.is_ready() {
            round(&svc, &queries, &mut warmed).await;
        }
    }
}

/// One pass over every tenant's new objects.
async fn round(svc: &QueryService, queries: &[PanelQuery], warmed: &mut HashSet<String>) {
    let limits = &svc.config.limits;
    let oldest_ms = match svc.config.warm.horizon_hours {
        0 => i64::MIN,
        h => {
            now_ms().saturating_sub(i64::try_from(h.saturating_mul(3_600_000)).unwrap_or(i64::MAX))
        }
    };
    for t in &svc.config.tenants {
        let snap = svc.catalog.snapshot(&t.id);
        let groups = spans(
            snap.metrics.iter().chain(snap.events.iter()),
            warmed,
            oldest_ms,
        );
        if groups.is_empty() {
            continue;
        }
        let Some(_slot) = svc.permit(&t.id) else {
            count(svc, &t.id, "concurrency_limit");
            continue;
        };
        for (from, to, keys) in groups {
            for q in queries {
                let sql = q.at(from, to);
                let run = exec::execute(&svc.sessions, &t.id, &sql, false, limits.max_rows);
                let outcome = match tokio::time::timeout(
                    Duration::from_millis(limits.timeout_ms),
                    run,
                )
                .await
                {
                    Ok(Ok(_)) => "ok",
                    Ok(Err(e)) => {
                        tracing::warn!(tenant = t.id, panel = q.title, error = %e, "warming a panel query failed");
                        e.reason()
                    }
                    Err(_) => "timeout",
                };
                count(svc, &t.id, outcome);
            }
            svc.metrics.warm_objects.inc_by(keys.len() as u64);
            warmed.extend(keys);
        }
    }
}

fn count(svc: &QueryService, tenant: &str, outcome: &'static str) {
    svc.metrics
        .warm_queries
        .get_or_create(&OutcomeLabels {
            tenant: tenant.to_string(),
            outcome,
        })
        .inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dashboard_queries_reads_targets_of_panels_and_of_rows_in_order() {
        let json = r#"{"panels": [
            {"title": "a", "targets": [{"rawSql": "SELECT 1 WHERE x >= ${__from}"}, {"refId": "B"}]},
            {"title": "row", "type": "row", "panels": [
                {"title": "b", "targets": [{"rawSql": "SELECT 2"}]}
            ]},
            {"title": "c", "targets": [{"rawSql": "  "}, {"rawSql": "SELECT 3"}]}
        ]}"#;
        let q = dashboard_queries(json).unwrap();
        let got: Vec<(&str, &str)> = q
            .iter()
            .map(|p| (p.title.as_str(), p.sql.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "SELECT 1 WHERE x >= ${__from}"),
                ("b", "SELECT 2"),
                ("c", "SELECT 3")
            ]
        );
        assert_eq!(q[0].at(5, 9), "SELECT 1 WHERE x >= 5");
        assert!(dashboard_queries("{}").unwrap_err().contains("no panel"));
        assert!(dashboard_queries("nope").unwrap_err().contains("JSON"));
    }

    #[test]
    fn the_repository_dashboard_has_a_query_per_panel() {
        let q = dashboard_queries(include_str!("../../../dashboards/ingest.json")).unwrap();
        assert!(q.len() >= 9, "{}", q.len());
        assert!(
            q.iter()
                .all(|p| p.sql.contains("${__from}") && p.sql.contains("${__to}"))
        );
    }

    fn obj(key: &str, hour: &str, lo: i64, hi: i64) -> Arc<DataObject> {
        Arc::new(DataObject {
            key: key.into(),
            rows: 1,
            bytes: 1,
            min_ingest_ms: lo,
            max_ingest_ms: hi,
            dt: "2026-11-27".into(),
            hour: hour.into(),
            shard_id: "s".into(),
        })
    }

    #[test]
    fn spans_group_new_objects_by_hour_and_cover_each_whole() {
        let objects = [
            obj("a", "10", 100, 200),
            obj("b", "10", 150, 400),
            obj("c", "11", 3_600_000, 3_700_000),
            obj("d", "11", 3_650_000, 3_800_000),
        ];
        let warmed: HashSet<String> = ["d".to_string()].into();
        let got = spans(objects.iter(), &warmed, i64::MIN);
        assert_eq!(
            got,
            vec![
                (100, 401, vec!["a".to_string(), "b".to_string()]),
                (3_600_000, 3_700_001, vec!["c".to_string()]),
            ]
        );
        let all: HashSet<String> = ["a", "b", "c", "d"].map(String::from).into();
        assert!(spans(objects.iter(), &all, i64::MIN).is_empty());
        // Past the horizon: only objects with rows at or after it.
        let none = HashSet::new();
        let recent: Vec<Vec<String>> = spans(objects.iter(), &none, 3_750_000)
            .into_iter()
            .map(|g| g.2)
            .collect();
        assert_eq!(recent, vec![vec!["d".to_string()]]);
    }
}
