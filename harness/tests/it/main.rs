//! The harness's one integration-test binary: drives the real `gameday` binary.

mod bench_delivery;
mod bench_query;
mod docs;
mod failover;
mod faults;
mod fencing;
mod judge;
mod stack;
mod up;

/// Tests that boot a stack, run a scenario or a benchmark share 2 cores, and the judge's
/// tests measure latency against the shipped thresholds: they run one at a time in this
/// binary so that no run's figures carry another test's CPU. Sync tests take it with
/// `blocking_lock()`, async ones with `lock().await`.
pub static HEAVY: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
