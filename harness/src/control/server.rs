//! The control API's server: one `RunHandle` (what a running `up`, `scenario` or `tui`
//! exposes), a bearer token checked on every call, every call written to the audit log.

use super::convert::{entry_of, fault_of, snapshot_of};
use super::pb::{self, control_server};
use crate::audit::AuditLog;
use crate::faults::{FaultEngine, FaultError, Source};
use crate::gates::live::{GateLive, GateWatch};
use crate::load::knob::LoadKnob;
use crate::monitor::Timeline;
use crate::status::Snapshot;
use futures::Stream;
use sha2::{Digest, Sha256};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tonic::{Request, Response, Status};

/// What a running GameDay exposes to its controllers.
pub struct RunHandle {
    pub scenario: String,
    pub engine: Arc<FaultEngine>,
    pub timeline: Arc<Timeline>,
    /// None when the run drives no load.
    pub knob: Option<Arc<LoadKnob>>,
    /// Set (with the reason) when a controller asks the run to stop.
    pub stop: watch::Sender<Option<String>>,
    /// True once the run is ending: status streams send their last snapshot and end.
    pub ended: watch::Sender<bool>,
    /// A scenario's load has ended (it drains and audits now): no new faults, no stop.
    pub load_over: std::sync::atomic::AtomicBool,
    /// The gates a scenario judges (None for `up`): their live board.
    pub gates: Option<GateWatch>,
    /// The verdicts once the run is judged (the last snapshots show them).
    pub judged: parking_lot::Mutex<Option<Vec<GateLive>>>,
}

impl RunHandle {
    pub fn new(
        scenario: &str,
        engine: Arc<FaultEngine>,
        timeline: Arc<Timeline>,
        knob: Option<Arc<LoadKnob>>,
    ) -> Arc<RunHandle> {
        Self::judging(scenario, engine, timeline, knob, None)
    }

    /// A run that judges gates: the snapshots carry their board.
    pub fn judging(
        scenario: &str,
        engine: Arc<FaultEngine>,
        timeline: Arc<Timeline>,
        knob: Option<Arc<LoadKnob>>,
        gates: Option<GateWatch>,
    ) -> Arc<RunHandle> {
        Arc::new(RunHandle {
            scenario: scenario.to_string(),
            engine,
            timeline,
            knob,
            stop: watch::channel(None).0,
            ended: watch::channel(false).0,
            load_over: std::sync::atomic::AtomicBool::new(false),
            gates,
            judged: parking_lot::Mutex::new(None),
        })
    }

    /// The gates' board: the verdicts once judged, else their live status.
    pub fn gate_board(&self, faults: &[crate::faults::FaultRecord]) -> Vec<GateLive> {
        if let Some(j) = self.judged.lock().as_ref() {
            return j.clone();
        }
        match &self.gates {
            Some(w) => self.timeline.with(|samples| w.board(samples, faults)),
            None => Vec::new(),
        }
    }

    /// The status now: the timeline's last two samples (rates need two), every fault,
    /// the newest events.
    pub fn snapshot(&self) -> Snapshot {
        let (prev, last) = self.timeline.last_two();
        let faults = self.engine.list();
        let mut s = Snapshot::build(
            &self.scenario,
            prev.as_ref(),
            last.as_ref(),
            faults,
            &self.engine.events().snapshot(),
        );
        s.gates = self.gate_board(&s.faults);
        s
    }

    pub fn load_multiplier(&self) -> f64 {
        self.knob.as_ref().map_or(0.0, |k| k.get())
    }

    fn draining(&self) -> Option<Status> {
        self.load_over
            .load(std::sync::atomic::Ordering::Acquire)
            .then(|| {
                Status::failed_precondition(
                    "the run's load has ended; it is draining and auditing storage and ends by itself",
                )
            })
    }

    /// Resolves when a controller asked the run to stop; returns the reason.
    pub async fn stop_requested(&self) -> String {
        let mut rx = self.stop.subscribe();
        let got = rx.wait_for(|s| s.is_some()).await.ok().map(|r| r.clone());
        match got {
            Some(r) => r.unwrap_or_default(),
            None => std::future::pending().await,
        }
    }
}

