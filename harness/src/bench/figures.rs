//! Benchmark figures: printed as a table with targets and the change since the last run.

use serde::{Deserialize, Serialize};
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figure {
    pub name: String,
    pub value: f64,
    pub unit: String,
    pub higher_is_better: bool,
    pub target: Option<f64>,
}

impl Figure {
    pub fn new(name: &str, value: f64, unit: &str, higher_is_better: bool) -> Self {
        Self {
            name: name.to_string(),
            value,
            unit: unit.to_string(),
            higher_is_better,
            target: None,
        }
    }

    pub fn target(mut self, target: f64) -> Self {
        self.target = Some(target);
        self
    }

    pub fn meets_target(&self) -> Option<bool> {
        self.target.map(|t| {
            if self.higher_is_better {
                self.value >= t
            } else {
                self.value <= t
            }
        })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Figures {
    pub figures: Vec<Figure>,
    /// How the measuring binary was built (`BUILD`); absent in figures saved before it
    /// was recorded.
    #[serde(default)]
    pub build: Option<String>,
}

/// How this binary was built, as far as it changes speed: `cargo build --release`
/// (optimised, no debug assertions) or the dev profile (debug assertions and overflow
/// checks on in every crate, dependencies included).
pub const BUILD: &str = if cfg!(debug_assertions) {
    "dev (debug assertions on)"
} else {
    "release"
};

impl Figures {
    pub fn push(&mut self, f: Figure) {
        self.figures.push(f);
    }

    pub fn extend(&mut self, fs: impl IntoIterator<Item = Figure>) {
        self.figures.extend(fs);
    }

    pub fn load(path: &Path) -> Option<Figures> {
        let text = std::fs::read_to_string(path).ok()?;
        serde_json::from_str(&text).ok()
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, serde_json::to_string_pretty(self)?)?;
        Ok(())
    }

    /// Says when the last run was measured by a differently built binary (its figures
    /// are then not comparable), or `None`.
    pub fn build_mismatch(&self, previous: &Figures) -> Option<String> {
        let last = previous.build.as_deref().unwrap_or("unrecorded");
        let now = self.build.as_deref().unwrap_or("unrecorded");
        (last != now).then(|| {
            format!("note: the last run was measured by a {last} build, this one by a {now} build: the changes compare different builds")
        })
    }

    pub fn table(&self, previous: Option<&Figures>) -> String {
        let mut out = format!(
            "\n{:<32} {:>14} {:<6} {:>12} {:>8} {:>14} {:>8}\n",
            "figure", "value", "unit", "target", "", "last run", "change"
        );
        for f in &self.figures {
            let target = f
                .target
                .map(|t| format!("{}{}", if f.higher_is_better { "≥ " } else { "≤ " }, fmt(t)))
                .unwrap_or_default();
            let verdict = match f.meets_target() {
                Some(true) => "ok",
                Some(false) => "MISSED",
                None => "",
            };
            let last = previous.and_then(|p| p.figures.iter().find(|x| x.name == f.name));
            let (last_s, change) = match last {
                Some(l) if l.value != 0.0 => (
                    fmt(l.value),
                    format!("{:+.1}%", (f.value - l.value) / l.value * 100.0),
                ),
                _ => ("-".into(), "".into()),
            };
            out.push_str(&format!(
                "{:<32} {:>14} {:<6} {:>12} {:>8} {:>14} {:>8}\n",
                f.name,
                fmt(f.value),
                f.unit,
                target,
                verdict,
                last_s,
                change
            ));
        }
        out
    }
}

/// A figure as tables print it: thousands separated, or two decimals below 1,000.
pub fn fmt(v: f64) -> String {
    if v.abs() >= 1000.0 {
        let s = format!("{:.0}", v);
        let bytes: Vec<char> = s.chars().collect();
        let mut out = String::new();
        for (i, c) in bytes.iter().enumerate() {
            if i > 0 && (bytes.len() - i).is_multiple_of(3) && *c != '-' {
                out.push(',');
            }
            out.push(*c);
        }
        out
    } else {
        format!("{:.2}", v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures(build: Option<&str>) -> Figures {
        Figures {
            figures: vec![Figure::new("x", 1.0, "s", false)],
            build: build.map(str::to_string),
        }
    }

    #[test]
    fn a_run_compared_with_one_of_another_build_says_so() {
        let now = figures(Some("release"));
        let note = now.build_mismatch(&figures(Some("dev (debug assertions on)")));
        let note = note.expect("a dev baseline against a release run is noted");
        assert!(note.contains("dev (debug assertions on)") && note.contains("release"));
        assert!(now.build_mismatch(&figures(None)).is_some(), "{now:?}");
        assert_eq!(now.build_mismatch(&figures(Some("release"))), None);
    }

    #[test]
    fn figures_saved_before_the_build_was_recorded_still_load() {
        let dir = std::env::temp_dir().join(format!("gameday-figures-{}", std::process::id()));
        let path = dir.join("old.json");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            &path,
            r#"{"figures":[{"name":"x","value":2.0,"unit":"s","higher_is_better":false,"target":null}]}"#,
        )
        .unwrap();
        let old = Figures::load(&path).expect("loads without a build field");
        assert_eq!(old.build, None);
        assert_eq!(old.figures[0].value, 2.0);
        figures(Some(BUILD)).save(&path).unwrap();
        assert_eq!(Figures::load(&path).unwrap().build.as_deref(), Some(BUILD));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
