//! A zone cut off: writes are refused (never left hanging) while crypto goes on in both
//! zones (G3's behaviour under a partition).

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use cairn_sim::{Fault, OpResult, Sim, Target, Topology};

fn zone_partition(topology: Topology, seed: u64) {
    let mut sim = Sim::new(common::config(seed, topology));
    sim.run_for(Duration::from_secs(6));
    let keys_before = sim.workload().keys().len();
    assert!(keys_before > 10);
    sim.apply(Fault::Isolate(Target::zone("b")));
    // Let the leader notice; what was in flight may end either way.
    sim.run_for(Duration::from_secs(1));
    let from = sim.now_micros();
    sim.run_for(Duration::from_secs(10));
    let until = sim.now_micros() - 3_000_000;

    let write_timeout = sim.config().timing.write_timeout;
    let (mut writes, mut crypto_zones) = (0, BTreeSet::new());
    for op in sim
        .history()
        .ops()
        .iter()
        .filter(|o| o.invoked_us >= from && o.invoked_us < until)
    {
        let result = op.result.as_ref().expect("answered, not hanging");
        let latency = op.latency().unwrap();
        if op.kind.is_write() {
            writes += 1;
            assert!(
                matches!(result, OpResult::Unavailable(_)),
                "op {} {} on {}: {result:?}",
                op.id,
                op.kind.name(),
                sim.host(op.node).name()
            );
            assert!(
                latency <= write_timeout + Duration::from_millis(100),
                "a refusal took {latency:?}"
            );
        } else {
            assert!(
                result.is_success(),
                "op {} {} on {} failed: {result:?}",
                op.id,
                op.kind.name(),
                sim.host(op.node).name()
            );
            crypto_zones.insert(sim.host(op.node).info().zone.clone());
        }
    }
    assert!(writes > 5, "{writes} writes tried");
    assert!(
        crypto_zones.contains("a") && crypto_zones.contains("b"),
        "crypto served in {crypto_zones:?}"
    );
    assert_eq!(
        sim.workload().keys().len(),
        keys_before,
        "nothing was acknowledged"
    );

    // Healed: writes work again and every replica converges.
    sim.apply(Fault::Heal);
    sim.run_for(Duration::from_secs(5));
    let after = sim.now_micros();
    sim.run_for(Duration::from_secs(3));
    assert!(
        sim.history()
            .acknowledged_writes()
            .any(|o| o.invoked_us >= after),
        "no write succeeded after healing"
    );
    common::settle(&mut sim);
    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

#[test]
fn one_voter_per_zone() {
    zone_partition(Topology::SMALL, 6);
}

#[test]
fn two_voters_per_zone() {
    zone_partition(Topology::FULL, 7);
}

#[test]
fn a_one_way_cut_is_one_way() {
    let mut sim = Sim::new(common::config(8, Topology::SMALL));
    let (a1, b1) = (sim.id("a1").unwrap(), sim.id("b1").unwrap());
    sim.apply(Fault::Cut { from: a1, to: b1 });
    assert!(sim.network().is_cut(a1, b1) && !sim.network().is_cut(b1, a1));
    sim.run_for(Duration::from_secs(3));
    assert!(sim.stats().dropped_cut > 0);
    sim.apply(Fault::HealLink { from: a1, to: b1 });
    assert!(sim.network().cut_links().is_empty());
    sim.run_for(Duration::from_secs(5));
    common::settle(&mut sim);
    common::assert_converged(&sim);
}

#[test]
fn the_remote_replica_cut_off_does_not_stop_writes_and_catches_up() {
    let mut sim = Sim::new(common::config(14, Topology::FULL));
    sim.run_for(Duration::from_secs(4));
    let r1 = sim.id("r1").unwrap();
    sim.apply(Fault::Isolate(Target::region(
        cairn_sim::topology::REMOTE_REGION,
    )));
    let from = sim.now_micros();
    sim.run_for(Duration::from_secs(6));
    let acked = sim
        .history()
        .acknowledged_writes()
        .filter(|o| o.invoked_us >= from && o.node != r1)
        .count();
    assert!(acked > 10, "{acked} writes during the cut");
    let leader = sim.leader().unwrap();
    let lag = sim.node(leader).unwrap().status().commit - sim.node(r1).unwrap().status().applied;
    assert!(lag >= acked as u64, "the replica lags by {lag}");
    sim.apply(Fault::Heal);
    sim.run_for(Duration::from_secs(2));
    common::settle(&mut sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}
