//! The harness's one integration-test binary: drives the real `gameday` binary.

mod judge;
mod stack;
