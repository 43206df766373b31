//! Replays one swarm seed and prints what happened: `cargo run -p cairn-scenarios --example seed -- 5`.

fn main() {
    let seed: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let (report, sim) = cairn_scenarios::swarm::run_seed_verbose(seed);
    for f in sim.fault_log() {
        println!(
            "{:>9.3} s  {}",
            (f.at_us - sim.config().start.as_millis() * 1000) as f64 / 1e6,
            cairn_scenarios::report::describe(&sim, &f.fault)
        );
    }
    for h in sim.hosts() {
        println!("{} {:?}", h.name(), h.node().map(|n| n.status()));
    }
    for v in &report.violations {
        println!("{v}");
    }
}
