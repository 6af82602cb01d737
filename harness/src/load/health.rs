//! The producers' and canaries' view of gateway health, as a load balancer keeps it:
//! a transport error (refused, reset, timeout) marks a gateway down and its traffic is
//! routed to the gateways still up; a down gateway is health-checked (`/readyz`) after a
//! short, growing backoff and rejoins when a check passes. With failover off the view
//! still records what happened but every request keeps its assigned gateway.
//!
//! Pure: every method takes the time (ms since the load started), so the state machine
//! is tested with a fake clock; [`check_loop`] is the thin async driver of the checks.
//! [`Health::evidence`] turns the record into [`FailoverEvidence`].

use super::open_model::lock;
use crate::evidence::{FailoverEvidence, GatewayFailover, Outage};
use std::sync::Mutex;
use std::time::Duration;

/// First health check of a down gateway this long after it was marked down.
pub const CHECK_BACKOFF_MS: u64 = 200;
/// The backoff doubles after each failed check, up to this.
pub const CHECK_BACKOFF_MAX_MS: u64 = 1_000;
/// How often the driver looks for due checks.
pub const CHECK_TICK: Duration = Duration::from_millis(50);

/// What an attempt to a gateway came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// An HTTP answer; `ok` = 2xx. The gateway is alive whatever the status.
    Answered { ok: bool },
    /// No answer: connection refused or reset, or a timeout.
    Transport,
}

#[derive(Clone, Debug, Default)]
struct Gw {
    /// Routing: down = no traffic until a health check passes (failover on only).
    down: bool,
    check_due_ms: u64,
    backoff_ms: u64,
    checking: bool,
    marked_down: u64,
    checks_failed: u64,
    /// The outage running now (a transport failure opened it, a rejoin closes it).
    open: Option<Outage>,
    closed: Vec<Outage>,
    /// Answered attempts since the last rejoin.
    after_rejoin: u64,
    rerouted: u64,
}

impl Gw {
    fn outages(&self) -> impl Iterator<Item = &Outage> {
        self.closed.iter().chain(self.open.as_ref())
    }
}

/// Health of every gateway of a run (index = position in `Target::gateways`).
#[derive(Clone, Debug)]
pub struct Health {
    enabled: bool,
    gws: Vec<Gw>,
    /// Spreads rerouted traffic over the gateways still up.
    rr: usize,
}

