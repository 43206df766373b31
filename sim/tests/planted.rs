//! The simulator's records catch bugs planted in core on purpose (DESIGN §8: a checker is
//! trusted only once it has caught one): the G1 durability recorded at each acknowledgement,
//! and the G6 scanner.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cairn_core::replication::PlantedBugs;
use cairn_sim::{Fault, OpMix, Sim, SimConfig, Target, Topology};

/// Acknowledged writes that were not on the synced disks of a commit quorum when
/// acknowledged.
///
/// Zone b's disks are slow, so that its voters apply an entry (they learn it is committed)
/// before their own fsync of it completes: an acknowledgement that did not wait for them is
/// then visible in the record.
fn g1_violations(config: SimConfig) -> usize {
    let mut sim = Sim::new(config);
    sim.apply(Fault::DiskLatency {
        target: Target::zone("b"),
        fsync: Some((Duration::from_millis(20), Duration::from_millis(60))),
    });
    sim.run_for(Duration::from_secs(10));
    assert!(sim.history().acknowledged_writes().count() > 20);
    let cluster = sim.cluster().clone();
    sim.history()
        .acknowledged_writes()
        .filter(|op| {
            let ack = op.ack.as_ref().unwrap();
            !cluster.is_commit_quorum(&ack.durable_on.iter().copied().collect())
        })
        .count()
}

fn with_bugs(seed: u64, topology: Topology, bugs: PlantedBugs) -> SimConfig {
    let mut config = common::config(seed, topology);
    config.timing.bugs = bugs;
    config
}

#[test]
fn the_ack_records_see_no_violation_without_bugs() {
    assert_eq!(g1_violations(common::config(15, Topology::FULL)), 0);
}

/// The leader acknowledges only once a voter of every zone has applied the write, which by
/// then is long on disk everywhere it counted: that rule alone hides both durability bugs
/// below, so they are planted with it switched off. Switched off alone, it breaks no
/// durability.
#[test]
fn the_ack_records_see_no_violation_with_only_the_remote_apply_rule_off() {
    let bugs = PlantedBugs {
        ack_before_remote_apply: true,
        ..PlantedBugs::default()
    };
    assert_eq!(g1_violations(with_bugs(15, Topology::FULL, bugs)), 0);
}

#[test]
fn the_ack_records_catch_acknowledgement_before_fsync() {
    let bugs = PlantedBugs {
        ack_before_fsync: true,
        ack_before_remote_apply: true,
        ..PlantedBugs::default()
    };
    assert!(g1_violations(with_bugs(15, Topology::FULL, bugs)) > 0);
}

#[test]
fn the_ack_records_catch_a_commit_in_one_zone() {
    let bugs = PlantedBugs {
        commit_in_one_zone: true,
        ack_before_remote_apply: true,
        ..PlantedBugs::default()
    };
    assert!(g1_violations(with_bugs(16, Topology::FULL, bugs)) > 0);
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn the_scanner_catches_leaked_material() {
    let bugs = PlantedBugs {
        leak_material: true,
        ..PlantedBugs::default()
    };
    let mut config = with_bugs(17, Topology::SMALL, bugs);
    config.workload.mix = OpMix {
        import: 30,
        ..OpMix::DEFAULT
    };
    let mut sim = Sim::new(config);
    let leaks = Arc::new(Mutex::new(0u64));
    let found = Arc::clone(&leaks);
    sim.set_scanner(move |s| {
        if s.secrets.iter().any(|secret| contains(s.bytes, secret)) {
            *found.lock().unwrap() += 1;
        }
    });
    sim.run_for(Duration::from_secs(5));
    assert!(*leaks.lock().unwrap() > 0, "the leak went unseen");
}
