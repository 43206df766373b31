//! G8: replicas never diverge.

use cairn_sim::Sim;

use crate::violation::{Promise, Violation, capped};

/// Every running node that has applied the same index has the same state digest; the
/// committed prefixes of every two logs agree entry for entry (by term); no node refused a
/// leader for contradicting its committed log.
pub fn check(sim: &Sim) -> Vec<Violation> {
    let mut found = Vec::new();
    let digests = sim.replica_digests();
    for (i, a) in digests.iter().enumerate() {
        for b in &digests[i + 1..] {
            if a.1 == b.1 && a.2 != b.2 {
                found.push(Violation::new(
                    Promise::G8,
                    format!(
                        "{} and {} applied index {} but their states differ",
                        sim.host(a.0).name(),
                        sim.host(b.0).name(),
                        a.1
                    ),
                ));
            }
        }
    }
    let nodes: Vec<_> = sim.hosts().iter().filter_map(|h| h.node()).collect();
    for n in &nodes {
        if let Some(at) = n.status().diverged {
            found.push(Violation::new(
                Promise::G8,
                format!(
                    "{} stopped following: its leader contradicts its committed entry {at}",
                    n.id()
                ),
            ));
        }
    }
    for (i, a) in nodes.iter().enumerate() {
        for b in &nodes[i + 1..] {
            let upto = a.status().commit.min(b.status().commit);
            let from = upto.saturating_sub(10_000);
            for index in (from + 1)..=upto {
                if let (Some(x), Some(y)) = (a.entry(index), b.entry(index))
                    && x.term != y.term
                {
                    found.push(Violation::new(
                        Promise::G8,
                        format!(
                            "committed entry {index} is of term {} on {} and {} on {}",
                            x.term,
                            a.id(),
                            y.term,
                            b.id()
                        ),
                    ));
                    break;
                }
            }
        }
    }
    capped(found, 5)
}

/// Whether every running node has applied the same index (the region has settled).
pub fn converged(sim: &Sim) -> bool {
    let digests = sim.replica_digests();
    digests.windows(2).all(|w| w[0].1 == w[1].1)
}
