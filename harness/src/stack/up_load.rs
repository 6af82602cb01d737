//! `gameday stack-up`'s load commands, so the integration tests can break a running stack
//! under load and see what its clients saw: `load <secs> <samples_per_sec> <on|off>`
//! starts a short, low-rate load (client failover on or off) in the background and answers
//! at once with its start time; `load-wait` waits for it to end, drains and audits
//! storage, and answers the load's evidence (failover, steps, ledger counts, audit).

use super::Stack;
use crate::load::{self, LoadSpec, StepSpec};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::task::JoinHandle;

/// Longest load `load` accepts, seconds.
const MAX_SECS: f64 = 60.0;
/// Highest rate `load` accepts, samples/s (events at a twentieth of it).
const MAX_RATE: f64 = 20_000.0;
/// How long `load-wait` waits for the drain before auditing.
const DRAIN_SECS: f64 = 30.0;

/// A low-rate load of one step for a stack kept up (`stack-up`'s `load`, `gameday up
/// --load`): `rate` samples/s at 1× over all tenants, events at a twentieth of it, small
/// requests over a small series catalog.
pub fn low_rate_spec(rate: f64, step: &str, secs: f64) -> LoadSpec {
    LoadSpec {
        base_samples_per_sec: rate,
        base_events_per_sec: rate / 20.0,
        steps: vec![StepSpec {
            name: step.into(),
            multiplier: 1.0,
            secs,
            settle: false,
        }],
        samples_per_request: 200,
        events_per_request: 20,
        series_per_tenant: 600,
        ..LoadSpec::default()
    }
}

/// The load started by `load`, until `load-wait` collects it.
#[derive(Default)]
pub struct BackgroundLoad {
    task: Option<JoinHandle<Result<Value, String>>>,
}

impl BackgroundLoad {
    /// `load <secs> <samples_per_sec> <on|off>`.
    pub fn start(&mut self, stack: &Stack, args: &[&str]) -> Result<Value, String> {
        if self.task.is_some() {
            return Err("a load is already running (load-wait collects it)".into());
        }
        let [secs, rate, failover] = args else {
            return Err("usage: load <secs> <samples_per_sec> <on|off>".into());
        };
        let secs: f64 = secs.parse().map_err(|_| format!("bad secs {secs:?}"))?;
        let rate: f64 = rate.parse().map_err(|_| format!("bad rate {rate:?}"))?;
        if !(secs > 0.0 && secs <= MAX_SECS && rate > 0.0 && rate <= MAX_RATE) {
            return Err(format!(
                "load: 0 < secs <= {MAX_SECS} and 0 < samples_per_sec <= {MAX_RATE}"
            ));
        }
        let failover = match *failover {
            "on" => true,
            "off" => false,
            other => return Err(format!("failover {other:?}: on or off")),
        };
        let spec = LoadSpec {
            seed: 5,
            drain_timeout_secs: DRAIN_SECS,
            failover,
            ..low_rate_spec(rate, "1x", secs)
        };
        let target = crate::run::specs::target(stack);
        let names: Vec<(String, String)> = stack
            .gateways
            .iter()
            .map(|c| (c.url.clone(), c.name.clone()))
            .collect();
        let started = load::open_model::now_ms();
        self.task = Some(tokio::spawn(async move {
            let (tx, _rx) = tokio::sync::watch::channel(load::Progress::default());
            let out = load::run(&target, &spec, tx)
                .await
                .map_err(|e| format!("load: {e:#}"))?;
            let drain = Duration::from_secs_f64(DRAIN_SECS);
            let audit = load::audit(&target, &out.ledger, drain)
                .await
                .map_err(|e| format!("audit: {e:#}"))?;
            let mut failover = out.failover;
            failover.name_gateways(&names);
            Ok(json!({
                "failover": failover,
                "steps": out.steps,
                "counts": counts(&out.ledger.counts),
                "audit": audit,
            }))
        }));
        Ok(json!({ "started_unix_ms": started }))
    }

    /// `load-wait`: the evidence of the load `load` started.
    pub async fn wait(&mut self) -> Result<Value, String> {
        let task = self.task.take().ok_or("no load running")?;
        task.await.map_err(|e| format!("load task: {e}"))?
    }
}

fn counts(c: &load::ledger::Counts) -> Value {
    json!({
        "samples_sent": c.samples_sent,
        "samples_acked": c.samples_acked,
        "events_sent": c.events_sent,
        "events_acked": c.events_acked,
        "rejected": c.rejected,
        "unresolved": c.unresolved,
        "retries": c.retries,
        "dropped": c.dropped,
        "acked_after_ambiguous": c.acked_after_ambiguous,
    })
}
