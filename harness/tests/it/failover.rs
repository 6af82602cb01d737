//! Clients fail over between AZs as a load balancer's would: on a real stack under a
//! short low-rate load (`gameday stack-up`'s `load`), gateway-b is SIGKILLed and later
//! restarted. With failover on, its traffic moves to the other gateways within a short
//! error window, nothing acked is lost, and the restarted gateway takes traffic again;
//! with failover off, the same kill fails its requests for the whole kill window.

use crate::stack::StackUp;
use serde_json::Value;
use std::time::Duration;

const LOAD_SECS: u64 = 12;
const RATE: u64 = 3_000;
const KILL_AT: Duration = Duration::from_secs(3);
const KILLED_FOR: Duration = Duration::from_secs(3);

fn unix_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// What one kill under load showed, times in ms since the load's start.
struct Run {
    ev: Value,
    kill_ms: u64,
    restart_begin_ms: u64,
    /// gateway-b's own counters after the load (the restarted process's).
    b_metrics: Value,
}

impl Run {
    fn gateway(&self, name: &str) -> &Value {
        self.ev["failover"]["gateways"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == name)
            .unwrap_or_else(|| panic!("no {name} in {}", self.ev["failover"]))
    }

    fn b(&self, field: &str) -> Option<u64> {
        self.gateway("gateway-b")[field].as_u64()
    }
}

async fn kill_under_load(s: &mut StackUp, failover: &str) -> Run {
    s.cmd(&format!("load {LOAD_SECS} {RATE} {failover}"))
        .await
        .unwrap();
    tokio::time::sleep(KILL_AT).await;
    let kill_unix = unix_ms();
    s.cmd("kill gateway-b KILL").await.unwrap();
    tokio::time::sleep(KILLED_FOR).await;
    let restart_unix = unix_ms();
    s.cmd("restart gateway-b").await.unwrap();
    let ev = s.cmd("load-wait").await.unwrap();
    let b_metrics = s.cmd("scrape gateway-b").await.unwrap();
    let origin = ev["failover"]["load_started_unix_ms"].as_i64().unwrap();
    println!(
        "failover {failover}: kill at {} ms, restart at {} ms; gateway-b: {}",
        kill_unix - origin,
        restart_unix - origin,
        ev["failover"]["gateways"][1]
    );
    Run {
        kill_ms: (kill_unix - origin) as u64,
        restart_begin_ms: (restart_unix - origin) as u64,
        ev,
        b_metrics,
    }
}

fn accepted(metrics: &Value) -> f64 {
    metrics
        .as_object()
        .unwrap()
        .iter()
        .filter(|(k, _)| {
            k.starts_with("gateway_samples_accepted") || k.starts_with("gateway_events_accepted")
        })
        .map(|(_, v)| v.as_f64().unwrap())
        .sum()
}

#[tokio::test]
async fn producers_fail_over_from_a_killed_gateway_and_without_failover_its_requests_fail() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("failover").await;

    let on = kill_under_load(&mut s, "on").await;
    let audit = &on.ev["audit"];
    assert!(audit["acked"].as_u64().unwrap() > 0, "{audit}");
    assert_eq!(audit["lost"], 0, "acked and lost: {audit}");
    assert_eq!(audit["delivery_duplicates"], 0, "{audit}");
    assert_eq!(on.ev["failover"]["enabled"], true);
    // The kill was seen, after it happened, and only on gateway-b.
    let first = on
        .b("first_failure_ms")
        .expect("gateway-b's traffic failed");
    assert!(first >= on.kill_ms && first < on.kill_ms + 2_000, "{first}");
    assert!(on.b("failed_requests").unwrap() >= 1);
    for other in ["gateway-a", "gateway-c"] {
        assert_eq!(on.gateway(other)["failed_requests"], 0, "{other}");
    }
    // Its traffic moved: a short error window, then 2xx from the other gateways.
    let window = on.b("error_window_ms").unwrap();
    assert!(window <= 1_000, "error window {window} ms");
    let failover_ms = on.b("failover_ms").expect("traffic moved");
    assert!(failover_ms <= 2_000, "failover took {failover_ms} ms");
    assert!(on.b("rerouted_requests").unwrap() >= 1);
    // Restarted, it rejoined and took traffic again (its own counters say so too).
    let rejoined = on.b("rejoined_at_ms").expect("gateway-b rejoined");
    assert!(rejoined >= on.restart_begin_ms, "{rejoined}");
    assert!(on.b("requests_after_rejoin").unwrap() > 0);
    assert_eq!(on.gateway("gateway-b")["down_at_end"], false);
    assert!(accepted(&on.b_metrics) > 0.0, "{}", on.b_metrics);

    let off = kill_under_load(&mut s, "off").await;
    assert_eq!(off.ev["failover"]["enabled"], false);
    // (No storage audit here: the first load's rows share the bucket, so its drain
    // check would not hold.)
    // Without failover the kill's requests fail from the kill to the restart.
    let first = off
        .b("first_failure_ms")
        .expect("gateway-b's traffic failed");
    let last = off.b("last_failure_ms").unwrap();
    assert!(
        first >= off.kill_ms && first < off.kill_ms + 1_000,
        "{first}"
    );
    assert!(
        last + 1_000 >= off.restart_begin_ms,
        "last failure {last} ms"
    );
    let killed_for = off.restart_begin_ms - off.kill_ms;
    let window = off.b("error_window_ms").unwrap();
    assert!(window + 1_000 >= killed_for, "error window {window} ms");
    assert!(off.b("failover_ms").is_none());
    assert_eq!(off.b("rerouted_requests"), Some(0));
    assert!(off.b("failed_requests").unwrap() > on.b("failed_requests").unwrap());
    let unresolved: u64 = off.ev["counts"]["unresolved"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(unresolved > 0, "{}", off.ev["counts"]);
    assert!(off.b("rejoined_at_ms").unwrap() >= off.restart_begin_ms);
    s.quit().await;
}
