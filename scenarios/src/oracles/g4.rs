//! G4: after a rebuild from the remote replica, every key acknowledged earlier than the
//! replica's lag at the moment of loss is present and decrypts the same ciphertexts.

use std::time::Duration;

use cairn_core::backup::Restored;
use cairn_sim::Sim;

use crate::oracles::rpo::{self, Rpo};
use crate::violation::{Promise, Violation, capped};

/// Clocks of different nodes differ by up to twice the configured skew: the lag is measured
/// on the leader's clock, acknowledgements on the global one.
pub fn tolerance(sim: &Sim) -> Duration {
    sim.config().clock.max_skew * 2
}

/// Checks `restored` (from the replica) against the keys acknowledged before `loss_us`,
/// given the replica's lag (ms) the leader measured at the loss.
pub fn check(sim: &Sim, restored: &Restored, loss_us: u64, lag_ms: u64) -> (Rpo, Vec<Violation>) {
    let rpo = rpo::measure(sim, restored, loss_us);
    let bound_us = lag_ms * 1000 + tolerance(sim).as_micros() as u64;
    let found = rpo
        .lost
        .iter()
        .filter(|(acked, _, _)| loss_us.saturating_sub(*acked) > bound_us)
        .map(|(acked, index, key)| {
            Violation::new(
                Promise::G4,
                format!(
                    "key {key} (index {index}), acknowledged {:.3} s before the loss, is lost or unusable after the rebuild from the replica (lag {lag_ms} ms)",
                    loss_us.saturating_sub(*acked) as f64 / 1e6
                ),
            )
        })
        .collect();
    (rpo, capped(found, 5))
}
