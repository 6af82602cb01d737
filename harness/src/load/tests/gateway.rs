//! The generated payloads against the gateway's own code: bodies decode (remote_write
//! via prost + snappy, OTLP via its protobuf) into exactly the rows the ledger expects,
//! and the real gateway (TLS, JWT and API keys, embedded backend) accepts every clean
//! item and refuses every bad one.

use super::fixture::{gateway, spec, tenant};
use crate::load::ledger::unpack_sample;
use crate::load::payload::{Cursor, sample_ids};
use crate::load::shapes::{Catalog, Protocol, row_hash};
use crate::load::{BadMix, otlp, remote_write, run};
use ingest::gateway::inputs::{otlp as gw_otlp, remote_write as gw_rw};

/// (metric, labels without `__name__`) hash of a series as the gateway decoded it.
fn hash_of(labels: &[ingest::envelope::Label]) -> u64 {
    let name = labels
        .iter()
        .find(|l| l.name == "__name__")
        .map(|l| l.value.clone())
        .unwrap_or_default();
    let rest: Vec<(&str, &str)> = labels
        .iter()
        .filter(|l| l.name != "__name__")
        .map(|l| (l.name.as_str(), l.value.as_str()))
        .collect();
    row_hash(&name, &rest)
}

fn expected(c: &Catalog, ids: &[u64], base: i64) -> Vec<(u64, i64)> {
    let mut v: Vec<(u64, i64)> = ids
        .iter()
        .map(|id| {
            let (_, row, off) = unpack_sample(*id);
            let r = &c.rows[row as usize];
            (row_hash(&r.metric, &r.labels), base + off)
        })
        .collect();
    v.sort();
    v
}

#[test]
fn bodies_decode_into_the_rows_the_ledger_expects() {
    let c = Catalog::build(5, 1_000, 0.5);
    let base = 1_700_000_000_000;
    for p in [Protocol::RemoteWrite, Protocol::Otlp] {
        let mut cur = Cursor::new(&c, p);
        for _ in 0..5 {
            let batch = cur.next_batch(&c, 120, base + 10_000);
            let ids = sample_ids(0, &c, &batch, base);
            let series = match p {
                Protocol::RemoteWrite => {
                    let body = remote_write::body(&c, &batch);
                    gw_rw::to_series(gw_rw::decode(&body, 1 << 24).unwrap()).unwrap()
                }
                Protocol::Otlp => {
                    let body = otlp::body(&c, &batch);
                    let req = gw_otlp::decode_protobuf(&body).unwrap();
                    let conv = gw_otlp::convert(req, |_| false, true);
                    assert!(conv.rejected.is_empty(), "{:?}", conv.rejected);
                    assert_eq!(conv.dropped_resource_attributes, 2);
                    conv.series
                }
            };
            let mut got: Vec<(u64, i64)> = series
                .iter()
                .flat_map(|(l, s)| s.iter().map(move |s| (hash_of(l), s.timestamp_ms)))
                .collect();
            got.sort();
            assert_eq!(got, expected(&c, &ids, base), "{p:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clean_load_through_the_real_gateway_is_all_acked() {
    let tenants = vec![tenant(0), tenant(1), tenant(2)];
    let st = gateway(tenants, 2, |_| {}).await;
    let s = spec(21, 3_000.0, 150.0, 3.0);
    let (tx, rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&st.target, &s, tx).await.unwrap();
    let step = &out.steps[0];
    assert!(step.items_rejected.is_empty(), "{:?}", step.items_rejected);
    let c = &out.ledger.counts;
    assert!(c.samples_sent >= 8_000, "{c:?}");
    assert_eq!(c.samples_acked, c.samples_sent, "{c:?}");
    assert_eq!(c.events_acked, c.events_sent, "{c:?}");
    assert_eq!(out.hygiene.clean_rejected, 0);
    assert!(
        step.status_counts.keys().all(|s| (200..300).contains(s)),
        "{:?}",
        step.status_counts
    );
    assert!(step.ttfb_admitted.count > 0);
    assert_eq!(step.requests_dropped, 0);
    assert!(rx.borrow().elapsed_secs > 0.0, "progress was published");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_traffic_is_refused_by_class_and_clean_traffic_is_not() {
    let mut t = tenant(0);
    t.active_series_budget = 2_000;
    let st = gateway(vec![t, tenant(1)], 2, |_| {}).await;
    let mut s = spec(33, 4_000.0, 200.0, 4.0);
    s.series_per_tenant = 400;
    s.bad = BadMix {
        pii: 0.15,
        unknown_label: 0.1,
        high_cardinality: 0.1,
        bad_schema: 0.1,
    };
    let (tx, _rx) = tokio::sync::watch::channel(Default::default());
    let out = run(&st.target, &s, tx).await.unwrap();
    let h = &out.hygiene;
    for class in ["pii", "unknown_label", "high_cardinality", "bad_schema"] {
        let sent = h.bad_sent.get(class).copied().unwrap_or(0);
        assert!(sent > 0, "{class} was sent: {h:?}");
        assert_eq!(
            h.bad_rejected.get(class).copied().unwrap_or(0),
            sent,
            "{class}: {h:?}"
        );
    }
    assert_eq!(h.clean_rejected, 0, "{h:?}");
    assert!(h.planted_pii > 0);
    assert_eq!(out.ledger.planted_pii.len() as u64, h.planted_pii);
    let c = &out.ledger.counts;
    assert_eq!(
        c.samples_acked, c.samples_sent,
        "clean samples all acked: {c:?}"
    );
}
