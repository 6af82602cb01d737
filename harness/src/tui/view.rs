//! Draws the console from the model alone (no I/O), so tests render it into ratatui's
//! `TestBackend` and read the figures back. Fits 80×24; larger terminals get taller
//! sparklines and more shards and events.

use super::model::{App, Picker};
use crate::control::pb;
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, List, ListItem, ListState, Paragraph, Sparkline};

fn state_color(state: &str) -> Color {
    match state {
        "up" => Color::Green,
        "stalled" => Color::Yellow,
        "blackholed" => Color::Magenta,
        _ => Color::Red,
    }
}

pub fn draw(f: &mut Frame, app: &App) {
    let area = f.area();
    let [header, top, bottom, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Percentage(45),
        Constraint::Fill(1),
        Constraint::Length(2),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(header_line(app)), header);
    let [topo, ingest, latency] = Layout::horizontal([
        Constraint::Percentage(34),
        Constraint::Percentage(38),
        Constraint::Fill(1),
    ])
    .areas(top);
    let [shards, faults] =
        Layout::horizontal([Constraint::Percentage(45), Constraint::Fill(1)]).areas(bottom);
    let empty = pb::StatusSnapshot::default();
    let s = app.snap.as_ref().unwrap_or(&empty);
    draw_topology(f, topo, s);
    draw_ingest(f, ingest, app, s);
    draw_latency(f, latency, app, s);
    draw_shards(f, shards, s);
    if s.gates.is_empty() {
        draw_faults(f, faults, s);
    } else {
        let [gates, faults] = Layout::vertical([
            Constraint::Length(s.gates.len() as u16 + 2),
            Constraint::Fill(1),
        ])
        .areas(faults);
        draw_gates(f, gates, s);
        draw_faults(f, faults, s);
    }
    draw_footer(f, footer, app);
    if let Some(p) = &app.picker {
        draw_picker(f, area, p);
    } else if app.help {
        draw_help(f, area);
    }
}

fn header_line(app: &App) -> Line<'static> {
    let Some(s) = &app.snap else {
        return Line::from("gameday · waiting for the first status snapshot …");
    };
    let active = s.faults.iter().filter(|f| f.state == "active").count();
    let state = if app.ended { " · ENDED" } else { "" };
    Line::from(vec![
        Span::styled("gameday", Style::new().add_modifier(Modifier::BOLD)),
        Span::raw(format!(
            " · {} · t {:.0} s · step {} · load ×{} · {} fault(s) active{state}",
            s.scenario,
            s.t_ms as f64 / 1000.0,
            if s.step.is_empty() { "-" } else { &s.step },
            s.load_multiplier,
            active,
        )),
    ])
}

/// " gates: 1 failed, 2 watching " (states in the board's order of concern).
fn gate_counts(gates: &[pb::GateStatus]) -> String {
    let order = [
        "failed", "at risk", "passed", "watching", "pending", "not run",
    ];
    let parts: Vec<String> = order
        .iter()
        .filter_map(|st| {
            let n = gates.iter().filter(|g| g.state == *st).count();
            (n > 0).then(|| format!("{n} {st}"))
        })
        .collect();
    format!(" gates: {} ", parts.join(", "))
}

fn gate_color(state: &str) -> Color {
    match state {
        "passed" => Color::Green,
        "watching" => Color::Cyan,
        "at risk" => Color::Yellow,
        "failed" => Color::Red,
        _ => Color::Gray,
    }
}

