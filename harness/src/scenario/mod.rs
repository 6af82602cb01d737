//! Scenarios: finding a scenario by name or path, parsing it (errors name file, line and
//! field), checking the rules that span fields, applying command-line overrides, and the
//! thresholds file the gates read. The file format is documented in scenarios/README.md.

mod error;
mod fault_needs;
mod file;
pub mod thresholds;
mod validate;

pub use error::ScenarioError;
pub use file::{ScenarioFile, StepEntry};
pub use thresholds::{E2eThresholds, Thresholds};

use crate::gates::GateId;
use std::path::{Path, PathBuf};

/// A parsed, checked scenario with its thresholds.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub path: PathBuf,
    pub file: ScenarioFile,
    pub thresholds_path: PathBuf,
    pub thresholds: Thresholds,
}

/// Command-line changes to a scenario: tests shorten it, never change its thresholds.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub seed: Option<u64>,
    /// Multiplies every step's duration (and the drain timeout is kept).
    pub duration_scale: Option<f64>,
    /// 1× samples/s; events/s scale with it.
    pub base_rate: Option<f64>,
    /// Only these gates (the `gates` command selects per scenario).
    pub gates: Option<Vec<GateId>>,
}

impl Scenario {
    /// `name_or_path`: a path to a `.toml` file, or a name looked up as
    /// `<dir>/<name>.toml` in `$GAMEDAY_SCENARIOS`, `./scenarios` and the source tree's
    /// `scenarios/`.
    pub fn find(name_or_path: &str) -> Result<PathBuf, ScenarioError> {
        let as_path = Path::new(name_or_path);
        if as_path.extension().is_some_and(|e| e == "toml")
            || name_or_path.contains(std::path::MAIN_SEPARATOR)
            || as_path.is_file()
        {
            return Ok(as_path.to_path_buf());
        }
        let dirs = scenario_dirs();
        let looked: Vec<PathBuf> = dirs
            .iter()
            .map(|d| d.join(format!("{name_or_path}.toml")))
            .collect();
        if let Some(found) = looked.iter().find(|p| p.is_file()) {
            return Ok(found.clone());
        }
        let mut known: Vec<String> = dirs
            .iter()
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flatten()
            .filter_map(|e| e.ok())
            .filter_map(|e| {
                let p = e.path();
                let stem = p.file_stem()?.to_str()?.to_string();
                (p.extension()? == "toml" && stem != "thresholds").then_some(stem)
            })
            .collect();
        known.sort();
        known.dedup();
        Err(ScenarioError::NotFound {
            name: name_or_path.to_string(),
            looked,
            known,
        })
    }

    /// Reads, parses and checks the scenario at `path` and its thresholds file, then applies
    /// `overrides`.
    pub fn load(path: &Path, overrides: &Overrides) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        let mut file: ScenarioFile = error::parse_toml(path, &text)?;
        validate::check(path, &text, &file)?;
        let name = file.name.clone().unwrap_or_else(|| {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "scenario".into())
        });
        let dir = path.parent().unwrap_or(Path::new("."));
        let thresholds_path = dir.join(&file.thresholds);
        let thresholds = Thresholds::load(&thresholds_path)?;
        apply(&mut file, overrides);
        Ok(Scenario {
            name,
            path: path.to_path_buf(),
            file,
            thresholds_path,
            thresholds,
        })
    }

    pub fn gates(&self) -> &[GateId] {
        self.file.gates.get_ref()
    }

    pub fn steps(&self) -> &[StepEntry] {
        self.file.load.steps.get_ref()
    }

    /// Seconds of load (sum of the steps).
    pub fn load_secs(&self) -> f64 {
        self.steps().iter().map(|s| s.secs.0).sum()
    }
}

fn apply(file: &mut ScenarioFile, o: &Overrides) {
    if let Some(seed) = o.seed {
        file.seed = Some(seed);
    }
    if let Some(scale) = o.duration_scale {
        for step in file.load.steps.get_mut() {
            step.secs.0 *= scale;
        }
        // The fault timeline shrinks with the load, so each fault keeps its place in it.
        for fault in &mut file.faults {
            let f = fault.get_mut();
            f.at_secs *= scale;
            if let Some(d) = &mut f.duration_secs {
                *d *= scale;
            }
        }
    }
    if let Some(rate) = o.base_rate {
        let factor = rate / file.load.base_samples_per_sec.0;
        file.load.base_samples_per_sec.0 = rate;
        file.load.base_events_per_sec.0 *= factor;
    }
    if let Some(gates) = &o.gates {
        let selected: Vec<GateId> = file
            .gates
            .get_ref()
            .iter()
            .copied()
            .filter(|g| gates.contains(g))
            .collect();
        *file.gates.get_mut() = selected;
    }
}

fn scenario_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(d) = std::env::var_os("GAMEDAY_SCENARIOS") {
        dirs.push(PathBuf::from(d));
    }
    dirs.push(PathBuf::from("scenarios"));
    dirs.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios"));
    dirs
}

#[cfg(test)]
mod tests;
