//! The live progress line while load runs: elapsed / duration, step, offered and acked
//! rate, 429s, 5xx, TTFB p99, freshness p99. One line rewritten in place on a terminal; a
//! new line about every 5 s otherwise (CI logs).

use crate::load::Progress;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};
use tokio::sync::watch;

const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub fn line(p: &Progress) -> String {
    let freshness = p
        .freshness_p99_ms
        .map(|ms| format!("{:.1} s", ms / 1000.0))
        .unwrap_or_else(|| "-".into());
    format!(
        "[{:>4.0}/{:.0} s] {:<6} offered {:>7.0}/s  acked {:>7.0}/s  429 {:>5}  5xx {:>3}  TTFB p99 {:>6.1} ms  freshness p99 {}",
        p.elapsed_secs,
        p.duration_secs,
        p.step,
        p.offered_per_sec,
        p.acked_per_sec,
        p.throttled_429,
        p.server_5xx,
        p.ttfb_p99_ms,
        freshness
    )
}

/// Prints progress until the sender is dropped (the load ended); bounded by the load.
pub async fn print(mut rx: watch::Receiver<Progress>) {
    let tty = std::io::stdout().is_terminal();
    let mut last = Instant::now() - PLAIN_EVERY;
    let mut printed_tty = false;
    while rx.changed().await.is_ok() {
        let text = line(&rx.borrow_and_update());
        let mut out = std::io::stdout().lock();
        if tty {
            let _ = write!(out, "\r\x1b[2K{text}");
            printed_tty = true;
        } else if last.elapsed() >= PLAIN_EVERY {
            let _ = writeln!(out, "{text}");
            last = Instant::now();
        }
        let _ = out.flush();
    }
    if printed_tty {
        println!();
    }
    // The last figures in a log, too.
    if !tty && rx.borrow().elapsed_secs > 0.0 {
        println!("{}", line(&rx.borrow()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_shows_every_figure() {
        let p = Progress {
            elapsed_secs: 42.0,
            duration_secs: 110.0,
            step: "3x".into(),
            offered_per_sec: 63_000.0,
            acked_per_sec: 62_950.0,
            throttled_429: 0,
            server_5xx: 2,
            ttfb_p99_ms: 12.34,
            freshness_p99_ms: Some(1_850.0),
            ..Progress::default()
        };
        let l = line(&p);
        for part in [
            "42/110 s",
            "3x",
            "63000/s",
            "62950/s",
            "429     0",
            "5xx   2",
            "12.3 ms",
            "1.9 s",
        ] {
            assert!(l.contains(part), "{part:?} in {l:?}");
        }
    }
}
