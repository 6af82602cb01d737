//! What runs beside the load while a scenario runs: the SLI timeline sampler, the fault
//! engine playing the scenario's timeline, and the stop conditions watching the
//! timeline. `start` when the load starts; `end_load` when it ends (faults repaired
//! before the drain, so the audit reads a whole pipeline); `evidence` after the audit
//! (the timeline keeps sampling through the drain, so recoveries are observed); `close`
//! once the run is judged (the control API's last snapshots carry the verdicts).

use crate::audit::AuditLog;
use crate::control::endpoint::ControlFile;
use crate::control::server::{self, RunHandle};
use crate::evidence::FaultEvidence;
use crate::faults::stop::{StopWatch, Tripped};
use crate::faults::{EventKind, EventLog, FaultEngine, StackTarget};
use crate::gates::GateResult;
use crate::gates::live::GateWatch;
use crate::load::knob::LoadKnob;
use crate::monitor::{Timeline, sample};
use crate::scenario::Scenario;
use crate::stack::Stack;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

pub struct Live {
    pub engine: Arc<FaultEngine>,
    /// The control API this run serves (`gameday fault`/`status`/`stop` reach it).
    control: Option<(crate::control::server::Served, ControlFile)>,
    run: Arc<RunHandle>,
    pub events: Arc<EventLog>,
    pub timeline: Arc<Timeline>,
    stop_timeline: watch::Sender<bool>,
    stop_monitor: watch::Sender<bool>,
    /// Set when a stop condition trips.
    pub tripped: watch::Receiver<Option<Tripped>>,
    /// Kept here so that `tripped` stays open (never "tripped") without conditions.
    _trip: watch::Sender<Option<Tripped>>,
    started_unix_ms: i64,
}

impl Live {
    pub async fn start(
        s: &Scenario,
        seed: u64,
        stack: &Arc<Stack>,
        progress: watch::Receiver<crate::load::Progress>,
        knob: Arc<LoadKnob>,
    ) -> Live {
        let events = Arc::new(EventLog::new());
        let started_unix_ms = ingest::gateway::pipeline::now_ms();
        let target = Arc::new(StackTarget::new(stack.clone()).await);
        let engine = FaultEngine::new(target, events.clone(), seed);
        let timeline = Arc::new(Timeline::default());
        let (stop_timeline, timeline_rx) = watch::channel(false);
        let (stop_monitor, monitor_rx) = watch::channel(false);
        tokio::spawn(step_events(progress.clone(), events.clone()));
        tokio::spawn(sample(
            stack.clone(),
            progress,
            events.start().into_std(),
            Duration::from_secs(1),
            timeline.clone(),
            monitor_rx.clone(),
        ));
        let entries: Vec<_> = s.file.faults.iter().map(|f| f.get_ref().clone()).collect();
        if !entries.is_empty() {
            tokio::spawn(engine.clone().run_timeline(entries, timeline_rx));
        }
        let (trip_tx, tripped) = watch::channel(None);
        let conditions: Vec<_> = s
            .file
            .stop_conditions
            .iter()
            .map(|c| c.get_ref().clone())
            .collect();
        if !conditions.is_empty() {
            tokio::spawn(watch_stops(
                conditions,
                timeline.clone(),
                events.clone(),
                trip_tx.clone(),
                monitor_rx,
            ));
        }
        let gates = GateWatch {
            ids: s.gates().to_vec(),
            thresholds: s.thresholds.clone(),
            steps: s
                .steps()
                .iter()
                .map(|t| crate::evidence::StepEvidence {
                    name: t.name.clone(),
                    multiplier: t.multiplier.0,
                    settle: t.settle,
                    ..Default::default()
                })
                .collect(),
        };
        let run = RunHandle::judging(
            &s.name,
            engine.clone(),
            timeline.clone(),
            Some(knob),
            Some(gates),
        );
        let control = serve_control(&run, stack).await;
        tokio::spawn(operator_stop(run.clone(), events.clone(), trip_tx.clone()));
        Live {
            engine,
            control,
            run,
            events,
            timeline,
            stop_timeline,
            stop_monitor,
            tripped,
            _trip: trip_tx,
            started_unix_ms,
        }
    }

    /// The load ended (or was stopped): no more scheduled faults; every active one is
    /// repaired so the drain and the audit see the whole pipeline.
    pub async fn end_load(&self, reason: &str) {
        let _ = self.stop_timeline.send(true);
        self.run
            .load_over
            .store(true, std::sync::atomic::Ordering::Release);
        let n = self.engine.repair_all(reason).await;
        if n > 0 {
            println!("{n} active fault(s) repaired: {reason}");
        }
    }

    /// The run's fault evidence (the timeline stops sampling); the control API stays up
    /// until `close`.
    pub fn evidence(&self, lease_period_ms: u64) -> FaultEvidence {
        let _ = self.stop_monitor.send(true);
        let records = self.engine.list();
        let timeline = self.timeline.snapshot();
        let windows = crate::faults::windows::windows(&records, &timeline);
        FaultEvidence {
            windows,
            records,
            events: self.events.snapshot(),
            timeline,
            stopped_by: self.tripped.borrow().clone(),
            lease_period_ms,
            load_started_unix_ms: self.started_unix_ms,
        }
    }

