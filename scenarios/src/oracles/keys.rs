//! G2 (and G3, G4 after recoveries): every acknowledged key is still there, on every running
//! node, and decrypts what it encrypted.

use cairn_core::key::state::KeyState;
use cairn_sim::Sim;

use crate::violation::{Promise, Violation, capped};

/// Every key whose creation was acknowledged exists on every running node, and a usable one
/// (active or deactivated, as far as the clients know) decrypts its sample ciphertext.
///
/// When the surviving voters can no longer elect a leader (`can_commit` false: a voter was
/// lost for good, or lost its vote to a rotten disk), a node that lagged behind at that
/// moment can never catch up, and that is the promised behaviour (writes are refused, the
/// region waits for an operator). What must hold then is that no acknowledged key is gone
/// from the region: at least one running node still serves it.
pub fn check(sim: &Sim, can_commit: bool) -> Vec<Violation> {
    if !can_commit {
        return check_somewhere(sim);
    }
    let mut found = Vec::new();
    for host in sim.hosts() {
        let Some(node) = host.node() else { continue };
        let store = node.store();
        for key in sim.workload().keys() {
            if store.get(key.domain, key.id, None).is_err() {
                found.push(Violation::new(
                    Promise::G2,
                    format!(
                        "{} lost key {} (acknowledged at index {})",
                        host.name(),
                        key.id,
                        key.index
                    ),
                ));
                continue;
            }
            let usable = matches!(key.state, Some(KeyState::Active | KeyState::Deactivated));
            if let (Some(sample), true) = (&key.sample, usable) {
                let plain = store.decrypt(
                    key.domain,
                    key.id,
                    &sample.ciphertext,
                    sample.context.as_deref(),
                );
                if plain.as_deref().map(Vec::as_slice) != Ok(sample.plaintext.as_slice()) {
                    found.push(Violation::new(
                        Promise::G2,
                        format!("{} cannot decrypt with key {}", host.name(), key.id),
                    ));
                }
            }
        }
    }
    capped(found, 5)
}

fn check_somewhere(sim: &Sim) -> Vec<Violation> {
    let found = sim
        .workload()
        .keys()
        .iter()
        .filter(|key| {
            !sim.hosts().iter().any(|host| {
                host.node()
                    .is_some_and(|node| node.store().get(key.domain, key.id, None).is_ok())
            })
        })
        .map(|key| {
            Violation::new(
                Promise::G2,
                format!(
                    "no running node has key {} (acknowledged at index {})",
                    key.id, key.index
                ),
            )
        })
        .collect();
    capped(found, 5)
}
