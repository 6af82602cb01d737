//! Open-model load generator: requests leave at a fixed arrival rate whatever the
//! server does. Send `k` is scheduled at `start + k / rate`; latency is measured from
//! that scheduled time to the response headers (TTFB), so a late client or a slow
//! server both show up in it. At most `max_in_flight` requests are outstanding; a send
//! that finds the cap full is counted as dropped, never silently skipped.

use bytes::Bytes;
use hdrhistogram::Histogram;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// What to offer.
pub struct Plan {
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub bodies: Arc<Vec<Bytes>>,
    /// Requests per second.
    pub rate: f64,
    pub secs: Duration,
    pub max_in_flight: usize,
    /// How long outstanding requests may finish after the last send.
    pub drain: Duration,
}

/// What came back.
#[derive(Debug)]
pub struct Outcome {
    pub scheduled: u64,
    pub ok: u64,
    pub status_429: u64,
    pub status_503: u64,
    /// Other statuses (4xx/5xx): a bench misconfiguration or a gateway bug.
    pub status_other: u64,
    pub first_other: Option<String>,
    /// Connection or protocol errors, client timeouts.
    pub errors: u64,
    /// Sends refused because `max_in_flight` requests were outstanding.
    pub dropped: u64,
    /// Still outstanding after the drain time.
    pub unfinished: u64,
    /// TTFB of every answered request, microseconds.
    pub ttfb: Histogram<u64>,
    /// In-flight requests sampled every 250 ms while sending.
    pub backlog: Vec<usize>,
    /// From the first scheduled send to the last answer (at least the planned time).
    pub elapsed: Duration,
}

impl Outcome {
    /// Items acknowledged per second, `items` per request.
    pub fn acked_rate(&self, items: usize) -> f64 {
        self.ok as f64 * items as f64 / self.elapsed.as_secs_f64().max(1e-3)
    }

    pub fn ok_share(&self) -> f64 {
        if self.scheduled == 0 {
            return 0.0;
        }
        self.ok as f64 / self.scheduled as f64
    }

    /// In-flight requests at the end of sending much higher than at the start.
    pub fn backlog_grew(&self) -> bool {
        let n = self.backlog.len();
        if n < 6 {
            return false;
        }
        let mean = |s: &[usize]| s.iter().sum::<usize>() as f64 / s.len().max(1) as f64;
        let first = mean(&self.backlog[1..n / 3]);
        let last = mean(&self.backlog[n - n / 3..]);
        last > 2.0 * first + 4.0
    }

    pub fn sustained(&self) -> bool {
        self.ok_share() >= 0.99 && !self.backlog_grew()
    }
}

enum Answer {
    Status(u16, Option<String>),
    Error(String),
}

pub async fn run(client: &reqwest::Client, plan: Plan) -> anyhow::Result<Outcome> {
    let total = (plan.rate * plan.secs.as_secs_f64()).round().max(1.0) as u64;
    let permits = Arc::new(Semaphore::new(plan.max_in_flight));
    let mut tasks: JoinSet<(Answer, u64)> = JoinSet::new();
    let mut out = Outcome {
        scheduled: total,
        ok: 0,
        status_429: 0,
        status_503: 0,
        status_other: 0,
        first_other: None,
        errors: 0,
        dropped: 0,
        unfinished: 0,
        ttfb: Histogram::new(3)?,
        backlog: Vec::new(),
        elapsed: Duration::ZERO,
    };
    let start = Instant::now();
    let mut next_sample = start;
    let in_flight = |p: &Semaphore| plan.max_in_flight - p.available_permits();
    for k in 0..total {
        let due = start + Duration::from_secs_f64(k as f64 / plan.rate);
        tokio::time::sleep_until(due).await;
        while let Some(r) = tasks.try_join_next() {
            tally(&mut out, r?)?;
        }
        if Instant::now() >= next_sample {
            out.backlog.push(in_flight(&permits));
            next_sample += Duration::from_millis(250);
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            out.dropped += 1;
            continue;
        };
        let body = plan.bodies[(k as usize) % plan.bodies.len()].clone();
        let mut req = client.post(&plan.url).body(body);
        for (h, v) in &plan.headers {
            req = req.header(*h, v);
        }
        tasks.spawn(async move {
            let answer = match req.send().await {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let ttfb = due.elapsed().as_micros() as u64;
                    // Read the (small) body so the connection goes back to the pool.
                    let text = resp.text().await.ok();
                    let detail = (!(200..300).contains(&status) && status != 429 && status != 503)
                        .then(|| text.unwrap_or_default());
                    (Answer::Status(status, detail), ttfb)
                }
                Err(e) => (Answer::Error(e.to_string()), 0),
            };
            drop(permit);
            answer
        });
    }
    let drain_until = Instant::now() + plan.drain;
    loop {
        match tokio::time::timeout_at(drain_until, tasks.join_next()).await {
            Ok(Some(r)) => tally(&mut out, r?)?,
            Ok(None) => break,
            Err(_) => {
                out.unfinished = tasks.len() as u64;
                tasks.abort_all();
                break;
            }
        }
    }
    out.elapsed = start.elapsed().max(plan.secs);
    Ok(out)
}

fn tally(out: &mut Outcome, (answer, ttfb): (Answer, u64)) -> anyhow::Result<()> {
    match answer {
        Answer::Status(status, detail) => {
            out.ttfb.record(ttfb.max(1))?;
            match status {
                200..=299 => out.ok += 1,
                429 => out.status_429 += 1,
                503 => out.status_503 += 1,
                _ => {
                    out.status_other += 1;
                    out.first_other
                        .get_or_insert_with(|| format!("{status} {}", detail.unwrap_or_default()));
                }
            }
        }
        Answer::Error(e) => {
            out.errors += 1;
            out.first_other.get_or_insert(e);
        }
    }
    Ok(())
}
