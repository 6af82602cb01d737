//! The emulator's notion of "now" for retention, iterator expiry and message timers.
//! Tests move it forward to see 24-hour retention or 5-minute iterator expiry without
//! waiting; SigV4 clock-skew checks use the real system time instead.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

#[derive(Debug, Default)]
pub struct Clock {
    offset_ms: AtomicI64,
}

impl Clock {
    /// Milliseconds since the Unix epoch, plus any offset a test added.
    pub fn now_ms(&self) -> i64 {
        system_now_ms() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves the emulator's clock forward (tests: retention, expiry, visibility).
    pub fn advance(&self, by: std::time::Duration) {
        self.offset_ms
            .fetch_add(by.as_millis() as i64, Ordering::Relaxed);
    }
}

pub fn system_now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
