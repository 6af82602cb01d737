//! `gameday doctor`: checks the machine a run needs — cores, memory, the open-file limit,
//! loopback ports, free disk, a backend endpoint if one is given, and what LocalStack in a
//! container and the report's browser test would need — and says what to fix. Each check
//! is a pure judgement of a reading (tested) plus the reading itself.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct DoctorArgs {
    /// A running backend to check (LocalStack, `gameday emulate`, …): it must accept a TCP
    /// connection and answer HTTP within 3 s.
    #[arg(long)]
    pub endpoint: Option<String>,
}

/// How a check came out: `Fail` makes the exit code 1; `Warn` runs but may be red or
/// invalid; `Info` is for optional parts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Ok,
    Info,
    Warn,
    Fail,
}

#[derive(Debug, PartialEq)]
pub struct Finding {
    pub level: Level,
    pub what: &'static str,
    pub said: String,
}

fn finding(level: Level, what: &'static str, said: impl Into<String>) -> Finding {
    Finding {
        level,
        what,
        said: said.into(),
    }
}

const GIB: u64 = 1 << 30;

pub fn cores(n: usize) -> Finding {
    match n {
        0 | 1 => finding(
            Level::Warn,
            "cores",
            format!(
                "{n}: the thresholds assume 2 cores shared by every component; expect red or \
                 invalid runs (give the machine or container 2 cores)"
            ),
        ),
        n => finding(Level::Ok, "cores", format!("{n}")),
    }
}

pub fn memory(available: Option<u64>) -> Finding {
    match available {
        None => finding(
            Level::Info,
            "memory",
            "MemAvailable not readable (not Linux?)",
        ),
        Some(b) if b < 3 * GIB => finding(
            Level::Warn,
            "memory",
            format!(
                "{:.1} GiB available: `scenario gameday` peaks near 2 GiB in the harness plus \
                 the components; close other work or add memory",
                b as f64 / GIB as f64
            ),
        ),
        Some(b) => finding(
            Level::Ok,
            "memory",
            format!("{:.1} GiB available", b as f64 / GIB as f64),
        ),
    }
}

pub fn open_files(soft: u64, hard: u64) -> Finding {
    if soft >= 4_096 {
        return finding(Level::Ok, "open files", format!("{soft} (hard {hard})"));
    }
    finding(
        Level::Warn,
        "open files",
        format!(
            "soft limit {soft} (hard {hard}): gateways, proxies and clients hold hundreds of \
             sockets at 5×; raise it with `ulimit -n {}`",
            hard.clamp(4_096, 65_536)
        ),
    )
}

pub fn disk(free: Option<u64>) -> Finding {
    match free {
        None => finding(Level::Info, "disk", "free space not readable"),
        Some(b) if b < 10 * GIB => finding(
            Level::Warn,
            "disk",
            format!(
                "{:.1} GiB free here: a debug and a release build take ~10 GiB each, and every \
                 run keeps its logs under .gameday/runs",
                b as f64 / GIB as f64
            ),
        ),
        Some(b) => finding(
            Level::Ok,
            "disk",
            format!("{:.0} GiB free", b as f64 / GIB as f64),
        ),
    }
}

/// The stack binds every component, proxy and the embedded backend to 127.0.0.1 on
/// OS-picked ports; `gameday emulate` listens on 4566 by default.
pub fn loopback() -> Vec<Finding> {
    let mut out = Vec::new();
    match TcpListener::bind("127.0.0.1:0") {
        Ok(_) => out.push(finding(Level::Ok, "loopback", "127.0.0.1 binds")),
        Err(e) => out.push(finding(
            Level::Fail,
            "loopback",
            format!("cannot bind 127.0.0.1: {e}; every component listens there"),
        )),
    }
    match TcpListener::bind("127.0.0.1:4566") {
        Ok(_) => out.push(finding(
            Level::Ok,
            "port 4566",
            "free for `gameday emulate`",
        )),
        Err(_) => out.push(finding(
            Level::Info,
            "port 4566",
            "in use (LocalStack or an emulator?): `gameday emulate --port N` picks another; \
             scenarios do not need it",
        )),
    }
    out
}

/// A backend endpoint answers HTTP: TCP connect, then any HTTP status line.
pub fn endpoint(url: &str) -> Finding {
    let Some(addr) = socket_of(url) else {
        return finding(
            Level::Fail,
            "endpoint",
            format!("{url}: not an http://host:port URL"),
        );
    };
    let timeout = Duration::from_secs(3);
    let mut stream = match TcpStream::connect_timeout(&addr, timeout) {
        Ok(s) => s,
        Err(e) => {
            return finding(
                Level::Fail,
                "endpoint",
                format!("{url}: {e} — is the backend running and listening there?"),
            );
        }
    };
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(timeout));
    let request = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let mut head = [0u8; 12];
    let answered = stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head.starts_with(b"HTTP/1.");
    if answered {
        finding(Level::Ok, "endpoint", format!("{url} answers HTTP"))
    } else {
        finding(
            Level::Fail,
            "endpoint",
            format!("{url}: accepts connections but gave no HTTP answer within 3 s"),
        )
    }
}

