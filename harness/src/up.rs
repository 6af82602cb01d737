//! `gameday up`: boot the stack and keep it up until Ctrl-C (or `gameday stop`), with the
//! control API served, an optional background load, and everything a user needs to
//! connect printed ready to paste. Teardown leaves no process behind: faults repaired,
//! the load stopped, every child stopped (they also die with this process, see `stack`).

use crate::audit::AuditLog;
use crate::control::cli::parse_duration;
use crate::control::endpoint::ControlFile;
use crate::control::server::{self, RunHandle};
use crate::faults::{EventLog, FaultEngine, StackTarget};
use crate::load::{self, LoadSpec, knob::LoadKnob};
use crate::monitor::Timeline;
use crate::stack::{Backend, Stack, StackSpec};
use anyhow::Context;
use clap::Args;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{SignalKind, signal};

#[derive(Debug, Args)]
pub struct UpArgs {
    /// AWS backend: `embedded` (in this process), or the URL of a running LocalStack or
    /// `gameday emulate` (http://127.0.0.1:4566).
    #[arg(long, default_value = "embedded")]
    pub backend: String,
    /// Kinesis shards (default: what the capacity plan needs).
    #[arg(long)]
    pub shards: Option<u32>,
    /// Availability zones: one gateway and one delivery worker each.
    #[arg(long, value_delimiter = ',', default_value = "a,b,c")]
    pub azs: Vec<String>,
    /// Background load: `off`, or a multiple of --load-rate (`1x`, `0.5x`, `3x`);
    /// change it later with the control API's SetLoad (or the TUI's +/-).
    #[arg(long, default_value = "off", value_parser = parse_load)]
    pub load: LoadSetting,
    /// The background load's 1× rate: samples/s over all tenants (events at a twentieth).
    #[arg(long, default_value_t = 2_000.0)]
    pub load_rate: f64,
    /// The background load stops after this long (the stack stays up).
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub load_for: f64,
    /// Control API address (port 0: any free port; printed and written to the run
    /// directory's control.json).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub control_addr: SocketAddr,
    /// Control API bearer token (default: a fresh random one, printed).
    #[arg(long, env = "GAMEDAY_CONTROL_TOKEN", hide_env_values = true)]
    pub control_token: Option<String>,
    /// Where configs, certificates, logs and the audit log go
    /// (default .gameday/runs/up-<unix ms>).
    #[arg(long)]
    pub run_dir: Option<PathBuf>,
}

/// `--load`: off (None) or a multiple of the base rate.
#[derive(Clone, Copy, Debug)]
pub struct LoadSetting(pub Option<f64>);

/// `off` or `<multiplier>x`.
fn parse_load(s: &str) -> Result<LoadSetting, String> {
    if s == "off" {
        return Ok(LoadSetting(None));
    }
    let m: f64 = s
        .strip_suffix('x')
        .unwrap_or(s)
        .parse()
        .map_err(|_| format!("--load {s:?}: off, or a multiple such as 1x, 0.5x, 3x"))?;
    if !(m > 0.0 && m <= load::knob::MAX_MULTIPLIER) {
        return Err(format!(
            "--load {s:?}: the multiple must be > 0 and ≤ {}",
            load::knob::MAX_MULTIPLIER
        ));
    }
    Ok(LoadSetting(Some(m)))
}

pub fn run(args: UpArgs) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.load_rate > 0.0 && args.load_rate <= 200_000.0,
        "--load-rate must be > 0 and ≤ 200000 samples/s"
    );
    crate::run::runtime()?.block_on(up(args))
}

