//! G2 (and G3, G4 after recoveries): every acknowledged key is still there, on every running
//! node, and decrypts what it encrypted.

use cairn_core::key::state::KeyState;
use cairn_sim::Sim;

use crate::violation::{Promise, Violation, capped};

/// Every key whose creation was acknowledged exists on every running node, and a usable one
/// (active or deactivated, as far as the clients know) decrypts its sample ciphertext.
pub fn check(sim: &Sim) -> Vec<Violation> {
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
