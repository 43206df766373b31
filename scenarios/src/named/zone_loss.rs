//! zone-loss: the leader's whole zone is lost.

use cairn_core::replication::PlantedBugs;
use cairn_sim::{Fault, OpResult, Target};

use super::{Outcome, conclude, config, secs};
use crate::oracles::Outage;
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    run_with(seed, PlantedBugs::default())
}

/// The scenario with bugs planted (tests of the oracles).
pub fn run_with(seed: u64, bugs: PlantedBugs) -> Outcome {
    run_for(seed, bugs, secs(60.0)).0
}

/// The scenario with the zone lost for `outage`; also returns the events simulated.
pub fn run_for(seed: u64, bugs: PlantedBugs, outage: std::time::Duration) -> (Outcome, u64) {
    let mut config = config(seed);
    config.timing.bugs = bugs;
    let mut run = Run::new(config);
    run.sim.run_for(secs(5.0));
    // The worst moment: the instant the leader's zone acknowledges a write.
    let acked = run.sim.history().acknowledged_writes().count();
    run.sim.run_until_condition(secs(5.0), |s| {
        s.history().acknowledged_writes().count() > acked
    });
    let leader = run.sim.leader().expect("a leader after 5 s");
    let zone = run.sim.host(leader).info().zone.clone();
    let lost_at = run.sim.now_micros();
    // Cut first, so that nothing still in flight from the zone arrives after its death.
    run.sim.apply(Fault::Isolate(Target::zone(&zone)));
    run.sim.apply(Fault::Lose(Target::zone(&zone)));
    run.sim.run_for(outage);
    let end = run.sim.now_micros();
    run.outages.push(Outage {
        zone: zone.clone(),
        from_us: lost_at,
        to_us: end,
    });
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "zone-loss (seed {seed}): 2 voters per zone and a remote replica; zone {zone} (with the leader {}) is lost at the first acknowledgement after 5 s, for the rest of the run",
        sim.host(leader).name()
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before the loss", sim.history(), run.start_us, lost_at);
    r.phase("zone lost", sim.history(), lost_at, u64::MAX);
    r.section("figures");
    let refusals: Vec<u64> = sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us >= lost_at)
        .filter(|op| matches!(op.result, Some(OpResult::Unavailable(_))))
        .filter_map(|op| op.latency().map(|l| l.as_millis() as u64))
        .collect();
    let slowest = refusals.iter().max().copied().unwrap_or(0);
    let after_detection: Vec<u64> = sim
        .history()
        .ops()
        .iter()
        .filter(|op| op.kind.is_write() && op.invoked_us >= lost_at + 1_000_000)
        .filter_map(|op| op.latency().map(|l| l.as_millis() as u64))
        .collect();
    r.line(format!(
        "  writes refused during the loss: {} (slowest {slowest} ms; after the first second, slowest {} ms)",
        refusals.len(),
        after_detection.iter().max().copied().unwrap_or(0)
    ));
    let reads = sim
        .history()
        .ops()
        .iter()
        .filter(|op| !op.kind.is_write() && op.invoked_us >= lost_at)
        .filter(|op| op.result.as_ref().is_some_and(|r| r.is_success()))
        .count();
    r.line(format!(
        "  encrypts and decrypts served by the other zone: {reads}"
    ));
    let events = run.sim.stats().events;
    (conclude("zone-loss", seed, r, &run, REFUSAL_BOUND), events)
}
