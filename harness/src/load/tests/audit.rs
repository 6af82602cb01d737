//! The ledger classifies hand-built stored rows: lost, delivery duplicates, retry
//! duplicates, phantoms, planted PII and labels outside the allowlist.

use crate::load::audit::{Auditor, Provenance, SampleRow};
use crate::load::events::event_id;
use crate::load::ledger::{Fate, Ledger, event_key, sample_id};
use crate::load::shapes::Catalog;

fn ledger() -> (Ledger, Catalog) {
    let c = Catalog::build(3, 200, 1.0);
    let mut l = Ledger::new("run1".into(), 1_000_000, vec!["studio-a".into()]);
    l.index_catalog(0, &c);
    // The gateway's default allowlist, plus the histogram bucket label.
    let mut allowed = ingest::gateway::config::HygieneConfig::default().allowlist;
    allowed.push("le".into());
    l.allowed_labels[0] = allowed.into_iter().collect();
    (l, c)
}

fn prov(seq: &'static str, sub: u32) -> Provenance<'static> {
    Provenance {
        shard: "shardId-000000000000",
        seq,
        sub_seq: sub,
    }
}

#[test]
fn lost_duplicates_and_phantoms_are_told_apart() {
    let (mut l, c) = ledger();
    let ts = |k: i64| 1_000_000 + 5_000 + k;
    // Rows 0..4 acked at ts(0); row 4 refused (429); row 5 unresolved (503).
    let acked: Vec<u64> = (0..4).map(|r| sample_id(0, r, 5_000)).collect();
    l.record_samples(&Fate::Acked, &acked);
    l.record_samples(
        &Fate::Refused("quota_exceeded".into()),
        &[sample_id(0, 4, 5_000)],
    );
    l.record_samples(
        &Fate::Unresolved("http_503".into()),
        &[sample_id(0, 5, 5_000)],
    );
    l.record_events(&[
        (event_key(0, 0, 1), Fate::Acked),
        (event_key(0, 0, 2), Fate::Acked),
    ]);
    l.planted_pii = vec!["jane.doe@gmail.com".into()];

    let mut a = Auditor::new(&l);
    let row = |r: usize| {
        let d = &c.rows[r];
        (d.metric.clone(), d.labels.clone())
    };
    let feed = |a: &mut Auditor, r: usize, t: i64, p: Provenance| {
        let (m, labels) = row(r);
        let pairs: Vec<(&str, &str)> = labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        a.sample(
            &SampleRow {
                tenant: "studio-a",
                metric: &m,
                labels: &pairs,
                ts_ms: t,
                exemplars: None,
            },
            &p,
        );
    };
    feed(&mut a, 0, ts(0), prov("100", 0));
    feed(&mut a, 0, ts(0), prov("100", 0)); // same record read twice: delivery duplicate
    feed(&mut a, 1, ts(0), prov("100", 1));
    feed(&mut a, 1, ts(0), prov("200", 0)); // same identity, other record: retry duplicate
    feed(&mut a, 2, ts(0), prov("100", 2));
    // row 3 never stored: lost
    feed(&mut a, 4, ts(0), prov("100", 3)); // refused but stored: phantom
    feed(&mut a, 5, ts(0), prov("100", 4)); // unresolved and stored: fine
    feed(&mut a, 6, ts(0), prov("100", 5)); // never sent: phantom
    // A series the producers never made, with an unknown label and planted PII.
    a.sample(
        &SampleRow {
            tenant: "studio-a",
            metric: "game_server_players_online",
            labels: &[
                ("cluster", "contact: jane.doe@gmail.com"),
                ("player_name", "kai"),
            ],
            ts_ms: ts(1),
            exemplars: None,
        },
        &prov("300", 0),
    );
    a.event(
        "studio-a",
        &event_id("run1", 0, 0, 1),
        "{\"score\":1}",
        &prov("400", 0),
    );
    // event 2 lost; an event this run never sent:
    a.event(
        "studio-a",
        &event_id("other", 0, 0, 9),
        "{\"note\":\"jane.doe@gmail.com\"}",
        &prov("400", 1),
    );
    let ev = a.finish();
    assert_eq!(ev.acked, 6);
    assert_eq!(ev.stored_rows, 11);
    assert_eq!(ev.delivery_duplicates, 1, "{:?}", ev.examples);
    assert_eq!(ev.retry_duplicates, 1, "{:?}", ev.examples);
    assert_eq!(ev.lost, 2, "row 3 and event 2: {:?}", ev.examples);
    assert_eq!(ev.phantoms, 4, "{:?}", ev.examples);
    assert_eq!(ev.labels_outside_allowlist, vec!["player_name".to_string()]);
    assert_eq!(ev.pii_found.len(), 2, "{:?}", ev.pii_found);
    assert!(
        ev.pii_found
            .iter()
            .all(|p| p.starts_with("jane.doe@gmail.com"))
    );
}

#[test]
fn a_clean_store_has_nothing_to_report() {
    let (mut l, c) = ledger();
    let ids: Vec<u64> = (0..c.rows.len() as u32)
        .map(|r| sample_id(0, r, 7))
        .collect();
    l.record_samples(&Fate::Acked, &ids);
    let mut a = Auditor::new(&l);
    for (i, d) in c.rows.iter().enumerate() {
        let pairs: Vec<(&str, &str)> = d
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        a.sample(
            &SampleRow {
                tenant: "studio-a",
                metric: &d.metric,
                labels: &pairs,
                ts_ms: 1_000_007,
                exemplars: None,
            },
            &Provenance {
                shard: "s",
                seq: "1",
                sub_seq: i as u32,
            },
        );
    }
    let ev = a.finish();
    assert_eq!(
        (
            ev.lost,
            ev.phantoms,
            ev.delivery_duplicates,
            ev.retry_duplicates
        ),
        (0, 0, 0, 0)
    );
    assert_eq!(ev.stored_rows, c.rows.len() as u64);
}
