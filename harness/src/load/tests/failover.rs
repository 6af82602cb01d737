//! Failover between gateways: the health view's state machine on a fake clock (routing
//! off a gateway that gives no answer, health checks with backoff, rejoin, the outage
//! record), and the open-model load against stubs with a dead gateway, failover on and
//! off.

use super::fixture::{key_tenant as tenant, serve, spec, target};
use crate::load::client::Answer;
use crate::load::health::{Attempt, CHECK_BACKOFF_MS, Health};
use crate::load::open_model::attempt_of;
use crate::load::{Mix, run};
use axum::http::StatusCode;
use axum::routing::post;
use std::time::Instant;

const T: Attempt = Attempt::Transport;
const OK: Attempt = Attempt::Answered { ok: true };

fn urls(n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("https://127.0.0.1:{}", 9000 + i))
        .collect()
}

#[test]
fn traffic_moves_off_a_gateway_that_gives_no_answer_and_back_after_its_check_passes() {
    let mut h = Health::new(3, true);
    assert_eq!(h.route(1, None), 1, "up: a request keeps its gateway");
    h.record(1, 1, T, 1_000);
    assert!(h.is_down(1));
    // Rerouted traffic is spread over the gateways still up, never the down one.
    let picks: Vec<usize> = (0..6).map(|_| h.route(1, None)).collect();
    assert!(picks.iter().all(|g| *g != 1), "{picks:?}");
    assert!(picks.contains(&0) && picks.contains(&2), "{picks:?}");
    // The first 2xx elsewhere of traffic assigned to it: failover time.
    h.record(1, 2, OK, 1_040);
    h.record(1, 0, OK, 1_090);

    // Checked after the backoff, one check at a time; a failed check doubles it.
    assert!(h.due_checks(1_000 + CHECK_BACKOFF_MS - 1).is_empty());
    assert_eq!(h.due_checks(1_000 + CHECK_BACKOFF_MS), vec![1]);
    assert!(h.due_checks(1_300).is_empty(), "a check is already running");
    h.checked(1, false, 1_300);
    assert!(h.is_down(1));
    assert!(h.due_checks(1_300 + 2 * CHECK_BACKOFF_MS - 1).is_empty());
    assert_eq!(h.due_checks(1_300 + 2 * CHECK_BACKOFF_MS), vec![1]);
    h.checked(1, true, 1_710);
    assert!(!h.is_down(1));
    assert_eq!(h.route(1, None), 1, "rejoined: its traffic comes back");
    h.record(1, 1, OK, 1_750);
    h.record(1, 1, Attempt::Answered { ok: false }, 1_760);

    let ev = h.evidence(&urls(3), 42);
    assert!(ev.enabled);
    assert_eq!(ev.load_started_unix_ms, 42);
    let g = &ev.gateways[1];
    assert_eq!(g.url, "https://127.0.0.1:9001");
    assert_eq!(g.first_failure_ms, Some(1_000));
    assert_eq!(g.last_failure_ms, Some(1_000));
    assert_eq!(g.error_window_ms, Some(0));
    assert_eq!(g.failed_requests, 1);
    assert_eq!(g.failover_ms, Some(40));
    assert_eq!(g.rerouted_requests, 2);
    assert_eq!(g.marked_down, 1);
    assert_eq!(g.health_checks_failed, 1);
    assert_eq!(g.rejoined_at_ms, Some(1_710));
    assert_eq!(
        g.requests_after_rejoin, 2,
        "any answer counts as taking traffic"
    );
    assert!(!g.down_at_end);
    assert_eq!(g.outages.len(), 1);
    // The others never failed.
    for i in [0, 2] {
        let o = &ev.gateways[i];
        assert_eq!(o.first_failure_ms, None);
        assert_eq!(o.failed_requests, 0);
        assert!(o.outages.is_empty());
    }
}

