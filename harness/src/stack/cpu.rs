//! CPU by process over a window (the load of a run): every component child by name, this
//! harness process (producers, canaries, the embedded backend and the AZ proxies), and
//! the whole machine. Read from `/proc`, so it costs nothing while the load runs.

use super::selfcheck::{MachineCpu, cpu_seconds_of};
use crate::evidence::LoadCpu;
use std::collections::BTreeMap;
use std::time::Instant;

/// The name this process's own CPU is reported under.
pub const HARNESS: &str = "harness";

/// CPU seconds of every process at one moment.
pub struct CpuMark {
    at: Instant,
    /// Name → (pid, CPU seconds then).
    procs: BTreeMap<String, (u32, f64)>,
    machine: Option<MachineCpu>,
}

impl CpuMark {
    /// Marks `pids` (component name → pid) and this process.
    pub fn take(pids: &BTreeMap<String, u32>) -> CpuMark {
        let mut procs = BTreeMap::new();
        for (name, pid) in with_self(pids) {
            if let Some(s) = cpu_seconds_of(pid) {
                procs.insert(name, (pid, s));
            }
        }
        CpuMark {
            at: Instant::now(),
            procs,
            machine: MachineCpu::read(),
        }
    }

    /// CPU seconds each process used since the mark. A component restarted in between (a
    /// new pid) counts its new process's CPU since it started; one gone is left out.
    pub fn since(&self, pids: &BTreeMap<String, u32>) -> LoadCpu {
        let mut cpu_seconds = BTreeMap::new();
        for (name, pid) in with_self(pids) {
            let Some(now) = cpu_seconds_of(pid) else {
                continue;
            };
            let then = match self.procs.get(&name) {
                Some((p, s)) if *p == pid => *s,
                _ => 0.0,
            };
            cpu_seconds.insert(name, (now - then).max(0.0));
        }
        let machine_busy_seconds = match (&self.machine, MachineCpu::read()) {
            (Some(a), Some(b)) => b.busy_seconds_since(a),
            _ => 0.0,
        };
        LoadCpu {
            secs: self.at.elapsed().as_secs_f64(),
            cpu_seconds,
            machine_busy_seconds,
        }
    }
}

fn with_self(pids: &BTreeMap<String, u32>) -> impl Iterator<Item = (String, u32)> + '_ {
    pids.iter()
        .map(|(n, p)| (n.clone(), *p))
        .chain(std::iter::once((HARNESS.to_string(), std::process::id())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_process_shows_its_cpu_and_the_machine_at_least_as_much() {
        let none = BTreeMap::new();
        let mark = CpuMark::take(&none);
        let me = std::process::id();
        let cpu0 = cpu_seconds_of(me).unwrap();
        // Burn 0.3 CPU seconds (however busy the machine is), bounded in wall time.
        let spin = Instant::now();
        let mut x = 0u64;
        while cpu_seconds_of(me).unwrap() - cpu0 < 0.3
            && spin.elapsed() < std::time::Duration::from_secs(20)
        {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        let cpu = mark.since(&none);
        let used = cpu.cpu_seconds[HARNESS];
        assert!(used >= 0.29, "harness CPU seconds {used} ({cpu:?})");
        // The machine's busy time includes this process's.
        assert!(cpu.machine_busy_seconds >= used - 0.05, "{cpu:?}");
    }

    #[test]
    fn a_restarted_component_counts_only_its_new_process() {
        let me = std::process::id();
        let spin = Instant::now();
        let mut x = 0u64;
        while cpu_seconds_of(me).unwrap() < 0.05 && spin.elapsed().as_secs() < 20 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
        }
        std::hint::black_box(x);
        let total = cpu_seconds_of(me).unwrap();
        // Marked under a pid that is not this process: read as a fresh start (from 0), so
        // this process's whole CPU counts, not the few ms since the mark.
        let mut then = BTreeMap::new();
        then.insert("gateway-a".to_string(), u32::MAX - 1);
        let mark = CpuMark::take(&then);
        let mut now = BTreeMap::new();
        now.insert("gateway-a".to_string(), me);
        let cpu = mark.since(&now);
        let used = cpu.cpu_seconds["gateway-a"];
        assert!(used >= total - 1e-9, "{used} < {total}: {cpu:?}");
    }
}
