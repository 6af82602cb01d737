//! The per-AZ in-process TCP proxy: one listener per component of the AZ (the address
//! producers and the harness use) and one egress listener the AZ's components use as their
//! AWS endpoint, so losing an AZ really cuts its workers off from Kinesis and S3 too.
//! `cut()` resets every live connection and refuses new ones (RST) until `restore()`;
//! a component restarted on a new port keeps its proxy address (`retarget`). Everything
//! is counted per route.

use parking_lot::Mutex;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Counters of one route (listener → target).
#[derive(Default)]
struct RouteCounters {
    connections: AtomicU64,
    refused_while_cut: AtomicU64,
    dropped_by_cut: AtomicU64,
    dial_errors: AtomicU64,
    bytes_in: AtomicU64,
    bytes_out: AtomicU64,
}

/// A snapshot of one route's counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteStats {
    pub listen: Option<SocketAddr>,
    pub target: Option<SocketAddr>,
    /// Connections carried through to the target.
    pub connections: u64,
    /// Connections reset at accept because the AZ was cut.
    pub refused_while_cut: u64,
    /// Live connections reset by `cut()`.
    pub dropped_by_cut: u64,
    /// Connections whose target could not be reached (component down).
    pub dial_errors: u64,
    /// Bytes client → target and back, counted when a connection ends normally.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

struct Route {
    listen: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    counters: Arc<RouteCounters>,
    task: JoinHandle<()>,
}

/// The proxy of one AZ.
pub struct AzProxy {
    pub az: String,
    cut: watch::Sender<bool>,
    cuts: AtomicU64,
    routes: Mutex<BTreeMap<String, Route>>,
}

/// Name of the egress route (components of the AZ → AWS backend).
pub const EGRESS: &str = "egress";

impl AzProxy {
    /// A proxy for `az` whose egress listener forwards to the backend at `backend`.
    pub async fn start(az: &str, backend: SocketAddr) -> std::io::Result<AzProxy> {
        let (cut, _) = watch::channel(false);
        let proxy = AzProxy {
            az: az.to_string(),
            cut,
            cuts: AtomicU64::new(0),
            routes: Mutex::new(BTreeMap::new()),
        };
        proxy.add_route(EGRESS, backend).await?;
        Ok(proxy)
    }

    /// Where the AZ's components send their AWS calls (`http://<this>`).
    pub fn egress_addr(&self) -> SocketAddr {
        self.listen_addr(EGRESS)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    /// Opens a listener on 127.0.0.1:0 forwarding to `target`; returns its address.
    pub async fn add_route(&self, name: &str, target: SocketAddr) -> std::io::Result<SocketAddr> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let listen = listener.local_addr()?;
        let target_cell = Arc::new(Mutex::new(target));
        let counters = Arc::new(RouteCounters::default());
        let task = tokio::spawn(accept_loop(
            listener,
            target_cell.clone(),
            counters.clone(),
            self.cut.subscribe(),
        ));
        let old = self.routes.lock().insert(
            name.to_string(),
            Route {
                listen,
                target: target_cell,
                counters,
                task,
            },
        );
        if let Some(old) = old {
            old.task.abort();
        }
        Ok(listen)
    }

    /// Points an existing route at a new target (a restarted component); the listen
    /// address stays. Returns false when there is no such route.
    pub fn retarget(&self, name: &str, target: SocketAddr) -> bool {
        match self.routes.lock().get(name) {
            Some(r) => {
                *r.target.lock() = target;
                true
            }
            None => false,
        }
    }

    pub fn listen_addr(&self, name: &str) -> Option<SocketAddr> {
        self.routes.lock().get(name).map(|r| r.listen)
    }

    /// Loses the AZ: resets every live connection of every route, refuses new ones.
    pub fn cut(&self) {
        if !self.cut.send_replace(true) {
            self.cuts.fetch_add(1, Relaxed);
        }
    }

    /// Brings the AZ back.
    pub fn restore(&self) {
        self.cut.send_replace(false);
    }

    pub fn is_cut(&self) -> bool {
        *self.cut.borrow()
    }

    /// How many times the AZ was cut.
    pub fn cuts(&self) -> u64 {
        self.cuts.load(Relaxed)
    }

    pub fn stats(&self) -> BTreeMap<String, RouteStats> {
        self.routes
            .lock()
            .iter()
            .map(|(name, r)| {
                let c = &r.counters;
                let s = RouteStats {
                    listen: Some(r.listen),
                    target: Some(*r.target.lock()),
                    connections: c.connections.load(Relaxed),
                    refused_while_cut: c.refused_while_cut.load(Relaxed),
                    dropped_by_cut: c.dropped_by_cut.load(Relaxed),
                    dial_errors: c.dial_errors.load(Relaxed),
                    bytes_in: c.bytes_in.load(Relaxed),
                    bytes_out: c.bytes_out.load(Relaxed),
                };
                (name.clone(), s)
            })
            .collect()
    }

