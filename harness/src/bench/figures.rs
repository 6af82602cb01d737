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

    fn meets_target(&self) -> Option<bool> {
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
}

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

fn fmt(v: f64) -> String {
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
