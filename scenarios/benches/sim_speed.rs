//! Simulator speed: simulated seconds per wall second and events per second, for a 10-minute
//! zone-loss run (5 nodes, 8 clients). Goal: under 2 s of wall time.
//!
//! `cargo bench -p cairn-scenarios --bench sim_speed`

use std::time::{Duration, Instant};

use cairn_core::replication::PlantedBugs;
use cairn_scenarios::named::zone_loss;

fn main() {
    println!("run                         simulated   wall      sim-s/wall-s   events    events/s");
    for seed in [1u64, 2, 3] {
        let started = Instant::now();
        let (outcome, events) =
            zone_loss::run_for(seed, PlantedBugs::default(), Duration::from_secs(600));
        let wall = started.elapsed();
        assert!(outcome.violations.is_empty(), "{}", outcome.report);
        // 5 s before the loss, the outage, 5 s of settling.
        let simulated = 610.0;
        println!(
            "zone-loss 10 min, seed {seed}   {simulated:>6.0} s   {:>6.2} s   {:>12.0}   {events:>8}   {:>9.0}",
            wall.as_secs_f64(),
            simulated / wall.as_secs_f64(),
            events as f64 / wall.as_secs_f64()
        );
    }
}