pub struct ControlService {
    run: Arc<RunHandle>,
    token_digest: [u8; 32],
    audit: Arc<AuditLog>,
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

impl ControlService {
    pub fn new(run: Arc<RunHandle>, token: &str, audit: Arc<AuditLog>) -> ControlService {
        ControlService {
            run,
            token_digest: digest(token),
            audit,
        }
    }

    /// The caller's token is right; the call is recorded either way (a call that cannot
    /// be recorded is refused).
    fn admit<T>(&self, req: &Request<T>, action: &str, detail: &str) -> Result<String, Status> {
        let actor = req
            .remote_addr()
            .map(|a| a.to_string())
            .unwrap_or_else(|| "unknown".into());
        let presented = req
            .metadata()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        // Digests compared, so the time taken says nothing about the token.
        let ok = presented.is_some_and(|t| digest(t) == self.token_digest);
        let outcome = if ok {
            "ok".to_string()
        } else if presented.is_none() {
            "refused: no bearer token".to_string()
        } else {
            "refused: wrong token".to_string()
        };
        self.audit
            .record(&actor, action, &outcome, detail)
            .map_err(|e| Status::unavailable(format!("cannot write the audit log: {e}")))?;
        if ok {
            Ok(actor)
        } else {
            Err(Status::unauthenticated(
                "a bearer token is required (the one `gameday up` printed, or --control-token)",
            ))
        }
    }

    /// The outcome of an admitted call that failed, recorded beside its admission.
    fn failed(&self, actor: &str, action: &str, status: Status) -> Status {
        let _ = self
            .audit
            .record(actor, action, &format!("failed: {}", status.message()), "");
        status
    }
}

fn status_of(e: FaultError) -> Status {
    match e {
        FaultError::Invalid { .. } => Status::invalid_argument(e.to_string()),
        FaultError::Unsupported(_) => Status::failed_precondition(e.to_string()),
        FaultError::NotFound(_) => Status::not_found(e.to_string()),
        FaultError::NotActive(_) => Status::failed_precondition(e.to_string()),
        FaultError::Failed(_) => Status::internal(e.to_string()),
    }
}

type StatusStream = Pin<Box<dyn Stream<Item = Result<pb::StatusSnapshot, Status>> + Send>>;

#[tonic::async_trait]
impl control_server::Control for ControlService {
    async fn inject_fault(
        &self,
        req: Request<pb::InjectFaultRequest>,
    ) -> Result<Response<pb::Fault>, Status> {
        let spec = req.get_ref().fault.clone().unwrap_or_default();
        let detail = format!("{spec:?}");
        let actor = self.admit(&req, "InjectFault", &detail)?;
        if let Some(s) = self.run.draining() {
            return Err(self.failed(&actor, "InjectFault", s));
        }
        let entry = entry_of(&spec)
            .map_err(|e| self.failed(&actor, "InjectFault", Status::invalid_argument(e)))?;
        let record = self
            .run
            .engine
            .inject(entry, Source::Api)
            .await
            .map_err(|e| self.failed(&actor, "InjectFault", status_of(e)))?;
        Ok(Response::new(fault_of(&record)))
    }

    async fn clear_fault(
        &self,
        req: Request<pb::ClearFaultRequest>,
    ) -> Result<Response<pb::ClearFaultResponse>, Status> {
        let r = *req.get_ref();
        let detail = if r.all {
            "all".to_string()
        } else {
            format!("id {}", r.id)
        };
        let actor = self.admit(&req, "ClearFault", &detail)?;
        let engine = &self.run.engine;
        let cleared = if r.all {
            let before: Vec<u64> = engine.active().iter().map(|f| f.id).collect();
            engine.repair_all("cleared by the control API").await;
            engine
                .list()
                .iter()
                .filter(|f| before.contains(&f.id))
                .map(fault_of)
                .collect()
        } else {
            let rec = engine
                .clear(r.id, "cleared by the control API")
                .await
                .map_err(|e| self.failed(&actor, "ClearFault", status_of(e)))?;
            vec![fault_of(&rec)]
        };
        Ok(Response::new(pb::ClearFaultResponse { cleared }))
    }

