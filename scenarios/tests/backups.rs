//! The backup and recovery scenarios (DESIGN §6; promises G4, G5, G9) pass their checks, and
//! their reports are what they were (insta). `thirty-days` runs its full 31 days in release
//! builds only (under 30 s there); debug builds run it scaled down 24 times
//! ([`thirty_days::run_scaled`]), with a snapshot of its own.

use cairn_core::replication::PlantedBugs;
use cairn_scenarios::named::thirty_days;
use cairn_scenarios::{Outcome, Promise};

const SEED: u64 = 1;

fn check(outcome: Outcome, snapshot: &str) {
    assert!(
        outcome.violations.is_empty(),
        "{} broke a promise (replay: cargo run --release -p cairn -- sim run {} --seed {SEED}):\n{}",
        outcome.name,
        outcome.name,
        outcome.report
    );
    insta::assert_snapshot!(snapshot, outcome.report);
}

fn named(name: &str) -> Outcome {
    let scenario = cairn_scenarios::named::find(name).expect("scenario exists");
    (scenario.run)(SEED)
}

#[test]
fn region_loss() {
    check(named("region-loss"), "region-loss");
}

#[test]
fn region_and_replica_loss() {
    check(named("region-and-replica-loss"), "region-and-replica-loss");
}

#[test]
fn region_cut_off_then_back() {
    check(
        named("region-cut-off-then-back"),
        "region-cut-off-then-back",
    );
}

#[test]
fn replica_loss() {
    check(named("replica-loss"), "replica-loss");
}

#[test]
fn backup_region_outage() {
    check(named("backup-region-outage"), "backup-region-outage");
}

#[test]
fn corrupted_backup() {
    check(named("corrupted-backup"), "corrupted-backup");
}

#[test]
fn thirty_days() {
    if cfg!(debug_assertions) {
        check(
            thirty_days::run_scaled(SEED, PlantedBugs::default()),
            "thirty-days-scaled",
        );
    } else {
        check(named("thirty-days"), "thirty-days");
    }
}

/// The same seed gives the same report.
#[test]
fn reports_are_deterministic() {
    let a = named("backup-region-outage");
    let b = named("backup-region-outage");
    assert_eq!(a.report, b.report);
}

fn caught(outcome: &Outcome, promises: &[Promise]) -> bool {
    for v in &outcome.violations {
        eprintln!("{}: {v}", outcome.name);
    }
    outcome
        .violations
        .iter()
        .any(|v| promises.contains(&v.promise))
}

/// Planted: an incremental backup leaves out its first entry. The backups no longer restore
/// (a gap in the index ranges), which the recovery scenario reports under G5.
#[test]
fn a_backup_that_skips_an_entry_is_caught() {
    let bugs = PlantedBugs {
        backup_skips_entry: true,
        ..PlantedBugs::default()
    };
    let outcome = cairn_scenarios::named::region_loss::run_with(SEED, bugs, true);
    assert!(caught(&outcome, &[Promise::G5]), "{}", outcome.report);
    let outcome = cairn_scenarios::named::replica_loss::run_with(SEED, bugs);
    assert!(caught(&outcome, &[Promise::G9]), "{}", outcome.report);
}

/// Planted: backups deleted a day early (a thirtieth of the retention period).
#[test]
fn retention_short_by_a_day_is_caught() {
    let bugs = PlantedBugs {
        retention_short_by_a_day: true,
        ..PlantedBugs::default()
    };
    let outcome = thirty_days::run_scaled(SEED, bugs);
    assert!(caught(&outcome, &[Promise::G9]), "{}", outcome.report);
    assert!(
        outcome.report.contains("deleted from"),
        "{}",
        outcome.report
    );
}

/// Planted: a restore takes the first copy of an object unchecked and skips one that fails
/// to open. The corrupted-backup scenario alters the copy in the first region.
#[test]
fn a_restore_that_accepts_a_tampered_object_is_caught() {
    let bugs = PlantedBugs {
        restore_accepts_tampered: true,
        ..PlantedBugs::default()
    };
    let outcome = cairn_scenarios::named::corrupted_backup::run_with(SEED, bugs);
    assert!(
        caught(&outcome, &[Promise::G9, Promise::G6]),
        "{}",
        outcome.report
    );
}
