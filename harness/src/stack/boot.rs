//! The boot sequence: plan → backend → (provisioning ∥ certificates ∥ AZ proxies) →
//! component configs → every child started in parallel, each put behind its AZ proxy and
//! polled on `/readyz` through it. Any failure drops what was started (children die).

use super::children::{ChildSpec, Children, Started};
use super::config::{self, Common};
use super::proxy::AzProxy;
use super::{Backend, Component, Stack, StackError, StackSpec, plan, provision};
use ingest::aws::AwsConfig;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const READY_POLL: Duration = Duration::from_millis(20);

/// One component to start: where it lives and how to run it.
struct Planned {
    kind: &'static str,
    az: Option<String>,
    child: ChildSpec,
}

pub(super) async fn boot(spec: &StackSpec) -> Result<Stack, StackError> {
    let t0 = Instant::now();
    validate(spec)?;
    let plan = plan::capacity_plan(spec)?;
    tracing::info!(%plan, "capacity plan");
    let logs = spec.run_dir.join("logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| StackError::io(format!("creating {}", logs.display()), e))?;
    let exe = match &spec.exe {
        Some(p) => p.clone(),
        None => std::env::current_exe().map_err(|e| StackError::io("locating gameday", e))?,
    };

    let (emulator, endpoint) = match &spec.backend {
        Backend::Embedded => {
            let emu = mocks::Emulator::start(
                mocks::EmulatorConfig::default(),
                SocketAddr::from(([127, 0, 0, 1], 0)),
            )
            .await
            .map_err(|e| StackError::io("starting the embedded backend", e))?;
            let ep = emu.endpoint();
            (Some(emu), ep)
        }
        Backend::Endpoint(url) => (None, url.clone()),
    };
    let backend_addr = resolve(&endpoint).await?;
    let aws = AwsConfig::local(endpoint.clone());

    let (empty_bucket, empty_queue) = (
        format!("{}-empty", spec.bucket),
        format!("{}-empty", spec.queue),
    );
    let provisioning = async {
        let (shards, ()) = tokio::try_join!(
            provision::stream(&aws, &spec.stream, plan.shards),
            provision::storage(&aws, &spec.bucket, &spec.queue),
        )?;
        if !spec.knobs.query_sees_data {
            provision::storage(&aws, &empty_bucket, &empty_queue).await?;
        }
        Ok::<_, StackError>(shards)
    };
    let proxies = futures::future::try_join_all(spec.azs.iter().map(|az| async move {
        AzProxy::start(az, backend_addr)
            .await
            .map(|p| (az.clone(), p))
            .map_err(|e| StackError::io(format!("starting the proxy of AZ {az}"), e))
    }));
    let certs = ingest::certs::generate(&["localhost", "127.0.0.1"])?;
    let (cert_file, key_file) = certs.write_to(&spec.run_dir)?;
    let (shards, proxies) = tokio::try_join!(provisioning, proxies)?;
    let proxies: BTreeMap<String, AzProxy> = proxies.into_iter().collect();
    // Each component's own egress route, so a partition can cut one of them alone.
    for (i, az) in spec.azs.iter().enumerate() {
        let p = &proxies[az];
        let mut names = vec![format!("gateway-{az}"), format!("delivery-{az}")];
        if i == 0 {
            names.push("query".into());
        }
        for name in names {
            p.add_route(&super::proxy::egress_route(&name), backend_addr)
                .await
                .map_err(|e| StackError::io(format!("egress route of {name}"), e))?;
        }
    }
    tracing::debug!(ms = t0.elapsed().as_millis() as u64, "backend provisioned");

    let signing_secret = config::random_secret()?;
    let common = Common {
        tenants: &spec.tenants,
        knobs: &spec.knobs,
        cert_file: &cert_file,
        key_file: &key_file,
        signing_secret: &signing_secret,
        stream: &spec.stream,
        bucket: &spec.bucket,
        queue: &spec.queue,
        region: aws.region.as_str(),
        access_key_id: "test",
        secret_access_key: "test",
        delivery_buffer_interval_ms: spec.delivery_buffer_interval_ms,
        gateways: spec.azs.len(),
    };
    let planned = plan_components(
        spec,
        &common,
        &proxies,
        &exe,
        &logs,
        (&empty_bucket, &empty_queue),
    )?;

    let client = http_client(&certs.ca_pem)?;
    let children = Children::new()?;
    let timeout = Duration::from_millis(spec.ready_timeout_ms);
    let started = futures::future::try_join_all(planned.into_iter().map(|p| {
        let (children, proxies, client) = (&children, &proxies, &client);
        async move {
            let name = p.child.name.clone();
            let r = start_one(
                children,
                proxies,
                client,
                &p.child,
                p.az.as_deref(),
                timeout,
            )
            .await?;
            Ok::<_, StackError>((p.kind, name, p.az, r))
        }
    }))
    .await?;

    let mut stack = Stack {
        gateways: Vec::new(),
        delivery: Vec::new(),
        query: Component {
            name: "query".into(),
            az: spec.azs.first().cloned(),
            url: String::new(),
        },
        missing: Vec::new(),
        ca_pem: certs.ca_pem.clone(),
        aws,
        bucket: spec.bucket.clone(),
        stream: spec.stream.clone(),
        queue: spec.queue.clone(),
        shards,
        plan,
        run_dir: spec.run_dir.clone(),
        boot_ms: 0,
        tenants: spec.tenants.clone(),
        // The component configs leave these at the gateway's defaults.
        audience: ingest::gateway::config::AuthConfig::default().audience,
        allowlist: ingest::gateway::config::HygieneConfig::default().allowlist,
        spec: spec.clone(),
        children,
        proxies,
        emulator,
        client,
    };
    for (kind, name, az, r) in started {
        match r {
            Ok(url) => {
                let c = Component { name, az, url };
                match kind {
                    "gateway" => stack.gateways.push(c),
                    "delivery" => stack.delivery.push(c),
                    _ => stack.query = c,
                }
            }
            Err(reason) => {
                tracing::warn!(component = %name, "{reason}: booting without it");
                stack.missing.push(format!("{name}: {reason}"));
            }
        }
    }
    stack.boot_ms = t0.elapsed().as_millis() as u64;
    tracing::info!(
        boot_ms = stack.boot_ms,
        components = stack.components().len(),
        shards = stack.shards.len(),
        "stack ready"
    );
    Ok(stack)
}

fn validate(spec: &StackSpec) -> Result<(), StackError> {
    if spec.azs.is_empty() {
        return Err(StackError::Spec("at least one AZ is needed".into()));
    }
    let mut seen = std::collections::BTreeSet::new();
    for az in &spec.azs {
        if az.is_empty()
            || !az.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            || !seen.insert(az)
        {
            return Err(StackError::Spec(format!(
                "AZ names must be unique, non-empty, letters, digits and '-': {:?}",
                spec.azs
            )));
        }
    }
    if spec.knobs.gateway_ack_then_drop && !cfg!(feature = "failpoints") {
        return Err(StackError::Spec(
            "gateway_ack_then_drop needs a gameday built with `--features failpoints`".into(),
        ));
    }
    Ok(())
}

/// Writes every component's config and decides how to start it.
fn plan_components(
    spec: &StackSpec,
    common: &Common<'_>,
    proxies: &BTreeMap<String, AzProxy>,
    exe: &std::path::Path,
    logs: &std::path::Path,
    empty: (&str, &str),
) -> Result<Vec<Planned>, StackError> {
    let egress = |az: &str, name: &str| {
        proxies
            .get(az)
            .and_then(|p| p.listen_addr(&super::proxy::egress_route(name)))
            .map(|a| format!("http://{a}"))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut add = |kind: &'static str, name: String, az: Option<&str>, value: serde_json::Value| {
        let path = config::write(&spec.run_dir, &name, &value)?;
        let mut args: Vec<std::ffi::OsString> =
            vec!["component".into(), kind.into(), "--config".into()];
        args.push(path.into_os_string());
        args.extend(["--listen".into(), "127.0.0.1:0".into()]);
        if let Some(az) = az
            && kind != "query"
        {
            args.extend(["--az".into(), az.into()]);
        }
        let mut env = vec![("AWS_EC2_METADATA_DISABLED".to_string(), "true".to_string())];
        if kind == "gateway" && spec.knobs.gateway_ack_then_drop {
            env.push((
                "FAILPOINTS".into(),
                format!(
                    "gateway::ack_then_drop={}",
                    spec.knobs.gateway_ack_then_drop_action
                ),
            ));
        }
        out.push(Planned {
            kind,
            az: az.map(str::to_string),
            child: ChildSpec {
                log: logs.join(format!("{name}.log")),
                name,
                exe: exe.to_path_buf(),
                args,
                env,
                nice: if kind == "delivery" {
                    spec.delivery_nice
                } else {
                    0
                },
            },
        });
        Ok::<_, StackError>(())
    };
    for az in &spec.azs {
        let name = format!("gateway-{az}");
        add(
            "gateway",
            name.clone(),
            Some(az),
            common.gateway(&name, &egress(az, &name)),
        )?;
    }
    for az in &spec.azs {
        let name = format!("delivery-{az}");
        add(
            "delivery",
            name.clone(),
            Some(az),
            common.delivery(az, &egress(az, &name)),
        )?;
    }
    let query_az = &spec.azs[0];
    let (bucket, queue) = if spec.knobs.query_sees_data {
        (spec.bucket.as_str(), spec.queue.as_str())
    } else {
        empty
    };
    add(
        "query",
        "query".into(),
        Some(query_az),
        common.query(&egress(query_az, "query"), bucket, queue),
    )?;
    Ok(out)
}

/// Starts one child, routes it through its AZ proxy, waits for `/readyz` through the
/// proxy. `Ok(Err(reason))`: the component does not exist in this build.
async fn start_one(
    children: &Children,
    proxies: &BTreeMap<String, AzProxy>,
    client: &reqwest::Client,
    child: &ChildSpec,
    az: Option<&str>,
    timeout: Duration,
) -> Result<Result<String, String>, StackError> {
    let t0 = Instant::now();
    let started = children.start(child.clone(), timeout).await?;
    let url = match started {
        Started::Missing { reason } => return Ok(Err(reason)),
        Started::Ready { url, .. } => url,
    };
    let proxy = az.and_then(|az| proxies.get(az));
    let proxied = match proxy {
        Some(p) => route(p, &child.name, &url).await?,
        None => url,
    };
    wait_ready(
        client,
        &child.name,
        &proxied,
        timeout.saturating_sub(t0.elapsed()),
    )
    .await?;
    tracing::debug!(component = %child.name, url = %proxied, ms = t0.elapsed().as_millis() as u64, "ready");
    Ok(Ok(proxied))
}

/// Adds (or retargets) the component's route; returns its URL through the proxy.
async fn route(proxy: &AzProxy, name: &str, direct: &str) -> Result<String, StackError> {
    let (scheme, addr) = split_url(direct)?;
    let listen = match proxy.listen_addr(name) {
        Some(listen) => {
            proxy.retarget(name, addr);
            listen
        }
        None => proxy
            .add_route(name, addr)
            .await
            .map_err(|e| StackError::io(format!("proxy route for {name}"), e))?,
    };
    Ok(format!("{scheme}://{listen}"))
}

fn split_url(url: &str) -> Result<(String, SocketAddr), StackError> {
    let bad = || StackError::Spec(format!("a component printed an unusable URL: {url:?}"));
    let parsed = reqwest::Url::parse(url).map_err(|_| bad())?;
    let addr = parsed
        .socket_addrs(|| None)
        .ok()
        .and_then(|a| a.into_iter().next())
        .ok_or_else(bad)?;
    Ok((parsed.scheme().to_string(), addr))
}

async fn wait_ready(
    client: &reqwest::Client,
    name: &str,
    url: &str,
    timeout: Duration,
) -> Result<(), StackError> {
    let t0 = Instant::now();
    // Bounded by `timeout` (each probe also times out).
    loop {
        let r = client
            .get(format!("{url}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await;
        let last = match r {
            Ok(r) if r.status().is_success() => return Ok(()),
            Ok(r) => format!("HTTP {}", r.status()),
            Err(e) => format!("{e:#}"),
        };
        if t0.elapsed() >= timeout {
            return Err(StackError::NotReady {
                name: name.to_string(),
                url: url.to_string(),
                waited_ms: t0.elapsed().as_millis() as u64,
                last,
            });
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// The backend's socket address (what the egress proxies forward to).
async fn resolve(endpoint: &str) -> Result<SocketAddr, StackError> {
    let bad = |why: String| StackError::Spec(format!("backend endpoint {endpoint:?}: {why}"));
    let url = reqwest::Url::parse(endpoint).map_err(|e| bad(e.to_string()))?;
    if url.scheme() != "http" {
        return Err(bad(
            "only http:// endpoints can run behind the AZ proxies (LocalStack, the emulator)"
                .into(),
        ));
    }
    let host = url.host_str().ok_or_else(|| bad("no host".into()))?;
    let port = url.port_or_known_default().unwrap_or(80);
    tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| bad(e.to_string()))?
        .next()
        .ok_or_else(|| bad("resolves to no address".into()))
}

/// HTTP/1.1 keep-alive client trusting only the stack's CA.
fn http_client(ca_pem: &str) -> Result<reqwest::Client, StackError> {
    let ca = reqwest::Certificate::from_pem(ca_pem.as_bytes())
        .map_err(|e| StackError::Spec(format!("the generated CA does not parse: {e}")))?;
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(ca)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| StackError::Spec(format!("building the HTTP client: {e}")))
}

/// Restarts a component (SIGKILL, start again, same proxy address, wait ready).
pub(super) async fn restart(stack: &Stack, name: &str) -> Result<(), StackError> {
    let timeout = Duration::from_millis(stack.spec.ready_timeout_ms);
    let component = stack
        .component(name)
        .ok_or_else(|| StackError::Spec(format!("no component named {name}")))?;
    let url = match stack.children.restart(name, timeout).await? {
        Started::Ready { url, .. } => url,
        Started::Missing { reason } => return Err(StackError::Spec(reason)),
    };
    let proxied = match component.az.as_deref().and_then(|az| stack.proxies.get(az)) {
        Some(p) => route(p, name, &url).await?,
        None => url,
    };
    wait_ready(&stack.client, name, &proxied, timeout).await?;
    tracing::info!(name, "component restarted");
    Ok(())
}
