//! Component child processes: `gameday component <kind> --config <run_dir>/<name>.toml
//! --listen 127.0.0.1:0 [--az <az>]`, each in its own process group, logging stdout and
//! stderr to `<run_dir>/logs/<name>.log`, ready when it prints `READY <url>`.
//!
//! They die with the harness whatever way it ends: `PR_SET_PDEATHSIG(SIGKILL)` set in
//! `pre_exec` (the kernel kills them when the spawning thread dies, so spawning happens
//! on one dedicated thread that lives exactly as long as [`Children`]), SIGKILL when
//! dropped (panic, early return), and an orderly SIGINT-then-SIGKILL in `shutdown`.

use super::StackError;
use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;

/// How to start one component (kept, so it can be restarted the same way).
#[derive(Clone, Debug)]
pub struct ChildSpec {
    /// Instance name: `gateway-a`, `delivery-b`, `query`.
    pub name: String,
    pub exe: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub log: PathBuf,
    /// Scheduling niceness set before exec (0: unchanged); every thread inherits it.
    pub nice: i32,
}

/// What happened when a child was started.
pub enum Started {
    /// Printed `READY <url>`.
    Ready { url: String, pid: u32 },
    /// This binary does not have the component (clap: unrecognized subcommand).
    Missing { reason: String },
}

struct Proc {
    spec: ChildSpec,
    child: Child,
    pid: u32,
}

type SpawnRequest = (Command, oneshot::Sender<std::io::Result<Child>>);

/// The running children, by name.
pub struct Children {
    spawner: std::sync::mpsc::Sender<SpawnRequest>,
    procs: Mutex<BTreeMap<String, Proc>>,
}

