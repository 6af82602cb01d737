//! The per-AZ in-process TCP proxy: one listener per component of the AZ (the address
//! producers and the harness use) and one egress listener the AZ's components use as their
//! AWS endpoint, so losing an AZ really cuts its workers off from Kinesis and S3 too.
//! Each component has its own egress route (`egress-<name>`), so one component can be
//! partitioned from the backend alone. A link is open, reset or blackholed: `cut()`
//! resets every live connection and refuses new ones (RST) until `restore()`;
//! `blackhole()` keeps connections open but carries nothing (the peer sees timeouts, as
//! when a network path silently drops packets), and so does `set_route(name, Blackhole)`
//! for one route (a network partition). A component restarted on a new port keeps its
//! proxy address (`retarget`). Everything is counted per route.

use parking_lot::Mutex;
use serde::Serialize;
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
    blackholed: AtomicU64,
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
    /// Connections (live or new) held without carrying anything while blackholed.
    pub blackholed: u64,
    /// Connections whose target could not be reached (component down).
    pub dial_errors: u64,
    /// Bytes client → target and back, counted when a connection ends normally.
    pub bytes_in: u64,
    pub bytes_out: u64,
}

/// The state of a link (an AZ's, or one route's).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    Open,
    /// Connections refused and reset (RST): "connection refused/reset".
    Reset,
    /// Connections accepted and held, nothing carried: timeouts.
    Blackhole,
}

/// The worse of an AZ's and a route's link.
fn effective(az: Link, route: Link) -> Link {
    match (az, route) {
        (Link::Reset, _) | (_, Link::Reset) => Link::Reset,
        (Link::Blackhole, _) | (_, Link::Blackhole) => Link::Blackhole,
        _ => Link::Open,
    }
}

struct Route {
    listen: SocketAddr,
    target: Arc<Mutex<SocketAddr>>,
    counters: Arc<RouteCounters>,
    link: watch::Sender<Link>,
    task: JoinHandle<()>,
}

/// The proxy of one AZ.
pub struct AzProxy {
    pub az: String,
    link: watch::Sender<Link>,
    cuts: AtomicU64,
    routes: Mutex<BTreeMap<String, Route>>,
}

/// Name of the shared egress route (components of the AZ → AWS backend); each
/// component's own egress route is `egress-<name>` (`egress_route`).
pub const EGRESS: &str = "egress";

/// The egress route of one component.
pub fn egress_route(component: &str) -> String {
    format!("{EGRESS}-{component}")
}

