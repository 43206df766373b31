//! Every oracle has caught a bug planted on purpose (DESIGN §8: a checker is trusted only
//! then). Each bug is switched on in core (feature `planted-bugs`, never in the binary) and
//! the swarm must catch it, through the expected promise, within the stated number of seeds.

use cairn_core::replication::PlantedBugs;
use cairn_scenarios::Promise;
use cairn_scenarios::swarm::run_seed_with;

/// Runs seeds from 0 until one breaks `promise`; returns that seed.
fn first_catch(bugs: PlantedBugs, promise: Promise, within: u64) -> Option<u64> {
    (0..within).find(|seed| {
        run_seed_with(*seed, bugs)
            .violations
            .iter()
            .any(|v| v.promise == promise)
    })
}

#[test]
fn acknowledging_before_fsync_breaks_g1() {
    let bugs = PlantedBugs {
        ack_before_fsync: true,
        ..PlantedBugs::default()
    };
    let seed = first_catch(bugs, Promise::G1, 40);
    assert!(
        seed.is_some(),
        "G1 missed a follower acknowledging before its fsync"
    );
}

/// Committing in one zone alone is masked by the acknowledgement rule (a voter of every zone
/// must have applied a write, and a voter only reports what it durably knows committed):
/// the bug shows only when acknowledgements stop waiting for the other zone too.
#[test]
fn committing_in_one_zone_breaks_g1() {
    let bugs = PlantedBugs {
        commit_in_one_zone: true,
        ack_before_remote_apply: true,
        ..PlantedBugs::default()
    };
    let seed = first_catch(bugs, Promise::G1, 20);
    assert!(seed.is_some(), "G1 missed commits made in one zone");
    let masked = PlantedBugs {
        commit_in_one_zone: true,
        ..PlantedBugs::default()
    };
    assert_eq!(
        first_catch(masked, Promise::G1, 10),
        None,
        "the acknowledgement rule masks it"
    );
}

#[test]
fn applying_before_commit_breaks_g8() {
    let bugs = PlantedBugs {
        apply_before_commit: true,
        ..PlantedBugs::default()
    };
    let seed = first_catch(bugs, Promise::G8, 60);
    assert!(
        seed.is_some(),
        "G8 missed followers applying uncommitted entries"
    );
}

/// The zone-loss scenario kills the leader's zone at the instant of an acknowledgement; with
/// acknowledgements that do not wait for the other zone to serve the write, that zone cannot
/// serve it (read-your-writes across zones, G3/G2).
#[test]
fn acknowledging_before_the_other_zone_applied_breaks_read_your_writes() {
    let bugs = PlantedBugs {
        ack_before_remote_apply: true,
        ..PlantedBugs::default()
    };
    let caught = (1..=10).find(|seed| {
        cairn_scenarios::named::zone_loss::run_with(*seed, bugs)
            .violations
            .iter()
            .any(|v| matches!(v.promise, Promise::G2 | Promise::G3))
    });
    assert!(
        caught.is_some(),
        "missed acknowledgements before the other zone served the write"
    );
    for seed in 1..=3 {
        let clean = cairn_scenarios::named::zone_loss::run_with(seed, PlantedBugs::default());
        assert!(
            clean.violations.is_empty(),
            "seed {seed}: {:?}",
            clean.violations
        );
    }
}

#[test]
fn leaking_material_into_the_log_breaks_g6() {
    let bugs = PlantedBugs {
        leak_material: true,
        ..PlantedBugs::default()
    };
    let seed = first_catch(bugs, Promise::G6, 5);
    assert!(
        seed.is_some(),
        "G6 missed plaintext key material in the log"
    );
}

/// The backup bugs, caught by the swarm's backup runs (see `backup_plan`): G9 checks the
/// schedule, the retention and the restores of every seed that takes backups.
fn backup_bug_caught(bugs: PlantedBugs, within: u64) -> Option<u64> {
    first_catch(bugs, Promise::G9, within)
}

#[test]
fn a_backup_that_skips_an_entry_breaks_g9() {
    let bugs = PlantedBugs {
        backup_skips_entry: true,
        ..PlantedBugs::default()
    };
    assert!(
        backup_bug_caught(bugs, 20).is_some(),
        "G9 missed backups that skip an entry"
    );
}

#[test]
fn retention_short_by_a_day_breaks_g9() {
    let bugs = PlantedBugs {
        retention_short_by_a_day: true,
        ..PlantedBugs::default()
    };
    assert!(
        backup_bug_caught(bugs, 20).is_some(),
        "G9 missed backups deleted a day early"
    );
}

#[test]
fn a_restore_that_accepts_a_tampered_object_breaks_g9() {
    let bugs = PlantedBugs {
        restore_accepts_tampered: true,
        ..PlantedBugs::default()
    };
    assert!(
        backup_bug_caught(bugs, 60).is_some(),
        "G9 missed a restore that takes a tampered object"
    );
}