impl Children {
    pub fn new() -> Result<Children, StackError> {
        let (tx, rx) = std::sync::mpsc::channel::<SpawnRequest>();
        let handle = tokio::runtime::Handle::current();
        // The children's "parent" for PR_SET_PDEATHSIG is this thread: it must not end
        // before them (runtime blocking threads are reaped when idle). It ends when
        // `Children` is dropped, which is when the children must die anyway.
        std::thread::Builder::new()
            .name("gameday-spawner".into())
            .spawn(move || {
                let _guard = handle.enter();
                while let Ok((mut cmd, reply)) = rx.recv() {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .map_err(|e| StackError::io("starting the spawner thread", e))?;
        Ok(Children {
            spawner: tx,
            procs: Mutex::new(BTreeMap::new()),
        })
    }

    /// Starts `spec`, waits up to `timeout` for `READY <url>`.
    pub async fn start(&self, spec: ChildSpec, timeout: Duration) -> Result<Started, StackError> {
        let fail = |detail: String| StackError::Component {
            name: spec.name.clone(),
            detail,
            log: spec.log.display().to_string(),
            tail: log_tail(&spec.log, 20),
        };
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&spec.log)
            .map_err(|e| StackError::io(format!("opening {}", spec.log.display()), e))?;
        let stderr = log
            .try_clone()
            .map_err(|e| StackError::io(format!("opening {}", spec.log.display()), e))?;
        let mut cmd = Command::new(&spec.exe);
        cmd.args(&spec.args)
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .kill_on_drop(true)
            // Own process group: a terminal's Ctrl-C reaches the harness, which then
            // stops the children in order; signals to one child reach only it.
            .process_group(0);
        let parent = std::process::id() as libc::pid_t;
        let nice = spec.nice;
        // SAFETY: the closure runs in the forked child before exec and only calls
        // async-signal-safe functions (prctl, getppid, setpriority); it allocates only on
        // the error path, where the child is about to fail anyway.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // The harness died between fork and prctl: do not outlive it.
                if libc::getppid() != parent {
                    return Err(std::io::Error::other("the harness exited during spawn"));
                }
                // Before exec, so the runtime's threads all inherit it.
                if nice != 0 && libc::setpriority(libc::PRIO_PROCESS, 0, nice) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let (tx, rx) = oneshot::channel();
        self.spawner
            .send((cmd, tx))
            .map_err(|_| fail("the spawner thread is gone".into()))?;
        let mut child = rx
            .await
            .map_err(|_| fail("the spawner thread is gone".into()))?
            .map_err(|e| fail(format!("spawning {}: {e}", spec.exe.display())))?;
        let pid = child.id().unwrap_or(0);
        let Some(stdout) = child.stdout.take() else {
            return Err(fail("no stdout pipe".into()));
        };
        let (ready_tx, ready_rx) = oneshot::channel::<String>();
        tokio::spawn(copy_stdout(stdout, log, ready_tx));
        let ready = tokio::time::timeout(timeout, ready_rx).await;
        match ready {
            Ok(Ok(url)) => {
                self.procs
                    .lock()
                    .insert(spec.name.clone(), Proc { spec, child, pid });
                Ok(Started::Ready { url, pid })
            }
            Ok(Err(_)) => {
                // stdout closed before READY: the child exited (or is about to).
                let status = tokio::time::timeout(Duration::from_secs(5), child.wait()).await;
                let tail = log_tail(&spec.log, 20);
                if tail.contains("unrecognized subcommand") {
                    return Ok(Started::Missing {
                        reason: format!(
                            "`gameday component {}` does not exist in this build",
                            spec.args
                                .get(1)
                                .map(|a| a.to_string_lossy().into_owned())
                                .unwrap_or_default()
                        ),
                    });
                }
                let how = match status {
                    Ok(Ok(s)) => format!("exited ({s}) before printing READY"),
                    _ => "closed stdout before printing READY".to_string(),
                };
                Err(fail(how))
            }
            Err(_) => {
                let _ = child.start_kill();
                Err(fail(format!(
                    "no READY line within {} ms",
                    timeout.as_millis()
                )))
            }
        }
    }

    pub fn pid(&self, name: &str) -> Option<u32> {
        self.procs.lock().get(name).map(|p| p.pid)
    }

    /// Every child's pid, by name.
    pub fn pids(&self) -> BTreeMap<String, u32> {
        self.procs
            .lock()
            .iter()
            .map(|(n, p)| (n.clone(), p.pid))
            .collect()
    }

    /// Sends `signal` (e.g. `libc::SIGKILL`, `SIGSTOP`, `SIGCONT`) to the named child.
    pub fn signal(&self, name: &str, signal: i32) -> Result<(), StackError> {
        let pid = self
            .pid(name)
            .ok_or_else(|| StackError::Spec(format!("no component named {name}")))?;
        // SAFETY: kill(2) on a pid we spawned; a stale pid is reported as an error.
        if unsafe { libc::kill(pid as libc::pid_t, signal) } != 0 {
            return Err(StackError::io(
                format!("signal {signal} to {name} (pid {pid})"),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Whether the named child is still running (not exited; a stopped child counts).
    pub fn is_running(&self, name: &str) -> bool {
        self.procs
            .lock()
            .get_mut(name)
            .is_some_and(|p| matches!(p.child.try_wait(), Ok(None)))
    }

    /// Kills the named child (SIGKILL), waits for it, and starts it again the same way.
    pub async fn restart(&self, name: &str, timeout: Duration) -> Result<Started, StackError> {
        let proc = self.procs.lock().remove(name);
        let Some(mut proc) = proc else {
            return Err(StackError::Spec(format!("no component named {name}")));
        };
        let _ = proc.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(5), proc.child.wait()).await;
        self.start(proc.spec, timeout).await
    }

    /// SIGINT to every child (they drain), then SIGKILL to any still running after
    /// `grace`; waits for all of them.
    pub async fn shutdown(&self, grace: Duration) {
        let mut procs: Vec<Proc> = std::mem::take(&mut *self.procs.lock())
            .into_values()
            .collect();
        for p in &procs {
            // SAFETY: kill(2) on our own child; it may be gone already (ignored).
            unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGCONT) };
            unsafe { libc::kill(p.pid as libc::pid_t, libc::SIGINT) };
        }
        let waits = procs.iter_mut().map(|p| async {
            if tokio::time::timeout(grace, p.child.wait()).await.is_err() {
                let _ = p.child.start_kill();
                let _ = tokio::time::timeout(Duration::from_secs(5), p.child.wait()).await;
            }
        });
        futures::future::join_all(waits).await;
    }
}

/// Copies the child's stdout into its log, passing the `READY <url>` line on.
async fn copy_stdout(
    stdout: tokio::process::ChildStdout,
    mut log: std::fs::File,
    ready: oneshot::Sender<String>,
) {
    let mut ready = Some(ready);
    let mut lines = BufReader::new(stdout).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(url) = line.strip_prefix("READY ")
            && let Some(tx) = ready.take()
        {
            let _ = tx.send(url.trim().to_string());
        }
        let _ = writeln!(log, "{line}");
    }
}

/// The last `n` lines of a log file (for error messages).
pub fn log_tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(name: &str, dir: &Path, script: &str) -> ChildSpec {
        ChildSpec {
            name: name.into(),
            exe: "/bin/sh".into(),
            args: vec!["-c".into(), script.into()],
            env: vec![],
            nice: 0,
            log: dir.join(format!("{name}.log")),
        }
    }

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("gameday-children-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rsplit_once(')')
                .is_some_and(|(_, r)| !r.trim_start().starts_with('Z'))
        })
    }

    /// The niceness in a `/proc/<pid>/stat` line: field 19, the 17th after the command's
    /// closing parenthesis.
    fn nice_of(stat: &str) -> i32 {
        let (_, rest) = stat.rsplit_once(')').unwrap();
        rest.split_whitespace().nth(16).unwrap().parse().unwrap()
    }

    #[tokio::test]
    async fn a_niced_child_runs_every_thread_at_that_niceness() {
        let d = dir("nice");
        let c = Children::new().unwrap();
        // The shell and its background job (forked after exec) both carry the niceness;
        // threads inherit it the same way.
        let script = "sleep 30 & echo READY http://127.0.0.1:9; wait";
        let mut spec = sh("niced", &d, script);
        spec.nice = 7;
        let Started::Ready { pid, .. } = c.start(spec, Duration::from_secs(10)).await.unwrap()
        else {
            panic!("not ready")
        };
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        assert_eq!(nice_of(&stat), 7, "{stat}");
        let children =
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).unwrap_or_default();
        for child in children.split_whitespace() {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap();
            assert_eq!(nice_of(&stat), 7, "{stat}");
        }
        c.shutdown(Duration::from_millis(500)).await;
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn ready_children_are_signalled_restarted_and_stopped() {
        let d = dir("ready");
        let c = Children::new().unwrap();
        let script = "echo starting; echo READY http://127.0.0.1:9; exec sleep 30";
        let Started::Ready { url, pid } = c
            .start(sh("svc", &d, script), Duration::from_secs(10))
            .await
            .unwrap()
        else {
            panic!("not ready")
        };
        assert_eq!(url, "http://127.0.0.1:9");
        assert!(c.is_running("svc") && alive(pid));
        c.signal("svc", libc::SIGSTOP).unwrap();
        c.signal("svc", libc::SIGCONT).unwrap();
        let Started::Ready { pid: pid2, .. } =
            c.restart("svc", Duration::from_secs(10)).await.unwrap()
        else {
            panic!("not ready after restart")
        };
        assert_ne!(pid, pid2);
        assert!(!alive(pid));
        // The log holds both runs' stdout.
        let log = std::fs::read_to_string(d.join("svc.log")).unwrap();
        assert_eq!(log.matches("starting").count(), 2, "{log}");
        c.shutdown(Duration::from_millis(500)).await;
        assert!(!alive(pid2));
        assert!(c.signal("svc", libc::SIGKILL).is_err());
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn a_child_that_dies_before_ready_is_reported_with_its_log_tail() {
        let d = dir("dies");
        let c = Children::new().unwrap();
        let e = c
            .start(
                sh(
                    "bad",
                    &d,
                    "echo 'config: unknown field `surprise`' >&2; exit 2",
                ),
                Duration::from_secs(10),
            )
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("component bad failed to start"), "{e}");
        assert!(e.contains("exited"), "{e}");
        assert!(e.contains("unknown field `surprise`"), "{e}");

        let missing = c
            .start(
                sh(
                    "new",
                    &d,
                    "echo \"error: unrecognized subcommand 'query'\" >&2; exit 2",
                ),
                Duration::from_secs(10),
            )
            .await
            .unwrap();
        assert!(matches!(missing, Started::Missing { .. }));

        let e = c
            .start(sh("slow", &d, "exec sleep 30"), Duration::from_millis(200))
            .await
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("no READY line within 200 ms"), "{e}");
        assert!(c.pids().is_empty());
        let _ = std::fs::remove_dir_all(d);
    }

    #[tokio::test]
    async fn dropping_children_kills_them() {
        let d = dir("drop");
        let c = Children::new().unwrap();
        let Started::Ready { pid, .. } = c
            .start(
                sh("svc", &d, "echo READY http://127.0.0.1:9; exec sleep 30"),
                Duration::from_secs(10),
            )
            .await
            .unwrap()
        else {
            panic!("not ready")
        };
        drop(c);
        let t0 = std::time::Instant::now();
        while alive(pid) && t0.elapsed() < Duration::from_secs(10) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert!(!alive(pid), "a dropped child outlived its owner");
        let _ = std::fs::remove_dir_all(d);
    }
}
