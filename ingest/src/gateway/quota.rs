//! Per-tenant quotas: token buckets for samples/s, bytes/s and events/s. A request takes
//! from every bucket it needs or from none. Over quota → 429 with the time until the
//! buckets hold enough (whole seconds in `Retry-After`, milliseconds beside it); a
//! request larger than a bucket's capacity can never fit → 413.

use super::config::{QuotaConfig, TenantConfig};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuotaVerdict {
    Admitted,
    /// 429: retry after this long.
    Exceeded {
        retry_after: Duration,
        bucket: &'static str,
    },
    /// 413: bigger than the bucket could ever hold.
    TooLarge {
        bucket: &'static str,
    },
}

/// What one request asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Demand {
    pub samples: f64,
    pub bytes: f64,
    pub events: f64,
}

#[derive(Debug)]
struct Bucket {
    name: &'static str,
    rate: f64,
    capacity: f64,
    tokens: f64,
}

impl Bucket {
    fn new(name: &'static str, rate: f64, burst_secs: f64) -> Self {
        let capacity = (rate * burst_secs).max(0.0);
        Self {
            name,
            rate,
            capacity,
            tokens: capacity,
        }
    }

    fn refill(&mut self, elapsed: Duration) {
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.capacity);
    }

    /// Time until `n` tokens are there (zero if they are).
    fn wait_for(&self, n: f64) -> Duration {
        if self.tokens >= n || n == 0.0 {
            Duration::ZERO
        } else if self.rate <= 0.0 {
            Duration::MAX
        } else {
            Duration::from_secs_f64((n - self.tokens) / self.rate)
        }
    }
}

#[derive(Debug)]
struct TenantBuckets {
    buckets: [Bucket; 3],
    last: Instant,
}

impl TenantBuckets {
    fn new(q: &QuotaConfig, now: Instant) -> Self {
        Self {
            buckets: [
                Bucket::new("samples", q.samples_per_sec, q.burst_secs),
                Bucket::new("bytes", q.bytes_per_sec, q.burst_secs),
                Bucket::new("events", q.events_per_sec, q.burst_secs),
            ],
            last: now,
        }
    }

    fn take(&mut self, d: Demand, now: Instant) -> QuotaVerdict {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        let needs = [d.samples, d.bytes, d.events];
        for (b, n) in self.buckets.iter_mut().zip(needs) {
            b.refill(elapsed);
            if n > b.capacity {
                return QuotaVerdict::TooLarge { bucket: b.name };
            }
        }
        let worst = self
            .buckets
            .iter()
            .zip(needs)
            .map(|(b, n)| (b.wait_for(n), b.name))
            .max_by_key(|(w, _)| *w);
        if let Some((wait, bucket)) = worst
            && wait > Duration::ZERO
        {
            return QuotaVerdict::Exceeded {
                retry_after: wait,
                bucket,
            };
        }
        for (b, n) in self.buckets.iter_mut().zip(needs) {
            b.tokens -= n;
        }
        QuotaVerdict::Admitted
    }
}

pub struct Quotas {
    tenants: HashMap<String, Mutex<TenantBuckets>>,
}

impl Quotas {
    pub fn new(tenants: &[TenantConfig]) -> Self {
        let now = Instant::now();
        Self {
            tenants: tenants
                .iter()
                .map(|t| (t.id.clone(), Mutex::new(TenantBuckets::new(&t.quota, now))))
                .collect(),
        }
    }

    /// Takes the demand from the tenant's buckets, all or nothing.
    pub fn take(&self, tenant: &str, demand: Demand) -> QuotaVerdict {
        match self.tenants.get(tenant) {
            Some(b) => b.lock().take(demand, Instant::now()),
            // Authenticated tenants always have buckets; an unknown one gets none.
            None => QuotaVerdict::TooLarge { bucket: "tenant" },
        }
    }
}

/// `Retry-After` in whole seconds, rounded up (never 0 for a real wait).
pub fn retry_after_secs(d: Duration) -> u64 {
    let s = d.as_secs_f64().ceil() as u64;
    s.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quota(samples: f64) -> QuotaConfig {
        QuotaConfig {
            samples_per_sec: samples,
            bytes_per_sec: 1e9,
            events_per_sec: 100.0,
            burst_secs: 1.0,
        }
    }

    #[test]
    fn admits_within_rate_sheds_excess_with_a_wait() {
        let t0 = Instant::now();
        let mut b = TenantBuckets::new(&quota(1000.0), t0);
        let d = Demand {
            samples: 600.0,
            ..Default::default()
        };
        assert_eq!(b.take(d, t0), QuotaVerdict::Admitted);
        match b.take(d, t0) {
            QuotaVerdict::Exceeded {
                retry_after,
                bucket,
            } => {
                assert_eq!(bucket, "samples");
                // 400 left, 600 needed, 1000/s: 200 ms.
                assert!((retry_after.as_secs_f64() - 0.2).abs() < 1e-6);
                assert_eq!(retry_after_secs(retry_after), 1);
            }
            v => panic!("{v:?}"),
        }
        // Nothing was taken by the refused request: after 200 ms it fits.
        assert_eq!(
            b.take(d, t0 + Duration::from_millis(200)),
            QuotaVerdict::Admitted
        );
    }

    #[test]
    fn all_or_nothing_and_too_large() {
        let t0 = Instant::now();
        let mut b = TenantBuckets::new(&quota(1000.0), t0);
        let both = Demand {
            samples: 10.0,
            events: 150.0,
            ..Default::default()
        };
        assert_eq!(
            b.take(both, t0),
            QuotaVerdict::TooLarge { bucket: "events" }
        );
        let d = Demand {
            samples: 900.0,
            events: 90.0,
            ..Default::default()
        };
        assert_eq!(b.take(d, t0), QuotaVerdict::Admitted);
        let d2 = Demand {
            samples: 50.0,
            events: 20.0,
            ..Default::default()
        };
        assert!(matches!(
            b.take(d2, t0),
            QuotaVerdict::Exceeded {
                bucket: "events",
                ..
            }
        ));
        // The samples of the refused request were not taken.
        let d3 = Demand {
            samples: 100.0,
            ..Default::default()
        };
        assert_eq!(b.take(d3, t0), QuotaVerdict::Admitted);
    }
}
