//! The rig's self-check: a sampler task measuring how late a 10 ms timer fires on the
//! harness's runtime (scheduling lag, HDR), the harness process's CPU (/proc/self/stat)
//! and the whole machine's CPU (/proc/stat). A run whose rig saturated is reported
//! invalid — the caller passes the thresholds — rather than judged red.

use crate::evidence::{Latency, SelfCheck};
use hdrhistogram::Histogram;
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

pub const TICK: Duration = Duration::from_millis(10);
/// The sampler stops by itself after this long (every loop is bounded).
const MAX_RUN: Duration = Duration::from_secs(24 * 3600);

/// When a run counts as invalid.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// p99 of the timer's overshoot, in ms.
    pub max_scheduling_lag_p99_ms: f64,
    /// Whole-machine CPU utilisation, 0..=1.
    pub max_machine_cpu_utilisation: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            max_scheduling_lag_p99_ms: 50.0,
            max_machine_cpu_utilisation: 0.98,
        }
    }
}

impl From<&crate::scenario::thresholds::SelfCheckThresholds> for Thresholds {
    /// The limits of the thresholds file's `[self_check]` table.
    fn from(t: &crate::scenario::thresholds::SelfCheckThresholds) -> Self {
        Thresholds {
            max_scheduling_lag_p99_ms: t.scheduling_lag_p99_ms_max,
            max_machine_cpu_utilisation: t.machine_cpu_utilisation_max,
        }
    }
}

pub struct SelfCheckSampler {
    lag: Arc<Mutex<Histogram<u64>>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
    started: Instant,
    cpu0: Option<f64>,
    machine0: Option<MachineCpu>,
}

impl SelfCheckSampler {
    /// Starts sampling on the current runtime.
    pub fn start() -> SelfCheckSampler {
        // Invariant: constant, valid bounds (1 µs ..= 60 s, 3 significant digits).
        let hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
            .expect("constant histogram bounds are valid");
        let lag = Arc::new(Mutex::new(hist));
        let (stop, mut stopped) = watch::channel(false);
        let lag2 = lag.clone();
        let task = tokio::spawn(async move {
            let end = Instant::now() + MAX_RUN;
            while Instant::now() < end {
                let target = tokio::time::Instant::now() + TICK;
                tokio::select! {
                    _ = tokio::time::sleep_until(target) => {}
                    _ = stopped.wait_for(|s| *s) => break,
                }
                let late = tokio::time::Instant::now().saturating_duration_since(target);
                lag2.lock()
                    .saturating_record(late.as_micros().max(1) as u64);
            }
        });
        SelfCheckSampler {
            lag,
            stop,
            task,
            started: Instant::now(),
            cpu0: process_cpu_seconds(),
            machine0: MachineCpu::read(),
        }
    }

    /// The figures so far (not judged).
    pub fn snapshot(&self) -> SelfCheck {
        let h = self.lag.lock();
        let ms = |us: u64| us as f64 / 1000.0;
        let wall = self.started.elapsed().as_secs_f64().max(1e-3);
        let cpu = match (self.cpu0, process_cpu_seconds()) {
            (Some(a), Some(b)) => (b - a) / wall,
            _ => 0.0,
        };
        let machine = match (&self.machine0, MachineCpu::read()) {
            (Some(a), Some(b)) => b.utilisation_since(a),
            _ => 0.0,
        };
        SelfCheck {
            scheduling_lag: Latency {
                count: h.len(),
                p50_ms: ms(h.value_at_quantile(0.50)),
                p99_ms: ms(h.value_at_quantile(0.99)),
                max_ms: ms(h.max()),
            },
            cpu_share: cpu,
            machine_cpu_utilisation: machine,
            invalid: false,
            invalid_reason: None,
        }
    }

    /// Stops sampling and judges the figures against `t`.
    pub async fn finish(self, t: &Thresholds) -> SelfCheck {
        let _ = self.stop.send(true);
        let mut s = self.snapshot();
        let _ = self.task.await;
        judge(&mut s, t);
        s
    }
}

