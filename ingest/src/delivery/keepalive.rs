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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::metrics::LeaseOpLabels;
    use crate::delivery::store::tests::{s3_fails, store};
    use mocks::FailCode;
    use std::time::Duration;

    const LEASE: LeaseConfig = LeaseConfig {
        duration_ms: 400,
        renew_ms: 100,
    };

    fn now_ms() -> i64 {
        crate::gateway::pipeline::now_ms()
    }

    fn renew_errors(m: &Metrics) -> u64 {
        m.lease_errors
            .get(&LeaseOpLabels {
                shard: "s0".into(),
                op: "renew",
                reason: "s3_error",
            })
            .map_or(0, |c| c.get())
    }

    fn keepalive<'a>(
        store: &'a Store,
        metrics: &'a Metrics,
        lease: &'a LeaseConfig,
        last_write: &'a mut Instant,
    ) -> Keepalive<'a> {
        Keepalive {
            store,
            metrics,
            shard: "s0",
            lease,
            now_ms: &now_ms,
            last_write,
        }
    }

    async fn stored(store: &Store) -> Lease {
        let (body, _) = store
            .get(&crate::table::layout::lease_key("s0"))
            .await
            .unwrap()
            .unwrap();
        Lease::from_json(&body).unwrap()
    }

    /// A flush slower than the lease keeps it: renewed every period while it runs.
    #[tokio::test]
    async fn a_flush_slower_than_the_lease_is_kept_renewed() {
        let (_emu, store) = store().await;
        // Roomy figures: a loaded machine may delay a renewal, not by a whole lease.
        let config = LeaseConfig {
            duration_ms: 1_500,
            renew_ms: 150,
        };
        let now = now_ms();
        let mut held = lease::take(&store, "s0", None, "w-1", now, config.duration_ms)
            .await
            .unwrap();
        let first_expiry = held.lease.expires_at_ms;
        let metrics = Metrics::default();
        let mut last_write = Instant::now();
        let mut k = keepalive(&store, &metrics, &config, &mut last_write);
        let flush = tokio::time::sleep(Duration::from_millis(2_000));
        let out = k.around(&mut held, flush).await;
        assert!(out.is_ok(), "{out:?}");
        let lease = stored(&store).await;
        assert_eq!(lease.owner, "w-1");
        assert!(lease.expires_at_ms > first_expiry, "renewed: {lease:?}");
        assert!(
            !lease.is_expired(now_ms()),
            "renewed past the flush: {lease:?}"
        );
        assert_eq!(held.lease, lease, "the task holds what it wrote");
    }

    /// Renewals that fail (S3 503) are counted and retried each period; once the lease
    /// has expired unrenewed the flush gives up rather than write under a lease another
    /// worker may be taking.
    #[tokio::test]
    async fn failed_renewals_are_retried_until_the_lease_expires_then_the_flush_gives_up() {
        let (emu, store) = store().await;
        let mut held = lease::take(&store, "s0", None, "w-1", now_ms(), LEASE.duration_ms)
            .await
            .unwrap();
        s3_fails(&emu, FailCode::ServiceUnavailable);
        let metrics = Metrics::default();
        let mut last_write = Instant::now();
        let mut k = keepalive(&store, &metrics, &LEASE, &mut last_write);
        let never = std::future::pending::<()>();
        let out = tokio::time::timeout(Duration::from_secs(20), k.around(&mut held, never))
            .await
            .expect("gives up within 20 s");
        assert!(matches!(out, Err(FlushError::LeaseExpired)), "{out:?}");
        assert!(
            renew_errors(&metrics) >= 2,
            "retried: {}",
            renew_errors(&metrics)
        );
    }

    /// A renewal refused by the lease's condition (another writer moved it) fences the
    /// flush at once.
    #[tokio::test]
    async fn a_renewal_refused_by_its_condition_fences_the_flush() {
        let (_emu, store) = store().await;
        let mut held = lease::take(&store, "s0", None, "w-1", now_ms(), LEASE.duration_ms)
            .await
            .unwrap();
        let mut other = held.clone();
        let stolen = Lease {
            owner: "w-2".into(),
            epoch: held.lease.epoch + 1,
            ..held.lease.clone()
        };
        lease::write(&store, &mut other, stolen).await.unwrap();
        let metrics = Metrics::default();
        let mut last_write = Instant::now();
        let mut k = keepalive(&store, &metrics, &LEASE, &mut last_write);
        let out = k.around(&mut held, std::future::pending::<()>()).await;
        assert!(
            matches!(out, Err(FlushError::Fenced("lease renewal"))),
            "{out:?}"
        );
        assert_eq!(
            stored(&store).await.owner,
            "w-2",
            "the thief's lease stands"
        );
    }
}
