//! The writer: puts a request's records into Kinesis and returns only when all are
//! stored (the ack rule), or gives up at the deadline (→ 503 + Retry-After).
//! Concurrency is bounded twice: requests waiting for Kinesis (a full queue sheds at
//! once with 503) and PutRecords calls in flight. The `ack_then_drop` crash point is a
//! hook given to one writer ([`Writer::ack_then_drop`]), never a switch every writer of
//! the process reads, so a test that turns it on cannot break a sibling test's writes.

use super::aggregate::Record;
use super::kinesis::{PutOutcome, RecordSink};
use rand::Rng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::Semaphore;
use tokio::time::Instant;

const MAX_CALL_RECORDS: usize = 500;
const MAX_CALL_BYTES: usize = 5 << 20;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    /// Kinesis kept refusing or was unreachable until the deadline.
    #[error("Kinesis did not take {pending} of {total} records before the deadline")]
    Deadline {
        pending: usize,
        total: usize,
        retry_after: Duration,
    },
    /// Too many requests already wait for Kinesis.
    #[error("too many requests waiting for Kinesis")]
    QueueFull { retry_after: Duration },
}

impl WriteError {
    pub fn retry_after(&self) -> Duration {
        match self {
            WriteError::Deadline { retry_after, .. } | WriteError::QueueFull { retry_after } => {
                *retry_after
            }
        }
    }

    pub fn reason(&self) -> &'static str {
        match self {
            WriteError::Deadline { .. } => "kinesis_deadline",
            WriteError::QueueFull { .. } => "queue_full",
        }
    }
}

/// Decides, per write, to acknowledge the records and drop them instead of storing them:
/// a crash point for the harness's loss gate (T2 must turn red), given to one writer.
pub type AckThenDrop = Arc<dyn Fn() -> bool + Send + Sync>;

/// The `gateway::ack_then_drop` fail-rs point (configured from `FAILPOINTS`) as a hook:
/// only the writers it is given to read it.
#[cfg(feature = "failpoints")]
pub fn ack_then_drop_failpoint() -> AckThenDrop {
    Arc::new(|| {
        fail::fail_point!("gateway::ack_then_drop", |_| true);
        false
    })
}

#[derive(Debug, Default)]
pub struct WriterStats {
    pub put_calls: AtomicU64,
    pub records_stored: AtomicU64,
    pub records_retried: AtomicU64,
    pub call_failures: AtomicU64,
    pub in_flight: AtomicU64,
    /// Batches acknowledged and dropped by the writer's `ack_then_drop` hook (the
    /// `gateway::ack_then_drop` crash point; the harness's loss gate must turn red).
    pub dropped_by_failpoint: AtomicU64,
}

pub struct Writer {
    sink: Arc<dyn RecordSink>,
    calls: Semaphore,
    queue: Arc<Semaphore>,
    deadline: Duration,
    retry_base: Duration,
    ack_then_drop: Option<AckThenDrop>,
    pub stats: WriterStats,
}

impl Writer {
    pub fn new(
        sink: Arc<dyn RecordSink>,
        max_in_flight: usize,
        deadline: Duration,
        retry_base: Duration,
    ) -> Self {
        Self {
            sink,
            calls: Semaphore::new(max_in_flight.max(1)),
            queue: Arc::new(Semaphore::new(max_in_flight.max(1) * 8)),
            deadline,
            retry_base,
            ack_then_drop: None,
            stats: WriterStats::default(),
        }
    }

    /// This writer acknowledges and drops a write whenever `hook` says so.
    pub fn ack_then_drop(mut self, hook: AckThenDrop) -> Self {
        self.ack_then_drop = Some(hook);
        self
    }

    pub fn sink(&self) -> &Arc<dyn RecordSink> {
        &self.sink
    }

    /// Reserves one of the places for requests that may wait for Kinesis. Taken before a
    /// request is decoded, so that overload is refused (503 + Retry-After) before it costs
    /// any CPU; keep the permit until the request is answered.
    pub fn admit(&self) -> Result<tokio::sync::OwnedSemaphorePermit, WriteError> {
        self.queue
            .clone()
            .try_acquire_owned()
            .map_err(|_| WriteError::QueueFull {
                retry_after: Duration::from_secs(1),
            })
    }