fn socket_of(url: &str) -> Option<SocketAddr> {
    let rest = url.strip_prefix("http://")?;
    let host_port = rest.split('/').next()?;
    use std::net::ToSocketAddrs;
    host_port.to_socket_addrs().ok()?.next()
}

/// LocalStack in a container needs Docker and (from 2026) an auth token; host mode
/// (`../shared/tools/localstack-host.sh`) needs neither.
pub fn localstack(docker_on_path: bool, docker_socket: bool, token: bool) -> Finding {
    let said = match (docker_on_path && docker_socket, token) {
        (true, true) => return finding(Level::Ok, "localstack", "Docker and a token"),
        (true, false) => "Docker found, LOCALSTACK_AUTH_TOKEN unset",
        (false, true) => "LOCALSTACK_AUTH_TOKEN set, no Docker engine",
        (false, false) => "no Docker engine, LOCALSTACK_AUTH_TOKEN unset",
    };
    finding(
        Level::Info,
        "localstack",
        format!(
            "{said}: only LocalStack in a container needs them; attach to a running one \
             with a scenario's `[stack] endpoint`"
        ),
    )
}

pub fn browser(found: Option<String>) -> Finding {
    match found {
        Some(p) => finding(Level::Ok, "browser", format!("{p} (report.html's test)")),
        None => finding(
            Level::Info,
            "browser",
            "no chromium: the report.html browser test skips (set GAMEDAY_CHROMIUM or \
             install Debian's chromium)",
        ),
    }
}

fn on_path(name: &str) -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .map(|p| p.display().to_string())
}

fn mem_available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("MemAvailable:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kb * 1024)
}

fn nofile() -> (u64, u64) {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) } != 0 {
        return (0, 0);
    }
    (r.rlim_cur, r.rlim_max)
}

fn free_disk(dir: &Path) -> Option<u64> {
    let c = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes()).ok()?;
    // SAFETY: statvfs writes into the zeroed struct we own; the path is NUL-terminated.
    let mut s: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut s) } != 0 {
        return None;
    }
    Some(s.f_bavail as u64 * s.f_frsize as u64)
}

/// Every check on this machine, in the order they print.
pub fn check(args: &DoctorArgs) -> Vec<Finding> {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (soft, hard) = nofile();
    let mut out = vec![
        cores(cpus),
        memory(mem_available()),
        open_files(soft, hard),
        disk(free_disk(Path::new("."))),
    ];
    out.extend(loopback());
    if let Some(url) = &args.endpoint {
        out.push(endpoint(url));
    }
    out.push(localstack(
        on_path("docker").is_some(),
        Path::new("/var/run/docker.sock").exists(),
        std::env::var_os("LOCALSTACK_AUTH_TOKEN").is_some_and(|t| !t.is_empty()),
    ));
    out.push(browser(
        crate::report::chromium().map(|p| p.display().to_string()),
    ));
    out
}

pub fn run(args: DoctorArgs) -> anyhow::Result<ExitCode> {
    let findings = check(&args);
    for f in &findings {
        let tag = match f.level {
            Level::Ok => "ok  ",
            Level::Info => "info",
            Level::Warn => "WARN",
            Level::Fail => "FAIL",
        };
        println!("{tag} {:<11} {}", f.what, f.said);
    }
    let failed = findings.iter().filter(|f| f.level == Level::Fail).count();
    let warned = findings.iter().filter(|f| f.level == Level::Warn).count();
    println!(
        "{}",
        match (failed, warned) {
            (0, 0) => "ready: `cargo run -- scenario burst` should run here".to_string(),
            (0, w) => format!("runs here, with {w} warning(s) above"),
            (f, _) => format!("{f} problem(s) above to fix before a run"),
        }
    );
    Ok(if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_judged_with_the_fix_named() {
        assert_eq!(cores(1).level, Level::Warn);
        assert_eq!(cores(2).level, Level::Ok);
        let m = memory(Some(2 * GIB));
        assert_eq!(m.level, Level::Warn);
        assert!(m.said.starts_with("2.0 GiB available"), "{}", m.said);
        assert_eq!(memory(Some(8 * GIB)).level, Level::Ok);
        let f = open_files(1_024, 1_048_576);
        assert_eq!(f.level, Level::Warn);
        assert!(f.said.contains("ulimit -n 65536"), "{}", f.said);
        assert_eq!(open_files(65_536, 65_536).level, Level::Ok);
        assert_eq!(disk(Some(3 * GIB)).level, Level::Warn);
        assert_eq!(localstack(true, true, true).level, Level::Ok);
        let l = localstack(false, false, false);
        assert_eq!(l.level, Level::Info);
        assert!(
            l.said
                .contains("no Docker engine, LOCALSTACK_AUTH_TOKEN unset")
        );
    }

    #[test]
    fn an_endpoint_is_checked_for_an_http_answer() {
        // Nothing listens: refused, named.
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let f = endpoint(&url);
        assert_eq!(f.level, Level::Fail);
        assert!(f.said.starts_with(&url), "{}", f.said);
        // Something answers HTTP: ok.
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            s.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                .unwrap();
        });
        assert_eq!(endpoint(&url).level, Level::Ok);
        server.join().unwrap();
        assert_eq!(endpoint("localhost:4566").level, Level::Fail);
    }
}
