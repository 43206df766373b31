//! Lost and replaced hosts, snapshots and compaction, clock skew.

mod common;

use std::time::Duration;

use cairn_sim::{Fault, Life, Sim, Target, Topology};

#[test]
fn with_two_voters_per_zone_losing_a_host_keeps_writes_going() {
    let mut sim = Sim::new(common::config(9, Topology::FULL));
    sim.run_for(Duration::from_secs(5));
    let b2 = sim.id("b2").unwrap();
    sim.apply(Fault::Lose(Target::Node(b2)));
    assert_eq!(sim.host(b2).life(), Life::Lost);
    assert!(
        sim.host(b2).disk().synced_log().is_empty(),
        "the disk is gone"
    );
    sim.apply(Fault::Restart(Target::Node(b2)));
    assert!(
        !sim.fault_log().last().unwrap().effective,
        "a lost host does not restart"
    );
    sim.run_for(Duration::from_secs(2));
    let after = sim.now_micros();
    sim.run_for(Duration::from_secs(5));
    let acked_after = sim
        .history()
        .acknowledged_writes()
        .filter(|o| o.invoked_us >= after)
        .count();
    assert!(acked_after > 5, "{acked_after} writes after the loss");
    assert!(
        sim.history()
            .ops()
            .iter()
            .all(|o| o.node != b2 || o.invoked_us < after)
    );
    common::settle(&mut sim);
    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

fn snapshotting(seed: u64) -> Sim {
    let mut config = common::config(seed, Topology::FULL);
    config.timing.snapshot_every = 100;
    Sim::new(config)
}

#[test]
fn snapshots_compact_the_logs_and_restarts_read_them_back() {
    let mut sim = snapshotting(10);
    sim.run_for(Duration::from_secs(20));
    let a1 = sim.id("a1").unwrap();
    let disk = sim.host(a1).disk();
    assert!(disk.synced_snapshot().is_some());
    assert!(disk.stats().compactions > 0);
    let applied = sim.node(a1).unwrap().status().applied;
    sim.apply(Fault::CrashRestart {
        target: Target::Node(a1),
        down_for: Duration::from_millis(300),
    });
    sim.run_for(Duration::from_millis(400));
    let restart = sim.host(a1).restarts()[0].clone();
    assert!(restart.snapshot_index.is_some_and(|i| i > 0), "{restart:?}");
    assert!(!restart.log_damaged);
    assert!(sim.node(a1).unwrap().status().last_index >= applied);
    sim.run_for(Duration::from_secs(3));
    common::settle(&mut sim);
    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

/// Core bug (reported): the leader never lowers `Progress::matched`, and clamps `next` to
/// `matched + 1` on a rejection, so a follower whose durable log shrank (a replacement with
/// an empty disk, or a log cut at a damaged record) is never sent what it lost. Here the
/// leader has compacted its log, so barrier fetches cannot fill the gap either.
#[test]
fn a_replaced_host_catches_up_by_snapshot() {
    let mut sim = snapshotting(11);
    sim.run_for(Duration::from_secs(15));
    let b2 = sim.id("b2").unwrap();
    sim.apply(Fault::Replace(b2));
    assert!(sim.host(b2).restarts()[0].replaced);
    assert_eq!(sim.node(b2).unwrap().status().last_index, 0);
    sim.run_for(Duration::from_secs(5));
    common::settle(&mut sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

/// The same bug, without clients: nothing triggers the barrier fetches that otherwise
/// hide it.
#[test]
fn a_node_with_a_damaged_log_catches_up_from_the_leader_alone() {
    let mut sim = Sim::new(common::config(5, Topology::FULL));
    sim.run_for(Duration::from_secs(5));
    sim.stop_workload();
    sim.run_for(Duration::from_secs(1));
    let b2 = sim.id("b2").unwrap();
    sim.apply(Fault::CorruptLog(b2));
    sim.apply(Fault::Crash(Target::Node(b2)));
    sim.apply(Fault::Restart(Target::Node(b2)));
    assert!(sim.host(b2).restarts()[0].log_damaged);
    sim.run_for(Duration::from_secs(5));
    common::assert_converged(&sim);
}

#[test]
fn clock_skew_is_per_node_and_settable() {
    let mut config = common::config(12, Topology::SMALL);
    config.clock.max_skew = Duration::from_millis(200);
    let mut sim = Sim::new(config);
    let skews: Vec<i64> = sim.hosts().iter().map(|h| h.clock().skew_ms()).collect();
    assert!(skews.iter().all(|s| s.abs() <= 200) && skews.iter().any(|s| *s != 0));
    sim.run_for(Duration::from_secs(3));
    let r1 = sim.id("r1").unwrap();
    sim.apply(Fault::ClockSkew {
        node: r1,
        skew_ms: 30_000,
    });
    sim.run_for(Duration::from_secs(3));
    sim.apply(Fault::ClockSkew {
        node: r1,
        skew_ms: -30_000,
    });
    sim.run_for(Duration::from_secs(3));
    assert_eq!(sim.host(r1).clock().skew_ms(), -30_000);
    // r1's clock stood still rather than going back.
    let shown = sim.host(r1).clock().peek(sim.now_micros());
    assert!(
        shown.as_millis() >= sim.now().as_millis() + 20_000,
        "{shown:?} vs {:?}",
        sim.now()
    );
    common::settle(&mut sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}