    /// The run is judged: the status streams send the verdicts in their last snapshot and
    /// end; the control API stops.
    pub async fn close(mut self, verdicts: &[GateResult]) {
        *self.run.judged.lock() = Some(crate::gates::live::judged(verdicts));
        self.run.ended.send_replace(true);
        if let Some((served, file)) = self.control.take() {
            served.shutdown().await;
            file.withdraw();
        }
    }
}

/// Serves the control API on 127.0.0.1 (any port) with a fresh token, written to the run
/// directory's control.json; a run goes on without it if it cannot be served (said).
async fn serve_control(
    run: &Arc<RunHandle>,
    stack: &Stack,
) -> Option<(crate::control::server::Served, ControlFile)> {
    let token = server::new_token();
    let started = async {
        let audit = Arc::new(AuditLog::open(&stack.run_dir.join("audit.jsonl"))?);
        let served = server::serve(([127, 0, 0, 1], 0).into(), &token, run.clone(), audit).await?;
        let file = ControlFile {
            addr: served.addr,
            token: token.clone(),
            pid: std::process::id(),
            scenario: run.scenario.clone(),
            run_dir: stack.run_dir.clone(),
        };
        file.publish()?;
        anyhow::Ok((served, file))
    };
    match started.await {
        Ok((served, file)) => {
            println!(
                "control API on {} (token in {}/control.json): gameday fault | status | stop",
                served.addr,
                stack.run_dir.display()
            );
            Some((served, file))
        }
        Err(e) => {
            println!("control API not served: {e:#}");
            None
        }
    }
}

/// A `Stop` from the control API ends the run as a stop condition does: the load stops,
/// faults are repaired, the gates are reported as not run, the run as aborted.
async fn operator_stop(
    run: Arc<RunHandle>,
    events: Arc<EventLog>,
    trip: watch::Sender<Option<Tripped>>,
) {
    // Ends with the run (it holds the run handle, and through it the stack).
    let mut ended = run.ended.subscribe();
    let reason = tokio::select! {
        r = run.stop_requested() => r,
        _ = ended.wait_for(|e| *e) => return,
    };
    let at_ms = events.now_ms();
    events.record(
        EventKind::Note,
        None,
        format!("stopped by an operator: {reason}"),
    );
    trip.send_if_modified(|t| {
        if t.is_some() {
            return false;
        }
        *t = Some(Tripped {
            condition: format!("operator stop ({reason})"),
            figure: 0.0,
            at_ms,
            since_ms: at_ms,
        });
        true
    });
}

/// A `step_started` event each time the load enters a step (ends with the load).
async fn step_events(mut progress: watch::Receiver<crate::load::Progress>, events: Arc<EventLog>) {
    let mut last = String::new();
    while progress.changed().await.is_ok() {
        let step = progress.borrow_and_update().step.clone();
        if !step.is_empty() && step != last {
            events.record(EventKind::StepStarted, None, format!("load step {step}"));
            last = step;
        }
    }
}

async fn watch_stops(
    conditions: Vec<crate::faults::stop::StopCondition>,
    timeline: Arc<Timeline>,
    events: Arc<EventLog>,
    trip: watch::Sender<Option<Tripped>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut w = StopWatch::new(conditions);
    let mut seen = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(500));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        let samples = timeline.snapshot();
        for s in samples.iter().skip(seen) {
            if let Some(t) = w.observe(s) {
                events.record(
                    EventKind::StopConditionTripped,
                    None,
                    format!(
                        "stop condition tripped: {} (measured {:.1}, since {:.1} s)",
                        t.condition,
                        t.figure,
                        t.since_ms as f64 / 1000.0
                    ),
                );
                let _ = trip.send(Some(t));
                return;
            }
        }
        seen = samples.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faults::fake::Fake;

    #[tokio::test]
    async fn the_operator_stop_watcher_lets_go_of_the_run_when_it_ends() {
        let events = Arc::new(EventLog::new());
        let engine = FaultEngine::new(Arc::new(Fake::default()), events.clone(), 0);
        let run = RunHandle::new("t", engine, Arc::new(Timeline::default()), None);
        let (trip, tripped) = watch::channel(None);
        let task = tokio::spawn(operator_stop(run.clone(), events, trip));
        tokio::task::yield_now().await;
        assert_eq!(Arc::strong_count(&run), 2, "the watcher holds the run");
        run.ended.send_replace(true);
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the watcher ends with the run")
            .unwrap();
        // Holding the run would hold the stack: `shutdown_shared` waits for sole ownership.
        assert_eq!(Arc::strong_count(&run), 1);
        assert!(
            tripped.borrow().is_none(),
            "an ended run is not reported stopped"
        );
    }
}
