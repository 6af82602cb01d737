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
    let Some((kill, _, _)) = first_started(ev, FaultVerb::GatewayKill) else {
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
    let mut out = vec![Check::new(
        format!("{name}'s port refused connections while it was down"),
        format!("{} connections refused", num(refused)),
        "> 0".into(),
        refused > 0.0,
    )];
    let g: Option<&crate::evidence::GatewayFailover> = None; // MERGE(failover)
    let Some(g) = g else {
        out.push(Check::missing(
            format!("error window of {name}'s traffic"),
            "the producers recorded nothing for that gateway",
            format!("≤ {} s", num(max)),
        ));
        return out;
    };
    out.push(match g.error_window_ms {
        Some(w) => Check::new(
            format!("error window of {name}'s traffic (first to last failed request)"),
            format!("{} ({} failed requests)", secs(w), g.failed_requests),
            format!("≤ {} s", num(max)),
            w as f64 / 1000.0 <= max,
        ),
        None => Check::new(
            format!("error window of {name}'s traffic (first to last failed request)"),
            "no request to it failed".into(),
            "failed requests observed (else the kill did nothing the producers saw)".into(),
            false,
        ),
    });
    out.push(Check::new(
        "producers failed over",
        match g.failover_ms {
            Some(ms) => format!(
                "after {}, {} requests answered by another gateway",
                secs(ms),
                g.rerouted_requests
            ),
            None => "traffic never moved off it".into(),
        },
        "traffic moved to the surviving gateways".into(),
        g.failover_ms.is_some() && g.rerouted_requests > 0,
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