impl Health {
    pub fn new(gateways: usize, enabled: bool) -> Health {
        Health {
            enabled,
            gws: vec![Gw::default(); gateways.max(1)],
            rr: 0,
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn is_down(&self, gw: usize) -> bool {
        self.gws.get(gw).is_some_and(|g| g.down)
    }

    /// Where to send a request assigned to gateway `home`, avoiding `avoid` (the gateway
    /// that just failed it) when another is up. Failover off: always `home`. With every
    /// gateway down: `home` (the attempt fails and is retried after a backoff).
    pub fn route(&mut self, home: usize, avoid: Option<usize>) -> usize {
        let n = self.gws.len();
        let home = home % n;
        if !self.enabled {
            return home;
        }
        if !self.gws[home].down && avoid != Some(home) {
            return home;
        }
        let up: Vec<usize> = (1..=n)
            .map(|k| (home + k) % n)
            .filter(|g| !self.gws[*g].down)
            .collect();
        let other: Vec<usize> = up.iter().copied().filter(|g| Some(*g) != avoid).collect();
        let pick = if other.is_empty() { &up } else { &other };
        if pick.is_empty() {
            return home;
        }
        self.rr = self.rr.wrapping_add(1);
        pick[self.rr % pick.len()]
    }

    /// Records an attempt of a request assigned to `home` that was sent to `sent`, its
    /// answer arriving at `now_ms`.
    pub fn record(&mut self, home: usize, sent: usize, a: Attempt, now_ms: u64) {
        let n = self.gws.len();
        let (home, sent) = (home % n, sent % n);
        match a {
            Attempt::Transport => {
                let enabled = self.enabled;
                let g = &mut self.gws[sent];
                let o = g.open.get_or_insert_with(|| Outage {
                    first_failure_ms: now_ms,
                    last_failure_ms: now_ms,
                    ..Outage::default()
                });
                o.last_failure_ms = o.last_failure_ms.max(now_ms);
                o.failed_requests += 1;
                if enabled && !g.down {
                    g.down = true;
                    g.marked_down += 1;
                    g.backoff_ms = CHECK_BACKOFF_MS;
                    g.check_due_ms = now_ms + CHECK_BACKOFF_MS;
                }
            }
            Attempt::Answered { ok } => {
                let enabled = self.enabled;
                let g = &mut self.gws[sent];
                if !enabled && g.open.is_some() {
                    // Failover off: the gateway is back when it answers again.
                    Self::rejoin(g, now_ms);
                }
                if g.outages()
                    .last()
                    .is_some_and(|o| o.rejoined_at_ms.is_some())
                {
                    g.after_rejoin += 1;
                }
                if ok && sent != home {
                    let h = &mut self.gws[home];
                    if let Some(o) = h.open.as_mut()
                        && now_ms >= o.first_failure_ms
                    {
                        h.rerouted += 1;
                        o.rerouted_requests += 1;
                        o.failover_ms.get_or_insert(now_ms - o.first_failure_ms);
                    }
                }
            }
        }
    }

    fn rejoin(g: &mut Gw, now_ms: u64) {
        if let Some(mut o) = g.open.take() {
            o.rejoined_at_ms = Some(now_ms);
            g.closed.push(o);
        }
        g.down = false;
        g.checking = false;
        g.after_rejoin = 0;
    }

    /// Down gateways whose health check is due now; each is marked as being checked
    /// until [`Health::checked`] reports it.
    pub fn due_checks(&mut self, now_ms: u64) -> Vec<usize> {
        let mut due = Vec::new();
        for (i, g) in self.gws.iter_mut().enumerate() {
            if g.down && !g.checking && now_ms >= g.check_due_ms {
                g.checking = true;
                due.push(i);
            }
        }
        due
    }

    /// A health check's result: passed → the gateway rejoins and takes traffic again;
    /// failed → checked again after a doubled backoff.
    pub fn checked(&mut self, gw: usize, passed: bool, now_ms: u64) {
        let Some(g) = self.gws.get_mut(gw) else {
            return;
        };
        if !g.down {
            return;
        }
        if passed {
            Self::rejoin(g, now_ms);
        } else {
            g.checking = false;
            g.checks_failed += 1;
            g.backoff_ms = (g.backoff_ms * 2).clamp(CHECK_BACKOFF_MS, CHECK_BACKOFF_MAX_MS);
            g.check_due_ms = now_ms + g.backoff_ms;
        }
    }

    /// The record as evidence; `urls[i]` names gateway `i`.
    pub fn evidence(&self, urls: &[String], load_started_unix_ms: i64) -> FailoverEvidence {
        let gateways = self
            .gws
            .iter()
            .enumerate()
            .map(|(i, g)| {
                let outages: Vec<Outage> = g.outages().cloned().collect();
                let first = outages.iter().map(|o| o.first_failure_ms).min();
                let last = outages.iter().map(|o| o.last_failure_ms).max();
                GatewayFailover {
                    index: i,
                    url: urls.get(i).cloned().unwrap_or_default(),
                    name: None,
                    first_failure_ms: first,
                    last_failure_ms: last,
                    error_window_ms: outages
                        .iter()
                        .map(|o| o.last_failure_ms - o.first_failure_ms)
                        .max(),
                    failed_requests: outages.iter().map(|o| o.failed_requests).sum(),
                    failover_ms: outages.iter().filter_map(|o| o.failover_ms).max(),
                    rerouted_requests: g.rerouted,
                    marked_down: g.marked_down,
                    health_checks_failed: g.checks_failed,
                    rejoined_at_ms: outages.last().and_then(|o| o.rejoined_at_ms),
                    requests_after_rejoin: g.after_rejoin,
                    down_at_end: g.down || g.open.is_some(),
                    outages,
                }
            })
            .collect();
        FailoverEvidence {
            enabled: self.enabled,
            load_started_unix_ms,
            gateways,
        }
    }
}

/// Runs the health checks of down gateways until `stop`: every [`CHECK_TICK`] the due
/// ones are checked with `check(gw)` (at most one check per gateway at a time) and the
/// result is reported at `clock()`. Bounded by `stop`, which the load sends when it ends.
pub async fn check_loop<F, Fut>(
    health: &Mutex<Health>,
    clock: impl Fn() -> u64,
    check: F,
    mut stop: tokio::sync::watch::Receiver<bool>,
) where
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    loop {
        if *stop.borrow() {
            break;
        }
        let due = lock(health).due_checks(clock());
        let checks = due.into_iter().map(|gw| {
            let f = check(gw);
            async move { (gw, f.await) }
        });
        for (gw, passed) in futures::future::join_all(checks).await {
            lock(health).checked(gw, passed, clock());
        }
        tokio::select! {
            _ = tokio::time::sleep(CHECK_TICK) => {}
            _ = stop.changed() => {}
        }
    }
}