async fn up(args: UpArgs) -> anyhow::Result<ExitCode> {
    let run_dir = args.run_dir.clone().unwrap_or_else(|| {
        PathBuf::from(".gameday/runs").join(format!("up-{}", load::open_model::now_ms()))
    });
    let mut spec = StackSpec::new(&run_dir);
    spec.shards = args.shards;
    spec.azs = args.azs.clone();
    if args.backend != "embedded" {
        spec.backend = Backend::Endpoint(args.backend.clone());
    }
    // Registered before anything starts, so a signal at any point is ours to handle.
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    println!("booting the stack in {} …", run_dir.display());
    let booted = tokio::select! {
        b = Stack::boot(&spec) => b,
        // Dropping the half-booted stack kills what was started.
        _ = interrupt.recv() => return Ok(ExitCode::from(130)),
        _ = terminate.recv() => return Ok(ExitCode::from(143)),
    };
    let stack = match booted {
        Ok(s) => Arc::new(s),
        Err(e) => {
            eprintln!("error: the stack did not boot: {e}");
            return Ok(ExitCode::from(1));
        }
    };

    let events = Arc::new(EventLog::new());
    let engine = FaultEngine::new(
        Arc::new(StackTarget::new(stack.clone()).await),
        events.clone(),
        rand::random(),
    );
    let timeline = Arc::new(Timeline::default());
    let (progress_tx, progress_rx) = tokio::sync::watch::channel(load::Progress::default());
    let (stop_sampler, sampler_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(crate::monitor::sample(
        stack.clone(),
        progress_rx,
        events.start().into_std(),
        Duration::from_secs(1),
        timeline.clone(),
        sampler_rx,
    ));
    let knob = args.load.0.map(|m| {
        let k = Arc::new(LoadKnob::default());
        let _ = k.set(m);
        k
    });
    let load_task = knob
        .clone()
        .map(|k| spawn_load(&stack, &args, k, progress_tx.clone()));

    let run = RunHandle::new("up", engine.clone(), timeline, knob);
    let audit = Arc::new(AuditLog::open(&run_dir.join("audit.jsonl"))?);
    let token = args.control_token.clone().unwrap_or_else(server::new_token);
    let served = server::serve(args.control_addr, &token, run.clone(), audit).await?;
    let control = ControlFile {
        addr: served.addr,
        token: token.clone(),
        pid: std::process::id(),
        scenario: "up".into(),
        run_dir: run_dir.clone(),
    };
    control.publish()?;
    println!(
        "{}",
        connect_text(&stack, &control, args.load.0, args.load_rate)
    );
    println!("ready — Ctrl-C (or `gameday stop`) tears everything down");

    let why = tokio::select! {
        _ = interrupt.recv() => "Ctrl-C".to_string(),
        _ = terminate.recv() => "SIGTERM".to_string(),
        r = run.stop_requested() => r,
    };
    println!("stopping ({why}) …");
    let repaired = engine.repair_all(&format!("stack stopping: {why}")).await;
    if repaired > 0 {
        println!("{repaired} active fault(s) repaired");
    }
    run.ended.send_replace(true);
    if let Some(t) = load_task {
        t.abort();
    }
    drop(progress_tx);
    let _ = stop_sampler.send(true);
    let _ = sampler.await;
    // Status streams send their last snapshot before the server goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    served.shutdown().await;
    control.withdraw();
    drop((run, engine));
    Stack::shutdown_shared(stack).await;
    println!(
        "stopped; logs and the audit log are in {}",
        run_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// One long step at `--load-rate`, scaled by the knob; canaries on so freshness shows.
fn spawn_load(
    stack: &Stack,
    args: &UpArgs,
    knob: Arc<LoadKnob>,
    progress: tokio::sync::watch::Sender<load::Progress>,
) -> tokio::task::JoinHandle<()> {
    let spec = LoadSpec {
        seed: rand::random(),
        knob: Some(knob),
        ..crate::stack::low_rate_spec(args.load_rate, "background", args.load_for)
    };
    let target = crate::run::specs::target(stack);
    tokio::spawn(async move {
        match load::run(&target, &spec, progress).await {
            Ok(_) => println!("background load ended"),
            Err(e) => println!("background load stopped: {e:#}"),
        }
    })
}

/// What a user needs to connect, ready to paste.
fn connect_text(stack: &Stack, c: &ControlFile, load: Option<f64>, rate: f64) -> String {
    let ca = stack.run_dir.join("ca.pem");
    let ca = std::fs::canonicalize(&ca).unwrap_or(ca);
    let ca = ca.display();
    let gw0 = stack.gateways.first().map(|g| g.url.as_str()).unwrap_or("");
    let t = stack.tenants.first();
    let (tenant, key, client_id, secret) = t
        .map(|t| {
            (
                t.id.as_str(),
                t.api_key.as_str(),
                t.client_id.as_str(),
                t.client_secret.as_str(),
            )
        })
        .unwrap_or_default();
    let mut out = vec![format!(
        "\nstack up in {} ms: {} gateways, {} delivery workers, query, {} shards (stream {}, bucket {})",
        stack.boot_ms,
        stack.gateways.len(),
        stack.delivery.len(),
        stack.shards.len(),
        stack.stream,
        stack.bucket
    )];
    out.push(format!("\n# Gateways (HTTPS, CA file {ca})"));
    for g in &stack.gateways {
        out.push(format!("#   {}  {}", g.name, g.url));
    }
    out.push(format!(
        "\n# Tenant {tenant}: its API key, and a token for it"
    ));
    out.push(format!(
        "export GAMEDAY_CA={ca} GAMEDAY_GATEWAY={gw0} GAMEDAY_API_KEY={key}"
    ));
    out.push(format!(
        "curl --cacert $GAMEDAY_CA -d grant_type=client_credentials -d client_id={client_id} \
         -d client_secret={secret} -d audience={} $GAMEDAY_GATEWAY/token",
        stack.audience
    ));
    out.push(format!(
        "\n# SQL over the stored Parquet (query service {})",
        stack.query.url
    ));
    out.push(format!(
        "curl --cacert $GAMEDAY_CA -H \"x-api-key: $GAMEDAY_API_KEY\" -H 'content-type: application/json' \
         -d '{{\"sql\":\"SELECT count(*) FROM metrics\"}}' {}/v1/query",
        stack.query.url
    ));
    let aws = &stack.aws;
    out.push("\n# The AWS backend (AWS CLI, SDKs)".into());
    out.push(format!(
        "export AWS_ENDPOINT_URL={} AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_REGION={}",
        aws.endpoint.as_deref().unwrap_or("(AWS)"),
        aws.access_key_id.as_deref().unwrap_or(""),
        aws.secret_access_key
            .as_ref()
            .map(|s| s.expose())
            .unwrap_or(""),
        aws.region
    ));
    out.push(format!(
        "aws kinesis describe-stream-summary --stream-name {}; aws s3 ls s3://{}/",
        stack.stream, stack.bucket
    ));
    out.push(
        "\n# Control API (gameday fault / status / stop find it through .gameday/control.json)"
            .into(),
    );
    out.push(format!(
        "export GAMEDAY_CONTROL={} GAMEDAY_CONTROL_TOKEN={}",
        c.addr, c.token
    ));
    out.push(
        "gameday fault add gateway-kill --target gateway-b --for 30s; gameday status --watch"
            .into(),
    );
    out.push(format!(
        "\n# Grafana: an Infinity (or JSON API) datasource, POST {}/v1/query, header \
         x-api-key: <tenant key>, body {{\"sql\": \"…\"}}, TLS CA {ca}",
        stack.query.url
    ));
    out.push(match load {
        Some(m) => format!(
            "\nbackground load: {m}× of {rate:.0} samples/s (gameday status shows it; SetLoad changes it)"
        ),
        None => "\nbackground load: off (--load 1x to have one)".into(),
    });
    out.join("\n")
}