    /// The counters in Prometheus text form (`gameday_proxy_*{az,route}`), for scrape().
    pub fn metrics(&self) -> BTreeMap<String, f64> {
        let mut out = BTreeMap::new();
        let az = &self.az;
        out.insert(
            format!("gameday_proxy_cuts_total{{az=\"{az}\"}}"),
            self.cuts() as f64,
        );
        out.insert(
            format!("gameday_proxy_cut{{az=\"{az}\"}}"),
            if self.is_cut() { 1.0 } else { 0.0 },
        );
        for (route, s) in self.stats() {
            let l = format!("{{az=\"{az}\",route=\"{route}\"}}");
            for (name, v) in [
                ("connections_total", s.connections),
                ("refused_while_cut_total", s.refused_while_cut),
                ("dropped_by_cut_total", s.dropped_by_cut),
                ("dial_errors_total", s.dial_errors),
                ("bytes_in_total", s.bytes_in),
                ("bytes_out_total", s.bytes_out),
            ] {
                out.insert(format!("gameday_proxy_{name}{l}"), v as f64);
            }
        }
        out
    }
}

impl Drop for AzProxy {
    fn drop(&mut self) {
        // Live connections end too: they watch the cut flag, and the sender goes away.
        self.cut.send_replace(true);
        for r in self.routes.lock().values() {
            r.task.abort();
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<Mutex<SocketAddr>>,
    counters: Arc<RouteCounters>,
    cut: watch::Receiver<bool>,
) {
    loop {
        let (client, _) = match listener.accept().await {
            Ok(c) => c,
            // Out of file descriptors and the like: back off instead of spinning.
            Err(_) => {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        if *cut.borrow() {
            counters.refused_while_cut.fetch_add(1, Relaxed);
            reset(client);
            continue;
        }
        let to = *target.lock();
        tokio::spawn(carry(client, to, counters.clone(), cut.clone()));
    }
}

async fn carry(
    mut client: TcpStream,
    to: SocketAddr,
    counters: Arc<RouteCounters>,
    mut cut: watch::Receiver<bool>,
) {
    let _ = client.set_nodelay(true);
    let mut server = match TcpStream::connect(to).await {
        Ok(s) => s,
        Err(_) => {
            counters.dial_errors.fetch_add(1, Relaxed);
            reset(client);
            return;
        }
    };
    let _ = server.set_nodelay(true);
    counters.connections.fetch_add(1, Relaxed);
    let done = tokio::select! {
        r = tokio::io::copy_bidirectional(&mut client, &mut server) => r.ok(),
        // An error means the proxy was dropped: end the connection as a cut would.
        _ = cut.wait_for(|c| *c) => None,
    };
    match done {
        Some((up, down)) => {
            counters.bytes_in.fetch_add(up, Relaxed);
            counters.bytes_out.fetch_add(down, Relaxed);
        }
        None => {
            counters.dropped_by_cut.fetch_add(1, Relaxed);
            reset(client);
            reset(server);
        }
    }
}

/// Closes with RST (zero linger): the peer sees "connection reset", as when a network
/// path disappears under a load balancer, not an orderly close.
fn reset(stream: TcpStream) {
    let _ = stream.set_zero_linger();
    drop(stream);
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let (mut r, mut w) = s.split();
                    let _ = tokio::io::copy(&mut r, &mut w).await;
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut buf = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut buf))
            .await
            .map_err(|_| std::io::Error::other("timeout"))??;
        Ok(buf.to_vec())
    }

    #[tokio::test]
    async fn cut_resets_live_and_refuses_new_connections_until_restored() {
        let backend = echo_server().await;
        let component = echo_server().await;
        let p = AzProxy::start("a", backend).await.unwrap();
        let front = p.add_route("gateway-a", component).await.unwrap();
        assert_eq!(round_trip(front).await.unwrap(), b"ping");
        assert_eq!(round_trip(p.egress_addr()).await.unwrap(), b"ping");

        // A live connection through the proxy dies when the AZ is cut.
        let mut live = TcpStream::connect(front).await.unwrap();
        live.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        live.read_exact(&mut buf).await.unwrap();
        p.cut();
        let mut rest = Vec::new();
        let r = tokio::time::timeout(Duration::from_secs(5), live.read_to_end(&mut rest))
            .await
            .expect("a cut connection ends");
        assert!(r.is_err() || rest.is_empty(), "{r:?}");
        assert!(round_trip(front).await.is_err());
        assert!(round_trip(p.egress_addr()).await.is_err());

        p.restore();
        assert_eq!(round_trip(front).await.unwrap(), b"ping");
        let s = &p.stats()["gateway-a"];
        assert_eq!(s.dropped_by_cut, 1);
        assert_eq!(s.refused_while_cut, 1);
        assert!(s.connections >= 3);
        assert_eq!(p.cuts(), 1);
        assert_eq!(
            p.metrics()["gameday_proxy_refused_while_cut_total{az=\"a\",route=\"egress\"}"],
            1.0
        );
    }

    #[tokio::test]
    async fn a_retargeted_route_keeps_its_address() {
        let old = echo_server().await;
        let p = AzProxy::start("b", old).await.unwrap();
        let front = p.add_route("gateway-b", old).await.unwrap();
        // The component "restarts" elsewhere: the old port is gone.
        let dead = {
            let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
            l.local_addr().unwrap()
        };
        assert!(p.retarget("gateway-b", dead));
        assert!(round_trip(front).await.is_err());
        assert_eq!(p.stats()["gateway-b"].dial_errors, 1);
        assert!(p.retarget("gateway-b", echo_server().await));
        assert_eq!(round_trip(front).await.unwrap(), b"ping");
        assert!(!p.retarget("nope", old));
    }
}
