//! What each fault gate needs from a scenario's timeline, checked before anything boots:
//! T5 a shard pause on reads with a worker kill-and-restart inside it, T6 a gateway kill
//! during a 1× step, T7 an AZ loss that ends (a duration or an `az-restore`). A gate
//! selected without its fault is refused with the entry to add.

use super::error::ScenarioError;
use super::file::ScenarioFile;
use crate::faults::entry::PauseMode;
use crate::faults::{FaultEntry, FaultVerb};
use crate::gates::GateId;
use std::path::Path;

pub fn check(path: &Path, text: &str, f: &ScenarioFile) -> Result<(), ScenarioError> {
    let gates = f.gates.get_ref();
    let faults: Vec<&FaultEntry> = f.faults.iter().map(|s| s.get_ref()).collect();
    let refuse = |gate: GateId, need: &str| {
        Err(ScenarioError::invalid(
            path,
            text,
            Some(f.gates.span()),
            "faults",
            format!("gate {gate} needs {need}"),
        ))
    };
    if gates.contains(&GateId::T5) {
        let pause = faults.iter().find(|e| {
            e.verb == FaultVerb::ShardPause
                && e.mode.unwrap_or(PauseMode::Reads) != PauseMode::Writes
                && e.duration_secs.is_some()
        });
        let Some(pause) = pause else {
            return refuse(
                GateId::T5,
                "a shard-pause on reads with a duration_secs (the backlog builds, then replays)",
            );
        };
        let (start, end) = (pause.at_secs, pause.end_secs().unwrap_or(f64::MAX));
        let restart_inside = faults.iter().any(|e| {
            e.verb == FaultVerb::WorkerKill
                && e.duration_secs.is_some()
                && e.at_secs >= start
                && e.end_secs().is_some_and(|r| r < end)
        });
        if !restart_inside {
            return refuse(
                GateId::T5,
                "a worker-kill with a duration_secs (so it restarts) starting and ending inside \
                 the shard pause, e.g. target = \"owner-of-shard:N\" for a paused shard N",
            );
        }
    }
    if gates.contains(&GateId::T6) && !faults.iter().any(|e| e.verb == FaultVerb::GatewayKill) {
        return refuse(GateId::T6, "a gateway-kill on the timeline");
    }
    if gates.contains(&GateId::T7) {
        let ends = faults.iter().any(|e| {
            e.verb == FaultVerb::AzLoss
                && (e.duration_secs.is_some()
                    || faults.iter().any(|r| {
                        r.verb == FaultVerb::AzRestore
                            && r.target == e.target
                            && r.at_secs > e.at_secs
                    }))
        });
        if !ends {
            return refuse(
                GateId::T7,
                "an az-loss that ends (a duration_secs, or an az-restore of the same AZ later)",
            );
        }
    }
    Ok(())
}
