//! Without faults every acknowledged key is everywhere, usable, and the replicas agree.

mod common;

use std::time::Duration;

use cairn_sim::{OpResult, Sim, Topology};

fn fault_free(topology: Topology, seed: u64) {
    let mut sim = Sim::new(common::config(seed, topology));
    sim.run_for(Duration::from_secs(20));
    common::settle(&mut sim);

    let history = sim.history();
    assert!(
        history.ops().iter().all(|o| o.is_complete()),
        "every operation answered"
    );
    let acked = history.acknowledged_writes().count();
    assert!(acked > 50, "only {acked} writes acknowledged");
    // After the first election, no write fails and nothing times out.
    for op in history
        .ops()
        .iter()
        .filter(|o| o.invoked_us > history.get(0).invoked_us + 2_000_000)
    {
        let result = op.result.as_ref().unwrap();
        assert!(
            !matches!(
                result,
                OpResult::Unavailable(_) | OpResult::Timeout | OpResult::NodeDown
            ),
            "op {} {}: {result:?}",
            op.id,
            op.kind.name()
        );
        assert!(
            !matches!(result, OpResult::Decrypted { matches: false }),
            "a decrypt gave the wrong plaintext"
        );
    }
    assert!(
        history.ops().iter().any(|o| o.kind.name() == "import_key"
            && o.result.as_ref().is_some_and(OpResult::is_success))
    );
    assert!(
        history
            .ops()
            .iter()
            .any(|o| o.kind.name() == "decrypt"
                && o.result.as_ref().is_some_and(OpResult::is_success))
    );

    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    let checked = common::assert_keys_usable(&sim);
    assert!(checked > 0);
    assert_eq!(sim.stats().undecodable, 0);
}

#[test]
fn one_voter_per_zone() {
    fault_free(
        Topology {
            voters_per_zone: 1,
            learners: 1,
        },
        1,
    );
}

#[test]
fn two_voters_per_zone_and_two_learners() {
    fault_free(
        Topology {
            voters_per_zone: 2,
            learners: 2,
        },
        2,
    );
}