impl AzProxy {
    /// A proxy for `az` whose egress listener forwards to the backend at `backend`.
    pub async fn start(az: &str, backend: SocketAddr) -> std::io::Result<AzProxy> {
        let (link, _) = watch::channel(Link::Open);
        let proxy = AzProxy {
            az: az.to_string(),
            link,
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
        let (link, _) = watch::channel(Link::Open);
        let task = tokio::spawn(accept_loop(
            listener,
            target_cell.clone(),
            counters.clone(),
            Links {
                az: self.link.subscribe(),
                route: link.subscribe(),
            },
        ));
        let old = self.routes.lock().insert(
            name.to_string(),
            Route {
                listen,
                target: target_cell,
                counters,
                link,
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
        if self.link.send_replace(Link::Reset) == Link::Open {
            self.cuts.fetch_add(1, Relaxed);
        }
    }

    /// Loses the AZ silently: every route holds its connections and carries nothing.
    pub fn blackhole(&self) {
        if self.link.send_replace(Link::Blackhole) == Link::Open {
            self.cuts.fetch_add(1, Relaxed);
        }
    }

    /// Brings the AZ back (routes set on their own stay as they are).
    pub fn restore(&self) {
        self.link.send_replace(Link::Open);
    }

    pub fn is_cut(&self) -> bool {
        *self.link.borrow() != Link::Open
    }

    pub fn az_link(&self) -> Link {
        *self.link.borrow()
    }

    /// Sets one route's link (a network partition of one component); false when there
    /// is no such route.
    pub fn set_route(&self, name: &str, link: Link) -> bool {
        match self.routes.lock().get(name) {
            Some(r) => {
                r.link.send_replace(link);
                true
            }
            None => false,
        }
    }

    pub fn route_link(&self, name: &str) -> Option<Link> {
        self.routes.lock().get(name).map(|r| *r.link.borrow())
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
                    blackholed: c.blackholed.load(Relaxed),
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
                ("blackholed_total", s.blackholed),
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
        // Live connections end too: they watch the link, and the sender goes away.
        self.link.send_replace(Link::Reset);
        for r in self.routes.lock().values() {
            r.task.abort();
        }
    }
}

/// The two links a connection obeys: its AZ's and its route's.
#[derive(Clone)]
struct Links {
    az: watch::Receiver<Link>,
    route: watch::Receiver<Link>,
}

impl Links {
    fn now(&self) -> Link {
        effective(*self.az.borrow(), *self.route.borrow())
    }

    /// Waits until the effective link satisfies `pred`; returns it (Reset when the proxy
    /// went away).
    async fn wait_for(&mut self, pred: impl Fn(Link) -> bool) -> Link {
        loop {
            let now = self.now();
            if pred(now) {
                return now;
            }
            let changed = tokio::select! {
                r = self.az.changed() => r,
                r = self.route.changed() => r,
            };
            if changed.is_err() {
                return Link::Reset;
            }
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    target: Arc<Mutex<SocketAddr>>,
    counters: Arc<RouteCounters>,
    links: Links,
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
        match links.now() {
            Link::Reset => {
                counters.refused_while_cut.fetch_add(1, Relaxed);
                reset(client);
            }
            Link::Blackhole => {
                counters.blackholed.fetch_add(1, Relaxed);
                tokio::spawn(hold(client, None, links.clone()));
            }
            Link::Open => {
                let to = *target.lock();
                tokio::spawn(carry(client, to, counters.clone(), links.clone()));
            }
        }
    }
}

/// Holds a blackholed connection, carrying nothing, until the link opens or resets; then
/// resets it (a connection that lived through a blackhole is dead to both ends).
async fn hold(client: TcpStream, server: Option<TcpStream>, mut links: Links) {
    links.wait_for(|l| l != Link::Blackhole).await;
    reset(client);
    if let Some(s) = server {
        reset(s);
    }
}

async fn carry(
    mut client: TcpStream,
    to: SocketAddr,
    counters: Arc<RouteCounters>,
    mut links: Links,
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
        // Reset when the proxy was dropped: end the connection as a cut would.
        _ = links.wait_for(|l| l != Link::Open) => None,
    };
    match done {
        Some((up, down)) => {
            counters.bytes_in.fetch_add(up, Relaxed);
            counters.bytes_out.fetch_add(down, Relaxed);
        }
        None if links.now() == Link::Blackhole => {
            counters.blackholed.fetch_add(1, Relaxed);
            hold(client, Some(server), links).await;
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

    #[tokio::test]
    async fn a_blackhole_carries_nothing_and_a_partition_is_one_route() {
        let backend = echo_server().await;
        let component = echo_server().await;
        let p = AzProxy::start("a", backend).await.unwrap();
        let front = p.add_route("gateway-a", component).await.unwrap();
        let own_egress = p
            .add_route(&egress_route("delivery-a"), backend)
            .await
            .unwrap();

        // The AZ blackholed: a new connection is accepted but never answered (a timeout,
        // not a refusal), and a live one stops carrying.
        let mut live = TcpStream::connect(front).await.unwrap();
        p.blackhole();
        assert!(p.is_cut());
        live.write_all(b"ping").await.unwrap();
        let mut buf = [0u8; 4];
        let silent =
            tokio::time::timeout(Duration::from_millis(300), live.read_exact(&mut buf)).await;
        assert!(
            silent.is_err(),
            "a blackholed connection carries nothing: {silent:?}"
        );
        let mut fresh = TcpStream::connect(front)
            .await
            .expect("accepted while blackholed");
        fresh.write_all(b"ping").await.unwrap();
        let silent =
            tokio::time::timeout(Duration::from_millis(300), fresh.read_exact(&mut buf)).await;
        assert!(silent.is_err(), "{silent:?}");
        p.restore();
        assert_eq!(round_trip(front).await.unwrap(), b"ping");
        assert!(p.stats()["gateway-a"].blackholed >= 2);

        // One route partitioned: only that component's egress is silent.
        assert!(p.set_route(&egress_route("delivery-a"), Link::Blackhole));
        let mut s = TcpStream::connect(own_egress).await.unwrap();
        s.write_all(b"ping").await.unwrap();
        let silent = tokio::time::timeout(Duration::from_millis(300), s.read_exact(&mut buf)).await;
        assert!(silent.is_err(), "{silent:?}");
        assert_eq!(round_trip(front).await.unwrap(), b"ping");
        assert_eq!(round_trip(p.egress_addr()).await.unwrap(), b"ping");
        assert!(p.set_route(&egress_route("delivery-a"), Link::Open));
        assert_eq!(round_trip(own_egress).await.unwrap(), b"ping");
        assert!(!p.set_route("nope", Link::Open));
    }
}
