//! The control API (`gameday.control.v1.Control`, harness/proto): inject, list and clear
//! faults, set the load, stream status, stop the run — served by every running `up`,
//! `scenario` and `tui` (`server`), found through the run directory (`endpoint`), called
//! by `gameday fault`, `gameday status` and `gameday stop` (`cli`, `client`, `show`).

pub mod cli;
pub mod client;
pub mod convert;
pub mod endpoint;
pub mod server;
pub mod show;
#[cfg(test)]
pub(crate) mod tests;

pub mod pb {
    tonic::include_proto!("gameday.control.v1");
}
