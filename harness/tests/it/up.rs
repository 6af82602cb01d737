//! `gameday up` as a user drives it from a shell: it boots, prints how to connect and
//! writes .gameday/control.json; `gameday fault`, `gameday status` and `gameday stop`
//! find it from there and break it; Ctrl-C (SIGINT) or a SIGKILL of `up` leaves no
//! process behind.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_gameday");

struct Up {
    child: Child,
    /// The working directory (`.gameday/` lands here).
    dir: PathBuf,
    printed: Vec<String>,
}

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gameday-it-up-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

impl Up {
    async fn start(tag: &str, extra: &[&str]) -> Up {
        let dir = temp_dir(tag);
        let mut child = Command::new(BIN)
            .arg("up")
            .args(extra)
            .current_dir(&dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut printed = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let line = tokio::time::timeout_at(deadline.into(), out.next_line())
                .await
                .expect("`gameday up` is ready within 90 s")
                .unwrap()
                .unwrap_or_else(|| panic!("`gameday up` ended early: {printed:#?}"));
            let ready = line.starts_with("ready");
            printed.push(line);
            if ready {
                break;
            }
        }
        // Keep draining stdout so `up` never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = out.next_line().await {} });
        Up {
            child,
            dir,
            printed,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// Runs `gameday <args>` in `up`'s directory (so it finds .gameday/control.json).
    async fn gameday(&self, args: &[&str]) -> (i32, String, String) {
        let out = Command::new(BIN)
            .args(args)
            .current_dir(&self.dir)
            .output()
            .await
            .unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Every process whose parent is `pid`, and theirs.
fn descendants(pid: u32) -> Vec<u32> {
    let mut parents = vec![pid];
    let mut found = Vec::new();
    while let Some(p) = parents.pop() {
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let Some(child) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if ppid(child) == Some(p) && !found.contains(&child) {
                found.push(child);
                parents.push(child);
            }
        }
    }
    found
}

fn stat(pid: u32) -> Option<String> {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()
}

fn ppid(pid: u32) -> Option<u32> {
    let s = stat(pid)?;
    let (_, rest) = s.rsplit_once(')')?;
    rest.split_whitespace().nth(1)?.parse().ok()
}

fn alive(pid: u32) -> bool {
    stat(pid).is_some_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
    })
}

async fn gone_within(pids: &[u32], within: Duration) -> Vec<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn control_file(dir: &Path) -> PathBuf {
    dir.join(".gameday/control.json")
}

#[tokio::test]
async fn gameday_fault_and_status_break_a_running_up_and_ctrl_c_leaves_nothing() {
    let _heavy = crate::HEAVY.lock().await;
    let mut up = Up::start("fault", &["--azs", "a,b"]).await;
    let text = up.printed.join("\n");
    for needed in [
        "gateway-a  https://127.0.0.1:",
        "export GAMEDAY_CA=",
        "/token",
        "/v1/query",
        "export AWS_ENDPOINT_URL=http://127.0.0.1:",
        "export GAMEDAY_CONTROL=127.0.0.1:",
    ] {
        assert!(text.contains(needed), "`up` prints {needed:?}:\n{text}");
    }
    assert!(control_file(&up.dir).exists());
    let children = descendants(up.pid());
    assert!(
        children.len() >= 5,
        "2 gateways, 2 workers, query: {children:?}"
    );

    // A bad verb is refused before anything is sent, with the known verbs.
    let (code, _, err) = up.gameday(&["fault", "add", "gateway-explode"]).await;
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gateway-kill") && err.contains("shard-pause"),
        "{err}"
    );
    // A bad target is refused by the running stack, naming it.
    let (code, _, err) = up
        .gameday(&["fault", "add", "gateway-kill", "--target", "gateway-z"])
        .await;
    assert_ne!(code, 0);
    assert!(err.contains("gateway-z"), "{err}");

    let (code, out, err) = up
        .gameday(&["fault", "add", "gateway-kill", "--target", "gateway-b"])
        .await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("gateway-kill") && out.contains("active"),
        "{out}"
    );
    let (code, out, _) = up.gameday(&["fault", "ls"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("gateway-b") && out.contains("api"), "{out}");

    // The status sampler sees gateway-b down within a few seconds.
    let deadline = Instant::now() + Duration::from_secs(10);
    let snapshot = loop {
        let (code, out, err) = up.gameday(&["status", "--json"]).await;
        assert_eq!(code, 0, "{err}");
        let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
        if v["components"]["gateway-b"] == "down" || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert_eq!(snapshot["components"]["gateway-b"], "down", "{snapshot}");
    assert_eq!(snapshot["components"]["gateway-a"], "up", "{snapshot}");

    let (code, out, _) = up.gameday(&["fault", "clear", "--all"]).await;
    assert_eq!(code, 0);
    assert!(out.contains("ended"), "{out}");

    // Ctrl-C: `up` tears everything down and exits 0.
    unsafe { libc::kill(up.pid() as i32, libc::SIGINT) };
    let status = tokio::time::timeout(Duration::from_secs(40), up.child.wait())
        .await
        .expect("`up` ends within 40 s of Ctrl-C")
        .unwrap();
    assert!(status.success(), "{status}");
    let left = gone_within(&children, Duration::from_secs(5)).await;
    assert!(left.is_empty(), "processes left after Ctrl-C: {left:?}");
    assert!(
        !control_file(&up.dir).exists(),
        "the control file is withdrawn"
    );
    let (code, _, err) = up.gameday(&["fault", "ls"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("gameday up"), "says how to start one: {err}");
    let _ = std::fs::remove_dir_all(&up.dir);
}

#[tokio::test]
async fn a_sigkilled_up_leaves_no_process_and_a_stale_control_file_is_named() {
    let _heavy = crate::HEAVY.lock().await;
    let mut up = Up::start("kill", &["--azs", "a"]).await;
    let children = descendants(up.pid());
    assert!(children.len() >= 3, "gateway, worker, query: {children:?}");
    up.child.start_kill().unwrap();
    up.child.wait().await.unwrap();
    let left = gone_within(&children, Duration::from_secs(10)).await;
    assert!(
        left.is_empty(),
        "processes left after SIGKILL of `up`: {left:?}"
    );
    let (code, _, err) = up.gameday(&["status"]).await;
    assert_eq!(code, 2);
    assert!(err.contains("has ended"), "{err}");
    let _ = std::fs::remove_dir_all(&up.dir);
}
