//! Crashes, torn writes and corruption: nodes recover from their disks and catch up.

mod common;

use std::time::Duration;

use cairn_sim::{Fault, Sim, Target, Topology};

#[test]
fn a_crashed_voter_restarts_from_its_disk_and_catches_up() {
    let mut sim = Sim::new(common::config(3, Topology::FULL));
    sim.run_for(Duration::from_secs(5));
    let b1 = sim.id("b1").unwrap();
    let applied_before = sim.node(b1).unwrap().status().applied;
    assert!(applied_before > 20);
    sim.apply(Fault::Crash(Target::Node(b1)));
    assert!(sim.node(b1).is_none());
    sim.run_for(Duration::from_secs(2));
    sim.apply(Fault::Restart(Target::Node(b1)));
    let restart = sim.host(b1).restarts().last().unwrap().clone();
    assert!(!restart.log_damaged);
    let durable_commit = restart.hard_state.expect("hard state read back").commit;
    let status = sim.node(b1).unwrap().status();
    assert!(
        status.last_index >= applied_before,
        "recovered {} entries, applied {applied_before} before the crash",
        status.last_index
    );
    // The commit index rides along with writes, so the disk's is a lower bound.
    assert!(durable_commit > 0 && durable_commit <= applied_before);
    assert!(
        status.applied >= durable_commit,
        "a restarted node applies what its disk says was committed"
    );
    sim.run_for(Duration::from_secs(5));
    common::settle(&mut sim);
    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

#[test]
fn a_torn_write_is_cut_off_at_restart() {
    let mut sim = Sim::new(common::config(4, Topology::SMALL));
    sim.run_for(Duration::from_secs(3));
    let b1 = sim.id("b1").unwrap();
    // Wait for b1 to have log records written but not yet synced.
    assert!(
        sim.run_until_condition(Duration::from_secs(10), |s| s
            .host(b1)
            .disk()
            .pending_log_bytes()
            > 0),
        "b1 never had a pending append"
    );
    let synced = sim.host(b1).disk().synced_log().len();
    sim.apply(Fault::CrashTorn(Target::Node(b1)));
    let damage = sim.host(b1).crashes()[0].damage.clone();
    assert!(damage.torn_log_bytes > 0, "{damage:?}");
    assert_eq!(
        sim.host(b1).disk().synced_log().len(),
        synced + damage.torn_log_bytes
    );

    sim.apply(Fault::Restart(Target::Node(b1)));
    let restart = sim.host(b1).restarts()[0].clone();
    assert!(restart.disk.report.torn_tail_bytes > 0, "{restart:?}");
    assert_eq!(
        restart.disk.log_bytes_cut,
        restart.disk.report.torn_tail_bytes
    );
    assert!(!restart.log_damaged, "a torn tail is not damage");
    let (_, report) = sim.host(b1).disk().read_back();
    assert_eq!(
        report.torn_tail_bytes, 0,
        "the torn tail is gone from the disk"
    );

    sim.run_for(Duration::from_secs(3));
    common::settle(&mut sim);
    common::assert_acks_durable(&sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}

#[test]
fn a_corrupted_log_record_is_detected_and_the_node_catches_up() {
    let mut sim = Sim::new(common::config(5, Topology::FULL));
    sim.run_for(Duration::from_secs(5));
    let b2 = sim.id("b2").unwrap();
    sim.apply(Fault::CorruptLog(b2));
    assert!(sim.fault_log()[0].effective);
    sim.apply(Fault::CrashRestart {
        target: Target::Node(b2),
        down_for: Duration::from_millis(500),
    });
    sim.run_for(Duration::from_secs(1));
    let restart = sim.host(b2).restarts()[0].clone();
    assert!(restart.log_damaged, "{restart:?}");
    assert!(restart.disk.report.damaged_at.is_some());
    sim.run_for(Duration::from_secs(5));
    common::settle(&mut sim);
    common::assert_converged(&sim);
    common::assert_keys_usable(&sim);
}
