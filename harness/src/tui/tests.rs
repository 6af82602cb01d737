//! The console rendered into ratatui's `TestBackend` at 80×24 and 160×48: every pane
//! shows the figures of a given snapshot; keys become control API requests, and a key
//! press reaches a real control server.

use super::model::{App, Key, Request};
use super::view::draw;
use crate::control::pb;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn snapshot() -> pb::StatusSnapshot {
    let comps = [
        ("gateway-a", "up"),
        ("gateway-b", "down"),
        ("gateway-c", "up"),
        ("delivery-a", "up"),
        ("delivery-b", "up"),
        ("delivery-c", "stalled"),
        ("query", "up"),
    ];
    let shards: Vec<String> = (0..6).map(|i| format!("shardId-{i:012}")).collect();
    pb::StatusSnapshot {
        t_ms: 42_000,
        scenario: "gameday".into(),
        step: "3x".into(),
        load_multiplier: 1.5,
        offered_per_sec: 61_000.0,
        acked_per_sec: 58_321.0,
        throttled_429_per_sec: 12.0,
        server_5xx_per_sec: 3.5,
        ttfb_p50_ms: 6.2,
        ttfb_p99_ms: 48.7,
        freshness_ms: Some(2_400.0),
        freshness_p99_by_tenant_ms: [("t1".to_string(), 1_900.0), ("t2".to_string(), 2_700.0)]
            .into(),
        query_p95_ms: Some(41.0),
        query_p99_ms: Some(187.0),
        gates: vec![
            pb::GateStatus {
                id: "T1".into(),
                name: "1x baseline".into(),
                state: "at risk".into(),
                detail: "429 at 1× 3 (≤ 0)".into(),
            },
            pb::GateStatus {
                id: "T6".into(),
                name: "gateway kill".into(),
                state: "pending".into(),
                detail: "judged on its fault windows".into(),
            },
        ],
        iterator_age_ms: shards
            .iter()
            .enumerate()
            .map(|(i, s)| (s.clone(), if i == 2 { 9_800.0 } else { 100.0 }))
            .collect(),
        paused_shards: vec![shards[2].clone()],
        leases: shards
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let w = ["delivery-a", "delivery-b"][i % 2];
                (
                    s.clone(),
                    pb::Lease {
                        worker: w.into(),
                        epoch: 1,
                        commits: 10,
                    },
                )
            })
            .collect(),
        components: comps
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect(),
        faults: vec![pb::Fault {
            id: 3,
            verb: "gateway-kill".into(),
            target: "gateway-b".into(),
            state: "active".into(),
            source: "api".into(),
            started_ms: Some(40_000),
            ..Default::default()
        }],
        events: vec![pb::Event {
            t_ms: 40_000,
            kind: "fault_started".into(),
            fault_id: Some(3),
            message: "gateway-kill gateway-b (until cleared)".into(),
        }],
        running: true,
    }
}

