//! Same seed, same run; another seed, another run.

mod common;

use std::time::Duration;

use cairn_sim::{Fault, LinkFaults, Sim, Target, Topology};

fn run(seed: u64) -> Sim {
    let mut sim = Sim::new(common::config(seed, Topology::SMALL));
    sim.schedule_in(Duration::from_secs(1), Fault::Network(LinkFaults::FLAKY));
    let b1 = sim.id("b1").unwrap();
    sim.schedule_in(
        Duration::from_secs(3),
        Fault::CrashRestart {
            target: Target::Node(b1),
            down_for: Duration::from_secs(1),
        },
    );
    sim.run_for(Duration::from_secs(8));
    sim
}

#[test]
fn the_same_seed_gives_the_same_trace_and_history() {
    let (a, b) = (run(11), run(11));
    assert_eq!(a.trace_hash(), b.trace_hash());
    assert_eq!(a.history(), b.history());
    assert_eq!(a.stats(), b.stats());
    assert_eq!(a.replica_digests(), b.replica_digests());
    assert!(a.history().len() > 50, "the run did something");
    assert!(a.stats().dropped_loss > 0 && a.stats().faults["crash_restart"] == 1);
}

#[test]
fn different_seeds_give_different_runs() {
    let hashes: std::collections::BTreeSet<[u8; 32]> =
        (20..24).map(|seed| run(seed).trace_hash()).collect();
    assert_eq!(hashes.len(), 4);
}

#[test]
fn a_simulation_can_run_on_another_thread() {
    fn is_send<T: Send>(_: &T) {}
    let sim = Sim::new(common::config(1, Topology::SMALL));
    is_send(&sim);
    let hash = std::thread::spawn(move || {
        let mut sim = sim;
        sim.run_for(Duration::from_secs(1));
        sim.trace_hash()
    })
    .join()
    .unwrap();
    let mut local = Sim::new(common::config(1, Topology::SMALL));
    local.run_for(Duration::from_secs(1));
    assert_eq!(hash, local.trace_hash());
}
