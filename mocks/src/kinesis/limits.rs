//! Token buckets for Kinesis's per-shard limits. Each bucket holds one second of its
//! rate, refills continuously, and may go negative after a large read, so that a 10 MiB
//! GetRecords blocks the following seconds as AWS does.

#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate_per_sec: f64,
    capacity: f64,
    tokens: f64,
    last_ms: i64,
}

impl TokenBucket {
    pub fn new(rate_per_sec: u64, now_ms: i64) -> Self {
        let rate = rate_per_sec as f64;
        Self {
            rate_per_sec: rate,
            capacity: rate,
            tokens: rate,
            last_ms: now_ms,
        }
    }

    fn refill(&mut self, now_ms: i64) {
        if now_ms > self.last_ms {
            let add = (now_ms - self.last_ms) as f64 * self.rate_per_sec / 1000.0;
            self.tokens = (self.tokens + add).min(self.capacity);
            self.last_ms = now_ms;
        }
    }

    /// Takes `n` tokens if all are there.
    pub fn try_take(&mut self, n: f64, now_ms: i64) -> bool {
        self.refill(now_ms);
        if self.tokens >= n {
            self.tokens -= n;
            true
        } else {
            false
        }
    }

    /// True while the bucket is not in debt.
    pub fn has_credit(&mut self, now_ms: i64) -> bool {
        self.refill(now_ms);
        self.tokens > 0.0
    }

    /// Takes `n` tokens even into debt (reads are charged after they are served).
    pub fn charge(&mut self, n: f64, now_ms: i64) {
        self.refill(now_ms);
        self.tokens -= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refills_at_rate_and_caps_at_one_second() {
        let mut b = TokenBucket::new(1000, 0);
        assert!(b.try_take(1000.0, 0));
        assert!(!b.try_take(1.0, 0));
        assert!(b.try_take(500.0, 500));
        assert!(!b.try_take(1.0, 500));
        assert!(
            !b.try_take(1001.0, 10_000),
            "never more than one second's worth"
        );
        let mut r = TokenBucket::new(2, 0);
        r.charge(10.0, 0);
        assert!(!r.has_credit(1000));
        assert!(r.has_credit(4001));
    }
}
