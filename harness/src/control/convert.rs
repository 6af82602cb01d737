//! Between the control API's messages and the harness's own types: a `FaultSpec` becomes
//! a `FaultEntry` through the same serde shapes a scenario file's `[[faults]]` goes
//! through (one vocabulary, one set of errors); records, events and status snapshots
//! become messages.

use super::pb;
use crate::faults::{Event, FaultEntry, FaultRecord};
use crate::status::Snapshot;
use serde_json::{Map, Value, json};

/// The entry a spec asks for, starting now. Errors name the field, as scenario errors do.
pub fn entry_of(spec: &pb::FaultSpec) -> Result<FaultEntry, String> {
    let mut m = Map::new();
    m.insert("verb".into(), json!(spec.verb));
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.into(), v);
        }
    };
    put("target", spec.target.clone().map(Value::from));
    put("duration_secs", spec.duration_secs.map(Value::from));
    put(
        "shards",
        (!spec.shards.is_empty()).then(|| json!(spec.shards)),
    );
    put("shard_fraction", spec.shard_fraction.map(Value::from));
    put("mode", spec.mode.clone().map(Value::from));
    put("probability", spec.probability.map(Value::from));
    put("service", spec.service.clone().map(Value::from));
    put("operation", spec.operation.clone().map(Value::from));
    put("p50_ms", spec.p50_ms.map(Value::from));
    put("p99_ms", spec.p99_ms.map(Value::from));
    put("error", spec.error.clone().map(Value::from));
    put("peer", spec.peer.clone().map(Value::from));
    let v = Value::Object(m);
    serde_path_to_error::deserialize::<_, FaultEntry>(v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        if path == "." || path.is_empty() {
            inner
        } else {
            format!("field `{path}`: {inner}")
        }
    })
}

/// The spec of an entry (what `ListFaults` shows of how a fault was asked for).
pub fn spec_of(e: &FaultEntry) -> pb::FaultSpec {
    let text = |v: Option<Value>| v.and_then(|v| v.as_str().map(String::from));
    pb::FaultSpec {
        verb: e.verb.to_string(),
        target: e.target.clone(),
        duration_secs: e.duration_secs,
        shards: e.shards.iter().flatten().map(|&s| s as u32).collect(),
        shard_fraction: e.shard_fraction,
        mode: text(e.mode.map(|m| json!(m))),
        probability: e.probability,
        service: text(e.service.map(|s| json!(s))),
        operation: e.operation.clone(),
        p50_ms: e.p50_ms,
        p99_ms: e.p99_ms,
        error: text(e.error.map(|x| json!(x))),
        peer: e.peer.clone(),
    }
}

/// A unit enum's serde name (`snake_case` state, source).
fn name_of<T: serde::Serialize>(v: &T) -> String {
    json!(v).as_str().unwrap_or_default().to_string()
}

pub fn fault_of(r: &FaultRecord) -> pb::Fault {
    pb::Fault {
        id: r.id,
        verb: r.verb.to_string(),
        target: r.target.clone(),
        shards: r.shards.clone(),
        source: name_of(&r.source),
        state: name_of(&r.state),
        spec: Some(spec_of(&r.entry)),
        scheduled_ms: r.scheduled_ms,
        started_ms: r.started_ms,
        planned_end_ms: r.planned_end_ms,
        ended_ms: r.ended_ms,
        end_reason: r.end_reason.clone(),
        error: r.error.clone(),
    }
}

pub fn event_of(e: &Event) -> pb::Event {
    pb::Event {
        t_ms: e.at_ms,
        kind: name_of(&e.kind),
        fault_id: e.fault_id,
        message: e.detail.clone(),
    }
}

pub fn snapshot_of(s: &Snapshot, load_multiplier: f64, running: bool) -> pb::StatusSnapshot {
    pb::StatusSnapshot {
        t_ms: s.t_ms,
        scenario: s.scenario.clone(),
        step: s.step.clone(),
        load_multiplier,
        offered_per_sec: s.offered_per_sec,
        acked_per_sec: s.acked_per_sec,
        throttled_429_per_sec: s.throttled_429_per_sec,
        server_5xx_per_sec: s.server_5xx_per_sec,
        ttfb_p50_ms: s.ttfb_p50_ms,
        ttfb_p99_ms: s.ttfb_p99_ms,
        freshness_ms: s.freshness_ms,
        freshness_p99_by_tenant_ms: s.freshness_p99_by_tenant_ms.clone().into_iter().collect(),
        query_p95_ms: s.query_p95_ms,
        query_p99_ms: s.query_p99_ms,
        gates: s
            .gates
            .iter()
            .map(|g| pb::GateStatus {
                id: g.id.clone(),
                name: g.name.clone(),
                state: g.state.clone(),
                detail: g.detail.clone(),
            })
            .collect(),
        iterator_age_ms: s.iterator_age_ms.clone().into_iter().collect(),
        paused_shards: s.paused_shards.clone(),
        leases: s
            .leases
            .iter()
            .map(|(k, l)| {
                (
                    k.clone(),
                    pb::Lease {
                        worker: l.worker.clone(),
                        epoch: l.epoch,
                        commits: l.commits,
                    },
                )
            })
            .collect(),
        components: s.components.clone().into_iter().collect(),
        faults: s.faults.iter().map(fault_of).collect(),
        events: s.events.iter().map(event_of).collect(),
        running,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::FaultVerb;

    fn spec(verb: &str) -> pb::FaultSpec {
        pb::FaultSpec {
            verb: verb.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_spec_becomes_the_entry_a_scenario_file_would_write() {
        let s = pb::FaultSpec {
            shards: vec![1, 3],
            mode: Some("both".into()),
            duration_secs: Some(30.0),
            ..spec("shard-pause")
        };
        let e = entry_of(&s).unwrap();
        let toml_entry: FaultEntry = toml::from_str(
            "verb = 'shard-pause'\nshards = [1, 3]\nmode = 'both'\nduration_secs = 30.0",
        )
        .unwrap();
        assert_eq!(e, toml_entry);
        assert_eq!(spec_of(&e), s, "and back");
    }

    #[test]
    fn bad_specs_name_what_is_wrong() {
        let err = entry_of(&spec("shard-explode")).unwrap_err();
        assert!(
            err.contains("shard-explode") && err.contains("shard-pause"),
            "{err}"
        );
        let err = entry_of(&pb::FaultSpec {
            mode: Some("sideways".into()),
            ..spec("shard-pause")
        })
        .unwrap_err();
        assert!(err.contains("`mode`") && err.contains("sideways"), "{err}");
        assert_eq!(
            entry_of(&pb::FaultSpec {
                error: Some("slowdown".into()),
                ..spec("s3-errors")
            })
            .unwrap()
            .verb,
            FaultVerb::S3Errors
        );
    }
}
