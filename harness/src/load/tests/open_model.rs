//! The open-model scheduler against axum stubs: it offers the configured rate whatever
//! the server does (a slow server fills the bounded queue, whose drops are counted),
//! TTFB counts from the scheduled time, retries honour Retry-After, and a dead gateway
//! is failed over.

use super::fixture::{key_tenant as tenant, serve, spec, target, tenant as jwt_tenant};
use crate::load::{Mix, run};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

fn rw_only(samples_per_sec: f64, secs: f64) -> crate::load::LoadSpec {
    let mut s = spec(11, samples_per_sec, 0.0, secs);
    s.mix = Mix {
        remote_write: 1.0,
        otlp: 0.0,
    };
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_server_does_not_slow_the_offered_rate() {
    let received = Arc::new(Mutex::new(0u64));
    let r = received.clone();
    let app = axum::Router::new().route(
        "/api/v1/write",
        post(move || {
            let r = r.clone();
            async move {
                *r.lock().unwrap() += 1;
                tokio::time::sleep(Duration::from_millis(300)).await;
                StatusCode::NO_CONTENT
            }
        }),
    );
    let (url, _stop) = serve(app).await;
    // 20 requests/s for 2 s = 40 scheduled; 4 senders × 1/0.3 s ≈ 13/s can be served.
    let mut s = rw_only(2_000.0, 2.0);
    s.max_in_flight = 4;
    s.send_queue = 4;
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(vec![url], vec![tenant(1)]), &s, tx)
        .await
        .unwrap();
    let st = &out.steps[0];
    assert_eq!(st.requests_offered, 40, "{st:?}");
    assert_eq!(st.requests_sent + st.requests_dropped, st.requests_offered);
    assert!(st.requests_dropped > 0, "a full queue drops: {st:?}");
    assert_eq!(*received.lock().unwrap(), st.requests_sent);
    // A request carries at least the 100 samples asked for (a histogram is not split).
    assert!(st.items_dropped >= st.requests_dropped * 100, "{st:?}");
    assert_eq!(out.ledger.counts.dropped, st.items_dropped);
    // Queueing shows in TTFB: measured from the scheduled time, well above 300 ms.
    assert!(st.ttfb_all.max_ms > 600.0, "{:?}", st.ttfb_all);
    // Every item offered was either acked (the stub says 204) or dropped, never lost.
    assert_eq!(out.ledger.counts.samples_acked, st.items_acked);
    assert_eq!(
        st.items_acked + st.items_dropped,
        st.items_offered,
        "{st:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_honour_retry_after() {
    let arrivals: Arc<Mutex<Vec<Instant>>> = Default::default();
    let a = arrivals.clone();
    let app = axum::Router::new().route(
        "/api/v1/write",
        post(move |_h: HeaderMap| {
            let a = a.clone();
            async move {
                let n = {
                    let mut v = a.lock().unwrap();
                    v.push(Instant::now());
                    v.len()
                };
                if n == 1 {
                    (
                        StatusCode::TOO_MANY_REQUESTS,
                        [("retry-after", "1"), ("x-retry-after-ms", "400")],
                        r#"{"error":"quota_exceeded","retry_after_ms":400}"#,
                    )
                        .into_response()
                } else {
                    StatusCode::NO_CONTENT.into_response()
                }
            }
        }),
    );
    let (url, _stop) = serve(app).await;
    let s = rw_only(100.0, 1.0); // one request of 100 samples
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(vec![url], vec![tenant(1)]), &s, tx)
        .await
        .unwrap();
    let v = arrivals.lock().unwrap().clone();
    assert_eq!(v.len(), 2, "one retry");
    let gap = v[1] - v[0];
    assert!(gap >= Duration::from_millis(400), "waited {gap:?}");
    assert!(
        gap < Duration::from_millis(1_500),
        "jitter is bounded: {gap:?}"
    );
    let st = &out.steps[0];
    assert_eq!(st.retries, 1);
    assert_eq!(st.throttled_with_retry_after, 1);
    assert_eq!(st.status_counts.get(&429), Some(&1));
    assert_eq!(st.status_counts.get(&204), Some(&1));
    assert_eq!(out.ledger.counts.samples_acked, 100);
    assert_eq!(out.ledger.counts.retries, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_not_retried_and_a_dead_gateway_is_failed_over() {
    let app = axum::Router::new()
        .route("/api/v1/write", post(|| async { StatusCode::NO_CONTENT }))
        .route(
            "/v1/events",
            post(|| async {
                (StatusCode::BAD_REQUEST, r#"{"error":"bad_schema"}"#).into_response()
            }),
        );
    let (url, _stop) = serve(app).await;
    // Port 1 on loopback: nothing listens, the connection is refused.
    let gateways = vec!["http://127.0.0.1:1".to_string(), url];
    let mut s = rw_only(100.0, 1.0);
    s.base_events_per_sec = 10.0;
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(gateways, vec![tenant(1)]), &s, tx)
        .await
        .unwrap();
    let c = &out.ledger.counts;
    assert_eq!(c.samples_acked, c.samples_sent, "{c:?}");
    assert!(c.unresolved.is_empty(), "{c:?}");
    assert_eq!(c.rejected.get("bad_schema"), Some(&c.events_sent), "{c:?}");
    let st = &out.steps[0];
    assert_eq!(
        st.status_counts.get(&400),
        Some(&1),
        "a 400 is final: {st:?}"
    );
    assert!(
        st.status_counts.contains_key(&0),
        "the dead gateway was tried: {st:?}"
    );
}

/// A JWT tenant's first request waits for its token; that wait is the token endpoint's,
/// not the ingest call's: the gateway's TTFB (T1's p99) must not carry it. It did: on a
/// 120-request short baseline the two first requests' token fetches were its p99.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ttfb_does_not_include_fetching_a_token() {
    let tokens = Arc::new(Mutex::new(0u64));
    let t = tokens.clone();
    let app = axum::Router::new()
        .route(
            "/token",
            post(move || {
                let t = t.clone();
                async move {
                    *t.lock().unwrap() += 1;
                    tokio::time::sleep(Duration::from_millis(400)).await;
                    r#"{"access_token":"t0k3n","expires_in":300}"#
                }
            }),
        )
        .route("/api/v1/write", post(|| async { StatusCode::NO_CONTENT }));
    let (url, _stop) = serve(app).await;
    let s = rw_only(100.0, 1.0); // one request of 100 samples
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&target(vec![url], vec![jwt_tenant(0)]), &s, tx)
        .await
        .unwrap();
    let st = &out.steps[0];
    assert_eq!(st.status_counts.get(&204), Some(&1), "{st:?}");
    assert_eq!(*tokens.lock().unwrap(), 1, "the token was fetched");
    // The stub answers the write at once; 400 ms would be the token endpoint's.
    assert!(st.ttfb_all.max_ms < 200.0, "{:?}", st.ttfb_all);
}
