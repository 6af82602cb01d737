//! `gameday tui`: the GameDay console. Starts a scenario (or attaches to a running
//! `gameday up` or scenario), shows its `Status` stream, and turns key presses into
//! control API calls. The model (`model`) and the drawing (`view`) need no terminal;
//! this module owns the terminal, the child scenario and the event loop.

pub mod model;
#[cfg(test)]
mod tests;
pub mod view;

use crate::control::cli::ConnectArgs;
use crate::control::client::{Client, connect};
use crate::control::pb;
use anyhow::Context;
use clap::Args;
use model::{App, Key, Request};
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct TuiArgs {
    /// A scenario to start (scenarios/<name>.toml or a path). Without one, the console
    /// attaches to the running stack, or starts `gameday` when none runs.
    pub scenario: Option<String>,
    /// Only attach to a running `gameday up` or scenario; never start one.
    #[arg(long, conflicts_with = "scenario")]
    pub attach: bool,
    /// Passed to the scenario it starts (shorter steps and faults, same thresholds).
    #[arg(long)]
    pub duration_scale: Option<f64>,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A scenario this console started, and where its output goes.
struct Started {
    child: std::process::Child,
    log: PathBuf,
}

pub fn run(args: TuiArgs) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(console(args))
}

async fn console(args: TuiArgs) -> anyhow::Result<ExitCode> {
    let running = crate::control::endpoint::find(args.connect.control_file.as_deref());
    let attach = args.attach || (args.scenario.is_none() && running.is_ok());
    let mut started = None;
    let client = if attach || args.connect.control.is_some() {
        match args.connect.client().await {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return Ok(ExitCode::from(2));
            }
        }
    } else {
        let name = args.scenario.clone().unwrap_or_else(|| "gameday".into());
        let (s, c) = start_scenario(&name, args.duration_scale).await?;
        started = Some(s);
        c
    };
    let mut terminal = ratatui::init();
    let outcome = event_loop(&mut terminal, client, started.is_some()).await;
    ratatui::restore();
    let asked_stop = outcome?;
    match started {
        None => Ok(ExitCode::SUCCESS),
        Some(s) => finish(s, asked_stop),
    }
}

