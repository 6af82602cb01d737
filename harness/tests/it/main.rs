//! The harness's one integration-test binary: drives the real `gameday` binary.

mod fencing;
mod judge;
mod stack;
