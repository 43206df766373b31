//! partition-between-zones: zones a and b cannot reach each other (both still reach the
//! remote replica), then heal.

use cairn_sim::Fault;

use super::{Outcome, conclude, config, secs};
use crate::oracles::Outage;
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    let mut run = Run::new(config(seed));
    run.sim.run_for(secs(5.0));
    let from = run.sim.now_micros();
    let zone = |z: &str| -> Vec<_> {
        run.sim
            .hosts()
            .iter()
            .filter(|h| h.info().zone == z)
            .map(|h| h.id())
            .collect()
    };
    let (a, b) = (zone("a"), zone("b"));
    for x in &a {
        for y in &b {
            run.sim.apply(Fault::Cut { from: *x, to: *y });
            run.sim.apply(Fault::Cut { from: *y, to: *x });
        }
    }
    run.sim.run_for(secs(20.0));
    run.sim.apply(Fault::Heal);
    let healed = run.sim.now_micros();
    // Each zone, seen from the other, was away.
    for z in ["a", "b"] {
        run.outages.push(Outage {
            zone: z.into(),
            from_us: from,
            to_us: healed,
        });
    }
    run.healed_us = Some(healed);
    run.sim.run_for(secs(15.0));
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "partition-between-zones (seed {seed}): 2 voters per zone and a remote replica; zones a and b cannot reach each other from 5 s to 25 s"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before", sim.history(), run.start_us, from);
    r.phase("partitioned", sim.history(), from, healed);
    r.phase("healed", sim.history(), healed, u64::MAX);
    conclude("partition-between-zones", seed, r, &run, REFUSAL_BOUND)
}
