//! zone-flap: a zone is cut off and comes back, five times.

use cairn_sim::{Fault, Target};

use super::{Outcome, conclude, config, secs};
use crate::oracles::Outage;
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    let mut run = Run::new(config(seed));
    run.sim.run_for(secs(5.0));
    for _ in 0..5 {
        let from = run.sim.now_micros();
        run.sim.apply(Fault::Isolate(Target::zone("b")));
        run.sim.run_for(secs(3.0));
        run.sim.apply(Fault::Heal);
        run.outages.push(Outage {
            zone: "b".into(),
            from_us: from,
            to_us: run.sim.now_micros(),
        });
        run.sim.run_for(secs(3.0));
    }
    let healed = run.sim.now_micros();
    run.healed_us = Some(healed);
    run.sim.run_for(secs(15.0));
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "zone-flap (seed {seed}): 2 voters per zone and a remote replica; zone b is cut off for 3 s and back for 3 s, five times"
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase(
        "before",
        sim.history(),
        run.start_us,
        run.outages[0].from_us,
    );
    r.phase("flapping", sim.history(), run.outages[0].from_us, healed);
    r.phase("after", sim.history(), healed, u64::MAX);
    conclude("zone-flap", seed, r, &run, REFUSAL_BOUND)
}
