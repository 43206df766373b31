//! A simulation run with its oracles attached.

use std::time::Duration;

use cairn_sim::{Sim, SimConfig};

use crate::oracles::{self, G6, Outage};
use crate::violation::Violation;

/// A run: the simulation, the G6 scanner installed from its first event, and what the
/// oracles need to know about the faults scripted into it.
pub struct Run {
    pub sim: Sim,
    pub g6: G6,
    /// Zone outages, for G3.
    pub outages: Vec<Outage>,
    /// When every fault was healed, for liveness.
    pub healed_us: Option<u64>,
    pub start_us: u64,
}

/// How long a write may wait for its refusal while a zone is unavailable (DESIGN G3: "at
/// once"). Detection takes the zone timeout (300 ms), plus round trips.
pub const REFUSAL_BOUND: Duration = Duration::from_secs(1);
/// How soon after the faults heal writes must succeed again.
pub const LIVENESS_BOUND: Duration = Duration::from_secs(10);

impl Run {
    pub fn new(config: SimConfig) -> Run {
        let mut sim = Sim::new(config);
        let g6 = G6::install(&mut sim);
        let start_us = sim.now_micros();
        Run {
            sim,
            g6,
            outages: Vec::new(),
            healed_us: None,
            start_us,
        }
    }

    /// Microseconds since the start of the run.
    pub fn at(&self, d: Duration) -> u64 {
        self.start_us + d.as_micros() as u64
    }

    /// Stops the clients and lets the region settle, so that final checks see it at rest.
    pub fn finish(&mut self, settle: Duration) {
        self.sim.stop_workload();
        self.sim.run_for(settle);
    }

    /// Every oracle, with `refusal_bound` for G3.
    pub fn violations(&self, refusal_bound: Duration) -> Vec<Violation> {
        let mut v = oracles::g1::check(&self.sim);
        v.extend(oracles::g3::check(&self.sim, &self.outages, refusal_bound));
        v.extend(self.g6.violations());
        v.extend(oracles::g8::check(&self.sim));
        v.extend(oracles::keys::check(&self.sim, self.can_commit()));
        if let Some(healed) = self.healed_us
            && self.can_commit()
        {
            v.extend(oracles::liveness::check(&self.sim, healed, LIVENESS_BOUND));
        }
        v
    }

    /// Whether the voters that can still vote form a commit quorum: if not (a zone's only
    /// voter was lost, say, or both hard-state slots of a voter rotted, so that it never
    /// votes again), refusing writes forever is the promised behaviour and liveness is not
    /// expected.
    pub fn can_commit(&self) -> bool {
        let alive = self
            .sim
            .hosts()
            .iter()
            .filter(|h| h.life() != cairn_sim::Life::Lost)
            .filter(|h| !h.node().is_some_and(|n| n.status().lost_vote))
            .map(|h| h.id())
            .collect();
        self.sim.cluster().is_commit_quorum(&alive)
    }
}
