//! The report's charts, drawn with plotters into SVG: the SLI timeline a run sampled once
//! a second (throughput, rejected requests, TTFB, freshness, iterator age), each with the
//! fault timeline drawn as bands across it, so a dip lines up with what caused it.

use crate::faults::FaultRecord;
use crate::monitor::Sample;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// A named line: (seconds since the load started, value) points.
type Series = (String, Vec<(f64, f64)>);

/// One chart: its title and the SVG document.
pub struct Chart {
    pub title: String,
    pub svg: String,
}

/// A fault's band: from its start to its end (or the run's end while still active).
pub struct Band {
    pub from_s: f64,
    pub to_s: f64,
    pub label: String,
    pub color: RGBColor,
}

const SIZE: (u32, u32) = (960, 260);
const PALETTE: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
];
const BAND_COLORS: [RGBColor; 4] = [
    RGBColor(214, 39, 40),
    RGBColor(255, 127, 14),
    RGBColor(148, 103, 189),
    RGBColor(23, 190, 207),
];

/// The faults that started, as bands in seconds since the load started.
pub fn bands(faults: &[FaultRecord], end_s: f64) -> Vec<Band> {
    faults
        .iter()
        .filter_map(|f| {
            let from = f.started_ms? as f64 / 1000.0;
            let to = f
                .ended_ms
                .map_or(end_s, |e| e as f64 / 1000.0)
                .max(from + 0.5);
            Some(Band {
                from_s: from,
                to_s: to,
                label: format!("#{} {} {}", f.id, f.verb, f.target),
                color: BAND_COLORS[(f.id as usize) % BAND_COLORS.len()],
            })
        })
        .collect()
}

/// Every chart of a run's timeline (none when nothing was sampled).
pub fn charts(samples: &[Sample], faults: &[FaultRecord]) -> Vec<Chart> {
    if samples.is_empty() {
        return Vec::new();
    }
    let x = |s: &Sample| s.t_ms as f64 / 1000.0;
    let end_s = samples.last().map_or(1.0, x).max(1.0);
    let bands = bands(faults, end_s);
    let per_sec = |f: fn(&Sample) -> u64| -> Vec<(f64, f64)> {
        samples
            .windows(2)
            .filter_map(|w| Some((x(&w[1]), w[1].rate_since(&w[0], f)?)))
            .collect()
    };
    let of = |f: fn(&Sample) -> Option<f64>| -> Vec<(f64, f64)> {
        samples
            .iter()
            .filter_map(|s| f(s).map(|v| (x(s), v)))
            .collect()
    };
    let mut shards: BTreeMap<&str, Vec<(f64, f64)>> = BTreeMap::new();
    for s in samples {
        for (id, age) in &s.iterator_age_ms {
            shards.entry(id).or_default().push((x(s), age / 1000.0));
        }
    }
    let specs: Vec<(&str, &str, Vec<Series>)> = vec![
        (
            "throughput (items per second)",
            "items/s",
            vec![
                ("offered".into(), of(|s| Some(s.load.offered_per_sec))),
                ("acked (2xx)".into(), of(|s| Some(s.load.acked_per_sec))),
            ],
        ),
        (
            "rejected requests per second by status",
            "requests/s",
            vec![
                ("429".into(), per_sec(|s| s.load.throttled_429)),
                ("5xx".into(), per_sec(|s| s.load.server_5xx)),
            ],
        ),
        (
            "gateway TTFB (each second's requests)",
            "ms",
            vec![
                ("p50".into(), of(|s| Some(s.load.ttfb_p50_ms))),
                ("p99".into(), of(|s| Some(s.load.ttfb_p99_ms))),
            ],
        ),
        (
            "freshness (canary send → visible in the query service)",
            "s",
            vec![
                (
                    "p99 since the start".into(),
                    secs(of(|s| s.load.freshness_p99_ms)),
                ),
                ("now (worst)".into(), secs(of(|s| s.load.freshness_now_ms))),
            ],
        ),
        (
            "iterator age per shard (delivery's MillisBehindLatest)",
            "s",
            shards
                .into_iter()
                .map(|(id, pts)| (short_shard(id), pts))
                .collect(),
        ),
    ];
    specs
        .into_iter()
        .map(|(title, unit, series)| Chart {
            title: title.to_string(),
            svg: draw(end_s, unit, &series, &bands)
                .unwrap_or_else(|e| format!("<p>chart not drawn: {}</p>", super::junit::esc(&e))),
        })
        .collect()
}

/// An axis label: no decimals where none are needed.
fn number(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn secs(pts: Vec<(f64, f64)>) -> Vec<(f64, f64)> {
    pts.into_iter().map(|(x, v)| (x, v / 1000.0)).collect()
}

/// `shardId-000000000003` → `shard 3`.
fn short_shard(id: &str) -> String {
    match id.rsplit('-').next().and_then(|n| n.parse::<u64>().ok()) {
        Some(n) => format!("shard {n}"),
        None => id.to_string(),
    }
}

fn draw(end_s: f64, unit: &str, series: &[Series], bands: &[Band]) -> Result<String, String> {
    let err = |e: &dyn std::fmt::Display| e.to_string();
    let top = series
        .iter()
        .flat_map(|(_, pts)| pts.iter().map(|p| p.1))
        .filter(|v| v.is_finite())
        .fold(0.0_f64, f64::max);
    let y_max = if top > 0.0 { top * 1.1 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(|e| err(&e))?;
        let mut chart = ChartBuilder::on(&root)
            .margin(10)
            .x_label_area_size(32)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..end_s, 0.0..y_max)
            .map_err(|e| err(&e))?;
        chart
            .configure_mesh()
            .x_desc("seconds since the load started")
            .y_desc(unit)
            .light_line_style(RGBColor(246, 246, 246))
            .x_max_light_lines(1)
            .y_max_light_lines(1)
            .x_label_formatter(&|v| format!("{v:.0}"))
            .y_label_formatter(&|v| number(*v))
            .draw()
            .map_err(|e| err(&e))?;
        for (i, b) in bands.iter().enumerate() {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(b.from_s, 0.0), (b.to_s.min(end_s), y_max)],
                    b.color.mix(0.12).filled(),
                )))
                .map_err(|e| err(&e))?;
            chart
                .draw_series(std::iter::once(Text::new(
                    b.label.clone(),
                    // Staggered, so overlapping faults keep readable labels.
                    (b.from_s, y_max * (0.97 - 0.07 * (i % 6) as f64)),
                    ("sans-serif", 12).into_font().color(&b.color),
                )))
                .map_err(|e| err(&e))?;
        }
        for (i, (name, pts)) in series.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(pts.iter().copied(), color.stroke_width(2)))
                .map_err(|e| err(&e))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color));
        }
        if !series.is_empty() {
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.85))
                .border_style(RGBColor(200, 200, 200))
                .draw()
                .map_err(|e| err(&e))?;
        }
        root.present().map_err(|e| err(&e))?;
    }
    Ok(svg)
}
