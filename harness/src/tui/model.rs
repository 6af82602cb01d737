//! The console's state, apart from any terminal: the newest status snapshot, a short
//! history for the sparklines, and what a key press asks for. Everything shown comes
//! from the control API's `Status` stream; every action goes back through the control
//! API (`Request`).

use crate::control::pb;
use std::collections::VecDeque;

/// Snapshots kept for the sparklines (one a second: four minutes).
pub const HISTORY: usize = 240;

#[derive(Default)]
pub struct History {
    pub acked: VecDeque<u64>,
    pub throttled: VecDeque<u64>,
    pub errors: VecDeque<u64>,
    pub ttfb_p99: VecDeque<u64>,
}

impl History {
    fn push(&mut self, s: &pb::StatusSnapshot) {
        for (q, v) in [
            (&mut self.acked, s.acked_per_sec),
            (&mut self.throttled, s.throttled_429_per_sec),
            (&mut self.errors, s.server_5xx_per_sec),
            (&mut self.ttfb_p99, s.ttfb_p99_ms),
        ] {
            if q.len() == HISTORY {
                q.pop_front();
            }
            q.push_back(v.max(0.0).round() as u64);
        }
    }
}

/// A key that needs a target shows a picker first.
#[derive(Clone, Debug, PartialEq)]
pub struct Picker {
    pub key: char,
    pub title: String,
    pub options: Vec<String>,
    pub selected: usize,
}

/// What a key press asks the control API for.
#[derive(Clone, Debug, PartialEq)]
pub enum Request {
    Inject(Box<pb::FaultSpec>),
    SetLoad(f64),
    RepairAll,
    Quit,
}

#[derive(Default)]
pub struct App {
    pub snap: Option<pb::StatusSnapshot>,
    pub history: History,
    pub picker: Option<Picker>,
    pub help: bool,
    /// The last action's outcome, shown in the footer.
    pub message: String,
    /// The stream ended (the run is over).
    pub ended: bool,
}

fn spec(verb: &str) -> pb::FaultSpec {
    pb::FaultSpec {
        verb: verb.into(),
        ..Default::default()
    }
}

/// The load steps `+`/`-` move through.
const LOAD_STEPS: [f64; 9] = [0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0];

impl App {
    pub fn on_snapshot(&mut self, s: pb::StatusSnapshot) {
        self.history.push(&s);
        self.ended |= !s.running;
        self.snap = Some(s);
    }

    fn components(&self, prefix: &str) -> Vec<String> {
        let mut v: Vec<String> = self
            .snap
            .iter()
            .flat_map(|s| s.components.keys())
            .filter(|n| n.starts_with(prefix))
            .cloned()
            .collect();
        v.sort();
        v
    }

    /// Shard ids in hash-key order (their index is what a shard fault names).
    pub fn shards(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .snap
            .iter()
            .flat_map(|s| s.leases.keys().chain(s.iterator_age_ms.keys()))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    /// AZs, from the components' names (`gateway-b` → `b`).
    pub fn azs(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .components("gateway-")
            .iter()
            .chain(self.components("delivery-").iter())
            .filter_map(|n| n.rsplit_once('-').map(|(_, az)| az.to_string()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn pick(&mut self, key: char, title: &str, options: Vec<String>) -> Option<Request> {
        if options.is_empty() {
            self.message = format!("{title}: nothing to pick (no status yet?)");
            return None;
        }
        self.picker = Some(Picker {
            key,
            title: title.into(),
            options,
            selected: 0,
        });
        None
    }

    /// The fault a picker's choice asks for.
    fn picked(&self, key: char, choice: &str, index: usize) -> Option<pb::FaultSpec> {
        Some(match key {
            'p' => pb::FaultSpec {
                shards: vec![index as u32],
                mode: Some("both".into()),
                duration_secs: Some(30.0),
                ..spec("shard-pause")
            },
            't' => pb::FaultSpec {
                shards: vec![index as u32],
                probability: Some(0.5),
                duration_secs: Some(30.0),
                ..spec("shard-throttle")
            },
            'k' => pb::FaultSpec {
                target: Some(choice.into()),
                ..spec("gateway-kill")
            },
            's' => pb::FaultSpec {
                target: Some(choice.into()),
                duration_secs: Some(40.0),
                ..spec("worker-stall")
            },
            'a' => pb::FaultSpec {
                target: Some(choice.into()),
                duration_secs: Some(60.0),
                ..spec("az-loss")
            },
            _ => return None,
        })
    }

    fn load_step(&self, up: bool) -> f64 {
        let now = self.snap.as_ref().map_or(1.0, |s| s.load_multiplier);
        if up {
            LOAD_STEPS
                .iter()
                .copied()
                .find(|&m| m > now + 1e-9)
                .unwrap_or(now)
        } else {
            LOAD_STEPS
                .iter()
                .rev()
                .copied()
                .find(|&m| m < now - 1e-9)
                .unwrap_or(now)
        }
    }

    /// A key press: a request for the control API, or a change of what is shown.
    pub fn on_key(&mut self, key: Key) -> Option<Request> {
        if let Some(p) = self.picker.as_mut() {
            match key {
                Key::Up => p.selected = p.selected.saturating_sub(1),
                Key::Down => p.selected = (p.selected + 1).min(p.options.len() - 1),
                Key::Char(c @ '1'..='9') => {
                    let i = c as usize - '1' as usize;
                    if i < p.options.len() {
                        p.selected = i;
                    }
                }
                Key::Enter => {
                    let p = self.picker.take()?;
                    let choice = &p.options[p.selected];
                    return self
                        .picked(p.key, choice, p.selected)
                        .map(|f| Request::Inject(Box::new(f)));
                }
                Key::Esc | Key::Char('q') => self.picker = None,
                _ => {}
            }
            return None;
        }
        let Key::Char(c) = key else {
            if key == Key::Esc {
                self.help = false;
            }
            return None;
        };
        match c {
            'q' => Some(Request::Quit),
            '?' => {
                self.help = !self.help;
                None
            }
            'p' => self.pick('p', "pause a shard (reads and writes, 30 s)", self.shards()),
            't' => self.pick('t', "throttle a shard (50 %, 30 s)", self.shards()),
            'k' => self.pick(
                'k',
                "kill a gateway (until repaired)",
                self.components("gateway-"),
            ),
            's' => self.pick('s', "stall a worker (40 s)", self.components("delivery-")),
            'a' => self.pick('a', "lose an AZ (60 s)", self.azs()),
            'l' => Some(Request::Inject(Box::new(pb::FaultSpec {
                service: Some("s3".into()),
                p50_ms: Some(50.0),
                p99_ms: Some(400.0),
                duration_secs: Some(60.0),
                ..spec("latency")
            }))),
            'e' => Some(Request::Inject(Box::new(pb::FaultSpec {
                error: Some("503".into()),
                probability: Some(0.2),
                duration_secs: Some(60.0),
                ..spec("s3-errors")
            }))),
            '+' => Some(Request::SetLoad(self.load_step(true))),
            '-' => Some(Request::SetLoad(self.load_step(false))),
            'r' => Some(Request::RepairAll),
            _ => None,
        }
    }
}

/// The keys the console reads (kept apart from crossterm so tests need no terminal).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Up,
    Down,
    Enter,
    Esc,
}
