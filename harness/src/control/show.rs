//! Text for a terminal: fault lists and status snapshots as `gameday fault` and
//! `gameday status` print them.

use super::pb;

fn secs(ms: Option<u64>) -> String {
    ms.map(|m| format!("{:.1}s", m as f64 / 1000.0))
        .unwrap_or_else(|| "-".into())
}

pub fn faults(list: &[pb::Fault]) -> String {
    if list.is_empty() {
        return "no faults".into();
    }
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header([
        "ID",
        "VERB",
        "TARGET",
        "STATE",
        "SOURCE",
        "STARTED",
        "ENDS/ENDED",
        "NOTE",
    ]);
    for f in list {
        let target = if f.shards.is_empty() {
            f.target.clone()
        } else {
            format!("{} [{}]", f.target, f.shards.join(","))
        };
        let end = match f.state.as_str() {
            "ended" | "failed" => secs(f.ended_ms),
            _ => f
                .planned_end_ms
                .map(|_| secs(f.planned_end_ms))
                .unwrap_or_else(|| "until cleared".into()),
        };
        let note = f
            .error
            .clone()
            .or_else(|| f.end_reason.clone())
            .unwrap_or_default();
        t.add_row([
            f.id.to_string(),
            f.verb.clone(),
            target,
            f.state.clone(),
            f.source.clone(),
            secs(f.started_ms),
            end,
            note,
        ]);
    }
    t.to_string()
}

pub fn snapshot(s: &pb::StatusSnapshot) -> String {
    let mut out = Vec::new();
    out.push(format!(
        "{} at {:.0} s{}  step {}  load ×{}",
        s.scenario,
        s.t_ms as f64 / 1000.0,
        if s.running { "" } else { " (ended)" },
        if s.step.is_empty() { "-" } else { &s.step },
        s.load_multiplier
    ));
    let ms = |v: Option<f64>| v.map_or_else(|| "-".into(), |f| format!("{f:.0} ms"));
    out.push(format!(
        "ingest: offered {:.0}/s  acked {:.0}/s  429 {:.1}/s  5xx {:.1}/s  TTFB p50 {:.1} / p99 {:.1} ms",
        s.offered_per_sec,
        s.acked_per_sec,
        s.throttled_429_per_sec,
        s.server_5xx_per_sec,
        s.ttfb_p50_ms,
        s.ttfb_p99_ms,
    ));
    let mut tenants: Vec<_> = s.freshness_p99_by_tenant_ms.iter().collect();
    tenants.sort_by(|a, b| a.0.cmp(b.0));
    out.push(format!(
        "freshness now {}  p99 by tenant: {}  query p95 {} / p99 {}",
        ms(s.freshness_ms),
        if tenants.is_empty() {
            "-".to_string()
        } else {
            tenants
                .iter()
                .map(|(t, v)| format!("{t} {v:.0} ms"))
                .collect::<Vec<_>>()
                .join(", ")
        },
        ms(s.query_p95_ms),
        ms(s.query_p99_ms),
    ));
    let mut comps: Vec<_> = s.components.iter().collect();
    comps.sort();
    out.push(format!(
        "components: {}",
        comps
            .iter()
            .map(|(n, st)| format!("{n} {st}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut shards: Vec<_> = s.leases.iter().collect();
    shards.sort_by(|a, b| a.0.cmp(b.0));
    for (id, l) in shards {
        let age = s.iterator_age_ms.get(id).copied().unwrap_or(0.0);
        let paused = if s.paused_shards.contains(id) {
            "  PAUSED"
        } else {
            ""
        };
        out.push(format!(
            "  {id}: {} epoch {} commits {}  iterator age {:.0} ms{paused}",
            if l.worker.is_empty() {
                "free"
            } else {
                &l.worker
            },
            l.epoch,
            l.commits,
            age
        ));
    }
    let active: Vec<_> = s.faults.iter().filter(|f| f.state == "active").collect();
    out.push(format!(
        "faults: {} active, {} in all",
        active.len(),
        s.faults.len()
    ));
    for f in active {
        out.push(format!("  #{} {} {}", f.id, f.verb, f.target));
    }
    for g in &s.gates {
        out.push(format!(
            "gate {} {}: {}  {}",
            g.id, g.name, g.state, g.detail
        ));
    }
    out.join("\n")
}
