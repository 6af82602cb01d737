//! The stack as a user of `gameday` sees it: `gameday stack-up` boots the embedded
//! backend and the components behind per-AZ proxies; AZ cuts, kills and restarts act on
//! real processes; nothing outlives the harness, not even a SIGKILLed one.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

const COMPONENTS: [&str; 7] = [
    "gateway-a",
    "gateway-b",
    "gateway-c",
    "delivery-a",
    "delivery-b",
    "delivery-c",
    "query",
];

/// A `gameday stack-up` child and its stdin/stdout command channel.
pub struct StackUp {
    child: Child,
    stdin: ChildStdin,
    out: Lines<BufReader<ChildStdout>>,
    pub info: Value,
    pub client: reqwest::Client,
    _dir: TempDir,
}

struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn temp_dir(tag: &str) -> TempDir {
    let d = std::env::temp_dir().join(format!("gameday-it-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    TempDir(d)
}

/// Starts `gameday stack-up` with `extra` args; returns it and its first line.
async fn spawn(
    tag: &str,
    extra: &[&str],
) -> (
    Child,
    ChildStdin,
    Lines<BufReader<ChildStdout>>,
    String,
    TempDir,
) {
    let dir = temp_dir(tag);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .arg("stack-up")
        .arg("--run-dir")
        .arg(&dir.0)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdin = child.stdin.take().unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = tokio::time::timeout(Duration::from_secs(60), out.next_line())
        .await
        .expect("stack-up answers within 60 s")
        .unwrap()
        .expect("stack-up printed a line");
    (child, stdin, out, first, dir)
}

impl StackUp {
    pub async fn boot(tag: &str) -> StackUp {
        Self::boot_with(tag, &[]).await
    }

    /// Boots with extra `stack-up` arguments (e.g. `--delivery-buffer-ms 5000`).
    pub async fn boot_with(tag: &str, extra: &[&str]) -> StackUp {
        let (child, stdin, out, first, dir) = spawn(tag, extra).await;
        let json = first
            .strip_prefix("STACK ")
            .unwrap_or_else(|| panic!("stack did not boot: {first}"));
        let info: Value = serde_json::from_str(json).unwrap();
        let ca = std::fs::read(info["ca_file"].as_str().unwrap()).unwrap();
        let client = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        StackUp {
            child,
            stdin,
            out,
            info,
            client,
            _dir: dir,
        }
    }

    pub async fn cmd(&mut self, line: &str) -> Result<Value, String> {
        self.stdin
            .write_all(format!("{line}\n").as_bytes())
            .await
            .unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(60), self.out.next_line())
            .await
            .expect("stack-up answers within 60 s")
            .unwrap()
            .expect("stack-up still running");
        if let Some(ok) = answer.strip_prefix("OK ") {
            Ok(serde_json::from_str(ok).unwrap())
        } else {
            Err(answer)
        }
    }

    pub fn url(&self, name: &str) -> String {
        self.info["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no component {name} in {}", self.info))["url"]
            .as_str()
            .unwrap()
            .to_string()
    }

    async fn healthz(&self, name: &str) -> Result<String, String> {
        let r = self
            .client
            .get(format!("{}/healthz", self.url(name)))
            .send()
            .await
            .map_err(|e| format!("{e:#}"))?;
        if !r.status().is_success() {
            return Err(format!("HTTP {}", r.status()));
        }
        r.text().await.map_err(|e| e.to_string())
    }

    fn pids(&self) -> Vec<u32> {
        self.info["pids"]
            .as_object()
            .unwrap()
            .values()
            .map(|p| p.as_u64().unwrap() as u32)
            .collect()
    }

    pub async fn quit(mut self) {
        self.stdin.write_all(b"quit\n").await.unwrap();
        let last = tokio::time::timeout(Duration::from_secs(30), self.out.next_line())
            .await
            .expect("stack-up stops within 30 s")
            .unwrap();
        assert_eq!(last.as_deref(), Some("STOPPED"));
        let status = self.child.wait().await.unwrap();
        assert!(status.success(), "{status}");
    }
}

/// Alive = /proc/<pid> exists and is not a zombie.
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')),
        Err(_) => false,
    }
}

