//! The clock settings of replication.

use std::time::Duration;

/// Timeouts and intervals. The defaults suit a region whose zones are a few milliseconds
/// apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timing {
    /// How often a leader sends heartbeats.
    pub heartbeat: Duration,
    /// Election timeouts are drawn uniformly in `[election_min, 2 × election_min)`.
    pub election_min: Duration,
    /// A leader that has heard from no voter of some primary zone for this long refuses
    /// writes at once ("read-only: zone unavailable") instead of letting them hang.
    pub zone_timeout: Duration,
    /// A write not committed within this time fails with `Unavailable`.
    pub write_timeout: Duration,
    /// How long a barrier waits for peers' answers before it settles for what it has.
    pub barrier_timeout: Duration,
    /// Entries applied since the last snapshot that trigger a new one.
    pub snapshot_every: u64,
    /// Most entries in one append message.
    pub max_batch: usize,
    /// Most entries sent to a follower beyond what it acknowledged (flow control).
    pub max_inflight: u64,
    /// Bugs switched on for the simulator's checker tests; none outside `planted-bugs`.
    pub bugs: crate::replication::bugs::PlantedBugs,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            heartbeat: Duration::from_millis(50),
            election_min: Duration::from_millis(500),
            zone_timeout: Duration::from_millis(300),
            write_timeout: Duration::from_secs(2),
            barrier_timeout: Duration::from_millis(200),
            snapshot_every: 10_000,
            max_batch: 512,
            max_inflight: 8192,
            bugs: crate::replication::bugs::PlantedBugs::default(),
        }
    }
}
