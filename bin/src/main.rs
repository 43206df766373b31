//! `cairn`: one binary for the server, a local region for development, the client and
//! operator commands, and the simulator.

mod sim;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cairn",
    version,
    about = "Cairn: a replicated Key Management Service"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The deterministic simulator: named disaster scenarios and swarm runs.
    #[command(subcommand)]
    Sim(sim::SimCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Sim(c) => sim::run(c),
    }
}