/// Sets `invalid` and the reason (naming the numbers) when a threshold is exceeded.
pub fn judge(s: &mut SelfCheck, t: &Thresholds) {
    let mut reasons = Vec::new();
    if s.scheduling_lag.p99_ms > t.max_scheduling_lag_p99_ms {
        reasons.push(format!(
            "the harness's scheduling lag p99 was {:.1} ms (limit {:.1} ms)",
            s.scheduling_lag.p99_ms, t.max_scheduling_lag_p99_ms
        ));
    }
    if s.machine_cpu_utilisation > t.max_machine_cpu_utilisation {
        reasons.push(format!(
            "the machine's CPU was {:.0}% busy (limit {:.0}%)",
            s.machine_cpu_utilisation * 100.0,
            t.max_machine_cpu_utilisation * 100.0
        ));
    }
    s.invalid = !reasons.is_empty();
    s.invalid_reason =
        (!reasons.is_empty()).then(|| format!("the rig saturated: {}", reasons.join("; ")));
}

/// CPU seconds (user + system) of this process so far.
fn process_cpu_seconds() -> Option<f64> {
    cpu_seconds_of(std::process::id())
}

/// CPU seconds (user + system) process `pid` has used so far.
pub fn cpu_seconds_of(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may contain spaces) start at `state`.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = f.get(11)?.parse().ok()?;
    let stime: f64 = f.get(12)?.parse().ok()?;
    Some((utime + stime) / clock_ticks_per_sec())
}

/// The unit of `/proc`'s CPU times (USER_HZ).
fn clock_ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64
}

/// The aggregate `cpu` line of /proc/stat, in ticks (busy: all but idle and iowait).
pub struct MachineCpu {
    busy: u64,
    total: u64,
}

impl MachineCpu {
    pub fn read() -> Option<MachineCpu> {
        let stat = std::fs::read_to_string("/proc/stat").ok()?;
        let line = stat.lines().find(|l| l.starts_with("cpu "))?;
        let v: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is inside user).
        let total: u64 = v.iter().take(8).sum();
        let idle = v.get(3).copied().unwrap_or(0) + v.get(4).copied().unwrap_or(0);
        Some(MachineCpu {
            busy: total.saturating_sub(idle),
            total,
        })
    }

    /// CPU seconds the machine was busy since `earlier` (all CPUs together).
    pub fn busy_seconds_since(&self, earlier: &MachineCpu) -> f64 {
        self.busy.saturating_sub(earlier.busy) as f64 / clock_ticks_per_sec()
    }

    /// The share of all CPUs' time busy since `earlier` (0..=1).
    pub fn utilisation_since(&self, earlier: &MachineCpu) -> f64 {
        let dt = self.total.saturating_sub(earlier.total);
        if dt == 0 {
            return 0.0;
        }
        self.busy.saturating_sub(earlier.busy) as f64 / dt as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn samples_lag_and_cpu_and_flags_a_saturated_rig() {
        let s = SelfCheckSampler::start();
        // Burn CPU on the runtime for a while, blocking the timer task: lag shows up.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let spin = Instant::now();
        while spin.elapsed() < Duration::from_millis(120) {
            std::hint::black_box(0u64);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let strict = Thresholds {
            max_scheduling_lag_p99_ms: 0.0,
            max_machine_cpu_utilisation: 2.0,
        };
        let r = s.finish(&strict).await;
        assert!(r.scheduling_lag.count >= 3, "{r:?}");
        assert!(
            r.scheduling_lag.max_ms >= 50.0,
            "the blocked tick is seen late: {r:?}"
        );
        assert!(r.cpu_share > 0.0, "{r:?}");
        assert!((0.0..=1.0).contains(&r.machine_cpu_utilisation), "{r:?}");
        assert!(r.invalid, "{r:?}");
        assert!(
            r.invalid_reason
                .as_deref()
                .unwrap_or("")
                .contains("scheduling lag p99"),
            "{r:?}"
        );

        let mut ok = r.clone();
        judge(
            &mut ok,
            &Thresholds {
                max_scheduling_lag_p99_ms: 1e9,
                max_machine_cpu_utilisation: 2.0,
            },
        );
        assert!(!ok.invalid && ok.invalid_reason.is_none());
    }
}
