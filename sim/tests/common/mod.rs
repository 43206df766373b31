//! Checks shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use cairn_core::key::state::KeyState;
use cairn_sim::{Sim, SimConfig, Topology};

pub fn config(seed: u64, topology: Topology) -> SimConfig {
    SimConfig::new(seed, topology)
}

/// Stops the clients and lets the region settle.
pub fn settle(sim: &mut Sim) {
    sim.stop_workload();
    sim.run_for(Duration::from_secs(4));
}

/// Every running node applied the same index and holds the same state.
pub fn assert_converged(sim: &Sim) {
    let digests = sim.replica_digests();
    assert!(!digests.is_empty());
    let (_, applied, digest) = digests[0];
    for (id, a, d) in &digests {
        assert_eq!(
            (*a, d),
            (applied, &digest),
            "{} differs from {}: {digests:?}",
            sim.host(*id).name(),
            sim.host(digests[0].0).name()
        );
    }
}

/// Every acknowledged key exists on every running node, and every sample ciphertext of a key
/// that may still decrypt decrypts to its plaintext there.
pub fn assert_keys_usable(sim: &Sim) -> usize {
    let mut checked = 0;
    for host in sim.hosts().iter().filter(|h| h.is_up()) {
        let store = host.node().unwrap().store();
        for key in sim.workload().keys() {
            let record = store.get(key.domain, key.id, None);
            assert!(
                record.is_ok(),
                "{}: acknowledged key {} missing: {record:?}",
                host.name(),
                key.id
            );
            let Some(sample) = &key.sample else { continue };
            if !matches!(key.state, Some(KeyState::Active | KeyState::Deactivated)) {
                continue;
            }
            let plain = store
                .decrypt(
                    key.domain,
                    key.id,
                    &sample.ciphertext,
                    sample.context.as_deref(),
                )
                .unwrap_or_else(|e| {
                    panic!("{}: key {} does not decrypt: {e}", host.name(), key.id)
                });
            assert_eq!(plain.as_slice(), sample.plaintext.as_slice());
            checked += 1;
        }
    }
    checked
}

/// G1 as the history records it: every acknowledged write was on the synced disk of a
/// majority of voters, covering both zones, at the instant of its acknowledgement.
pub fn assert_acks_durable(sim: &Sim) {
    let cluster = sim.cluster();
    for op in sim.history().acknowledged_writes() {
        let ack = op
            .ack
            .as_ref()
            .expect("acknowledged writes record their durability");
        let holders = ack.durable_or_disk_fault();
        assert!(
            cluster.is_commit_quorum(&holders),
            "op {} acknowledged at index {} but durable only on {:?}",
            op.id,
            ack.index,
            ack.durable_on
        );
    }
}
