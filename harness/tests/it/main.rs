//! The harness's one integration-test binary: drives the real `gameday` binary.

mod bench_delivery;
mod bench_query;
mod fencing;
mod judge;
mod stack;
