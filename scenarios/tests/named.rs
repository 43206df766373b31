//! Every named scenario passes its checks, and its report is what it was (insta).

use cairn_scenarios::SCENARIOS;

/// The seed of the reference reports.
const SEED: u64 = 1;

fn check(name: &str) {
    let scenario = cairn_scenarios::named::find(name).expect("scenario exists");
    let outcome = (scenario.run)(SEED);
    assert!(
        outcome.violations.is_empty(),
        "{name} broke a promise (replay: cargo run --release -p cairn -- sim run {name} --seed {SEED}):\n{}",
        outcome.report
    );
    insta::assert_snapshot!(name, outcome.report);
}

#[test]
fn every_scenario_has_a_test() {
    let tested = [
        "host-loss",
        "zone-loss",
        "zone-flap",
        "partition-between-zones",
        "disk-corruption",
        "crash-during-write",
        // tests/backups.rs
        "region-loss",
        "region-and-replica-loss",
        "region-cut-off-then-back",
        "replica-loss",
        "backup-region-outage",
        "corrupted-backup",
        "thirty-days",
    ];
    let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
    assert_eq!(names, tested);
}

#[test]
fn host_loss() {
    check("host-loss");
}

#[test]
fn zone_loss() {
    check("zone-loss");
}

#[test]
fn zone_flap() {
    check("zone-flap");
}

#[test]
fn partition_between_zones() {
    check("partition-between-zones");
}

#[test]
fn disk_corruption() {
    check("disk-corruption");
}

#[test]
fn crash_during_write() {
    check("crash-during-write");
}
