//! Per-object partial aggregation states (`query::partials`): a service keeping them
//! answers exactly what a service without them answers, while the range moves as a
//! refreshing dashboard's does (objects the range covers whole come from the cache,
//! objects it cuts are aggregated again), and one tenant's states never answer another.

use super::fixture::*;

const HOUR: i64 = 3_600_000;
const SHARDS: [&str; 2] = ["shardId-000000000000", "shardId-000000000001"];

/// Four hours × two shards, one object each; values are whole numbers (sums are exact
/// in any order) and differ per tenant.
fn rows(hour: i64, shard: usize, offset: f64) -> Vec<M> {
    let metrics = ["players_online", "cpu_seconds", "memory_bytes"];
    (0..60)
        .map(|i| {
            let ts = T0 + hour * HOUR + i as i64 * 60_000;
            M {
                metric: metrics[i % 3],
                series_id: 1 + (i % 7) as u64,
                ts_ms: ts,
                value: offset + (i + 10 * hour as usize + 100 * shard) as f64,
                ingest_ms: ts + 2_000,
            }
        })
        .collect()
}

async fn commit_all(fx: &mut Fixture, tenant: &'static str, offset: f64) {
    for hour in 0..4 {
        for (s, shard) in SHARDS.iter().enumerate() {
            let m = metrics(tenant, shard, hour as u64, &rows(hour, s, offset));
            fx.committer.commit(shard, vec![m]).await;
        }
    }
}

fn queries(from: i64, to: i64) -> Vec<String> {
    let range = format!(
        "ingest_time >= to_timestamp_millis({from}) AND ingest_time < to_timestamp_millis({to})"
    );
    vec![
        format!(
            "SELECT metric, count(*), sum(value), min(value), max(value), \
             count(DISTINCT series_id) FROM metrics WHERE {range} GROUP BY metric ORDER BY metric"
        ),
        format!(
            "SELECT date_bin(INTERVAL '10 minutes', ingest_time) AS t, kinesis_shard, count(*) \
             FROM metrics WHERE {range} GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        format!(
            "SELECT count(*), sum(value), avg(value) FROM metrics \
             WHERE metric = 'cpu_seconds' AND {range}"
        ),
        format!(
            "SELECT kinesis_shard, max(arrow_cast(ingest_time, 'Int64')) FROM metrics \
             WHERE {range} GROUP BY 1 ORDER BY 1"
        ),
    ]
}

fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} missing from /metrics:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn states_are_reused_as_the_range_moves_and_answers_stay_exact() {
    let mut fx = Fixture::start().await;
    commit_all(&mut fx, A, 0.0).await;
    let with = fx.service().await;
    let without = fx.service_with(|c| c.cache.partial_bytes = 0).await;
    // The range cuts the first and the last hour's objects and covers the middle ones.
    let (from, to) = (T0 + HOUR / 2, T0 + 3 * HOUR + HOUR / 2);
    for step in 0..4 {
        let shift = step * 10 * 60_000;
        for sql in queries(from + shift, to + shift) {
            let (s1, cached) = fx.query(&with, KEY_A, &sql).await;
            let (s2, plain) = fx.query(&without, KEY_A, &sql).await;
            assert_eq!((s1, s2), (200, 200), "{sql}: {cached} / {plain}");
            assert!(
                cached["row_count"].as_u64().unwrap_or(0) > 0,
                "{sql}: {cached}"
            );
            assert_eq!(cached["rows"], plain["rows"], "step {step}: {sql}");
        }
    }
    let on = fx.metrics_text(&with).await;
    let (hits, misses) = (
        counter(&on, "query_partials_hits_total"),
        counter(&on, "query_partials_misses_total"),
    );
    // Per query: steps 0–2 read 8 objects, the middle 4 covered whole (computed at step
    // 0, cached after) and 4 cut by the moving bounds (their states are keyed by them, so
    // each step computes them again); at step 3 the first hour is pruned and the last
    // hour's 2 objects are covered whole for the first time.
    let n = queries(0, 0).len() as f64;
    assert_eq!(misses, n * (8.0 + 4.0 + 4.0 + 2.0), "{on}");
    assert_eq!(hits, n * (4.0 + 4.0 + 4.0), "{on}");
    let off = fx.metrics_text(&without).await;
    assert_eq!(counter(&off, "query_partials_hits_total"), 0.0);
    assert_eq!(counter(&off, "query_partials_misses_total"), 0.0);
    // EXPLAIN shows where the partial aggregation went.
    let (status, v) = fx
        .query(&with, KEY_A, &format!("EXPLAIN {}", queries(from, to)[0]))
        .await;
    assert_eq!(status, 200, "{v}");
    assert!(v.to_string().contains("PartialsExec"), "{v}");
    with.stop();
    without.stop();
}

