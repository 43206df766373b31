//! Liveness: once the faults are healed, writes succeed again within a bound.

use std::time::Duration;

use cairn_sim::Sim;

use crate::violation::{Promise, Violation};

/// After `healed_us`, some write invoked after it succeeds, and the first to succeed
/// completes within `bound` of the healing. Inconclusive (no violation) when no client
/// attempted a write after the healing.
pub fn check(sim: &Sim, healed_us: u64, bound: Duration) -> Vec<Violation> {
    let deadline = healed_us + bound.as_micros() as u64;
    let writes: Vec<_> = sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us >= healed_us)
        .collect();
    if writes.is_empty() {
        return Vec::new();
    }
    let first_success = writes
        .iter()
        .filter(|op| op.result.as_ref().is_some_and(|r| r.is_success()))
        .filter_map(|op| op.completed_us)
        .min();
    match first_success {
        Some(t) if t <= deadline => Vec::new(),
        Some(t) => vec![Violation::new(
            Promise::Liveness,
            format!(
                "writes succeeded again only {:?} after the faults healed (bound {bound:?})",
                std::time::Duration::from_micros(t - healed_us)
            ),
        )],
        None => vec![Violation::new(
            Promise::Liveness,
            format!(
                "{} writes attempted after the faults healed; none succeeded",
                writes.len()
            ),
        )],
    }
}