#[test]
fn requests_in_flight_when_a_gateway_dies_widen_its_error_window_within_one_outage() {
    let mut h = Health::new(3, true);
    h.record(0, 0, T, 5_000);
    h.record(0, 0, T, 5_030);
    h.record(2, 0, T, 5_045); // one that another gateway's traffic had sent there
    let g = &h.evidence(&urls(3), 0).gateways[0];
    assert_eq!(g.error_window_ms, Some(45));
    assert_eq!(g.failed_requests, 3);
    assert_eq!(g.marked_down, 1);
    assert_eq!(g.failover_ms, None, "no 2xx elsewhere yet");
    assert!(g.down_at_end);
    assert_eq!(g.rejoined_at_ms, None);
}

#[test]
fn with_failover_off_requests_stay_on_their_gateway_and_fail_until_it_answers_again() {
    let mut h = Health::new(3, false);
    h.record(1, 1, T, 1_000);
    assert_eq!(h.route(1, Some(1)), 1, "retried where it was assigned");
    assert!(!h.is_down(1), "routing ignores health");
    assert!(h.due_checks(10_000).is_empty(), "no health checks");
    h.record(1, 1, T, 2_500);
    h.record(1, 1, T, 4_000);
    h.record(1, 1, OK, 4_600);
    h.record(1, 1, OK, 4_700);
    let g = &h.evidence(&urls(3), 0).gateways[1];
    assert_eq!(g.error_window_ms, Some(3_000));
    assert_eq!(g.failed_requests, 3);
    assert_eq!(g.failover_ms, None);
    assert_eq!(g.rerouted_requests, 0);
    assert_eq!(g.marked_down, 0);
    assert_eq!(g.rejoined_at_ms, Some(4_600));
    assert_eq!(g.requests_after_rejoin, 2);
}

#[test]
fn an_overloaded_gateway_is_not_marked_down_but_its_retry_goes_elsewhere() {
    let mut h = Health::new(3, true);
    h.record(0, 0, Attempt::Answered { ok: false }, 100);
    assert!(!h.is_down(0), "a 5xx is an answer");
    assert_ne!(h.route(0, Some(0)), 0, "the retry avoids it");
    assert_eq!(h.route(0, None), 0, "new requests still go there");
    assert!(h.evidence(&urls(3), 0).gateways[0].outages.is_empty());
}

#[test]
fn with_every_gateway_down_requests_go_home_and_the_first_to_rejoin_takes_them() {
    let mut h = Health::new(2, true);
    h.record(0, 0, T, 10);
    h.record(1, 1, T, 20);
    assert_eq!(h.route(0, None), 0);
    assert_eq!(h.route(1, Some(1)), 1);
    let due = h.due_checks(1_000);
    assert_eq!(due, vec![0, 1]);
    h.checked(0, false, 1_000);
    h.checked(1, true, 1_000);
    assert_eq!(h.route(0, None), 1);
    h.record(0, 1, OK, 1_100);
    let ev = h.evidence(&urls(2), 0);
    assert_eq!(ev.gateways[0].failover_ms, Some(1_090));
    assert!(ev.gateways[0].down_at_end);
    assert_eq!(ev.gateways[1].rejoined_at_ms, Some(1_000));
}

#[test]
fn a_second_outage_is_recorded_apart_and_the_longest_window_is_reported() {
    let mut h = Health::new(3, true);
    h.record(2, 2, T, 1_000);
    h.record(2, 2, T, 1_100);
    h.record(2, 0, OK, 1_150);
    h.due_checks(1_200);
    h.checked(2, true, 1_200);
    h.record(2, 2, T, 9_000);
    h.record(2, 2, T, 9_020);
    h.record(2, 1, OK, 9_300);
    let g = &h.evidence(&urls(3), 0).gateways[2];
    assert_eq!(g.outages.len(), 2);
    assert_eq!(g.first_failure_ms, Some(1_000));
    assert_eq!(g.last_failure_ms, Some(9_020));
    assert_eq!(g.error_window_ms, Some(100), "per outage, the longest");
    assert_eq!(g.failover_ms, Some(300), "the slowest failover");
    assert_eq!(g.failed_requests, 4);
    assert_eq!(g.marked_down, 2);
    assert_eq!(g.rejoined_at_ms, None, "out at the end");
    assert!(g.down_at_end);
}

