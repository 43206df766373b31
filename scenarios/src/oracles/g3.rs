//! G3: with a zone unavailable, acknowledged keys keep working from the rest of the region,
//! and writes are refused promptly rather than left hanging.

use std::time::Duration;

use cairn_core::Error;
use cairn_sim::{OpKind, OpResult, Sim};

use crate::violation::{Promise, Violation, capped};

/// A time during which a zone was lost or cut off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outage {
    pub zone: String,
    pub from_us: u64,
    pub to_us: u64,
}

/// For each outage:
///
/// * every encrypt or decrypt, on a node outside the zone, of a key whose creation was
///   acknowledged before the outage, succeeds — no "not found", no wrong plaintext (the
///   node may first run a barrier: that is the mechanism, not a failure);
/// * every write invoked during the outage gets its answer (success or `Unavailable`)
///   within `bound`: it is never left hanging until the client gives up.
pub fn check(sim: &Sim, outages: &[Outage], bound: Duration) -> Vec<Violation> {
    let mut found = Vec::new();
    let history = sim.history();
    for outage in outages {
        let zone_of = |id| sim.host(id).info().zone.clone();
        let acked_before = |key| {
            sim.workload().keys().iter().any(|k| {
                k.id == key
                    && history
                        .get(k.created_by)
                        .completed_us
                        .is_some_and(|t| t <= outage.from_us)
            })
        };
        for op in history.ops() {
            if op.invoked_us < outage.from_us || op.invoked_us >= outage.to_us {
                continue;
            }
            let Some(result) = &op.result else { continue };
            let outside = zone_of(op.node) != outage.zone;
            match &op.kind {
                OpKind::Encrypt { key, .. } | OpKind::Decrypt { key, .. }
                    if outside && acked_before(*key) =>
                {
                    let lost = matches!(
                        result,
                        OpResult::Rejected(Error::KeyNotFound(_) | Error::DomainNotFound(_))
                            | OpResult::Decrypted { matches: false }
                    );
                    if lost {
                        found.push(Violation::new(
                            Promise::G3,
                            format!(
                                "{} of key {key} on {} (zone {} down) failed: {}",
                                op.kind.name(),
                                sim.host(op.node).name(),
                                outage.zone,
                                result.name()
                            ),
                        ));
                    }
                }
                kind if kind.is_write() => {
                    let hung = matches!(result, OpResult::Timeout)
                        || (!matches!(result, OpResult::NodeDown)
                            && op.latency().is_some_and(|l| l > bound));
                    if hung {
                        found.push(Violation::new(
                            Promise::G3,
                            format!(
                                "{} on {} during the outage of zone {} answered after {:?} ({}): \
                                 the bound is {bound:?}",
                                kind.name(),
                                sim.host(op.node).name(),
                                outage.zone,
                                op.latency().unwrap_or_default(),
                                result.name()
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
    capped(found, 5)
}