/// Spawns `gameday scenario <name>` with its output in a log, and connects once it
/// serves its control API.
async fn start_scenario(name: &str, scale: Option<f64>) -> anyhow::Result<(Started, Client)> {
    let dir = Path::new(".gameday");
    std::fs::create_dir_all(dir)?;
    let log = dir.join(format!("tui-{}.log", crate::load::open_model::now_ms()));
    let out = std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
    let mut cmd = std::process::Command::new(std::env::current_exe()?);
    cmd.arg("scenario").arg(name);
    // Its summary is shown on this terminal after the console closes: fit it.
    if let Ok((cols, _)) = ratatui::crossterm::terminal::size() {
        cmd.env("GAMEDAY_COLUMNS", cols.to_string());
    }
    if let Some(s) = scale {
        cmd.arg("--duration-scale").arg(s.to_string());
    }
    let mut child = cmd
        .stdout(out.try_clone()?)
        .stderr(out)
        .spawn()
        .context("starting the scenario")?;
    println!(
        "starting scenario {name} (its output: {}); the console opens when the stack is up …",
        log.display()
    );
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if let Some(status) = child.try_wait()? {
            let tail = tail_of(&log, 20);
            anyhow::bail!("scenario {name} ended before its stack was up ({status}):\n{tail}");
        }
        if let Ok(f) = crate::control::endpoint::find(None)
            && f.pid == child.id()
            && let Ok(c) = connect(&f.addr.to_string(), &f.token).await
        {
            return Ok((Started { child, log }, c));
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            anyhow::bail!("scenario {name} did not serve its control API within 180 s");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn tail_of(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Waits (≤ 40 s after a stop) for the scenario to end, prints its summary and returns
/// its exit code — 0 for a run this console stopped in which no judged gate failed.
fn finish(mut s: Started, asked_stop: bool) -> anyhow::Result<ExitCode> {
    let deadline = Instant::now() + Duration::from_secs(40);
    let status = loop {
        if let Some(st) = s.child.try_wait()? {
            break Some(st);
        }
        if asked_stop && Instant::now() > deadline {
            let _ = s.child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("{}", tail_of(&s.log, 60));
    println!("(whole output: {})", s.log.display());
    Ok(match status.and_then(|st| st.code()) {
        // Aborted by our own stop: no judged gate failed.
        Some(4) if asked_stop => ExitCode::SUCCESS,
        Some(c) => ExitCode::from(c as u8),
        None => ExitCode::from(1),
    })
}

fn key_of(code: KeyCode) -> Option<Key> {
    Some(match code {
        KeyCode::Char(c) => Key::Char(c),
        KeyCode::Up => Key::Up,
        KeyCode::Down => Key::Down,
        KeyCode::Enter => Key::Enter,
        KeyCode::Esc => Key::Esc,
        _ => return None,
    })
}

/// Reads keys on a thread of its own (crossterm's read blocks) until the console ends.
fn spawn_keys() -> tokio::sync::mpsc::Receiver<Option<Key>> {
    let (tx, rx) = tokio::sync::mpsc::channel(32);
    std::thread::spawn(move || {
        while !tx.is_closed() {
            match event::poll(Duration::from_millis(200)) {
                Ok(true) => match event::read() {
                    Ok(Event::Key(k)) if k.kind == KeyEventKind::Press => {
                        if let Some(key) = key_of(k.code)
                            && tx.blocking_send(Some(key)).is_err()
                        {
                            return;
                        }
                    }
                    // A resize redraws.
                    Ok(Event::Resize(..)) => {
                        let _ = tx.blocking_send(None);
                    }
                    Ok(_) => {}
                    Err(_) => return,
                },
                Ok(false) => {}
                Err(_) => return,
            }
        }
    });
    rx
}

/// Returns whether the user quit (and so asked a started scenario to stop). `owns_run`:
/// this console started the run, so `q` ends it; attached to someone else's `up` or
/// scenario, `q` only leaves.
async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    mut client: Client,
    owns_run: bool,
) -> anyhow::Result<bool> {
    let mut app = App::default();
    let mut stream = client
        .status(pb::StatusRequest { interval_ms: 1000 })
        .await
        .map_err(|s| anyhow::anyhow!("status stream: {}", s.message()))?
        .into_inner();
    let mut keys = spawn_keys();
    let mut stream_open = true;
    loop {
        terminal.draw(|f| view::draw(f, &app))?;
        tokio::select! {
            m = stream.message(), if stream_open => match m {
                Ok(Some(s)) => app.on_snapshot(s),
                Ok(None) => {
                    stream_open = false;
                    app.ended = true;
                    app.message = "the run has ended — q to leave".into();
                }
                Err(e) => {
                    stream_open = false;
                    app.message = format!("status stream lost: {} — q to leave", e.message());
                }
            },
            k = keys.recv() => match k {
                Some(Some(key)) => match app.on_key(key) {
                    Some(Request::Quit) => {
                        if stream_open && owns_run {
                            let _ = client.stop(pb::StopRequest { reason: "quit in the console".into() }).await;
                        }
                        return Ok(true);
                    }
                    Some(req) => app.message = act(&mut client, req).await,
                    None => {}
                },
                Some(None) => {}
                None => return Ok(false),
            },
        }
    }
}

/// Sends one request; returns the line the footer shows.
pub async fn act(client: &mut Client, req: Request) -> String {
    let r = match req {
        Request::Inject(spec) => client
            .inject_fault(pb::InjectFaultRequest { fault: Some(*spec) })
            .await
            .map(|r| {
                let f = r.into_inner();
                format!("fault #{} {} {}: {}", f.id, f.verb, f.target, f.state)
            }),
        Request::SetLoad(m) => client
            .set_load(pb::SetLoadRequest { multiplier: m })
            .await
            .map(|r| {
                let r = r.into_inner();
                format!("load ×{} → ×{}", r.previous, r.multiplier)
            }),
        Request::RepairAll => client
            .clear_fault(pb::ClearFaultRequest { id: 0, all: true })
            .await
            .map(|r| format!("repaired {} fault(s)", r.into_inner().cleared.len())),
        Request::Quit => return String::new(),
    };
    r.unwrap_or_else(|s| format!("refused: {}", s.message()))
}
