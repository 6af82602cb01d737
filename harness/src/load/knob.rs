//! The load's run-time knob: a multiplier on every stream's arrival rate, set while the
//! load runs (the control API's `SetLoad`, the TUI's `+`/`-`). 1 = the scenario's own
//! rate; 0 pauses the producers (nothing is sent until it is raised again).

use std::sync::atomic::{AtomicU64, Ordering};

/// Largest multiplier accepted: the rig is sized for the scenario's 5× steps.
pub const MAX_MULTIPLIER: f64 = 10.0;
/// Smallest multiplier other than 0 (pause): below it a stream's next send lies minutes
/// away.
pub const MIN_MULTIPLIER: f64 = 0.05;

#[derive(Debug)]
pub struct LoadKnob {
    bits: AtomicU64,
}

impl Default for LoadKnob {
    fn default() -> Self {
        LoadKnob {
            bits: AtomicU64::new(1.0f64.to_bits()),
        }
    }
}

impl LoadKnob {
    pub fn get(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }

    /// Sets the multiplier and returns the one it replaces.
    pub fn set(&self, multiplier: f64) -> Result<f64, String> {
        if !(multiplier == 0.0 || (MIN_MULTIPLIER..=MAX_MULTIPLIER).contains(&multiplier)) {
            return Err(format!(
                "load multiplier {multiplier} out of range: 0 (pause), or {MIN_MULTIPLIER} ..= \
                 {MAX_MULTIPLIER}"
            ));
        }
        Ok(f64::from_bits(
            self.bits.swap(multiplier.to_bits(), Ordering::Relaxed),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_returns_the_previous_multiplier_and_refuses_out_of_range() {
        let k = LoadKnob::default();
        assert_eq!(k.get(), 1.0);
        assert_eq!(k.set(2.5), Ok(1.0));
        assert_eq!(k.get(), 2.5);
        assert!(k.set(-1.0).is_err());
        assert!(k.set(f64::NAN).is_err());
        assert!(k.set(MAX_MULTIPLIER + 1.0).is_err());
        assert!(
            k.set(1e-20).is_err(),
            "a tiny nonzero multiplier is refused"
        );
        assert_eq!(k.get(), 2.5, "a refused value changes nothing");
        assert_eq!(k.set(0.0), Ok(2.5));
    }
}
