//! Every panel query of `dashboards/ingest.json` (the dashboard replay's query set) parses
//! and executes against a small committed table, with the time range substituted as
//! Grafana does.

use super::fixture::*;

const DASHBOARD: &str = include_str!("../../../../dashboards/ingest.json");

/// Each panel's (title, SQL).
pub fn panel_queries() -> Vec<(String, String)> {
    let d: serde_json::Value = serde_json::from_str(DASHBOARD).expect("dashboard is JSON");
    let mut out = Vec::new();
    for p in d["panels"].as_array().expect("panels") {
        for t in p["targets"].as_array().expect("targets") {
            let sql = t["rawSql"].as_str().expect("rawSql").to_string();
            // The request the datasource sends carries the same SQL.
            let data: serde_json::Value =
                serde_json::from_str(t["url_options"]["data"].as_str().expect("data"))
                    .expect("request body is JSON");
            assert_eq!(data["sql"], sql.as_str());
            out.push((p["title"].as_str().expect("title").to_string(), sql));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_dashboard_panel_query_runs() {
    let mut fx = Fixture::start().await;
    for (i, shard) in ["shardId-000000000000", "shardId-000000000001"]
        .iter()
        .enumerate()
    {
        let m = metrics(A, shard, i as u64, &samples(6, T0 + 5_000));
        let e = events(
            A,
            shard,
            i as u64,
            &[E {
                event_id: format!("e{i}"),
                name: "match_end",
                ts_ms: T0,
                ingest_ms: T0 + 5_000,
            }],
        );
        fx.committer.commit(shard, vec![m, e]).await;
    }
    let s = fx.service().await;
    let queries = panel_queries();
    assert!(queries.len() >= 8, "{} panels", queries.len());
    let (from, to) = (T0 - 3_600_000, T0 + 12 * 3_600_000);
    for (title, sql) in queries {
        let sql = sql
            .replace("${__from}", &from.to_string())
            .replace("${__to}", &to.to_string());
        let (status, v) = fx.query(&s, KEY_A, &sql).await;
        assert_eq!(status, 200, "{title}: {v}");
        assert!(v["row_count"].as_u64().is_some(), "{title}: {v}");
    }
    s.stop();
}