    /// Stores every record or fails; never returns Ok with a record missing. Callers hold
    /// a permit from [`Writer::admit`].
    pub async fn write(&self, records: Vec<Record>) -> Result<(), WriteError> {
        if self.ack_then_drop.as_ref().is_some_and(|drop| drop()) {
            self.stats
                .dropped_by_failpoint
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                records = records.len(),
                "crash point: acknowledged and dropped"
            );
            return Ok(());
        }
        let total = records.len();
        let deadline = Instant::now() + self.deadline;
        let mut pending = records;
        let mut attempt: u32 = 0;
        loop {
            let mut failed = Vec::new();
            for chunk in chunks(&pending) {
                let permit = tokio::time::timeout_at(deadline, self.calls.acquire()).await;
                let Ok(Ok(_permit)) = permit else {
                    return Err(self.deadline_error(pending.len(), total));
                };
                self.stats.put_calls.fetch_add(1, Ordering::Relaxed);
                self.stats.in_flight.fetch_add(1, Ordering::Relaxed);
                let result = tokio::time::timeout_at(deadline, self.sink.put(chunk)).await;
                self.stats.in_flight.fetch_sub(1, Ordering::Relaxed);
                match result {
                    Ok(Ok(outcomes)) => {
                        for (r, o) in chunk.iter().zip(
                            outcomes
                                .iter()
                                .chain(std::iter::repeat(&PutOutcome::Retry("missing".into()))),
                        ) {
                            match o {
                                PutOutcome::Stored => {
                                    self.stats.records_stored.fetch_add(1, Ordering::Relaxed);
                                }
                                PutOutcome::Retry(_) => failed.push(r.clone()),
                            }
                        }
                    }
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, "PutRecords failed");
                        self.stats.call_failures.fetch_add(1, Ordering::Relaxed);
                        failed.extend(chunk.iter().cloned());
                    }
                    Err(_) => {
                        self.stats.call_failures.fetch_add(1, Ordering::Relaxed);
                        failed.extend(chunk.iter().cloned());
                    }
                }
            }
            if failed.is_empty() {
                return Ok(());
            }
            self.stats
                .records_retried
                .fetch_add(failed.len() as u64, Ordering::Relaxed);
            attempt += 1;
            // Full jitter: uniform in [0, base·2^attempt], capped at one second.
            let cap = (self.retry_base * 2u32.saturating_pow(attempt.min(10)))
                .min(Duration::from_secs(1));
            let backoff = rand::rng().random_range(Duration::ZERO..=cap);
            if Instant::now() + backoff >= deadline {
                return Err(self.deadline_error(failed.len(), total));
            }
            tokio::time::sleep(backoff).await;
            pending = failed;
        }
    }

    fn deadline_error(&self, pending: usize, total: usize) -> WriteError {
        WriteError::Deadline {
            pending,
            total,
            retry_after: Duration::from_secs(1),
        }
    }
}

/// PutRecords-sized slices: ≤ 500 records and ≤ 5 MiB each.
fn chunks(records: &[Record]) -> Vec<&[Record]> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, r) in records.iter().enumerate() {
        let size = r.data.len() + r.partition_key.len();
        if i > start && (i - start == MAX_CALL_RECORDS || bytes + size > MAX_CALL_BYTES) {
            out.push(&records[start..i]);
            start = i;
            bytes = 0;
        }
        bytes += size;
    }
    if start < records.len() {
        out.push(&records[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gateway::sink::SinkError;
    use parking_lot::Mutex;

    /// Refuses every record `refusals` times, then stores; remembers what it stored.
    struct Flaky {
        refusals: Mutex<usize>,
        stored: Mutex<Vec<String>>,
        down: bool,
    }

    #[async_trait::async_trait]
    impl RecordSink for Flaky {
        async fn put(&self, records: &[Record]) -> Result<Vec<PutOutcome>, SinkError> {
            if self.down {
                return Err(SinkError::Retryable("connection refused".into()));
            }
            let mut left = self.refusals.lock();
            Ok(records
                .iter()
                .map(|r| {
                    if *left > 0 {
                        *left -= 1;
                        PutOutcome::Retry("ProvisionedThroughputExceededException".into())
                    } else {
                        self.stored.lock().push(r.partition_key.clone());
                        PutOutcome::Stored
                    }
                })
                .collect())
        }
        async fn ready(&self) -> bool {
            !self.down
        }
    }

    fn records(n: usize) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                partition_key: format!("k{i}"),
                data: vec![0u8; 10].into(),
                items: 1,
            })
            .collect()
    }

    #[tokio::test]
    async fn retries_partial_failures_until_all_are_stored() {
        let sink = Arc::new(Flaky {
            refusals: Mutex::new(700),
            stored: Mutex::new(vec![]),
            down: false,
        });
        let w = Writer::new(
            sink.clone(),
            4,
            Duration::from_secs(5),
            Duration::from_millis(1),
        );
        w.write(records(1200)).await.unwrap();
        let mut stored = sink.stored.lock().clone();
        stored.sort();
        stored.dedup();
        assert_eq!(stored.len(), 1200);
        assert_eq!(w.stats.records_retried.load(Ordering::Relaxed), 700);
        assert!(
            w.stats.put_calls.load(Ordering::Relaxed) >= 4,
            "chunks of ≤ 500"
        );
    }

    #[test]
    fn admission_is_bounded_and_released() {
        let sink = Arc::new(Flaky {
            refusals: Mutex::new(0),
            stored: Mutex::new(vec![]),
            down: false,
        });
        let w = Writer::new(sink, 1, Duration::from_secs(1), Duration::from_millis(1));
        let held: Vec<_> = (0..8).map(|_| w.admit().unwrap()).collect();
        let e = w.admit().unwrap_err();
        assert_eq!(e.reason(), "queue_full");
        assert_eq!(e.retry_after(), Duration::from_secs(1));
        drop(held);
        assert!(
            w.admit().is_ok(),
            "permits return when requests are answered"
        );
    }

    #[tokio::test]
    async fn gives_up_at_the_deadline_with_retry_after() {
        let sink = Arc::new(Flaky {
            refusals: Mutex::new(0),
            stored: Mutex::new(vec![]),
            down: true,
        });
        let w = Writer::new(
            sink,
            4,
            Duration::from_millis(200),
            Duration::from_millis(5),
        );
        let e = w.write(records(3)).await.unwrap_err();
        assert!(
            matches!(
                e,
                WriteError::Deadline {
                    pending: 3,
                    total: 3,
                    ..
                }
            ),
            "{e:?}"
        );
        assert_eq!(e.retry_after(), Duration::from_secs(1));
    }
}

