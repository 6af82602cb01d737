//! HTTPS to the gateways (and the query service) as a producer does it: reqwest with
//! rustls trusting the stack's CA; per tenant either an API key or a client-credentials
//! JWT from `POST /token`, renewed before it expires. One call = one attempt; retries and
//! their pacing are the caller's (`open_model`).

use super::TenantCreds;
use bytes::Bytes;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// Renew a JWT when less than this share of its life is left.
const RENEW_AT_REMAINING: f64 = 0.2;

/// How a tenant's producers authenticate.
pub enum Cred {
    ApiKey(String),
    Jwt {
        client_id: String,
        client_secret: String,
        cached: Mutex<Option<(String, Instant)>>,
    },
}

/// One answer (or the lack of one).
#[derive(Clone, Debug)]
pub struct Answer {
    /// HTTP status; 0 = no answer (connect/reset/timeout).
    pub status: u16,
    /// When the response head arrived (TTFB is measured from the scheduled time to this).
    pub at: Instant,
    /// From `x-retry-after-ms` (sub-second) or `Retry-After` (seconds).
    pub retry_after: Option<Duration>,
    /// The gateway's reason code (`error` field) or `http_<status>` / `transport`.
    pub reason: String,
    pub body: Bytes,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
    /// Retrying can help: throttled, backpressure or no answer at all.
    pub fn retryable(&self) -> bool {
        matches!(self.status, 0 | 429 | 503)
    }
    /// The items may have been stored although no 2xx came back.
    pub fn ambiguous(&self) -> bool {
        self.status == 0 || self.status >= 500
    }
}

pub struct Client {
    pub http: reqwest::Client,
    pub gateways: Vec<String>,
    pub audience: String,
    pub creds: Vec<Cred>,
    /// Token fetches (renewals included) and their failures.
    pub tokens_fetched: std::sync::atomic::AtomicU64,
    pub token_failures: std::sync::atomic::AtomicU64,
}

pub fn http_client(ca_pem: Option<&str>, timeout: Duration) -> anyhow::Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .use_rustls_tls()
        .timeout(timeout)
        .connect_timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(256)
        .tcp_nodelay(true);
    if let Some(pem) = ca_pem {
        b = b.add_root_certificate(reqwest::Certificate::from_pem(pem.as_bytes())?);
    }
    Ok(b.build()?)
}

impl Client {
    pub fn new(
        gateways: Vec<String>,
        ca_pem: Option<&str>,
        audience: &str,
        tenants: &[TenantCreds],
    ) -> anyhow::Result<Arc<Client>> {
        let creds = tenants
            .iter()
            .enumerate()
            .map(|(i, t)| match (&t.client_id, &t.client_secret) {
                // Half the tenants (even index) use tokens when they have client credentials.
                (Some(id), Some(secret)) if i % 2 == 0 || t.api_key.is_empty() => Cred::Jwt {
                    client_id: id.clone(),
                    client_secret: secret.clone(),
                    cached: Mutex::new(None),
                },
                _ => Cred::ApiKey(t.api_key.clone()),
            })
            .collect();
        Ok(Arc::new(Client {
            http: http_client(ca_pem, Duration::from_secs(10))?,
            gateways,
            audience: audience.to_string(),
            creds,
            tokens_fetched: Default::default(),
            token_failures: Default::default(),
        }))
    }

    pub fn uses_jwt(&self, tenant: u8) -> bool {
        matches!(self.creds.get(tenant as usize), Some(Cred::Jwt { .. }))
    }

    /// The credential header of a tenant: `(name, value)`.
    pub async fn auth_header(
        &self,
        tenant: u8,
        gw: usize,
    ) -> Result<(&'static str, String), String> {
        match self.creds.get(tenant as usize) {
            None => Err("unknown_tenant".into()),
            Some(Cred::ApiKey(k)) => Ok(("x-api-key", k.clone())),
            Some(Cred::Jwt {
                client_id,
                client_secret,
                cached,
            }) => {
                let mut c = cached.lock().await;
                if let Some((tok, renew_at)) = c.as_ref()
                    && Instant::now() < *renew_at
                {
                    return Ok(("authorization", format!("Bearer {tok}")));
                }
                let (tok, ttl) = self.fetch_token(client_id, client_secret, gw).await?;
                let renew_at = Instant::now() + ttl.mul_f64(1.0 - RENEW_AT_REMAINING);
                *c = Some((tok.clone(), renew_at));
                Ok(("authorization", format!("Bearer {tok}")))
            }
        }
    }

