//! `gameday bench` with no target: every bench in turn, each as a child `gameday bench
//! <name>` with its defaults (its own runtime, children and history under
//! `.gameday/bench/<name>.json`), then one table of every figure with its target and the
//! ratio to it, and one JSON. With `--baseline FILE` (an earlier run's JSON) each figure
//! is compared and a change of more than 10 % in the bad direction is flagged as a
//! regression; a regression, or a bench that failed, makes the exit code 1.

use super::figures::{Figure, Figures, fmt};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

/// Every bench, in the order they run.
pub const BENCHES: [&str; 6] = ["emulator", "gateway", "delivery", "query", "flush", "e2e"];

/// A figure this much worse than the baseline's is a regression.
pub const REGRESSION: f64 = 0.10;

#[derive(Debug, Default, clap::Args)]
pub struct AllArgs {
    /// An earlier `gameday bench` JSON to compare with: a figure more than 10 % worse is
    /// flagged REGRESSED and the exit code is 1.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Where this run's figures (every bench's, in one JSON) are written.
    #[arg(long, default_value = ".gameday/bench/all.json")]
    pub out: PathBuf,
    /// Only these benches (comma separated): emulator, gateway, delivery, query, flush, e2e.
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
}

pub fn run(args: AllArgs) -> anyhow::Result<ExitCode> {
    let chosen: Vec<&str> = if args.only.is_empty() {
        BENCHES.to_vec()
    } else {
        for o in &args.only {
            anyhow::ensure!(
                BENCHES.contains(&o.as_str()),
                "--only: no bench named {o:?}; the benches are {}",
                BENCHES.join(", ")
            );
        }
        BENCHES
            .into_iter()
            .filter(|b| args.only.iter().any(|o| o == b))
            .collect()
    };
    let baseline = match &args.baseline {
        Some(p) => Some(
            Figures::load(p)
                .with_context(|| format!("--baseline {}: not a bench JSON", p.display()))?,
        ),
        None => None,
    };
    let exe = std::env::current_exe().context("finding this gameday binary")?;
    let mut results = Vec::new();
    let mut failed = Vec::new();
    for (i, name) in chosen.iter().enumerate() {
        let own = PathBuf::from(format!(".gameday/bench/{name}.json"));
        println!("\n== bench {} of {}: {name} ==", i + 1, chosen.len());
        let started = std::time::Instant::now();
        let status = std::process::Command::new(&exe)
            .args(["bench", name, "--baseline"])
            .arg(&own)
            .status()
            .with_context(|| format!("starting `gameday bench {name}`"))?;
        match Figures::load(&own).filter(|_| status.success()) {
            Some(f) => results.push((name.to_string(), f)),
            None => failed.push(format!("{name} ({status})")),
        }
        println!("{name}: {:.0} s", started.elapsed().as_secs_f64());
    }
    let now = combine(&results);
    println!("{}", table(&now, baseline.as_ref()));
    if let Some(note) = baseline.as_ref().and_then(|b| now.build_mismatch(b)) {
        println!("{note}");
    }
    now.save(&args.out)
        .with_context(|| format!("saving {}", args.out.display()))?;
    println!("figures saved to {}", args.out.display());
    let regressed = baseline
        .as_ref()
        .map(|b| regressions(&now, b))
        .unwrap_or_default();
    for r in &regressed {
        println!("REGRESSED: {r}");
    }
    for f in &failed {
        println!("FAILED: bench {f}: no figures");
    }
    Ok(if regressed.is_empty() && failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Every bench's figures in one set, each named `<bench>: <figure>`.
pub fn combine(results: &[(String, Figures)]) -> Figures {
    let mut all = Figures {
        figures: Vec::new(),
        build: results.iter().find_map(|(_, f)| f.build.clone()),
    };
    for (bench, f) in results {
        all.extend(f.figures.iter().map(|x| Figure {
            name: format!("{bench}: {}", x.name),
            ..x.clone()
        }));
    }
    all
}

/// The figures more than [`REGRESSION`] worse than the baseline's, one line each.
pub fn regressions(now: &Figures, baseline: &Figures) -> Vec<String> {
    now.figures
        .iter()
        .filter_map(|f| {
            let old = baseline.figures.iter().find(|b| b.name == f.name)?;
            let (change, regressed) = compare(f, old)?;
            regressed.then(|| {
                format!(
                    "{}: {} {} against {} ({:+.1} %)",
                    f.name,
                    fmt(f.value),
                    f.unit,
                    fmt(old.value),
                    change * 100.0
                )
            })
        })
        .collect()
}

/// The relative change of `f` from `old`, and whether it is a regression: more than
/// [`REGRESSION`] in the bad direction. `None` when it cannot be computed.
fn compare(f: &Figure, old: &Figure) -> Option<(f64, bool)> {
    let ok = old.value != 0.0 && f.value.is_finite() && old.value.is_finite();
    let change = ok.then(|| (f.value - old.value) / old.value)?;
    let worse = if f.higher_is_better { -change } else { change };
    Some((change, worse > REGRESSION))
}

/// One row per figure: value, target, the ratio value / target, the baseline's value
/// and the change, flagged when it is a regression.
pub fn table(now: &Figures, baseline: Option<&Figures>) -> String {
    let mut out = format!(
        "\n{:<48} {:>14} {:<8} {:>12} {:>7} {:>7} {:>14} {:>8}\n",
        "figure", "value", "unit", "target", "ratio", "", "baseline", "change"
    );
    for f in &now.figures {
        let (target, ratio, verdict) = match f.target {
            Some(t) => {
                let ok = f.meets_target() == Some(true);
                let sign = if f.higher_is_better { "≥ " } else { "≤ " };
                let ratio = if t != 0.0 {
                    format!("{:.2}", f.value / t)
                } else {
                    "-".into()
                };
                (
                    format!("{sign}{}", fmt(t)),
                    ratio,
                    if ok { "ok" } else { "MISSED" },
                )
            }
            None => (String::new(), String::new(), ""),
        };
        let old = baseline.and_then(|b| b.figures.iter().find(|x| x.name == f.name));
        let (old_s, change) = match old.and_then(|o| Some((o, compare(f, o)?))) {
            Some((o, (c, regressed))) => {
                let flag = if regressed { " REGRESSED" } else { "" };
                (fmt(o.value), format!("{:+.1}%{flag}", c * 100.0))
            }
            None => ("-".into(), String::new()),
        };
        out.push_str(&format!(
            "{:<48} {:>14} {:<8} {:>12} {:>7} {:>7} {:>14} {:>8}\n",
            f.name,
            fmt(f.value),
            f.unit,
            target,
            ratio,
            verdict,
            old_s,
            change
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(figs: &[(&str, f64, bool)]) -> Figures {
        Figures {
            figures: figs
                .iter()
                .map(|(n, v, hib)| Figure::new(n, *v, "x", *hib).target(100.0))
                .collect(),
            build: Some("release".into()),
        }
    }

    #[test]
    fn benches_combine_under_their_names_with_targets_and_ratios() {
        let all = combine(&[
            ("gateway".into(), set(&[("samples/s", 150.0, true)])),
            ("query".into(), set(&[("p95 ms", 50.0, false)])),
        ]);
        let names: Vec<&str> = all.figures.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["gateway: samples/s", "query: p95 ms"]);
        let t = table(&all, None);
        assert!(t.contains("≥ 100.00") && t.contains("1.50"), "{t}");
        assert!(t.contains("≤ 100.00") && t.contains("0.50"), "{t}");
    }

    #[test]
    fn a_figure_over_ten_percent_worse_is_flagged_in_its_direction() {
        let before = set(&[
            ("rate", 100.0, true),
            ("p99", 100.0, false),
            ("other", 100.0, true),
        ]);
        let after = set(&[
            ("rate", 89.0, true),
            ("p99", 109.0, false),
            ("other", 130.0, true),
        ]);
        let r = regressions(&after, &before);
        assert_eq!(r.len(), 1, "{r:?}");
        assert!(
            r[0].starts_with("rate: 89.00 x against 100.00 (-11.0 %)"),
            "{r:?}"
        );
        let slower = set(&[("p99", 111.0, false)]);
        assert_eq!(regressions(&slower, &before).len(), 1);
        assert!(table(&slower, Some(&before)).contains("+11.0% REGRESSED"));
        // A figure the baseline does not have is shown, not compared.
        let new = set(&[("new figure", 1.0, true)]);
        assert!(regressions(&new, &before).is_empty());
    }
}
