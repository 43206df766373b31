//! host-loss: the leader's machine is lost with its disk.

use cairn_sim::{Fault, Target};

use super::{Outcome, conclude, config, first_success_after, ms, secs};
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    let mut run = Run::new(config(seed));
    run.sim.run_for(secs(5.0));
    let leader = run.sim.leader().expect("a leader after 5 s");
    let lost_at = run.sim.now_micros();
    run.sim.apply(Fault::Lose(Target::Node(leader)));
    run.sim.run_for(secs(20.0));
    run.healed_us = Some(lost_at);
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "host-loss (seed {seed}): {} nodes, 2 voters per zone and a remote replica; the leader {} is lost at 5 s",
        sim.hosts().len(),
        sim.host(leader).name()
    ));
    r.timeline(sim, run.start_us);
    r.section("operations");
    r.phase("before the loss", sim.history(), run.start_us, lost_at);
    r.phase("after the loss", sim.history(), lost_at, u64::MAX);
    r.section("figures");
    let new_leader = sim
        .leader()
        .map_or("none".into(), |l| sim.host(l).name().to_string());
    r.line(format!("  new leader: {new_leader}"));
    match first_success_after(&run, lost_at) {
        Some(t) => r.line(format!(
            "  first write succeeding after the loss completed {} ms after it",
            ms(lost_at, t)
        )),
        None => r.line("  no write succeeded after the loss"),
    }
    conclude("host-loss", seed, r, &run, REFUSAL_BOUND)
}