async fn all_gone(pids: &[u32]) -> Vec<u32> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left: Vec<u32> = pids.iter().copied().filter(|p| alive(*p)).collect();
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn the_default_stack_boots_ready_behind_az_proxies_and_an_az_cut_is_reversible() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("boot").await;
    // Every component of the default shape is running, or reported missing by name.
    let running: Vec<String> = s.info["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect();
    let missing = s.info["missing"].to_string();
    for name in COMPONENTS {
        assert!(
            running.iter().any(|r| r == name) || missing.contains(&format!("\"{name}: ")),
            "{name} neither running nor reported missing: {}",
            s.info
        );
    }
    for gw in ["gateway-a", "gateway-b", "gateway-c"] {
        assert!(running.iter().any(|r| r == gw), "{}", s.info);
    }
    assert!(
        s.info["shards"].as_array().unwrap().len() as u64
            == s.info["plan"]["shards"].as_u64().unwrap()
    );
    assert!(s.info["boot_ms"].as_u64().is_some());
    println!("boot_ms = {}", s.info["boot_ms"]);

    // Gateways answer over TLS (trusting the stack's CA) through their AZ's proxy.
    for gw in ["gateway-a", "gateway-b", "gateway-c"] {
        assert!(s.url(gw).starts_with("https://127.0.0.1:"));
        assert_eq!(s.healthz(gw).await.as_deref(), Ok("ok"), "{gw}");
    }

    // Losing AZ a makes its gateway unreachable; the others still answer.
    s.cmd("cut a").await.unwrap();
    assert!(s.healthz("gateway-a").await.is_err());
    assert_eq!(s.healthz("gateway-b").await.as_deref(), Ok("ok"));
    s.cmd("restore a").await.unwrap();
    assert_eq!(s.healthz("gateway-a").await.as_deref(), Ok("ok"));

    // The proxies counted it; the gateways' own counters are scraped too.
    let m = s.cmd("scrape").await.unwrap();
    assert_eq!(m[r#"gameday_proxy_cuts_total{az="a"}"#], 1.0);
    // The client's pooled connection was reset by the cut, or a new one refused.
    let hit = |k: &str| m[k].as_f64().unwrap();
    assert!(
        hit(r#"gameday_proxy_refused_while_cut_total{az="a",route="gateway-a"}"#)
            + hit(r#"gameday_proxy_dropped_by_cut_total{az="a",route="gateway-a"}"#)
            >= 1.0
    );
    // Each gateway reaches Kinesis through its own egress route on its AZ's proxy, not
    // directly.
    for az in ["a", "b", "c"] {
        let egress =
            format!(r#"gameday_proxy_connections_total{{az="{az}",route="egress-gateway-{az}"}}"#);
        assert!(m[&egress].as_f64().unwrap_or(0.0) >= 1.0, "{egress}: {m}");
    }
    assert!(
        m.as_object()
            .unwrap()
            .keys()
            .any(|k| k.starts_with("gateway_")),
        "{m}"
    );
    assert!(s.cmd("cut z").await.unwrap_err().contains("no AZ named"));

    let pids = s.pids();
    assert_eq!(pids.len(), running.len());
    s.quit().await;
    assert_eq!(
        all_gone(&pids).await,
        Vec::<u32>::new(),
        "children left after shutdown"
    );
}

#[tokio::test]
async fn a_killed_gateway_is_down_until_restarted_at_the_same_url() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("restart").await;
    let url = s.url("gateway-b");
    s.cmd("kill gateway-b KILL").await.unwrap();
    let t0 = Instant::now();
    // Bounded: a SIGKILLed process is gone within moments.
    while s.cmd("running gateway-b").await.unwrap() == Value::Bool(true) {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "gateway-b survived SIGKILL"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(s.healthz("gateway-b").await.is_err());
    s.cmd("restart gateway-b").await.unwrap();
    assert_eq!(s.url("gateway-b"), url);
    assert_eq!(s.healthz("gateway-b").await.as_deref(), Ok("ok"));
    let pids = s.cmd("pids").await.unwrap();
    assert_ne!(
        pids["gateway-b"], s.info["pids"]["gateway-b"],
        "a new process"
    );
    s.quit().await;
}

#[tokio::test]
async fn ctrl_c_stops_the_stack_and_its_children() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("ctrlc").await;
    let pids = s.pids();
    let harness = s.child.id().unwrap() as i32;
    // SAFETY: signalling our own child process.
    assert_eq!(unsafe { libc::kill(harness, libc::SIGINT) }, 0);
    let last = tokio::time::timeout(Duration::from_secs(30), s.out.next_line())
        .await
        .expect("stack-up stops within 30 s")
        .unwrap();
    assert_eq!(last.as_deref(), Some("STOPPED"));
    assert!(s.child.wait().await.unwrap().success());
    assert_eq!(all_gone(&pids).await, Vec::<u32>::new());
}

#[tokio::test]
async fn a_stack_boots_on_an_already_running_backend() {
    let _heavy = crate::HEAVY.lock().await;
    let mut emu = Command::new(env!("CARGO_BIN_EXE_gameday"))
        .args(["emulate", "--port", "0", "--print-ready"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(emu.stdout.take().unwrap()).lines();
    let ready = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    let endpoint = ready.strip_prefix("READY ").unwrap().to_string();
    let (child, stdin, out, first, dir) =
        spawn("endpoint", &["--endpoint", &endpoint, "--azs", "a,b"]).await;
    let info: Value = serde_json::from_str(
        first
            .strip_prefix("STACK ")
            .unwrap_or_else(|| panic!("{first}")),
    )
    .unwrap();
    assert_eq!(info["backend"], endpoint.as_str());
    assert_eq!(info["azs"], serde_json::json!(["a", "b"]));
    let ca = std::fs::read(info["ca_file"].as_str().unwrap()).unwrap();
    let s = StackUp {
        child,
        stdin,
        out,
        client: reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
            .build()
            .unwrap(),
        info,
        _dir: dir,
    };
    assert_eq!(s.healthz("gateway-b").await.as_deref(), Ok("ok"));
    s.quit().await;
}

#[tokio::test]
async fn children_die_when_the_harness_is_sigkilled() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("sigkill").await;
    let pids = s.pids();
    assert!(pids.len() >= 3);
    assert!(pids.iter().all(|p| alive(*p)));
    s.child.start_kill().unwrap(); // SIGKILL: no destructor, no signal handler runs
    s.child.wait().await.unwrap();
    assert_eq!(
        all_gone(&pids).await,
        Vec::<u32>::new(),
        "children outlived a SIGKILLed harness"
    );
}

#[tokio::test]
async fn the_capacity_plan_refuses_an_oversized_load_naming_the_numbers() {
    let _heavy = crate::HEAVY.lock().await;
    let (mut child, _stdin, _out, first, _dir) = spawn("plan", &["--shards", "2"]).await;
    assert!(first.starts_with("ERR capacity plan refused"), "{first}");
    for figure in [
        "2 shards carry 2000 records/s",
        "80000 samples/s",
        "limit 70%",
    ] {
        assert!(first.contains(figure), "{figure} missing from: {first}");
    }
    let status = child.wait().await.unwrap();
    assert_eq!(status.code(), Some(1));
}

#[tokio::test]
async fn events_acked_by_a_gateway_are_committed_to_the_bucket_by_delivery() {
    let _heavy = crate::HEAVY.lock().await;
    let mut s = StackUp::boot("flow").await;
    for d in ["delivery-a", "delivery-b", "delivery-c"] {
        assert!(
            s.info["components"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["name"] == d),
            "{d} is not running (missing: {})",
            s.info["missing"]
        );
    }
    let run = format!("stack-it-{}", std::process::id());
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let sent: Vec<String> = (0..20).map(|i| format!("{run}-{i}")).collect();
    let events: Vec<Value> = sent
        .iter()
        .enumerate()
        .map(|(i, id)| {
            serde_json::json!({
                "event_id": id, "event_type": "match", "event_name": "end",
                "event_timestamp": now_ms, "app_version": "1.0", "event_data": {"score": i},
            })
        })
        .collect();
    let r = s
        .client
        .post(format!("{}/v1/events", s.url("gateway-b")))
        .header("x-api-key", "studio-a-api-key-0123456789abcdef")
        .json(&serde_json::json!({ "events": events }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["FailedRecordCount"], 0, "{body}");

    // Delivery (1 s buffer interval) commits them through its AZ's proxy; the harness's own
    // reader (lease heads → commit chains → Parquet) finds each acked event exactly once.
    let t0 = Instant::now();
    let stored = loop {
        let v = s.cmd(&format!("events {run}-")).await.unwrap();
        if v["rows"].as_u64().unwrap() >= sent.len() as u64
            || t0.elapsed() > Duration::from_secs(30)
        {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let expected: serde_json::Map<String, Value> =
        sent.iter().map(|id| (id.clone(), Value::from(1))).collect();
    assert_eq!(
        stored["ids"],
        Value::Object(expected),
        "every acked event committed exactly once (after {:?})",
        t0.elapsed()
    );
    assert_eq!(stored["rows"], 20, "{stored}");
    s.quit().await;
}