#[cfg(test)]
mod ack_then_drop_tests {
    use super::*;
    use crate::gateway::sink::{PutOutcome, SinkError};

    struct Counting(parking_lot::Mutex<usize>);

    #[async_trait::async_trait]
    impl RecordSink for Counting {
        async fn put(&self, records: &[Record]) -> Result<Vec<PutOutcome>, SinkError> {
            *self.0.lock() += records.len();
            Ok(records.iter().map(|_| PutOutcome::Stored).collect())
        }
        async fn ready(&self) -> bool {
            true
        }
    }

    fn writer(sink: Arc<Counting>) -> Writer {
        Writer::new(sink, 1, Duration::from_secs(1), Duration::from_millis(1))
    }

    fn record() -> Record {
        Record {
            partition_key: "k".into(),
            data: vec![1].into(),
            items: 1,
        }
    }

    #[tokio::test]
    async fn a_writer_given_the_hook_acknowledges_without_storing_and_others_store() {
        let sink = Arc::new(Counting(parking_lot::Mutex::new(0)));
        let dropping = writer(sink.clone()).ack_then_drop(Arc::new(|| true));
        assert_eq!(dropping.write(vec![record()]).await, Ok(()));
        assert_eq!(*sink.0.lock(), 0, "acknowledged, not stored");
        assert_eq!(
            dropping.stats.dropped_by_failpoint.load(Ordering::Relaxed),
            1
        );
        // A writer without the hook, in the same process at the same time, stores.
        let plain = writer(sink.clone());
        assert_eq!(plain.write(vec![record()]).await, Ok(()));
        assert_eq!(*sink.0.lock(), 1);
        assert_eq!(plain.stats.dropped_by_failpoint.load(Ordering::Relaxed), 0);
    }

    /// The hook follows the named fail-rs point; only this test configures it, inside a
    /// `FailScenario` (which serializes the process's fail-rs tests), and no writer but
    /// the one given the hook reads it.
    #[cfg(feature = "failpoints")]
    #[tokio::test]
    async fn the_failpoint_hook_follows_gateway_ack_then_drop() {
        let scenario = fail::FailScenario::setup();
        let hook = ack_then_drop_failpoint();
        assert!(!hook(), "off until configured");
        fail::cfg("gateway::ack_then_drop", "return").unwrap();
        let sink = Arc::new(Counting(parking_lot::Mutex::new(0)));
        let dropping = writer(sink.clone()).ack_then_drop(hook);
        assert_eq!(dropping.write(vec![record()]).await, Ok(()));
        assert_eq!(*sink.0.lock(), 0, "acknowledged, not stored");
        let plain = writer(sink.clone());
        assert_eq!(plain.write(vec![record()]).await, Ok(()));
        assert_eq!(
            *sink.0.lock(),
            1,
            "a writer without the hook ignores the failpoint"
        );
        scenario.teardown();
    }
}