#[test]
fn only_no_answer_counts_as_a_gateway_failure() {
    let a = |status: u16, reason: &str| Answer {
        status,
        at: Instant::now(),
        retry_after: None,
        reason: reason.into(),
        body: Default::default(),
    };
    assert_eq!(attempt_of(&a(0, "transport")), Attempt::Transport);
    assert_eq!(attempt_of(&a(0, "timeout")), Attempt::Transport);
    // A token no gateway handed out says nothing about this one.
    assert_eq!(
        attempt_of(&a(0, "token_transport")),
        Attempt::Answered { ok: false }
    );
    assert_eq!(
        attempt_of(&a(503, "backpressure")),
        Attempt::Answered { ok: false }
    );
    assert_eq!(attempt_of(&a(204, "")), Attempt::Answered { ok: true });
}

fn rw_only(samples_per_sec: f64, secs: f64, failover: bool) -> crate::load::LoadSpec {
    let mut s = spec(13, samples_per_sec, 0.0, secs);
    s.mix = Mix {
        remote_write: 1.0,
        otlp: 0.0,
    };
    s.failover = failover;
    s
}

/// A live stub gateway and, at index 0, a dead one (loopback port 1 refuses).
async fn dead_and_live() -> (Vec<String>, tokio::sync::oneshot::Sender<()>) {
    let app = axum::Router::new().route("/api/v1/write", post(|| async { StatusCode::NO_CONTENT }));
    let (url, stop) = serve(app).await;
    (vec!["http://127.0.0.1:1".to_string(), url], stop)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn producers_fail_over_from_a_dead_gateway_and_nothing_is_lost_or_counted_twice() {
    let (gateways, _stop) = dead_and_live().await;
    // 10 requests/s for 2 s, half of them assigned to the dead gateway.
    let s = rw_only(1_000.0, 2.0, true);
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(gateways, vec![tenant(1)]), &s, tx)
        .await
        .unwrap();
    let c = &out.ledger.counts;
    assert_eq!(c.samples_acked, c.samples_sent, "{c:?}");
    assert!(c.unresolved.is_empty(), "{c:?}");
    let st = &out.steps[0];
    assert_eq!(st.items_acked, st.items_offered, "{st:?}");
    let dead = &out.failover.gateways[0];
    assert!(out.failover.enabled);
    assert!(dead.failed_requests >= 1, "{dead:?}");
    assert!(
        dead.failed_requests < 5,
        "marked down after its first failures: {dead:?}"
    );
    assert!(dead.rerouted_requests >= 5, "{dead:?}");
    assert!(dead.failover_ms.is_some(), "{dead:?}");
    assert!(dead.health_checks_failed >= 1, "{dead:?}");
    assert!(dead.down_at_end);
    // Every failed attempt was retried elsewhere: one retry per failure.
    assert_eq!(st.retries, dead.failed_requests, "{st:?}");
    assert_eq!(out.failover.gateways[1].failed_requests, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_failover_the_dead_gateways_requests_fail_for_the_whole_run() {
    let (gateways, _stop) = dead_and_live().await;
    let s = rw_only(1_000.0, 2.0, false);
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(gateways, vec![tenant(1)]), &s, tx)
        .await
        .unwrap();
    let c = &out.ledger.counts;
    let unresolved: u64 = c.unresolved.values().sum();
    assert!(unresolved > 0, "{c:?}");
    assert_eq!(c.samples_acked + unresolved, c.samples_sent, "{c:?}");
    let dead = &out.failover.gateways[0];
    assert!(!out.failover.enabled);
    // Every request assigned to it failed on every attempt (3 each).
    assert!(dead.failed_requests >= 15, "{dead:?}");
    assert_eq!(dead.failed_requests % 3, 0, "{dead:?}");
    assert_eq!(dead.failover_ms, None);
    assert_eq!(dead.rerouted_requests, 0);
    // Failures from the first request to the last: over a second of a 2 s run.
    assert!(dead.error_window_ms.unwrap_or(0) > 1_000, "{dead:?}");
}
