//! Faults on a timeline: the vocabulary (`entry`), how an entry becomes actions on the
//! running stack (`resolve`, `target`, `stack_target`), the engine that injects, lists,
//! clears and repairs them at run time and runs a scenario's timeline (`engine`), the
//! run's event log (`events`) and the stop conditions that abort a run (`stop`).

pub mod engine;
pub mod entry;
pub mod events;
#[cfg(test)]
pub mod fake;
mod resolve;
pub mod stack_target;
pub mod stop;
pub mod target;
#[cfg(test)]
mod tests;
pub mod windows;

// The seam the run, the stack-up driver and the console code against (not all of it is
// used inside the harness yet).
#[allow(unused_imports)]
pub use engine::{FaultEngine, FaultError, FaultRecord, FaultState, Source};
#[allow(unused_imports)]
pub use entry::{EntryError, FaultEntry, FaultVerb};
pub use events::{Event, EventKind, EventLog};
pub use stack_target::{StackTarget, worker_of_owner};
#[allow(unused_imports)]
pub use target::{Action, FaultTarget, Topology};
