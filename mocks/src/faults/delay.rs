//! Latency as a distribution: a constant, uniform between two bounds, or lognormal given
//! its p50 and p99 (`mu = ln p50`, `sigma = (ln p99 - ln p50) / 2.326`), sampled from the
//! emulator's seeded generator. In JSON a bare number is a constant in milliseconds (the
//! original `delay_ms` form); an object names its distribution in `dist`.

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// The standard normal's 0.99 quantile: p99 = exp(mu + Z99 * sigma).
const Z99: f64 = 2.326_347_874_040_841;

/// No parameter may exceed this, and no draw is longer (the lognormal's far tail is cut
/// here): 10 minutes, longer than any SDK or component timeout.
pub const MAX_DELAY_MS: u64 = 600_000;

/// How long a matching request waits before it is served (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "DelayWire", into = "DelayWire")]
pub enum Delay {
    /// Always this long. JSON: `300`.
    Constant(u64),
    /// Uniform over `min_ms..=max_ms`. JSON: `{"dist":"uniform","min_ms":10,"max_ms":50}`.
    Uniform { min_ms: u64, max_ms: u64 },
    /// Lognormal with these median and 99th percentile.
    /// JSON: `{"dist":"lognormal","p50_ms":20,"p99_ms":200}`.
    Lognormal { p50_ms: u64, p99_ms: u64 },
}

