//! G5: after a rebuild from backups, every key acknowledged more than the backup interval
//! plus the upload time before the loss is present and decrypts the same ciphertexts.

use std::time::Duration;

use cairn_core::backup::Restored;
use cairn_sim::{Sim, StoreOpKind, StoreOutcome};

use crate::oracles::rpo::{self, Rpo};
use crate::violation::{Promise, Violation, capped};

/// Allowance for the replica's lag behind the leader when the backup is cut, and for clock
/// skew: a key reaches a backup once the replica has it.
pub const REPLICA_ALLOWANCE: Duration = Duration::from_secs(5);

/// The longest successful upload to any backup region so far.
pub fn longest_upload(sim: &Sim) -> Duration {
    sim.stores()
        .iter()
        .flat_map(|s| s.log())
        .filter(|op| op.kind == StoreOpKind::Upload && op.outcome == StoreOutcome::Done)
        .map(|op| op.duration())
        .max()
        .unwrap_or_default()
}

/// The promised loss window: the backup interval, plus the longest upload, plus
/// [`REPLICA_ALLOWANCE`].
pub fn bound(sim: &Sim) -> Duration {
    let interval = cairn_sim::backup::schedule_config(sim).map_or(Duration::ZERO, |c| c.interval);
    interval + longest_upload(sim) + REPLICA_ALLOWANCE
}

/// Checks `restored` (from backups) against the keys acknowledged before `loss_us`.
pub fn check(sim: &Sim, restored: &Restored, loss_us: u64) -> (Rpo, Vec<Violation>) {
    let rpo = rpo::measure(sim, restored, loss_us);
    let bound = bound(sim);
    let found = rpo
        .lost
        .iter()
        .filter(|(acked, _, _)| loss_us.saturating_sub(*acked) > bound.as_micros() as u64)
        .map(|(acked, index, key)| {
            Violation::new(
                Promise::G5,
                format!(
                    "key {key} (index {index}), acknowledged {:.3} s before the loss, is lost or unusable after the rebuild from backups (promise: {:.3} s)",
                    loss_us.saturating_sub(*acked) as f64 / 1e6,
                    bound.as_secs_f64()
                ),
            )
        })
        .collect();
    (rpo, capped(found, 5))
}
