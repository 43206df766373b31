//! The named scenarios: each row of DESIGN §2 as a scripted disaster with a printed report.
//!
//! A scenario takes a seed (the run's randomness: latencies, clients, election timeouts) and
//! scripts its faults at fixed times. Its report says what happened, what was checked and the
//! figures measured; it is snapshot-tested, so any change of behaviour shows as a diff.

pub mod backup_outage;
pub mod backups;
pub mod corrupted_backup;
mod crash_during_write;
mod disk_corruption;
mod host_loss;
mod partition;
pub mod region_cut_off;
pub mod region_loss;
pub mod replica_loss;
pub mod thirty_days;
mod zone_flap;
pub mod zone_loss;

use std::time::Duration;

use cairn_sim::{SimConfig, Topology};

use crate::oracles;
use crate::report::Report;
use crate::run::Run;
use crate::violation::{Promise, Violation};

/// A finished scenario.
pub struct Outcome {
    pub name: &'static str,
    pub seed: u64,
    pub report: String,
    pub violations: Vec<Violation>,
}

/// A scenario: its name (`cairn sim run NAME`), what it shows, and how to run it.
pub struct Scenario {
    pub name: &'static str,
    pub about: &'static str,
    pub run: fn(u64) -> Outcome,
}

/// Every named scenario, in the order of DESIGN §2.
pub const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "host-loss",
        about: "G2: the leader's host is lost for good; writes resume, no key is lost",
        run: host_loss::run,
    },
    Scenario {
        name: "zone-loss",
        about: "G3: the leader's zone is lost; the other zone serves every key, writes are refused at once",
        run: zone_loss::run,
    },
    Scenario {
        name: "zone-flap",
        about: "G3: a zone is cut off and back five times; nothing lost, writes resume",
        run: zone_flap::run,
    },
    Scenario {
        name: "partition-between-zones",
        about: "G3: the zones cannot reach each other; both serve keys, neither accepts writes",
        run: partition::run,
    },
    Scenario {
        name: "disk-corruption",
        about: "G6/G8: a log record and a hard-state slot are corrupted on disk; detected, never served",
        run: disk_corruption::run,
    },
    Scenario {
        name: "crash-during-write",
        about: "G1: nodes crash in the middle of writes; torn tails are cut, nothing acknowledged is lost",
        run: crash_during_write::run,
    },
    Scenario {
        name: "region-loss",
        about: "G4: the primary region is lost; rebuilt from the remote replica, only the replication lag is lost",
        run: region_loss::run,
    },
    Scenario {
        name: "region-and-replica-loss",
        about: "G5: the primary region and the replica are lost; rebuilt from backups, at most 5 minutes are lost",
        run: region_loss::run_with_replica,
    },
    Scenario {
        name: "region-cut-off-then-back",
        about: "G4/G8: the region is cut off, rebuilt elsewhere, and comes back: fenced, its late writes listed as orphans",
        run: region_cut_off::run,
    },
    Scenario {
        name: "replica-loss",
        about: "G4/G9: the replica is replaced by an empty host; seeded again, backups go on",
        run: replica_loss::run,
    },
    Scenario {
        name: "backup-region-outage",
        about: "G9: one backup region is down for 11 minutes, the other slow; backups go on and catch up",
        run: backup_outage::run,
    },
    Scenario {
        name: "corrupted-backup",
        about: "G6/G9: backup objects altered or deleted; the good copy is used, none left is refused",
        run: corrupted_backup::run,
    },
    Scenario {
        name: "thirty-days",
        about: "G9: 31 days of traffic, a backup every 5 minutes, fulls daily, 30-day retention",
        run: thirty_days::run,
    },
];

/// Finds a scenario by name.
pub fn find(name: &str) -> Option<&'static Scenario> {
    SCENARIOS.iter().find(|s| s.name == name)
}

/// The configuration every scenario starts from: two voters per zone and the remote replica,
/// eight clients.
fn config(seed: u64) -> SimConfig {
    let mut config = SimConfig::new(seed, Topology::FULL);
    config.workload.clients = 8;
    config
}

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The checks every scenario reports, then its outcome.
fn conclude(
    name: &'static str,
    seed: u64,
    mut report: Report,
    run: &Run,
    refusal_bound: Duration,
) -> Outcome {
    let sim = &run.sim;
    report.section("checked");
    check_g1(&mut report, sim);
    let keys = sim.workload().keys().len();
    let up = sim.hosts().iter().filter(|h| h.is_up()).count();
    report.check(
        Promise::G2,
        &format!("each of {keys} acknowledged keys is on each of the {up} running nodes and decrypts its sample"),
        oracles::keys::check(sim, true),
    );
    if !run.outages.is_empty() {
        report.check(
            Promise::G3,
            &format!("during the outages, keys work outside the lost zone and writes are answered within {refusal_bound:?}"),
            oracles::g3::check(sim, &run.outages, refusal_bound),
        );
    }
    check_g6(&mut report, run, "messages and disk writes");
    check_g8(&mut report, sim, "replicas");
    if let Some(healed) = run.healed_us {
        report.check(
            Promise::Liveness,
            &format!(
                "writes succeed again within {:?} of the healing",
                crate::run::LIVENESS_BOUND
            ),
            oracles::liveness::check(sim, healed, crate::run::LIVENESS_BOUND),
        );
    }
    let violations = report.violations().to_vec();
    Outcome {
        name,
        seed,
        report: report.into_text(),
        violations,
    }
}

/// Milliseconds between two instants, for figures.
/// G1, as every scenario reports it.
pub(super) fn check_g1(report: &mut Report, sim: &cairn_sim::Sim) {
    let acked = sim.history().acknowledged_writes().count();
    report.check(
        Promise::G1,
        &format!(
            "each of {acked} acknowledged writes was on disk on voters of both zones when acknowledged"
        ),
        oracles::g1::check(sim),
    );
}

/// G6 over everything the scanner saw (`what` names it).
pub(super) fn check_g6(report: &mut Report, run: &Run, what: &str) {
    report.check(
        Promise::G6,
        &format!(
            "no plaintext key material in {} KiB of {what}",
            run.g6.scanned() / 1024
        ),
        run.g6.violations(),
    );
}

/// G8 over the nodes that are running (`which` names them in the report).
pub(super) fn check_g8(report: &mut Report, sim: &cairn_sim::Sim, which: &str) {
    let applied: Vec<u64> = sim.replica_digests().iter().map(|d| d.1).collect();
    report.check(
        Promise::G8,
        &format!("{which} agree (applied {applied:?})"),
        oracles::g8::check(sim),
    );
}

fn ms(from_us: u64, to_us: u64) -> u64 {
    to_us.saturating_sub(from_us) / 1000
}

/// The first write invoked at or after `from_us` that succeeded: its completion time.
fn first_success_after(run: &Run, from_us: u64) -> Option<u64> {
    run.sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us >= from_us)
        .filter(|op| op.result.as_ref().is_some_and(|r| r.is_success()))
        .filter_map(|op| op.completed_us)
        .min()
}
