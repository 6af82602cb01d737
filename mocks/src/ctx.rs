//! What every service of the emulator shares: configuration, clock, counters, faults.

use crate::{Clock, Counters, EmulatorConfig, Faults};
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Ctx {
    pub config: Arc<EmulatorConfig>,
    pub clock: Arc<Clock>,
    pub counters: Arc<Counters>,
    pub faults: Arc<Faults>,
}

impl Ctx {
    pub fn new(config: EmulatorConfig) -> Self {
        let counters = Arc::new(Counters::default());
        Self {
            faults: Arc::new(Faults::new(config.seed, counters.clone())),
            config: Arc::new(config),
            clock: Arc::new(Clock::default()),
            counters,
        }
    }
}
