//! replica-loss: the remote replica's host is lost and replaced by one with an empty disk; it
//! is seeded again from the primary region without stopping it, and the backups go on.

use cairn_core::replication::PlantedBugs;
use cairn_sim::Fault;

use super::Outcome;
use super::backups::{backup_section, conclude, config, describe_restore, mins, replica_lag};
use crate::oracles::{g5, g9};
use crate::report::Report;
use crate::run::Run;
use crate::violation::Promise;

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default())
}

pub fn run_with(seed: u64, bugs: PlantedBugs) -> Outcome {
    let mut run = Run::new(config(seed, bugs));
    run.sim.run_for(mins(7.5));
    let r1 = run.sim.id("r1").expect("the replica");
    let lost_at = run.sim.now_micros();
    run.sim.apply(Fault::Replace(r1));
    // Until the new replica has everything the leader had when it started.
    let target = run
        .sim
        .leader()
        .and_then(|l| run.sim.node(l))
        .map_or(0, |n| n.status().commit);
    let caught_up = run.sim.run_until_condition(mins(5.0), |s| {
        s.node(r1).is_some_and(|n| n.status().applied >= target)
    });
    let caught_up_at = run.sim.now_micros();
    run.sim
        .run_until_micros(run.start_us + mins(18.0).as_micros() as u64);
    let lag = replica_lag(&run.sim);
    let end = run.sim.now_micros();
    run.finish(mins(0.1));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "replica-loss (seed {seed}): the remote replica r1, which takes the backups, is replaced by a host with an empty disk at 7.5 minutes; the region runs on to 18 minutes"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before the loss", sim.history(), run.start_us, lost_at);
    r.phase("after the loss", sim.history(), lost_at, u64::MAX);
    r.section("the new replica");
    if caught_up {
        r.line(format!(
            "  seeded from the primary region: applied the leader's commit index of the loss within {} ms",
            (caught_up_at - lost_at) / 1000
        ));
    } else {
        r.line("  not caught up within 5 minutes");
    }
    match lag {
        Some((entries, ms)) => r.line(format!("  lag at the end: {entries} entries, {ms} ms")),
        None => r.line("  lag at the end: no leader"),
    }
    let writes_during = sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us >= lost_at && op.invoked_us < caught_up_at)
        .filter(|op| op.result.as_ref().is_some_and(|x| x.is_success()))
        .count();
    r.line(format!(
        "  writes acknowledged while it was seeded: {writes_during}"
    ));
    backup_section(&mut r, &run);
    r.section("recovery");
    let (restored, v) = g9::restorable(sim, None);
    let latest = sim.restore_from_backups(None);
    r.line(format!(
        "  cairn recover --from-backup: {}",
        describe_restore(&run, &latest)
    ));
    if let Some(restored) = &restored {
        let (rpo, _) = g5::check(sim, restored, end);
        r.line(format!(
            "  measured RPO if the region were lost now: {} (promise G5: {:.3} s)",
            rpo.describe(),
            g5::bound(sim).as_secs_f64()
        ));
    }
    r.section("checked (recovery)");
    r.check(
        Promise::G4,
        "the new replica caught up with the primary region",
        if caught_up {
            Vec::new()
        } else {
            vec![crate::Violation::new(
                Promise::G4,
                "the replica never caught up",
            )]
        },
    );
    r.check(
        Promise::G9,
        "the backups, old and new, restore and hold every key up to the index restored",
        v,
    );
    conclude("replica-loss", seed, r, &run)
}
