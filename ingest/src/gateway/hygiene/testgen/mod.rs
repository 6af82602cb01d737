//! proptest generators for hygiene: [`clean`] telemetry with realistic label and event
//! shapes, and [`pii`] in many spellings and placements. Compiled for tests and with
//! the `testgen` feature, so the harness can reuse them. [`sample`] draws values from a
//! strategy with a fixed seed (print it, replay it).

pub mod clean;
pub mod pii;

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

/// A deterministic source of generated values.
pub struct Sampler {
    runner: TestRunner,
}

impl Sampler {
    pub fn new(seed: u64) -> Self {
        let mut bytes = [0u8; 32];
        bytes[..8].copy_from_slice(&seed.to_le_bytes());
        let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &bytes);
        Self {
            runner: TestRunner::new_with_rng(Config::default(), rng),
        }
    }

    /// One value of `s`; `None` only if the strategy rejects every attempt.
    pub fn sample<S: Strategy>(&mut self, s: &S) -> Option<S::Value> {
        s.new_tree(&mut self.runner).ok().map(|t| t.current())
    }
}

/// Draws `n` values of `s` with `seed`.
pub fn sample<S: Strategy>(s: &S, seed: u64, n: usize) -> Vec<S::Value> {
    let mut sm = Sampler::new(seed);
    (0..n).filter_map(|_| sm.sample(s)).collect()
}
