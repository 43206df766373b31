//! disk-corruption: a log record, then a hard-state slot, are corrupted on disk; the nodes
//! find it when they restart, and repair from their peers.

use cairn_sim::{Fault, HardSlot, Target};

use super::{Outcome, conclude, config, secs};
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    let mut config = config(seed);
    // Small snapshots, so that the repair also goes through compacted logs.
    config.timing.snapshot_every = 300;
    let mut run = Run::new(config);
    let b1 = run.sim.id("b1").expect("b1");
    let a2 = run.sim.id("a2").expect("a2");
    run.sim.run_for(secs(5.0));
    run.sim.apply(Fault::CorruptLog(b1));
    run.sim.apply(Fault::CrashRestart {
        target: Target::Node(b1),
        down_for: secs(1.0),
    });
    run.sim.run_for(secs(5.0));
    run.sim.apply(Fault::CorruptHardState(a2, HardSlot::Newest));
    run.sim.apply(Fault::CrashRestart {
        target: Target::Node(a2),
        down_for: secs(1.0),
    });
    run.sim.run_for(secs(20.0));
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "disk-corruption (seed {seed}): 2 voters per zone and a remote replica; b1's log and a2's newest hard-state slot are corrupted, then each restarts"
    ));
    r.timeline(sim, run.start_us);
    r.section("found at restart");
    for (id, name) in [(b1, "b1"), (a2, "a2")] {
        for restart in sim.host(id).restarts() {
            let d = &restart.disk;
            r.line(format!(
                "  {name}: log damaged {} (damage at byte {:?}, {} bytes cut), bad hard-state slots {}, hard state rolled back {:?}, {} entries kept",
                restart.log_damaged,
                d.report.damaged_at,
                d.log_bytes_cut,
                d.bad_hard_slots,
                d.hard_state_rollback,
                restart.entries
            ));
        }
    }
    r.section("operations");
    r.phase("whole run", sim.history(), run.start_us, u64::MAX);
    conclude("disk-corruption", seed, r, &run, REFUSAL_BOUND)
}