fn render(app: &App, w: u16, h: u16) -> String {
    let mut t = Terminal::new(TestBackend::new(w, h)).unwrap();
    t.draw(|f| draw(f, app)).unwrap();
    let buf = t.backend().buffer().clone();
    (0..h)
        .map(|y| {
            (0..w)
                .map(|x| buf[(x, y)].symbol().to_string())
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn app() -> App {
    let mut a = App::default();
    let mut s = snapshot();
    for acked in [50_000.0, 55_000.0] {
        s.acked_per_sec = acked;
        a.on_snapshot(s.clone());
    }
    a.on_snapshot(snapshot());
    a
}

#[test]
fn every_pane_shows_the_snapshots_figures_at_80x24_and_160x48() {
    let a = app();
    for (w, h) in [(80, 24), (160, 48)] {
        let screen = render(&a, w, h);
        for needed in [
            "gameday",       // header
            "t 42 s",        // header: time
            "load ×1.5",     // header: load multiplier
            "gateway-b",     // topology
            "down",          // gateway-b's state
            "stalled",       // delivery-c's state
            "acked 58321/s", // ingest
            "429 12.0/s",
            "5xx 3.5/s",
            "TTFB p99 48.7 ms", // latency
            "TTFB p50 6.2 ms",
            "freshness 2.4 s",
            "query p95 41 ms",
            "query p99 187 ms",
            "fresh t2 p99 2.7 s",            // the worst tenant
            "T1 at risk  429 at 1× 3 (≤ 0)", // gates
            "T6 pending",
            "gates: 1 at risk, 1 pending",
            "9.8s",   // shard 2's iterator age, first (paused, oldest)
            "PAUSED", // and marked
            "#3 active",
            "gateway-kill gateway-b",
            "p pause",
        ] {
            assert!(
                screen.contains(needed),
                "{w}×{h} shows {needed:?}:\n{screen}"
            );
        }
    }
    // At 80×24 the topology is one line per AZ, with the query service below it.
    let small = render(&a, 80, 24);
    assert!(
        small.contains("b gw down dl up 3L") && small.contains("query"),
        "{small}"
    );
    // The larger terminal has room for every shard; 80×24 for the paused one at least.
    let big = render(&a, 160, 48);
    assert!((0..6).all(|i| big.contains(&format!("  {i} "))), "{big}");
    assert!(
        big.contains("fresh t1 p99 1.9 s"),
        "every tenant when there is room:\n{big}"
    );
}

#[test]
fn a_picker_turns_a_key_into_the_fault_it_names() {
    let mut a = app();
    assert_eq!(a.on_key(Key::Char('k')), None, "k opens the gateway picker");
    let picker = a.picker.clone().unwrap();
    assert_eq!(picker.options, ["gateway-a", "gateway-b", "gateway-c"]);
    assert!(render(&a, 80, 24).contains("kill a gateway"));
    a.on_key(Key::Down);
    let Some(Request::Inject(spec)) = a.on_key(Key::Enter) else {
        panic!("Enter asks for the fault")
    };
    assert_eq!(
        (spec.verb.as_str(), spec.target.as_deref()),
        ("gateway-kill", Some("gateway-b"))
    );
    assert!(a.picker.is_none());

    a.on_key(Key::Char('p'));
    let Some(Request::Inject(spec)) = a.on_key(Key::Char('3')).or(a.on_key(Key::Enter)) else {
        panic!("a shard pause")
    };
    assert_eq!(
        (spec.verb.as_str(), spec.shards.clone()),
        ("shard-pause", vec![2])
    );

    assert_eq!(a.on_key(Key::Char('+')), Some(Request::SetLoad(2.0)));
    assert_eq!(a.on_key(Key::Char('-')), Some(Request::SetLoad(1.0)));
    assert_eq!(a.on_key(Key::Char('r')), Some(Request::RepairAll));
    assert_eq!(a.on_key(Key::Char('q')), Some(Request::Quit));
    a.on_key(Key::Char('?'));
    assert!(render(&a, 80, 24).contains("repair every active fault"));
}

#[tokio::test]
async fn a_key_press_reaches_the_control_api() {
    let r = crate::control::tests::rig("tui-key").await;
    let mut client = crate::control::client::connect(&r.addr, "s3cret")
        .await
        .unwrap();
    let mut a = app();
    a.on_key(Key::Char('k'));
    let req = a.on_key(Key::Enter).expect("a request");
    let shown = super::act(&mut client, req).await;
    assert!(shown.contains("gateway-kill gateway-a: active"), "{shown}");
    assert!(
        r.fake.log.lock().iter().any(|l| l.contains("gateway-a")),
        "the stack target got the kill: {:?}",
        r.fake.log.lock()
    );
    let shown = super::act(&mut client, Request::SetLoad(3.0)).await;
    assert_eq!(shown, "load ×1 → ×3");
    assert_eq!(r.run.knob.as_ref().unwrap().get(), 3.0);
}