/// Queries whose parts a display-string key would confuse, or whose value depends on
/// more than the object (a scalar subquery): all answered as without the cache.
fn tricky() -> Vec<String> {
    [
        "SELECT sum(value - (series_id - 1)) FROM metrics",
        "SELECT sum(value - series_id - 1) FROM metrics",
        "SELECT count(*) FROM metrics WHERE value > (SELECT avg(value) FROM metrics)",
        "SELECT count(*) FROM metrics WHERE value > (SELECT max(value) FROM metrics) - 50",
        "SELECT count(*) FILTER (WHERE metric = 'cpu_seconds'), \
         count(*) FILTER (WHERE metric = 'cpu_seconds|x'), count(DISTINCT series_id), \
         count(DISTINCT metric) FROM metrics",
        "SELECT metric, kinesis_shard, count(*) FROM metrics \
         GROUP BY ROLLUP (metric, kinesis_shard) ORDER BY 1, 2",
        "SELECT hour, count(*) FROM metrics WHERE dt = '2026-11-26' AND hour >= '11' \
         GROUP BY hour ORDER BY hour",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

async fn same_answers(fx: &Fixture, with: &Service, without: &Service) {
    for sql in tricky() {
        for round in 0..2 {
            let (s1, cached) = fx.query(with, KEY_A, &sql).await;
            let (s2, plain) = fx.query(without, KEY_A, &sql).await;
            assert_eq!((s1, s2), (200, 200), "{sql}: {cached} / {plain}");
            assert_eq!(cached["rows"], plain["rows"], "round {round}: {sql}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brackets_filters_subqueries_and_new_commits_do_not_confuse_states() {
    let mut fx = Fixture::start().await;
    commit_all(&mut fx, A, 0.0).await;
    let with = fx.service().await;
    let without = fx.service_with(|c| c.cache.partial_bytes = 0).await;
    same_answers(&fx, &with, &without).await;
    // Services share the catalog queue: the one without the cache goes, so that the new
    // commit's notification reaches the one with it; a fresh one rebuilds from the heads.
    without.stop();
    // A new object with larger values moves every subquery's value.
    let m = metrics(A, SHARDS[0], 9, &rows(4, 0, 10_000.0));
    fx.committer.commit(SHARDS[0], vec![m]).await;
    let all = "SELECT count(*) FROM metrics";
    assert_eq!(fx.eventually(&with, KEY_A, all, 540).await, 540);
    let without = fx.service_with(|c| c.cache.partial_bytes = 0).await;
    assert_eq!(fx.scalar(&without, KEY_A, all).await, 540);
    same_answers(&fx, &with, &without).await;
    let text = fx.metrics_text(&with).await;
    assert!(counter(&text, "query_partials_hits_total") > 0.0, "{text}");
    with.stop();
    without.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_tenants_states_never_answer_another() {
    let mut fx = Fixture::start().await;
    commit_all(&mut fx, A, 0.0).await;
    commit_all(&mut fx, B, 1_000.0).await;
    let s = fx.service().await;
    let sql = "SELECT CAST(sum(value) AS BIGINT) FROM metrics";
    let a = fx.scalar(&s, KEY_A, sql).await;
    let b = fx.scalar(&s, KEY_B, sql).await;
    // 480 rows per tenant; B's values are A's + 1000 each.
    assert_eq!(b - a, 480 * 1_000);
    // Asked again (now from cached states): the same, each its own.
    assert_eq!(fx.scalar(&s, KEY_A, sql).await, a);
    assert_eq!(fx.scalar(&s, KEY_B, sql).await, b);
    let text = fx.metrics_text(&s).await;
    assert!(
        counter(&text, "query_partials_hits_total") >= 16.0,
        "{text}"
    );
    s.stop();
}

/// The sum of a labelled counter's lines whose labels contain `label` (0 when none).
fn labelled(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name) && l.contains(label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// `[warm]`: the listed panel query's states are computed as objects join, so its first
/// view over a range is answered from them (no object aggregated for the objects it
/// covers whole) and exactly as a service without states answers; a warm query that
/// fails is counted with its reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warmed_panel_states_answer_a_first_view_from_the_cache() {
    let mut fx = Fixture::start().await;
    commit_all(&mut fx, A, 0.0).await;
    let panel = |from: &str, to: &str| {
        format!(
            "SELECT metric, count(*), sum(value), count(DISTINCT series_id) FROM metrics \
             WHERE ingest_time >= to_timestamp_millis({from}) \
             AND ingest_time < to_timestamp_millis({to}) GROUP BY metric ORDER BY metric"
        )
    };
    let warm = fx
        .service_with(|c| {
            c.warm.queries = vec![
                panel("${__from}", "${__to}"),
                "SELECT no_such_column FROM metrics WHERE ${__from} < ${__to}".into(),
            ];
            c.warm.interval_ms = 50;
            // The fixture's rows carry fixed dates: no horizon, whatever today is.
            c.warm.horizon_hours = 0;
        })
        .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let text = loop {
        let text = fx.metrics_text(&warm).await;
        if counter(&text, "query_warm_objects_total") >= 8.0 {
            break text;
        }
        assert!(std::time::Instant::now() < deadline, "not warmed:\n{text}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(counter(&text, "query_warm_objects_total"), 8.0, "{text}");
    assert!(
        labelled(&text, "query_warm_queries_total", "outcome=\"ok\"") >= 1.0,
        "{text}"
    );
    assert!(
        labelled(
            &text,
            "query_warm_queries_total",
            "outcome=\"invalid_query\""
        ) >= 1.0,
        "{text}"
    );
    // Warming ran no user query.
    assert_eq!(
        labelled(&text, "query_queries_total", "outcome"),
        0.0,
        "{text}"
    );
    let (hits, misses) = (
        counter(&text, "query_partials_hits_total"),
        counter(&text, "query_partials_misses_total"),
    );
    // The first view of hours 1–3: six objects covered whole, all warmed.
    let sql = panel(&(T0 + HOUR).to_string(), &(T0 + 4 * HOUR).to_string());
    let (status, first) = fx.query(&warm, KEY_A, &sql).await;
    assert_eq!(status, 200, "{first}");
    let text = fx.metrics_text(&warm).await;
    assert_eq!(
        counter(&text, "query_partials_misses_total"),
        misses,
        "{text}"
    );
    assert_eq!(
        counter(&text, "query_partials_hits_total"),
        hits + 6.0,
        "{text}"
    );
    let without = fx.service_with(|c| c.cache.partial_bytes = 0).await;
    let (status, plain) = fx.query(&without, KEY_A, &sql).await;
    assert_eq!(status, 200, "{plain}");
    assert_eq!(first["rows"], plain["rows"]);
    assert!(first["row_count"].as_u64().unwrap_or(0) > 0, "{first}");
    warm.stop();
    without.stop();
}
