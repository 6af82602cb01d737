//! One check of a gate: a measured figure against its threshold, both as text a user
//! reads in the summary, JUnit and Markdown, and the verdict; the figure also as numbers
//! (`value`, out of `of`), so that tests and tools read what was measured, not the label.

use serde::Serialize;
use std::fmt;

#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What is measured, e.g. "2xx at 1×".
    pub what: String,
    pub measured: String,
    pub threshold: String,
    pub passed: bool,
    /// The measured figure as a number (e.g. 3 acked records lost, 120.5 ms); `None` when
    /// nothing was measured (missing evidence) or the check is not a number.
    pub value: Option<f64>,
    /// What `value` is a part of, when it is one (e.g. 3 lost *of 4 000 acked*).
    pub of: Option<f64>,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}: measured {}, threshold {}",
            if self.passed { "ok  " } else { "FAIL" },
            self.what,
            self.measured,
            self.threshold
        )
    }
}

impl Check {
    pub fn new(what: impl Into<String>, measured: String, threshold: String, passed: bool) -> Self {
        Check {
            what: what.into(),
            measured,
            threshold,
            passed,
            value: None,
            of: None,
        }
    }

    /// The measured figure as numbers: `value`, out of `of` when it is a part of a whole.
    pub fn figure(mut self, value: f64, of: Option<f64>) -> Self {
        self.value = Some(value);
        self.of = of;
        self
    }

    /// Evidence the gate needs is missing: a failure, never a pass by default.
    pub fn missing(what: impl Into<String>, why: &str, threshold: String) -> Self {
        Check::new(what, format!("no data ({why})"), threshold, false)
    }

    /// `num / den ≥ min`; `den == 0` is missing evidence.
    pub fn ratio_at_least(what: impl Into<String>, num: u64, den: u64, min: f64) -> Self {
        let threshold = format!("≥ {}", pct(min));
        if den == 0 {
            return Check::missing(what, "nothing counted", threshold);
        }
        let r = num as f64 / den as f64;
        Check::new(
            what,
            format!("{} ({num} of {den})", pct(r)),
            threshold,
            r >= min,
        )
        .figure(num as f64, Some(den as f64))
    }

    /// `num / den ≤ max`; `den == 0` is missing evidence.
    pub fn ratio_at_most(what: impl Into<String>, num: u64, den: u64, max: f64) -> Self {
        let threshold = format!("≤ {}", pct(max));
        if den == 0 {
            return Check::missing(what, "nothing counted", threshold);
        }
        let r = num as f64 / den as f64;
        Check::new(
            what,
            format!("{} ({num} of {den})", pct(r)),
            threshold,
            r <= max,
        )
        .figure(num as f64, Some(den as f64))
    }

    /// A count that must stay at or below `max`; `note` adds where it came from.
    pub fn count_at_most(what: impl Into<String>, n: u64, max: u64, note: &str) -> Self {
        let measured = if note.is_empty() {
            n.to_string()
        } else {
            format!("{n} ({note})")
        };
        Check::new(what, measured, format!("≤ {max}"), n <= max).figure(n as f64, None)
    }

    /// A latency in ms that must stay at or below `max_ms`; no samples is missing evidence.
    pub fn ms_at_most(
        what: impl Into<String>,
        ms: Option<f64>,
        max_ms: f64,
        why_none: &str,
    ) -> Self {
        let threshold = format!("≤ {} ms", num(max_ms));
        match ms {
            Some(ms) => Check::new(what, format!("{} ms", num(ms)), threshold, ms <= max_ms)
                .figure(ms, None),
            None => Check::missing(what, why_none, threshold),
        }
    }
}

/// A share as a percentage with up to 4 decimals, trailing zeros trimmed: 0.999 → "99.9 %".
pub fn pct(share: f64) -> String {
    format!("{} %", trim(format!("{:.4}", share * 100.0)))
}

/// A figure with up to 1 decimal, trailing zeros trimmed: 25.0 → "25", 31.26 → "31.3".
pub fn num(x: f64) -> String {
    trim(format!("{x:.1}"))
}

fn trim(s: String) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_read_like_the_thresholds_file() {
        assert_eq!(pct(0.999), "99.9 %");
        assert_eq!(pct(0.0001), "0.01 %");
        assert_eq!(pct(1.0), "100 %");
        assert_eq!(pct(0.998999), "99.8999 %");
        assert_eq!(num(25.0), "25");
        assert_eq!(num(31.26), "31.3");
    }

    #[test]
    fn nothing_counted_is_a_failure() {
        let c = Check::ratio_at_least("2xx at 1×", 0, 0, 0.999);
        assert!(!c.passed);
        assert!(c.measured.starts_with("no data"), "{c}");
        assert_eq!(
            (c.value, c.of),
            (None, None),
            "no figure when nothing counted"
        );
        let c = Check::ms_at_most("TTFB p99", None, 25.0, "no answers");
        assert!(!c.passed);
        assert_eq!(c.value, None);
    }

    #[test]
    fn the_figure_is_carried_as_numbers() {
        let c = Check::ratio_at_least("2xx at 1×", 10, 12, 0.999);
        assert_eq!((c.value, c.of), (Some(10.0), Some(12.0)));
        let c = Check::count_at_most("acked records lost", 3, 0, "of 4000 acked");
        assert_eq!((c.value, c.of), (Some(3.0), None));
        let c = Check::ms_at_most("TTFB p99", Some(31.25), 25.0, "");
        assert_eq!(c.value, Some(31.25));
    }
}