    async fn list_faults(
        &self,
        req: Request<pb::ListFaultsRequest>,
    ) -> Result<Response<pb::ListFaultsResponse>, Status> {
        self.admit(&req, "ListFaults", "")?;
        let faults = self.run.engine.list().iter().map(fault_of).collect();
        Ok(Response::new(pb::ListFaultsResponse { faults }))
    }

    async fn set_load(
        &self,
        req: Request<pb::SetLoadRequest>,
    ) -> Result<Response<pb::SetLoadResponse>, Status> {
        let m = req.get_ref().multiplier;
        let actor = self.admit(&req, "SetLoad", &format!("multiplier {m}"))?;
        let Some(knob) = &self.run.knob else {
            return Err(self.failed(
                &actor,
                "SetLoad",
                Status::failed_precondition(
                    "this run drives no load (start `gameday up --load 1x` to have one)",
                ),
            ));
        };
        let previous = knob
            .set(m)
            .map_err(|e| self.failed(&actor, "SetLoad", Status::invalid_argument(e)))?;
        self.run.engine.events().record(
            crate::faults::EventKind::Note,
            None,
            format!("load multiplier {previous} → {m} (control API)"),
        );
        Ok(Response::new(pb::SetLoadResponse {
            previous,
            multiplier: m,
            load_running: true,
        }))
    }

    type StatusStream = StatusStream;

    async fn status(
        &self,
        req: Request<pb::StatusRequest>,
    ) -> Result<Response<StatusStream>, Status> {
        // 0 (unset): once a second; never more often than every 200 ms.
        let every = match req.get_ref().interval_ms {
            0 => Duration::from_secs(1),
            ms => Duration::from_millis(u64::from(ms.max(200))),
        };
        self.admit(&req, "Status", &format!("every {} ms", every.as_millis()))?;
        let run = self.run.clone();
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ended = run.ended.subscribe();
        // State: (run, tick, ended, done). One snapshot per tick; once the run ends, one
        // last snapshot with `running: false`, then the stream ends.
        let s = futures::stream::unfold(
            (run, tick, ended, false),
            |(run, mut tick, mut ended, done)| async move {
                if done {
                    return None;
                }
                let over = tokio::select! {
                    _ = tick.tick() => None,
                    _ = ended.wait_for(|e| *e) => Some(true),
                };
                let over = over.unwrap_or_else(|| *ended.borrow());
                let snap = snapshot_of(&run.snapshot(), run.load_multiplier(), !over);
                Some((Ok(snap), (run, tick, ended, over)))
            },
        );
        Ok(Response::new(Box::pin(s)))
    }

    async fn stop(
        &self,
        req: Request<pb::StopRequest>,
    ) -> Result<Response<pb::StopResponse>, Status> {
        let reason = match req.get_ref().reason.trim() {
            "" => "stopped by the control API".to_string(),
            r => r.to_string(),
        };
        let actor = self.admit(&req, "Stop", &reason)?;
        if let Some(s) = self.run.draining() {
            return Err(self.failed(&actor, "Stop", s));
        }
        self.run.stop.send_replace(Some(reason));
        Ok(Response::new(pb::StopResponse {}))
    }
}

/// A control server running in the background.
pub struct Served {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Served {
    /// Stops accepting calls and waits (briefly) for the server to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }
}

/// Serves the control API on `bind` (port 0: any free port).
pub async fn serve(
    bind: SocketAddr,
    token: &str,
    run: Arc<RunHandle>,
    audit: Arc<AuditLog>,
) -> anyhow::Result<Served> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("control API: cannot listen on {bind}: {e}"))?;
    let addr = listener.local_addr()?;
    let svc = control_server::ControlServer::new(ControlService::new(run, token, audit));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        if let Err(e) = tonic::transport::Server::builder()
            .add_service(svc)
            .serve_with_incoming_shutdown(incoming, async {
                let _ = rx.await;
            })
            .await
        {
            tracing::warn!(%e, "control API server ended");
        }
    });
    Ok(Served {
        addr,
        shutdown: Some(tx),
        task,
    })
}

/// A fresh random bearer token (128 bits, hex).
pub fn new_token() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}
