//! backup-region-outage: backup-x is down for 11 minutes and backup-y is slow for a while;
//! backups go on in the region that is up, and the other catches up when it is back.

use std::time::Duration;

use cairn_core::replication::PlantedBugs;
use cairn_sim::StoreFault;

use super::Outcome;
use super::backups::{backup_section, conclude, config, describe_restore, mins, store};
use crate::oracles::g9;
use crate::report::Report;
use crate::run::Run;
use crate::violation::Promise;

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default())
}

pub fn run_with(seed: u64, bugs: PlantedBugs) -> Outcome {
    let mut run = Run::new(config(seed, bugs));
    let at = |run: &Run, m: f64| cairn_sim::clock::timestamp(run.at(mins(m)));
    let slow = Some((Duration::from_secs(20), Duration::from_secs(40)));
    let (t, u, v, w) = (at(&run, 3.0), at(&run, 14.0), at(&run, 2.0), at(&run, 8.0));
    run.sim
        .schedule(t, store("backup-x", StoreFault::Outage { down: true }));
    run.sim
        .schedule(u, store("backup-x", StoreFault::Outage { down: false }));
    run.sim
        .schedule(v, store("backup-y", StoreFault::UploadLatency(slow)));
    run.sim
        .schedule(w, store("backup-y", StoreFault::UploadLatency(None)));
    run.sim.run_for(mins(11.0));
    // During the outage, a recovery reads what is up: backup-y alone.
    let during = run.sim.restore_from_backups(None);
    let (_, during_v) = g9::restorable(&run.sim, None);
    run.sim.run_for(mins(9.0));
    run.finish(mins(0.1));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "backup-region-outage (seed {seed}): backup-x is down from 3 to 14 minutes, uploads to backup-y take 20-40 s from 2 to 8 minutes; the run lasts 20 minutes"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("whole run", sim.history(), run.start_us, u64::MAX);
    backup_section(&mut r, &run);
    r.section("recovery");
    r.line(format!(
        "  cairn recover --from-backup at 11 minutes (backup-x down): {}",
        describe_restore(&run, &during)
    ));
    let (_, end_v) = g9::restorable(sim, None);
    let latest = sim.restore_from_backups(None);
    r.line(format!(
        "  cairn recover --from-backup at the end: {}",
        describe_restore(&run, &latest)
    ));
    r.section("checked (recovery)");
    r.check(
        Promise::G9,
        "during the outage, the backups of the region that is up restore and hold every key up to the index restored",
        during_v,
    );
    r.check(
        Promise::G9,
        "after it, every backup restores and holds every key up to the index restored",
        end_v,
    );
    conclude("backup-region-outage", seed, r, &run)
}
