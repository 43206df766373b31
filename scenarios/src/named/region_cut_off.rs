//! region-cut-off-then-back: the primary region is cut off from the replica (not lost); an
//! operator rebuilds the service from the replica under a new generation while the old
//! region, unaware, keeps acknowledging writes. When the old region comes back it must not
//! split the brain: it is fenced (refuses writes, never rejoins), and the writes it
//! acknowledged after the point the recovery restored to are listed as orphans, never
//! silently dropped or merged.
//!
//! The rebuilt region's nodes are not simulated: the recovery is core's
//! ([`Sim::restore_from_replica`](cairn_sim::Sim)), and when the links heal the old region
//! hears from the replica as a node of generation 2 ([`Fault::NewGeneration`]).

use cairn_core::backup::orphans;
use cairn_core::replication::PlantedBugs;
use cairn_sim::topology::PRIMARY_REGION;
use cairn_sim::{Fault, Target};

use super::Outcome;
use super::backups::{conclude, config, describe_restore, mins, replica_lag, since};
use crate::oracles::g4;
use crate::report::Report;
use crate::run::Run;
use crate::violation::{Promise, Violation, capped};

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default())
}

pub fn run_with(seed: u64, bugs: PlantedBugs) -> Outcome {
    let mut run = Run::new(config(seed, bugs));
    run.sim.run_for(mins(6.0));
    let r1 = run.sim.id("r1").expect("the replica");
    let lag = replica_lag(&run.sim);
    let cut_at = run.sim.now_micros();
    run.sim
        .apply(Fault::Isolate(Target::region(PRIMARY_REGION)));
    run.sim.run_for(mins(0.5));
    // The operator gives the region up and rebuilds it from the replica.
    let recovered_at = run.sim.now_micros();
    let restored = run.sim.restore_from_replica(r1);
    run.sim.run_for(mins(1.0));
    // The old region comes back, and hears from the new generation.
    let healed_at = run.sim.now_micros();
    run.sim.apply(Fault::Heal);
    run.sim.apply(Fault::NewGeneration {
        from: r1,
        generation: run.sim.cluster().generation + 1,
        target: Target::region(PRIMARY_REGION),
    });
    // r1 now belongs to generation 2, which the sim does not run: it must not take the old
    // region's log either, so its links stay cut once the new generation has spoken.
    run.sim.run_for(std::time::Duration::from_millis(1));
    run.sim.apply(Fault::Isolate(Target::Node(r1)));
    run.sim.run_for(mins(0.5));
    run.finish(mins(0.1));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "region-cut-off-then-back (seed {seed}): the primary region is cut off from the replica r1 at 6 minutes; 30 s later it is rebuilt from r1 under generation 2; the old region keeps running and comes back 1 minute after that"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before the cut", sim.history(), run.start_us, cut_at);
    r.phase("cut off", sim.history(), cut_at, healed_at);
    r.phase("back", sim.history(), healed_at, u64::MAX);
    r.section("recovery");
    match lag {
        Some((entries, ms)) => r.line(format!(
            "  replica lag at the cut: {entries} entries, {ms} ms"
        )),
        None => r.line("  replica lag at the cut: no leader"),
    }
    r.line(format!(
        "  cairn recover --from-replica at {}: {}",
        since(&run, recovered_at),
        describe_restore(&run, &restored)
    ));
    let mut checks: Vec<(Promise, String, Vec<Violation>)> = Vec::new();
    let Ok(restored) = restored else {
        return conclude("region-cut-off-then-back", seed, r, &run);
    };
    let (rpo, v) = g4::check(sim, &restored, cut_at, lag.map_or(0, |l| l.1));
    r.line(format!(
        "  measured RPO at the cut: {} (promise G4: at most the lag)",
        rpo.describe()
    ));
    checks.push((
        Promise::G4,
        "every key acknowledged before the replica's lag at the cut is in the rebuilt state".into(),
        v,
    ));
    // What the old region wrote after the restore point: from its most advanced log.
    let old_nodes: Vec<_> = sim
        .hosts()
        .iter()
        .filter(|h| h.info().region == PRIMARY_REGION)
        .collect();
    let old_log = old_nodes
        .iter()
        .map(|h| h.disk().read_back().0.entries)
        .max_by_key(|e| e.last().map_or(0, |e| e.index))
        .unwrap_or_default();
    let replica_log = sim.host(r1).disk().read_back().0.entries;
    let term_at = |i| replica_log.iter().find(|e| e.index == i).map(|e| e.term);
    let (orphans, divergence) = orphans(&old_log, restored.index, term_at);
    let acked_after: Vec<u64> = sim
        .history()
        .acknowledged_writes()
        .filter_map(|op| op.ack.as_ref().map(|a| a.index))
        .filter(|i| *i > restored.index)
        .collect();
    r.line(format!(
        "  the old region acknowledged {} writes after the restore point; orphans reported: {} (indexes {}..={}), divergence before it: {}",
        acked_after.len(),
        orphans.len(),
        orphans.first().map_or(0, |o| o.index),
        orphans.last().map_or(0, |o| o.index),
        divergence.map_or("none".into(), |d| format!("at {d}"))
    ));
    for o in orphans.iter().take(3) {
        r.line(format!("    orphan {}: {}", o.index, o.what));
    }
    let listed: std::collections::BTreeSet<u64> = orphans.iter().map(|o| o.index).collect();
    let mut missing: Vec<Violation> = acked_after
        .iter()
        .filter(|i| !listed.contains(i))
        .map(|i| {
            Violation::new(
                Promise::G8,
                format!("write acknowledged at index {i} after the restore point is not reported as an orphan"),
            )
        })
        .collect();
    if let Some(d) = divergence {
        missing.push(Violation::new(
            Promise::G8,
            format!(
                "the old region's log and the replica's differ at {d}, before the restore point"
            ),
        ));
    }
    checks.push((
        Promise::G8,
        "every write the old region acknowledged after the restore point is reported as an orphan; the logs agree up to it".into(),
        capped(missing, 5),
    ));
    let fenced: Vec<&str> = old_nodes
        .iter()
        .filter(|h| h.node().is_some_and(|n| n.status().fenced))
        .map(|h| h.name())
        .collect();
    r.line(format!("  fenced after coming back: {fenced:?}"));
    let mut split: Vec<Violation> = old_nodes
        .iter()
        .filter(|h| h.node().is_some_and(|n| !n.status().fenced))
        .map(|h| {
            Violation::new(
                Promise::G8,
                format!("{} of the old generation is not fenced", h.name()),
            )
        })
        .collect();
    split.extend(
        sim.history()
            .acknowledged_writes()
            .filter(|op| op.ack.as_ref().is_some_and(|a| a.at_us > healed_at))
            .map(|op| {
                Violation::new(
                    Promise::G8,
                    format!(
                        "the old region acknowledged a write {} ms after it came back",
                        op.ack.as_ref().map_or(0, |a| a.at_us - healed_at) / 1000
                    ),
                )
            }),
    );
    let refused_after = sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us > healed_at)
        .filter(|op| op.result.as_ref().is_some_and(|x| !x.is_success()))
        .count();
    r.line(format!(
        "  writes refused by the old region after it came back: {refused_after}"
    ));
    checks.push((
        Promise::G8,
        "back, the old region is fenced: every node refuses writes and nothing more is acknowledged".into(),
        capped(split, 5),
    ));
    r.section("checked (recovery)");
    for (p, what, v) in checks {
        r.check(p, &what, v);
    }
    conclude("region-cut-off-then-back", seed, r, &run)
}
