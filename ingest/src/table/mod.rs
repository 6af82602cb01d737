//! The storage contract shared by delivery (writes it), the query service's catalog
//! (follows it) and the harness's ledger (audits it independently): object layout in the
//! bucket, the per-shard lease object, the append-only commit chain and its checkpoints, and the Arrow schemas
//! of the `metrics` and `events` tables (and how a label set is split between promoted label
//! columns and the `labels` map). The protocol itself is described in
//! `ingest/src/delivery/design.md`.

pub mod checkpoint;
pub mod commit;
pub mod labels;
pub mod layout;
pub mod lease;
pub mod schema;

pub use checkpoint::{Checkpoint, EpochSpan, Manifest, Segment};
pub use commit::{Commit, CommittedObject, Resume};
pub use layout::{Partition, SeqNo};
pub use lease::Lease;
