//! Keeps a shard's lease renewed while a write of the commit protocol is in flight.
//! Without it a flush slower than the lease (S3 latency) lets another worker take the
//! shard, and the flush is fenced at its last step — by each new owner in turn, a
//! livelock. Renewals are the shard task's usual conditional writes, made between (never
//! during) the flush's own lease writes: only the shard's task writes its lease.

use super::commit::FlushError;
use super::config::LeaseConfig;
use super::lease::{self, Held};
use super::metrics::Metrics;
use super::store::{Store, StoreError};
use crate::table::Lease;
use std::future::Future;
use std::time::Instant;

/// What renewing a shard's lease needs; borrowed from the shard task for one flush.
pub struct Keepalive<'a> {
    pub store: &'a Store,
    pub metrics: &'a Metrics,
    pub shard: &'a str,
    pub lease: &'a LeaseConfig,
    pub now_ms: &'a (dyn Fn() -> i64 + Send + Sync),
    /// When this task last wrote the lease (renewal or head move); updated here.
    pub last_write: &'a mut Instant,
}

impl Keepalive<'_> {
    /// The expiry a lease written now gets.
    pub fn expiry(&self) -> i64 {
        (self.now_ms)() + self.lease.duration_ms as i64
    }

    /// Runs `work` to its end, renewing the lease in `held` a renewal period after the
    /// last lease write, and again a period after each renewal (`work` goes on during a
    /// renewal). A renewal refused by the lease's condition fences the flush; one that
    /// fails otherwise is counted and retried a period later, and once the lease has
    /// expired the flush gives up ([`FlushError::LeaseExpired`]): another worker may be
    /// taking the shard, and whoever owns it next reads the records again.
    pub async fn around<F: Future>(
        &mut self,
        held: &mut Held,
        work: F,
    ) -> Result<F::Output, FlushError> {
        let renew = self.lease.renew();
        let mut next = *self.last_write + renew;
        tokio::pin!(work);
        loop {
            tokio::select! {
                biased;
                out = &mut work => return Ok(out),
                _ = tokio::time::sleep_until(next.into()) => {}
            }
            let mut done = None;
            let renewed = {
                let next_lease = Lease {
                    expires_at_ms: self.expiry(),
                    ..held.lease.clone()
                };
                let renewal = lease::write(self.store, held, next_lease);
                tokio::pin!(renewal);
                loop {
                    tokio::select! {
                        r = &mut renewal => break r,
                        out = &mut work, if done.is_none() => done = Some(out),
                    }
                }
            };
            match renewed {
                Ok(()) => *self.last_write = Instant::now(),
                Err(StoreError::Precondition(_)) => {
                    return Err(FlushError::Fenced("lease renewal"));
                }
                Err(e) => {
                    tracing::warn!(shard = self.shard, %e, "lease renewal during a flush failed");
                    self.metrics.lease_error(self.shard, "renew", e.reason());
                    if held.lease.is_expired((self.now_ms)()) {
                        return Err(FlushError::LeaseExpired);
                    }
                }
            }
            next = Instant::now() + renew;
            if let Some(out) = done {
                return Ok(out);
            }
        }
    }
}
