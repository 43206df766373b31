//! G1: an acknowledged write is on disk on voters of every primary zone (and on a majority).

use cairn_sim::Sim;

use crate::violation::{Promise, Violation, capped};

/// Every acknowledged write was, at the instant of its acknowledgement, on the synced disks of
/// a commit quorum: a majority of voters including one of every primary zone. Voters whose
/// disk was lost or corrupted meanwhile are excused (the write may have been there).
pub fn check(sim: &Sim) -> Vec<Violation> {
    let cluster = sim.cluster();
    let found = sim
        .history()
        .acknowledged_writes()
        .filter_map(|op| {
            let ack = op.ack.as_ref()?;
            let holders = ack.durable_or_disk_fault();
            (!cluster.is_commit_quorum(&holders)).then(|| {
                let names: Vec<&str> = ack
                    .durable_on
                    .iter()
                    .map(|id| sim.host(*id).name())
                    .collect();
                Violation::new(
                    Promise::G1,
                    format!(
                        "{} (op {}) acknowledged at index {} while on synced disk only on {names:?}",
                        op.kind.name(),
                        op.id,
                        ack.index
                    ),
                )
            })
        })
        .collect();
    capped(found, 5)
}