    /// Client-credentials grant, trying each gateway once starting at `gw`.
    async fn fetch_token(
        &self,
        id: &str,
        secret: &str,
        gw: usize,
    ) -> Result<(String, Duration), String> {
        use std::sync::atomic::Ordering::Relaxed;
        let form = serde_urlencoded::to_string([
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("audience", self.audience.as_str()),
        ])
        .map_err(|e| e.to_string())?;
        let mut last = String::from("token_no_gateway");
        for k in 0..self.gateways.len() {
            let base = &self.gateways[(gw + k) % self.gateways.len()];
            let r = self
                .http
                .post(format!("{base}/token"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(form.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => {
                    let v: serde_json::Value = resp.json().await.map_err(|e| e.to_string())?;
                    let tok = v["access_token"].as_str().unwrap_or_default().to_string();
                    let ttl = v["expires_in"].as_u64().unwrap_or(60);
                    if tok.is_empty() {
                        last = "token_malformed".into();
                        continue;
                    }
                    self.tokens_fetched.fetch_add(1, Relaxed);
                    return Ok((tok, Duration::from_secs(ttl.max(1))));
                }
                Ok(resp) => last = format!("token_http_{}", resp.status().as_u16()),
                Err(_) => last = "token_transport".into(),
            }
        }
        self.token_failures.fetch_add(1, Relaxed);
        Err(last)
    }

    /// A load balancer's health check of gateway `gw`: `GET /readyz` answered 2xx within
    /// `timeout`.
    pub async fn ready(&self, gw: usize, timeout: Duration) -> bool {
        let base = &self.gateways[gw % self.gateways.len().max(1)];
        let r = self
            .http
            .get(format!("{base}/readyz"))
            .timeout(timeout)
            .send()
            .await;
        r.is_ok_and(|r| r.status().is_success())
    }

    /// One POST to gateway `gw`.
    pub async fn attempt(
        &self,
        gw: usize,
        tenant: u8,
        path: &str,
        headers: &[(&'static str, &'static str)],
        body: Bytes,
    ) -> Answer {
        let auth = match self.auth_header(tenant, gw).await {
            Ok(a) => a,
            Err(reason) => {
                return Answer {
                    status: 0,
                    at: Instant::now(),
                    retry_after: None,
                    reason,
                    body: Bytes::new(),
                };
            }
        };
        let base = &self.gateways[gw % self.gateways.len().max(1)];
        let mut req = self
            .http
            .post(format!("{base}{path}"))
            .header(auth.0, auth.1)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        answer(req.send().await).await
    }
}

/// Reads a response into an [`Answer`] (the head's arrival time first).
pub async fn answer(r: Result<reqwest::Response, reqwest::Error>) -> Answer {
    let at = Instant::now();
    let resp = match r {
        Ok(r) => r,
        Err(e) => {
            let reason = if e.is_timeout() {
                "timeout"
            } else {
                "transport"
            };
            return Answer {
                status: 0,
                at,
                retry_after: None,
                reason: reason.into(),
                body: Bytes::new(),
            };
        }
    };
    let status = resp.status().as_u16();
    let h = resp.headers();
    let ms = h
        .get("x-retry-after-ms")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_millis);
    let secs = h
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map(Duration::from_secs_f64);
    let body = resp.bytes().await.unwrap_or_default();
    let reason = if (200..300).contains(&status) {
        String::new()
    } else {
        serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| format!("http_{status}"))
    };
    Answer {
        status,
        at,
        retry_after: ms.or(secs),
        reason,
        body,
    }
}
