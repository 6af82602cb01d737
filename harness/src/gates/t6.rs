//! T6: one gateway SIGKILLed during a 1× step, restarted later. First proves the kill took
//! effect (its proxy route could not reach it: connections refused while it was down),
//! then: the error window of its traffic (first to last failed request) within the
//! threshold, producers failed over (traffic headed to it answered by another gateway),
//! zero acked loss (the independent audit), and the restarted gateway took traffic again.

use super::checks::{Check, num};
use super::timeline::{first_started, secs};
use crate::evidence::RunEvidence;
use crate::faults::FaultVerb;
use crate::scenario::Thresholds;

pub fn checks(ev: &RunEvidence, th: &Thresholds) -> Vec<Check> {
    let max = th.faults.gateway_kill_error_window_secs_max;
    let Some((kill, start, end)) = first_started(ev, FaultVerb::GatewayKill) else {
        return vec![Check::missing(
            "gateway kill took effect",
            "no gateway-kill started on the timeline",
            "a gateway-kill".into(),
        )];
    };
    let name = kill.target.clone();
    let az = name.trim_start_matches("gateway-");
    let refused = ev
        .component_counters
        .get(&format!(
            "gameday_proxy_dial_errors_total{{az=\"{az}\",route=\"{name}\"}}"
        ))
        .copied()
        .unwrap_or(0.0);
    let mut out = vec![
        Check::new(
            format!("{name}'s port refused connections while it was down"),
            format!("{} connections refused", num(refused)),
            "> 0".into(),
            refused > 0.0,
        )
        .figure(refused, None),
    ];
    let g = ev.failover.as_ref().and_then(|f| {
        f.gateways
            .iter()
            .find(|g| g.name.as_deref() == Some(name.as_str()))
            .map(|g| (f, g))
    });
    let Some((f, g)) = g else {
        out.push(Check::missing(
            format!("error window of {name}'s traffic"),
            "the producers recorded nothing for that gateway",
            format!("≤ {} s", num(max)),
        ));
        return out;
    };
    // The clients' clock starts with the load; the fault log's a moment earlier.
    let shift = f.load_started_unix_ms - ev.faults.load_started_unix_ms;
    let mine = |ms: u64| (ms as i64 + shift).max(0) as u64;
    // The outage the kill caused: the one that began during the kill.
    let outage = g.outages.iter().find(|o| {
        let first = mine(o.first_failure_ms);
        first + 1_000 >= start && first <= end + 5_000
    });
    out.push(match outage {
        Some(o) => {
            let w = o.last_failure_ms.saturating_sub(o.first_failure_ms);
            Check::new(
                format!("error window of {name}'s traffic (first to last failed request)"),
                format!("{} ({} failed requests)", secs(w), o.failed_requests),
                format!("≤ {} s", num(max)),
                w as f64 / 1000.0 <= max,
            )
            .figure(w as f64 / 1000.0, None)
        }
        None => Check::new(
            format!("error window of {name}'s traffic (first to last failed request)"),
            "no request to it failed during the kill".into(),
            "failed requests observed (else the kill did nothing the producers saw)".into(),
            false,
        ),
    });
    out.push(Check::new(
        "producers failed over",
        match outage.and_then(|o| o.failover_ms) {
            Some(ms) => format!(
                "after {}, {} requests answered by another gateway",
                secs(ms),
                outage.map(|o| o.rerouted_requests).unwrap_or(0)
            ),
            None => "traffic never moved off it".into(),
        },
        "traffic moved to the surviving gateways".into(),
        outage.is_some_and(|o| o.failover_ms.is_some() && o.rerouted_requests > 0),
    ));
    out.extend(super::t2::storage(ev, th));
    out.push(Check::new(
        format!("{name} took traffic again after its restart"),
        format!(
            "{} requests answered after it rejoined",
            g.requests_after_rejoin
        ),
        "> 0".into(),
        g.requests_after_rejoin > 0,
    ));
    out
}
