//! Crash and stall seams between the writes of the commit protocol. Tests set an
//! in-process hook through the worker's builder; the harness, which must crash a child
//! process, uses fail-rs failpoints of the same names (feature `failpoints`,
//! `FAILPOINTS=delivery::after_commit=return` crashes; `sleep(ms)` stalls the thread).

use std::sync::Arc;
use std::time::Duration;

/// Where in the commit protocol a hook is consulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Point {
    /// Data objects written, commit object not yet.
    AfterData,
    /// Commit object written, lease not yet updated.
    AfterCommit,
    /// Lease updated to the new head, next read not yet made.
    AfterLease,
}

impl Point {
    pub fn failpoint_name(self) -> &'static str {
        match self {
            Point::AfterData => "delivery::after_data",
            Point::AfterCommit => "delivery::after_commit",
            Point::AfterLease => "delivery::after_lease",
        }
    }
}

/// What the worker does at a seam.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookAction {
    Continue,
    /// The worker stops dead: no flush, no commit, no release, nothing more written.
    Crash,
    /// The shard's task sleeps this long (no renewal meanwhile), then carries on.
    Stall(Duration),
}

/// `hook(point, shard_id)`.
pub type Hook = Arc<dyn Fn(Point, &str) -> HookAction + Send + Sync>;

/// The action at `point`: the in-process hook first, then the failpoint of that name.
pub fn consult(hook: Option<&Hook>, point: Point, shard_id: &str) -> HookAction {
    if let Some(h) = hook {
        let a = h(point, shard_id);
        if a != HookAction::Continue {
            return a;
        }
    }
    failpoint(point)
}

#[cfg(feature = "failpoints")]
fn failpoint(point: Point) -> HookAction {
    // `return` crashes; `sleep(ms)` / `pause` act inside fail-rs itself.
    let f = || -> HookAction {
        match point {
            Point::AfterData => fail::fail_point!("delivery::after_data", |_| HookAction::Crash),
            Point::AfterCommit => {
                fail::fail_point!("delivery::after_commit", |_| HookAction::Crash)
            }
            Point::AfterLease => fail::fail_point!("delivery::after_lease", |_| HookAction::Crash),
        }
        HookAction::Continue
    };
    f()
}

#[cfg(not(feature = "failpoints"))]
fn failpoint(_point: Point) -> HookAction {
    HookAction::Continue
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_in_process_hook_decides_first() {
        let h: Hook = Arc::new(|p, shard| match (p, shard) {
            (Point::AfterCommit, "s1") => HookAction::Crash,
            _ => HookAction::Continue,
        });
        assert_eq!(
            consult(Some(&h), Point::AfterCommit, "s1"),
            HookAction::Crash
        );
        assert_eq!(
            consult(Some(&h), Point::AfterCommit, "s2"),
            HookAction::Continue
        );
        assert_eq!(consult(None, Point::AfterData, "s1"), HookAction::Continue);
    }

    #[cfg(feature = "failpoints")]
    #[test]
    fn failpoints_of_the_same_names_crash() {
        let scenario = fail::FailScenario::setup();
        fail::cfg("delivery::after_lease", "return").unwrap();
        assert_eq!(consult(None, Point::AfterLease, "s1"), HookAction::Crash);
        assert_eq!(consult(None, Point::AfterData, "s1"), HookAction::Continue);
        scenario.teardown();
    }
}
