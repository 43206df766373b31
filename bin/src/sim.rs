//! `cairn sim`: the named scenarios and swarm runs of the simulator.

use std::time::Instant;

use anyhow::{Context, bail};
use cairn_scenarios::swarm::{self, Summary};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

#[derive(Subcommand)]
pub enum SimCommand {
    /// Runs one named scenario and prints its report.
    Run(RunArgs),
    /// Runs seeds with random fault mixes and checks every promise on each.
    Swarm(SwarmArgs),
    /// Lists the named scenarios.
    List,
}

#[derive(Args)]
pub struct RunArgs {
    /// The scenario (see `cairn sim list`).
    pub scenario: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Args)]
pub struct SwarmArgs {
    /// How many seeds.
    #[arg(long, default_value_t = 1000)]
    pub seeds: u64,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// Print every fault of a failing seed.
    #[arg(long)]
    pub verbose: bool,
}

pub fn run(command: SimCommand) -> anyhow::Result<()> {
    match command {
        SimCommand::List => {
            for s in cairn_scenarios::SCENARIOS {
                println!("{:<26} {}", s.name, s.about);
            }
            Ok(())
        }
        SimCommand::Run(args) => {
            let scenario = cairn_scenarios::named::find(&args.scenario).with_context(|| {
                format!(
                    "no scenario {:?}; `cairn sim list` lists them",
                    args.scenario
                )
            })?;
            let started = Instant::now();
            let outcome = (scenario.run)(args.seed);
            print!("{}", outcome.report);
            println!("\n(ran in {:.2?} of wall time)", started.elapsed());
            if !outcome.violations.is_empty() {
                bail!(
                    "{} broke {} promise(s); replay: cairn sim run {} --seed {}",
                    outcome.name,
                    outcome.violations.len(),
                    outcome.name,
                    outcome.seed
                );
            }
            Ok(())
        }
        SimCommand::Swarm(args) => swarm_sweep(&args),
    }
}

fn swarm_sweep(args: &SwarmArgs) -> anyhow::Result<()> {
    let bar = ProgressBar::new(args.seeds);
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:40} {pos}/{len} seeds  {elapsed_precise} (eta {eta})  {msg}",
        )
        .expect("valid template"),
    );
    let started = Instant::now();
    let mut summary = Summary::default();
    for seed in args.from..args.from + args.seeds {
        let report = swarm::run_seed(seed);
        if !report.passed() {
            bar.suspend(|| {
                eprintln!(
                    "seed {seed} ({:?}, {} voter(s) per zone, {} learner(s)) broke a promise:",
                    report.family, report.topology.voters_per_zone, report.topology.learners
                );
                for v in &report.violations {
                    eprintln!("  {v}");
                }
                eprintln!("  replay: {}", report.replay());
                if args.verbose {
                    let (_, sim) = swarm::run_seed_verbose(seed);
                    for f in sim.fault_log() {
                        eprintln!(
                            "    {:>9} µs  {}",
                            f.at_us,
                            cairn_scenarios::report::describe(&sim, &f.fault)
                        );
                    }
                }
            });
        }
        summary.add(report);
        bar.set_message(format!("{} failed", summary.failed.len()));
        bar.inc(1);
    }
    bar.finish_and_clear();
    let wall = started.elapsed();
    println!("seeds run:        {} (from {})", summary.seeds, args.from);
    println!(
        "simulated:        {:.2} hours ({:.0}× real time, {} events, {:.0} events/s)",
        summary.simulated.as_secs_f64() / 3600.0,
        summary.simulated.as_secs_f64() / wall.as_secs_f64(),
        summary.events,
        summary.events as f64 / wall.as_secs_f64()
    );
    println!("writes acknowledged: {}", summary.acknowledged);
    println!("seeds that took backups: {}", summary.with_backups);
    println!("faults injected:");
    for (kind, n) in &summary.faults {
        println!("  {kind:<20} {n}");
    }
    println!("violations:       {} seed(s)", summary.failed.len());
    for r in &summary.failed {
        println!("  seed {}: {}", r.seed, r.replay());
    }
    if !summary.failed.is_empty() {
        bail!("{} seed(s) broke a promise", summary.failed.len());
    }
    Ok(())
}
