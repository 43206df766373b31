//! How fast the simulator runs: a 10-minute run of a 5-node region with the default
//! workload, fault-free and with zone b lost after 2 minutes.
//!
//! `cargo run --release -p cairn-sim --example speed [seed]`

use std::time::{Duration, Instant};

use cairn_sim::{Fault, Sim, SimConfig, Target, Topology};

fn measure(name: &str, seed: u64, zone_loss: bool) {
    let mut sim = Sim::new(SimConfig::new(seed, Topology::FULL));
    if zone_loss {
        sim.schedule_in(Duration::from_secs(120), Fault::Lose(Target::zone("b")));
    }
    let simulated = Duration::from_secs(600);
    let wall = Instant::now();
    sim.run_for(simulated);
    let wall = wall.elapsed();
    let stats = sim.stats();
    println!(
        "{name:>10}: {:>5} ms wall for {:?} simulated = {:>5.0} sim-s/s, {:>9} events = {:>7.0} events/s, \
         {} ops ({} writes acknowledged), {} messages",
        wall.as_millis(),
        simulated,
        simulated.as_secs_f64() / wall.as_secs_f64(),
        stats.events,
        stats.events as f64 / wall.as_secs_f64(),
        stats.ops_completed,
        sim.history().acknowledged_writes().count(),
        stats.messages_sent,
    );
    // Freeing a large run is not part of running it.
    std::mem::forget(sim);
}

fn main() {
    let seed = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    measure("fault-free", seed, false);
    measure("zone loss", seed, true);
}