impl From<u64> for Delay {
    fn from(ms: u64) -> Self {
        Delay::Constant(ms)
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DelayError {
    #[error("a delay parameter may not exceed {MAX_DELAY_MS} ms, got {0}")]
    TooLong(u64),
    #[error("uniform delay needs min_ms <= max_ms, got {min_ms} > {max_ms}")]
    UniformBounds { min_ms: u64, max_ms: u64 },
    #[error("lognormal delay needs 1 <= p50_ms <= p99_ms, got p50 {p50_ms}, p99 {p99_ms}")]
    LognormalBounds { p50_ms: u64, p99_ms: u64 },
}

impl Delay {
    pub fn validate(&self) -> Result<(), DelayError> {
        let (a, b) = match *self {
            Delay::Constant(ms) => (ms, ms),
            Delay::Uniform { min_ms, max_ms } => {
                if min_ms > max_ms {
                    return Err(DelayError::UniformBounds { min_ms, max_ms });
                }
                (min_ms, max_ms)
            }
            Delay::Lognormal { p50_ms, p99_ms } => {
                if p50_ms == 0 || p50_ms > p99_ms {
                    return Err(DelayError::LognormalBounds { p50_ms, p99_ms });
                }
                (p50_ms, p99_ms)
            }
        };
        match a.max(b) {
            m if m > MAX_DELAY_MS => Err(DelayError::TooLong(m)),
            _ => Ok(()),
        }
    }

    /// One draw, in milliseconds, within `0..=MAX_DELAY_MS`.
    pub fn sample_ms(&self, rng: &mut impl Rng) -> f64 {
        let ms = match *self {
            Delay::Constant(ms) => ms as f64,
            Delay::Uniform { min_ms, max_ms } if max_ms > min_ms => {
                rng.random_range(min_ms as f64..=max_ms as f64)
            }
            Delay::Uniform { min_ms, .. } => min_ms as f64,
            Delay::Lognormal { p50_ms, p99_ms } => {
                let mu = (p50_ms as f64).ln();
                let sigma = ((p99_ms as f64).ln() - mu) / Z99;
                (mu + sigma * standard_normal(rng)).exp()
            }
        };
        ms.clamp(0.0, MAX_DELAY_MS as f64)
    }

    pub fn sample(&self, rng: &mut impl Rng) -> Duration {
        Duration::from_secs_f64(self.sample_ms(rng) / 1000.0)
    }
}

/// Box–Muller: one standard normal draw from two uniform ones.
fn standard_normal(rng: &mut impl Rng) -> f64 {
    // 1 - [0, 1) is (0, 1]: ln never sees 0.
    let u1: f64 = 1.0 - rng.random::<f64>();
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum DelayWire {
    Ms(u64),
    Dist(Dist),
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
enum Dist {
    Constant { ms: u64 },
    Uniform { min_ms: u64, max_ms: u64 },
    Lognormal { p50_ms: u64, p99_ms: u64 },
}

impl From<DelayWire> for Delay {
    fn from(w: DelayWire) -> Self {
        match w {
            DelayWire::Ms(ms) | DelayWire::Dist(Dist::Constant { ms }) => Delay::Constant(ms),
            DelayWire::Dist(Dist::Uniform { min_ms, max_ms }) => Delay::Uniform { min_ms, max_ms },
            DelayWire::Dist(Dist::Lognormal { p50_ms, p99_ms }) => {
                Delay::Lognormal { p50_ms, p99_ms }
            }
        }
    }
}

impl From<Delay> for DelayWire {
    fn from(d: Delay) -> Self {
        match d {
            Delay::Constant(ms) => DelayWire::Ms(ms),
            Delay::Uniform { min_ms, max_ms } => DelayWire::Dist(Dist::Uniform { min_ms, max_ms }),
            Delay::Lognormal { p50_ms, p99_ms } => {
                DelayWire::Dist(Dist::Lognormal { p50_ms, p99_ms })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{SeedableRng, rngs::SmallRng};

    /// p50 and p99 of `n` draws (nearest rank).
    fn percentiles(d: Delay, n: usize) -> (f64, f64) {
        let mut rng = SmallRng::seed_from_u64(42);
        let mut v: Vec<f64> = (0..n).map(|_| d.sample_ms(&mut rng)).collect();
        v.sort_by(f64::total_cmp);
        (v[n / 2], v[n * 99 / 100])
    }

    fn within(got: f64, want: f64, rel: f64) -> bool {
        (got - want).abs() <= want * rel
    }

    /// Tolerances for 10,000 draws. Lognormal (sigma ~1): the standard error of the
    /// sample median is ~1.3 % and of the sample p99 ~3.7 % of the value, so 5 % and
    /// 15 % are ~4 standard errors. Uniform: the sample quantiles' spread is well
    /// under 1 % of the range, so 3 % and 2 %.
    #[test]
    fn sampled_percentiles_match_the_configured_ones() {
        let (p50, p99) = percentiles(
            Delay::Lognormal {
                p50_ms: 20,
                p99_ms: 200,
            },
            10_000,
        );
        assert!(within(p50, 20.0, 0.05), "lognormal p50 {p50}");
        assert!(within(p99, 200.0, 0.15), "lognormal p99 {p99}");

        let (p50, p99) = percentiles(
            Delay::Uniform {
                min_ms: 10,
                max_ms: 110,
            },
            10_000,
        );
        assert!(within(p50, 60.0, 0.03), "uniform p50 {p50}");
        assert!(within(p99, 109.0, 0.02), "uniform p99 {p99}");

        assert_eq!(percentiles(Delay::Constant(7), 100), (7.0, 7.0));
        let flat = Delay::Lognormal {
            p50_ms: 30,
            p99_ms: 30,
        };
        let (p50, p99) = percentiles(flat, 100);
        assert!(
            within(p50, 30.0, 1e-9) && within(p99, 30.0, 1e-9),
            "{p50} {p99}"
        );
    }

    #[test]
    fn json_accepts_the_constant_number_and_named_distributions() {
        let d: Delay = serde_json::from_str("300").unwrap();
        assert_eq!(d, Delay::Constant(300));
        assert_eq!(serde_json::to_string(&d).unwrap(), "300");
        let d: Delay = serde_json::from_str(r#"{"dist":"constant","ms":5}"#).unwrap();
        assert_eq!(d, Delay::Constant(5));
        let l = Delay::Lognormal {
            p50_ms: 20,
            p99_ms: 200,
        };
        let json = serde_json::to_string(&l).unwrap();
        assert_eq!(json, r#"{"dist":"lognormal","p50_ms":20,"p99_ms":200}"#);
        assert_eq!(serde_json::from_str::<Delay>(&json).unwrap(), l);
        let u: Delay = serde_json::from_str(r#"{"dist":"uniform","min_ms":1,"max_ms":9}"#).unwrap();
        assert_eq!(
            u,
            Delay::Uniform {
                min_ms: 1,
                max_ms: 9
            }
        );
        assert!(serde_json::from_str::<Delay>(r#"{"dist":"pareto","alpha":1}"#).is_err());
        assert!(serde_json::from_str::<Delay>(r#"{"dist":"uniform","min_ms":1}"#).is_err());
    }

    #[test]
    fn bad_parameters_are_refused() {
        assert_eq!(
            Delay::Uniform {
                min_ms: 9,
                max_ms: 1
            }
            .validate(),
            Err(DelayError::UniformBounds {
                min_ms: 9,
                max_ms: 1
            })
        );
        for (p50_ms, p99_ms) in [(0, 10), (50, 10)] {
            assert_eq!(
                Delay::Lognormal { p50_ms, p99_ms }.validate(),
                Err(DelayError::LognormalBounds { p50_ms, p99_ms })
            );
        }
        assert_eq!(
            Delay::Constant(MAX_DELAY_MS + 1).validate(),
            Err(DelayError::TooLong(MAX_DELAY_MS + 1))
        );
        assert_eq!(Delay::Constant(MAX_DELAY_MS).validate(), Ok(()));
    }
}
