//! Runs one named scenario and prints its report and wall time:
//! `cargo run --release -p cairn-scenarios --example scenario -- thirty-days [SEED [DAYS]]`.

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_else(|| "region-loss".into());
    let seed = args.next().map_or(1, |s| s.parse().expect("a seed"));
    let days: Option<u64> = args.next().map(|d| d.parse().expect("a number of days"));
    let scenario = cairn_scenarios::named::find(&name).expect("a scenario of that name");
    let started = std::time::Instant::now();
    let outcome = match days {
        // thirty-days over another span (for profiling).
        Some(days) => cairn_scenarios::named::thirty_days::run_with(
            seed,
            Default::default(),
            std::time::Duration::from_secs(days * 86_400),
            Default::default(),
        ),
        None => (scenario.run)(seed),
    };
    let wall = started.elapsed();
    println!("{}", outcome.report);
    println!("violations: {}", outcome.violations.len());
    println!("wall time: {:.2} s", wall.as_secs_f64());
}
