//! crash-during-write: nodes crash with writes half on disk, three times, under load.

use std::time::Duration;

use cairn_sim::{Fault, Target};

use super::{Outcome, conclude, config, secs};
use crate::report::Report;
use crate::run::{REFUSAL_BOUND, Run};

pub fn run(seed: u64) -> Outcome {
    let mut config = config(seed);
    config.workload.clients = 16;
    let mut run = Run::new(config);
    run.sim.run_for(secs(5.0));
    let mut crashed = Vec::new();
    for round in 0..3 {
        // The leader first, then whichever voter has a write on its way to disk.
        let victim = if round == 0 { run.sim.leader() } else { None };
        let found = run.sim.run_until_condition(Duration::from_secs(10), |s| {
            s.hosts().iter().any(|h| {
                h.is_up() && h.disk().pending_log_bytes() > 0 && victim.is_none_or(|v| v == h.id())
            })
        });
        if !found {
            continue;
        }
        let id = run
            .sim
            .hosts()
            .iter()
            .find(|h| {
                h.is_up() && h.disk().pending_log_bytes() > 0 && victim.is_none_or(|v| v == h.id())
            })
            .map(|h| h.id())
            .expect("found above");
        run.sim.apply(Fault::CrashTorn(Target::Node(id)));
        crashed.push(id);
        run.sim.run_for(secs(2.0));
        run.sim.apply(Fault::Restart(Target::Node(id)));
        run.sim.run_for(secs(5.0));
    }
    run.sim.run_for(secs(10.0));
    run.finish(secs(5.0));

    let sim = &run.sim;
    let mut r = Report::new(&format!(
        "crash-during-write (seed {seed}): 2 voters per zone and a remote replica, 16 clients; three nodes crash with a write half on disk (the leader first)"
    ));
    r.timeline(sim, run.start_us);
    r.section("found at restart");
    crashed.sort();
    crashed.dedup();
    for id in &crashed {
        let h = sim.host(*id);
        for (crash, restart) in h.crashes().iter().zip(h.restarts()) {
            r.line(format!(
                "  {}: {} writes lost, {} bytes of a torn record reached the disk; restart cut {} bytes (torn tail {} bytes), log damaged {}",
                h.name(),
                crash.damage.lost_writes,
                crash.damage.torn_log_bytes,
                restart.disk.log_bytes_cut,
                restart.disk.report.torn_tail_bytes,
                restart.log_damaged
            ));
        }
    }
    r.section("operations");
    r.phase("whole run", sim.history(), run.start_us, u64::MAX);
    conclude("crash-during-write", seed, r, &run, REFUSAL_BOUND)
}