fn draw_topology(f: &mut Frame, area: Rect, s: &pb::StatusSnapshot) {
    let mut names: Vec<(&String, &String)> = s.components.iter().collect();
    names.sort();
    let mut azs: Vec<&str> = names
        .iter()
        .filter_map(|(n, _)| n.rsplit_once('-').map(|(_, az)| az))
        .filter(|az| *az != "query" && az.len() <= 3)
        .collect();
    azs.sort();
    azs.dedup();
    let leases = |worker: &str| s.leases.values().filter(|l| l.worker == worker).count();
    let mut lines = Vec::new();
    let inner_rows = area.height.saturating_sub(2) as usize;
    if azs.len() * 3 + 1 > inner_rows {
        // Short terminal: one line per AZ (`a gw up  dl up 8L`).
        for az in &azs {
            let mut spans = vec![Span::raw(format!("{az} "))];
            for (short, kind) in [("gw", "gateway"), ("dl", "delivery")] {
                let name = format!("{kind}-{az}");
                if let Some(st) = s.components.get(&name) {
                    spans.push(Span::raw(format!("{short} ")));
                    spans.push(Span::styled(st.clone(), Style::new().fg(state_color(st))));
                    spans.push(Span::raw(" "));
                }
            }
            spans.push(Span::raw(format!("{}L", leases(&format!("delivery-{az}")))));
            lines.push(Line::from(spans));
        }
        azs.clear();
    }
    for az in azs {
        lines.push(Line::styled(
            format!("AZ {az}"),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for (name, state) in names
            .iter()
            .filter(|(n, _)| n.rsplit_once('-').is_some_and(|(_, a)| a == az))
        {
            let mut spans = vec![
                Span::raw(format!(" {name:<11}")),
                Span::styled(state.to_string(), Style::new().fg(state_color(state))),
            ];
            if name.starts_with("delivery-") {
                spans.push(Span::raw(format!(" {} leases", leases(name))));
            }
            lines.push(Line::from(spans));
        }
    }
    if let Some(q) = s.components.get("query") {
        lines.push(Line::from(vec![
            Span::raw(" query      "),
            Span::styled(q.clone(), Style::new().fg(state_color(q))),
        ]));
    }
    f.render_widget(
        Paragraph::new(lines).block(Block::bordered().title(" topology ")),
        area,
    );
}

/// Label lines with a sparkline under each, sharing `area`'s height.
fn sparks(f: &mut Frame, area: Rect, rows: &[(String, Vec<u64>, Color)]) {
    let parts = Layout::vertical(rows.iter().map(|_| Constraint::Fill(1))).split(area);
    for ((label, data, color), part) in rows.iter().zip(parts.iter()) {
        let [l, sp] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(*part);
        f.render_widget(Paragraph::new(label.clone()), l);
        // The newest samples that fit, right-aligned like a scrolling chart.
        let take = data.len().min(sp.width as usize);
        let tail: Vec<u64> = data[data.len() - take..].to_vec();
        f.render_widget(
            Sparkline::default()
                .data(tail)
                .style(Style::new().fg(*color)),
            sp,
        );
    }
}

fn draw_ingest(f: &mut Frame, area: Rect, app: &App, s: &pb::StatusSnapshot) {
    let block = Block::bordered().title(" ingest per second ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let h = &app.history;
    sparks(
        f,
        inner,
        &[
            (
                format!(
                    "2xx acked {:.0}/s (offered {:.0})",
                    s.acked_per_sec, s.offered_per_sec
                ),
                h.acked.iter().copied().collect(),
                Color::Green,
            ),
            (
                format!("429 {:.1}/s", s.throttled_429_per_sec),
                h.throttled.iter().copied().collect(),
                Color::Yellow,
            ),
            (
                format!("5xx {:.1}/s", s.server_5xx_per_sec),
                h.errors.iter().copied().collect(),
                Color::Red,
            ),
        ],
    );
}

fn draw_latency(f: &mut Frame, area: Rect, app: &App, s: &pb::StatusSnapshot) {
    let block = Block::bordered().title(" latency ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let secs = |m: Option<f64>| m.map_or("-".into(), |m| format!("{:.1} s", m / 1000.0));
    let ms = |m: Option<f64>| m.map_or("-".into(), |m| format!("{m:.0} ms"));
    let mut lines = vec![
        Line::from(format!("TTFB p50 {:.1} ms", s.ttfb_p50_ms)),
        Line::from(format!("freshness {}", secs(s.freshness_ms))),
        Line::from(format!("query p95 {}", ms(s.query_p95_ms))),
        Line::from(format!("query p99 {}", ms(s.query_p99_ms))),
    ];
    // Freshness p99 per tenant, the worst first (the one a GameDay looks at), as many
    // as fit under a sparkline of at least three rows.
    let mut tenants: Vec<(&String, &f64)> = s.freshness_p99_by_tenant_ms.iter().collect();
    tenants.sort_by(|a, b| b.1.total_cmp(a.1).then(a.0.cmp(b.0)));
    let room = (inner.height as usize).saturating_sub(3 + lines.len());
    lines.extend(
        tenants
            .iter()
            .take(room)
            .map(|(t, v)| Line::from(format!("fresh {t} p99 {:.1} s", *v / 1000.0))),
    );
    let [spark, rest] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(lines.len() as u16)])
            .areas(inner);
    sparks(
        f,
        spark,
        &[(
            format!("TTFB p99 {:.1} ms", s.ttfb_p99_ms),
            app.history.ttfb_p99.iter().copied().collect(),
            Color::Cyan,
        )],
    );
    f.render_widget(Paragraph::new(lines), rest);
}

fn draw_shards(f: &mut Frame, area: Rect, s: &pb::StatusSnapshot) {
    let block = Block::bordered().title(" iterator age per shard ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let mut ids: Vec<&String> = s.leases.keys().chain(s.iterator_age_ms.keys()).collect();
    ids.sort();
    ids.dedup();
    let age = |id: &str| s.iterator_age_ms.get(id).copied().unwrap_or(0.0);
    let paused = |id: &str| s.paused_shards.iter().any(|p| p == id);
    // Index = position in hash-key order (what `--shard N` names).
    let mut rows: Vec<(usize, &String)> = ids.into_iter().enumerate().collect();
    rows.sort_by(|a, b| {
        (paused(b.1), age(b.1))
            .partial_cmp(&(paused(a.1), age(a.1)))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.0.cmp(&b.0))
    });
    let max = rows.iter().map(|(_, id)| age(id)).fold(1_000.0, f64::max);
    let bar_w = (inner.width as usize).saturating_sub(24).max(4);
    let lines: Vec<Line> = rows
        .iter()
        .take(inner.height as usize)
        .map(|(i, id)| {
            let a = age(id);
            let n = ((a / max) * bar_w as f64).round() as usize;
            let owner = s
                .leases
                .get(*id)
                .map(|l| l.worker.trim_start_matches("delivery-").to_string())
                .filter(|w| !w.is_empty())
                .unwrap_or_else(|| "-".into());
            let style = if paused(id) {
                Style::new().fg(Color::Yellow)
            } else {
                Style::new()
            };
            Line::styled(
                format!(
                    "{i:>3} {:<bar_w$} {:>6.1}s {owner:<2}{}",
                    "█".repeat(n.min(bar_w)),
                    a / 1000.0,
                    if paused(id) { " PAUSED" } else { "" }
                ),
                style,
            )
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn fault_line(fl: &pb::Fault) -> Line<'static> {
    let color = match fl.state.as_str() {
        "active" => Color::Red,
        "scheduled" => Color::Yellow,
        "failed" => Color::Magenta,
        _ => Color::DarkGray,
    };
    let when = match fl.state.as_str() {
        "scheduled" => fl.scheduled_ms,
        "ended" | "failed" => fl.ended_ms,
        _ => fl.started_ms,
    }
    .map(|m| format!("{:.0}s", m as f64 / 1000.0))
    .unwrap_or_default();
    Line::styled(
        format!(
            "#{} {:<9} {} {} {when}",
            fl.id, fl.state, fl.verb, fl.target
        ),
        Style::new().fg(color),
    )
}

fn draw_gates(f: &mut Frame, area: Rect, s: &pb::StatusSnapshot) {
    let block = Block::bordered().title(gate_counts(&s.gates));
    let inner = block.inner(area);
    f.render_widget(block, area);
    let lines: Vec<Line> = s
        .gates
        .iter()
        .map(|g| {
            Line::from(vec![
                Span::styled(
                    format!("{} {:<8}", g.id, g.state),
                    Style::new().fg(gate_color(&g.state)),
                ),
                Span::raw(format!(" {}", g.detail)),
            ])
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn draw_faults(f: &mut Frame, area: Rect, s: &pb::StatusSnapshot) {
    let block = Block::bordered().title(" faults and events ");
    let inner = block.inner(area);
    f.render_widget(block, area);
    let rank = |st: &str| match st {
        "active" => 0,
        "scheduled" => 1,
        _ => 2,
    };
    let mut faults: Vec<&pb::Fault> = s.faults.iter().collect();
    faults.sort_by_key(|fl| (rank(&fl.state), std::cmp::Reverse(fl.id)));
    let mut lines: Vec<Line> = faults.iter().map(|fl| fault_line(fl)).collect();
    let room = (inner.height as usize).saturating_sub(lines.len());
    let events = &s.events[s.events.len().saturating_sub(room)..];
    lines.extend(events.iter().map(|e| {
        Line::styled(
            format!("{:>5.0}s {}", e.t_ms as f64 / 1000.0, e.message),
            Style::new().fg(Color::Gray),
        )
    }));
    f.render_widget(Paragraph::new(lines), inner);
}

const KEYS: &str =
    "p pause t throttle k kill s stall a AZ l latency e S3 err +/- load r repair ? q";

fn draw_footer(f: &mut Frame, area: Rect, app: &App) {
    let msg = if app.message.is_empty() {
        "keys act on the running stack through the control API".to_string()
    } else {
        app.message.clone()
    };
    f.render_widget(
        Paragraph::new(vec![
            Line::from(msg),
            Line::styled(KEYS, Style::new().add_modifier(Modifier::REVERSED)),
        ]),
        area,
    );
}

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn draw_picker(f: &mut Frame, area: Rect, p: &Picker) {
    let r = centered(area, 44, (p.options.len() as u16 + 4).min(16));
    f.render_widget(Clear, r);
    let items: Vec<ListItem> = p
        .options
        .iter()
        .enumerate()
        .map(|(i, o)| ListItem::new(format!("{} {o}", i + 1)))
        .collect();
    let mut state = ListState::default().with_selected(Some(p.selected));
    f.render_stateful_widget(
        List::new(items)
            .block(
                Block::bordered()
                    .title(format!(" {} ", p.title))
                    .title_bottom(" ↑↓/1-9, Enter, Esc "),
            )
            .highlight_style(Style::new().add_modifier(Modifier::REVERSED)),
        r,
        &mut state,
    );
}

fn draw_help(f: &mut Frame, area: Rect) {
    let r = centered(area, 66, 17);
    f.render_widget(Clear, r);
    let text = [
        "p  pause a shard's reads and writes for 30 s (pick the shard)",
        "t  throttle a shard: 50 % ProvisionedThroughputExceeded, 30 s",
        "k  kill a gateway (SIGKILL) until repaired",
        "s  stall a delivery worker (SIGSTOP) for 40 s: a zombie after",
        "a  lose an AZ for 60 s: its components stalled, its proxy cut",
        "l  S3 latency, lognormal p50 50 ms / p99 400 ms, 60 s",
        "e  S3 errors: 503 on 20 % of calls, 60 s",
        "+  more load    -  less load (0 pauses the producers)",
        "r  repair every active fault",
        "q  quit: a run started here is stopped (stack torn down, report",
        "   written); attached to another run, only the console leaves",
        "?  this help    Esc  close",
    ];
    f.render_widget(
        Paragraph::new(text.iter().map(|t| Line::from(*t)).collect::<Vec<_>>())
            .block(Block::bordered().title(" keys ")),
        r,
    );
}
