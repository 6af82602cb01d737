//! The gateway's input formats, each decoded into series of samples or events.

pub mod encoding;
pub mod events;
pub mod otlp;
pub mod remote_write;

/// One series: its sorted labels and its samples.
pub type Series = (Vec<crate::envelope::Label>, Vec<crate::envelope::Sample>);
